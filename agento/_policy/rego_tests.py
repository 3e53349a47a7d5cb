"""``agento policy test``: a bundle's Rego tests, run as OPA's ``opa test`` runs them.

A test is a rule whose name starts with ``test_``, in any module of the bundle; ``todo_test_``
marks one skipped. Each is evaluated with no input (tests supply their own with ``with input
as``): it passes when it is defined and not ``false``, fails when it is undefined or ``false``,
and errors when evaluation fails.
"""

from __future__ import annotations

import json
import re
import time
from typing import Literal

import pydantic

from agento._errors import BundleError
from agento._policy.embedded import EmbeddedEngine, engine_modules, read_output
from agento._policy.native import Bundle, Interpreter, LogLevel, RegoError
from agento._policy.native import native as _native
from agento._policy.rego import RuleHead, rule_heads

Outcome = Literal["pass", "fail", "error", "skip"]


class PolicyTestResult(pydantic.BaseModel):
    reference: str
    """``data.<package>.<rule>``."""
    file: str
    line: int
    outcome: Outcome
    detail: str = ""
    """Why it failed or errored: ``undefined``, ``false``, or the engine's message."""
    duration_ms: float = 0.0


class PolicyTestReport(pydantic.BaseModel):
    bundle: str
    revision: str
    results: list[PolicyTestResult]

    def count(self, outcome: Outcome) -> int:
        return sum(r.outcome == outcome for r in self.results)

    @property
    def ok(self) -> bool:
        return bool(self.results) and not (self.count("fail") or self.count("error"))


def run_policy_tests(engine: EmbeddedEngine, *, run: str | None = None) -> PolicyTestReport:
    """Run every test of ``engine``'s bundle (compiled already with its tests, so OPA 1.x
    problems were refused with their locations and the preflight tried them), or those whose
    reference matches the regular expression ``run``."""
    bundle = engine.bundle
    if engine.policies() != bundle.packages:
        raise ValueError("the engine left the bundle's tests out: build it with tests=True")
    tests = [h for h in rule_heads(bundle.modules) if _test_kind(h) is not None]
    if run is not None:
        pattern = re.compile(run)
        tests = [h for h in tests if pattern.search(h.reference)]
    interpreter = Interpreter()  # no input is ever set on it: tests see `input` undefined
    interpreter.log_level = LogLevel.NONE
    interpreter.strict_built_in_errors = False
    for name, source in engine_modules(bundle, tests=True).items():
        interpreter.add_module(name, source)
    interpreter.add_data_json(json.dumps(dict(bundle.data)))
    # Compiled once, every test an entrypoint: an ad-hoc query per test recompiled the bundle,
    # which under `with input...` took seconds a test for a bundle reaching the numbers module.
    runnable = [h for h in tests if _test_kind(h) == "test"]
    try:
        compiled = interpreter.build(None, [_entrypoint(h) for h in runnable]) if runnable else None
    except RegoError as e:
        raise BundleError(f"the tests of bundle {bundle.source} do not compile: {e}") from None
    return PolicyTestReport(
        bundle=bundle.source,
        revision=bundle.revision,
        results=[_run(interpreter, compiled, head) for head in tests],
    )


def _entrypoint(head: RuleHead) -> str:
    return f"{head.package}/{head.name}"


def _test_kind(head: RuleHead) -> Literal["test", "todo"] | None:
    if head.name.startswith("test_"):
        return "test"
    if head.name.startswith("todo_test_"):
        return "todo"
    return None


def _run(interpreter: Interpreter, compiled: Bundle | None, head: RuleHead) -> PolicyTestResult:
    if _test_kind(head) == "todo" or compiled is None:
        return PolicyTestResult(
            reference=head.reference, file=head.file, line=head.line, outcome="skip"
        )
    start = time.perf_counter()
    output = _native.rego_bundle_query_entrypoint(
        interpreter._impl, compiled._impl, _entrypoint(head)
    )
    try:
        read = read_output(output)
    finally:
        _native.rego_free_output(output)
    elapsed = (time.perf_counter() - start) * 1000
    outcome: Outcome
    if read is None:
        outcome, detail = "fail", "undefined"
    elif read[1] is not None:
        outcome, detail = "error", read[1]
    elif read[0] is False:
        outcome, detail = "fail", "false"
    else:
        outcome, detail = "pass", ""
    return PolicyTestResult(
        reference=head.reference,
        file=head.file,
        line=head.line,
        outcome=outcome,
        detail=detail,
        duration_ms=elapsed,
    )
