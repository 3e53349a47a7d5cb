"""`EmbeddedEngine`: OPA bundles evaluated in-process by regopy (rego-cpp), no server needed.

The one module that touches regopy. It guards the library's known hazards: some error results
arrive as non-JSON text with ``ok()`` true, reading a binding of an undefined result aborts the
process (so results are only ever read as text), ``add_data_json`` accepts non-objects (bundles
check ``data.json`` first), and errors are printed unless logging is off.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Mapping

import regopy
from pydantic import JsonValue
from regopy import Input, Interpreter, LogLevel, RegoError
from regopy import rego_shared as _native

from agento._bundle import PolicyBundle
from agento._decision import Decision, canonical_json, make_decision, now
from agento._errors import BundleError, PolicyError
from agento._rego import PolicyProblem, check_v1, location

# rego-cpp's error nodes: `(error 6:m.rego|23|1 (errormsg 27:Invalid arithmetic operator)`.
_ERROR = re.compile(
    r"\(error(?: \d+:(?P<file>[^|\s]+)\|(?P<offset>\d+)\|\d+)?"
    r"\s+\(errormsg \d+:(?P<message>[^\n]*?)\)$",
    re.MULTILINE,
)


class EmbeddedEngine:
    """Evaluates one bundle in-process: compiled once, then each decision from the compiled form.

    Compilation refuses what OPA 1.x would refuse (v0 syntax, removed or unknown built-ins) with
    located errors, as a `agento.BundleError`. Decisions are safe to ask from several threads and
    tasks: the interpreter keeps the input as state, so a lock serializes evaluations (well under a
    millisecond each). ``decide`` evaluates inline, without awaiting.
    """

    name = "embedded"

    def __init__(self, bundle: PolicyBundle | str | os.PathLike[str]) -> None:
        self.bundle = bundle if isinstance(bundle, PolicyBundle) else PolicyBundle.load(bundle)
        self.version = f"rego-cpp {regopy.rego_version()}"
        self._lock = threading.Lock()
        self._interpreter = Interpreter()
        self._interpreter.log_level = LogLevel.NONE
        self._interpreter.strict_built_in_errors = True
        self._compiled = self._compile()

    def _compile(self) -> regopy.Bundle:
        bundle, rego = self.bundle, self._interpreter
        problems = [
            problem
            for name, source in bundle.modules.items()
            for problem in check_v1(name, source, is_builtin=rego.is_builtin)
        ]
        if problems:
            raise BundleError(f"bundle {bundle.source} is not OPA 1.x Rego", problems)
        try:
            for name, source in bundle.modules.items():
                rego.add_module(name, source)
            rego.add_data_json(json.dumps(dict(bundle.data)))
            compiled = rego.build(None, sorted(bundle.packages))
        except RegoError as e:
            raise BundleError(
                f"bundle {bundle.source} does not compile", _problems(str(e), bundle)
            ) from None
        if not compiled.ok():
            raise BundleError(f"bundle {bundle.source} does not compile")
        return compiled

    def policies(self) -> frozenset[str]:
        """The bundle's packages."""
        return self.bundle.packages

    async def decide(self, policy: str, document: Mapping[str, JsonValue]) -> Decision:
        return self.evaluate(policy, document)

    def evaluate(self, policy: str, document: Mapping[str, JsonValue]) -> Decision:
        """`decide`, synchronously."""
        if policy not in self.bundle.packages:
            known = ", ".join(sorted(self.bundle.packages))
            raise PolicyError(
                f"no policy {policy!r} in bundle {self.bundle.revision} "
                f"({self.bundle.source}); it defines: {known}"
            )
        # The engine sees exactly the canonical document whose digest is recorded.
        exact: dict[str, JsonValue] = json.loads(canonical_json(document))
        evaluated_at = now()
        start = time.perf_counter()
        with self._lock:
            self._interpreter.set_input(Input(exact))
            output = _native.rego_bundle_query_entrypoint(
                self._interpreter._impl, self._compiled._impl, policy
            )
            try:
                ok, text = _native.rego_output_ok(output), _native.rego_output_string(output)
            finally:
                _native.rego_free_output(output)
        elapsed_ms = (time.perf_counter() - start) * 1000
        read = _read(ok, text)
        if read is None:
            raise PolicyError(f"policy {policy!r} is undefined in bundle {self.bundle.revision}")
        result, error = read
        return make_decision(
            policy=policy,
            document=exact,
            result=result,
            error=error,
            bundle_revision=self.bundle.revision,
            engine=self.name,
            engine_version=self.version,
            evaluated_at=evaluated_at,
            evaluation_ms=elapsed_ms,
        )


def _read(ok: bool, text: str) -> tuple[JsonValue, str | None] | None:
    """(result, error) from regopy's output text, never trusting ``ok`` alone; ``None`` when
    the document is undefined."""
    if not ok:
        return None, _first_message(text) or "evaluation error"
    if text.strip() == "undefined":
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None, _first_message(text) or text.strip()[:200]
    expressions = value.get("expressions") if isinstance(value, dict) else None
    if not isinstance(expressions, list) or len(expressions) != 1:
        return None, f"unexpected engine output {text.strip()[:200]}"
    result: JsonValue = expressions[0]
    return result, None


def _first_message(text: str) -> str | None:
    m = _ERROR.search(text)
    return m["message"] if m else None


def _problems(text: str, bundle: PolicyBundle) -> list[PolicyProblem]:
    problems = []
    for m in _ERROR.finditer(text):
        file = m["file"] or bundle.source
        source = bundle.modules.get(file, "")
        row, column = location(source, int(m["offset"])) if m["offset"] else (1, 1)
        problems.append(PolicyProblem(file, row, column, m["message"]))
    return problems or [PolicyProblem(bundle.source, 1, 1, text.strip())]
