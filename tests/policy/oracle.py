"""The real OPA evaluator (OPA v1.20.2's ``rego`` package, through opa-golib-python-bindings), as
the oracle the embedded engine is compared with.

It evaluates with strict built-in errors on, where OPA's server and ``opa eval`` default to off:
a built-in error there makes its expression undefined and evaluation goes on. An answer that
depends on one is therefore not OPA's default answer, and `Oracle.decide` says so
(``strict_error``) instead of guessing it; the differential tests leave such inputs out.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

from pydantic import JsonValue

from agento import EmbeddedEngine, PolicyBundle
from tests.policy.bundles import write_bundle


class _Engine(Protocol):
    def add_policy(self, path: str, source: str) -> None: ...
    def add_data(self, value: object, path: str = "") -> None: ...
    def eval_document(self, path: str, input: object = None) -> object: ...


@dataclass(frozen=True)
class Answer:
    """What OPA answers for one document: a value, undefined, or an error."""

    defined: bool
    value: JsonValue = None
    error: str | None = None
    strict_error: bool = False
    """The error is a built-in's, which OPA's default (non-strict) mode would make undefined."""


_STRICT_ONLY = ("eval_builtin_error", "eval_type_error")
"""The errors of a built-in (its operands' types included) that OPA's default mode makes
undefined; OPA reports them under the code ``eval_error``, naming them in the message."""


class Oracle:
    """One bundle loaded into OPA's own evaluator."""

    def __init__(self, bundle: PolicyBundle) -> None:
        from opa_bindings import OpaEngine  # type: ignore[import-untyped]  # see the Makefile

        self._engine = cast(_Engine, OpaEngine())
        for name, source in bundle.modules.items():
            self._engine.add_policy(name, source)
        self._engine.add_data(json.loads(json.dumps(dict(bundle.data))))

    def decide(self, policy: str, document: Mapping[str, JsonValue]) -> Answer:
        from opa_bindings import OpaError, OpaUndefinedError

        try:
            value = self._engine.eval_document(policy.replace("/", "."), dict(document))
        except OpaUndefinedError:
            return Answer(defined=False)
        except OpaError as e:
            message = str(e)
            return Answer(
                defined=True,
                error=message,
                strict_error=any(f": {code}: " in message for code in _STRICT_ONLY),
            )
        return Answer(defined=True, value=cast(JsonValue, value))


def both_engines(rules: Mapping[str, str]) -> tuple[EmbeddedEngine, Oracle]:
    """The embedded engine and OPA's evaluator on a bundle of one package a rule (``p.<name>``),
    so that a built-in's error (a division by zero), which makes only that rule undefined in
    OPA's default mode, does not hide the others from the oracle, which runs strict."""
    with tempfile.TemporaryDirectory() as scratch:
        files = {f"{name}.rego": f"package p.{name}\n\n{rule}\n" for name, rule in rules.items()}
        bundle = PolicyBundle.load(write_bundle(Path(scratch), files))
        return EmbeddedEngine(bundle), Oracle(bundle)
