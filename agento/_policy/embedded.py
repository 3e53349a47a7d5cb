"""`EmbeddedEngine`: OPA bundles evaluated in-process by regopy (rego-cpp), no server needed.

With `agento._policy.native` (rego-cpp loaded in a link namespace of its own), the one module that
touches regopy. It guards the library's known hazards: some error results arrive as non-JSON text
with ``ok()`` true, reading a binding of an undefined result aborts the process (so results are
read from the output's nodes, and only once its text says it is defined), ``add_data_json``
accepts non-objects (bundles check ``data.json`` first), errors are printed unless logging is
off, and some bundles crash it (each is compiled and evaluated in a forked child first).
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import json
import os
import re
import select
import signal
import threading
import time
import weakref
from collections.abc import Mapping
from datetime import datetime

from pydantic import JsonValue

from agento._decision.record import Decision, canonical_json, make_decision, now, text_digest
from agento._errors import BundleError, PolicyError, PolicyProblem
from agento._policy.bundle import PolicyBundle
from agento._policy.formatting import MODULE as FORMAT_MODULE
from agento._policy.formatting import PACKAGE as FORMAT_PACKAGE
from agento._policy.native import (
    Bundle,
    Interpreter,
    LogLevel,
    NodeKind,
    RegoError,
    rego_version,
    structured_input,
)
from agento._policy.native import native as _native
from agento._policy.numbers import PACKAGE as NUMBERS_PACKAGE
from agento._policy.numbers import module as numbers_module
from agento._policy.rego import (
    CLOCK_BUILTIN,
    ORDER_MODULE,
    ORDER_PACKAGE,
    RUNTIME_BUILTIN,
    BundleAnalysis,
    analyse,
    location,
    ordered,
    package_functions,
    package_path,
)
from agento._policy.signing import BundleVerification

# rego-cpp's error nodes: `(error 6:m.rego|23|1 (errormsg 27:Invalid arithmetic operator)`.
_ERROR = re.compile(
    r"\(error(?: \d+:(?P<file>[^|\s]+)\|(?P<offset>\d+)\|\d+)?"
    r"\s+\(errormsg \d+:(?P<message>[^\n]*?)\)$",
    re.MULTILINE,
)


_PREFLIGHT_SECONDS = 120
"""How long the preflight may take before its child is killed and the bundle refused."""

_STEP = "agento-preflight: "
"""How the preflight child marks its steps among what the native library prints."""

_ENTRYPOINTS = "agento__entrypoints"
"""The package of the generated module through which every decision is asked."""


class EmbeddedEngine:
    """Evaluates one bundle in-process: compiled once, then each decision from the compiled form.

    Compilation refuses what OPA 1.x would refuse (v0 syntax, removed or unknown built-ins) and
    what the engine cannot represent (number literals beyond 64 bits), with located errors, as a
    `agento.BundleError`. Built-in errors make an expression undefined, as in OPA by default.
    Decisions are safe to ask from several threads and tasks: the interpreter keeps the input as
    state, so a lock serializes evaluations (under a millisecond each; tens of milliseconds where
    a policy computes on floats). ``decide`` evaluates inline, without awaiting.

    Args:
        bundle: The bundle (a directory, a ``.tar.gz``, or a loaded `agento.PolicyBundle`).
        environment: What ``opa.runtime()`` shows policies: ``{"env": environment}``. Empty by
            default: the worker's environment holds credentials, and a policy's result is
            recorded in history.
        reproducible: Refuse a bundle whose policies call built-ins whose answers can change
            between evaluations (``http.send``, ``rand.intn``, ``uuid.rfc4122``, ...), so that
            every decision replays. ``time.now_ns`` is allowed: replay pins the clock.
        verification: Require the bundle to be signed, in OPA's format, by one of these keys
            (`agento.BundleVerification`); an unsigned or altered bundle is refused with the
            file and the reason. Every Decision records the key id.
        preflight: First compile the bundle and evaluate each of its packages once (with an
            empty input) in a forked child process, so that a bundle that would crash rego-cpp
            is a `agento.BundleError` naming the step instead of the death of the worker
            (a few milliseconds: docs/performance.md). Off only where the caller isolates
            the engine itself.
        tests: Also compile the bundle's test modules (files named ``*_test.rego``, OPA's
            convention), as ``agento policy test`` and ``policy check`` do. Left out otherwise,
            unless a policy's document holds or reads them: under ``with`` rego-cpp compiles a copy
            of every function a test reaches, which slowed loading the commissioning bundle
            from 0.2-0.3 s to 2.4 s and each of its decisions by 12%. Their load-time problems are
            refused either way, as OPA refuses them.
    """

    name = "embedded"

    def __init__(
        self,
        bundle: PolicyBundle | str | os.PathLike[str],
        *,
        environment: Mapping[str, str] | None = None,
        reproducible: bool = False,
        verification: BundleVerification | None = None,
        preflight: bool = True,
        tests: bool = False,
    ) -> None:
        if isinstance(bundle, PolicyBundle):
            if verification is not None and bundle.signing_key_id is None:
                raise ValueError(
                    "this PolicyBundle was loaded without verification: load it with "
                    "PolicyBundle.load(path, verification=...), or give the engine its path"
                )
            self.bundle = bundle
        else:
            self.bundle = PolicyBundle.load(bundle, verification=verification)
        self.version = f"rego-cpp {rego_version()}"
        self._lock = threading.Lock()
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._interpreter = Interpreter()
        self._interpreter.log_level = LogLevel.NONE
        self._interpreter.strict_built_in_errors = False  # OPA's default
        self.analysis = self._check(reproducible, preflight=preflight and hasattr(os, "fork"))
        self._modules = engine_modules(self.bundle, tests=tests)
        self._packages = frozenset(
            package
            for name, source in self.bundle.modules.items()
            if name in self._modules and (package := package_path(source)) is not None
        )
        """The packages compiled: the policies a decision can ask."""
        self._runtime = canonical_json({"env": dict(environment or {})})
        """What ``opa.runtime()`` answers, as Rego text: the environment given, nothing else."""
        self._entrypoints = self._entrypoint_rules()
        if preflight:
            self._preflight()
        self._compiled = self._compile()

    def _check(self, reproducible: bool, *, preflight: bool) -> BundleAnalysis:
        """The load-time refusals. What makes rego-cpp abort only in some bundles is refused
        here only without the preflight, which tries the bundle and refuses it if it dies."""
        bundle = self.bundle
        analysis = analyse(bundle.modules, is_builtin=self._interpreter.is_builtin)
        problems = list(analysis.problems) + ([] if preflight else list(analysis.crash_risks))
        if reproducible:
            problems += [
                PolicyProblem(
                    bundle.source,
                    1,
                    1,
                    f"policy {policy} calls {', '.join(sorted(calls))}, whose answers can change "
                    "between evaluations: its decisions could not be replayed",
                )
                for policy in sorted(bundle.packages)
                if (calls := analysis.nondeterministic(policy))
            ]
        if problems:
            raise BundleError(f"bundle {bundle.source} is refused by the embedded engine", problems)
        return analysis

    def _preflight(self) -> None:
        """Compile and evaluate every package in a forked copy of this process, which has the
        same libraries loaded in the same order, so what crashes there would crash here."""
        if not hasattr(os, "fork"):
            return
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report each step before taking it, then leave at once
            os.close(reader)
            os.dup2(writer, 2)  # what the native library prints before dying is the reason
            faulthandler.disable()
            with contextlib.suppress(BaseException):
                try:
                    self._compiled = self._compile()
                except BundleError:  # not a crash: the parent reports it
                    os.write(writer, f"{_STEP}done\n".encode())
                    raise
                for policy in sorted(self._packages):
                    os.write(writer, f"{_STEP}evaluating data.{_dotted(policy)}\n".encode())
                    with contextlib.suppress(PolicyError):
                        self.evaluate(policy, {})
                os.write(writer, f"{_STEP}done\n".encode())
            os._exit(0)
        os.close(writer)
        code, lines = _outcome(pid, reader)
        steps = [line.removeprefix(_STEP) for line in lines if line.startswith(_STEP)]
        if code == 0 and steps[-1:] == ["done"]:
            return
        printed = "; ".join(line.strip() for line in lines if not line.startswith(_STEP))
        how = (
            f"killed after {_PREFLIGHT_SECONDS} s"
            if code is None
            else f"signal {signal.Signals(-code).name}"
            if code < 0
            else f"exit status {code}"
        )
        raise BundleError(
            f"bundle {self.bundle.source} crashes the embedded engine ({how}) "
            f"{steps[-1] if steps else 'compiling it'}"
            + (f" ({printed.strip('; ')[:300]})" if printed.strip("; ") else "")
            + ": it is refused, and this process keeps running. Rewrite the construct in that "
            "package, or serve this bundle from an OPA server",
            self.analysis.crash_risks,
        )

    def _compile(self) -> Bundle:
        bundle, rego = self.bundle, self._interpreter
        try:
            for name, source in self._modules.items():
                rego.add_module(name, source)
            if self._wraps_runtime:
                rego.add_module(f"{_ENTRYPOINTS}.rego", self._entrypoint_module())
            rego.add_data_json(json.dumps(dict(bundle.data), ensure_ascii=False))
            compiled = rego.build(None, sorted(self._entrypoints.values()))
        except RegoError as e:
            raise BundleError(
                f"bundle {bundle.source} does not compile", _problems(str(e), bundle)
            ) from None
        if not compiled.ok():
            raise BundleError(f"bundle {bundle.source} does not compile")
        return compiled

    @property
    def _wraps_runtime(self) -> bool:
        """Whether any policy reads ``opa.runtime``: only then is each asked through a rule
        that replaces it (``with`` costs about 0.1 ms a decision)."""
        return any(RUNTIME_BUILTIN in calls for calls in self.analysis.builtins.values())

    def _entrypoint_rules(self) -> dict[str, str]:
        """Policy path -> the entrypoint a decision queries."""
        if not self._wraps_runtime:
            return {policy: policy for policy in self._packages}
        return {p: f"{_ENTRYPOINTS}/p{i}" for i, p in enumerate(sorted(self._packages))}

    def _entrypoint_module(self) -> str:
        """One rule per policy, evaluating it with ``opa.runtime`` replaced."""
        runtime = self._runtime
        rules = [
            f"{rule.rsplit('/', 1)[1]} := x if {{\n"
            f"\tx := {_reference(policy)} with opa.runtime as {runtime}\n}}"
            for policy, rule in self._entrypoints.items()
        ]
        return f"package {_ENTRYPOINTS}\n\n" + "\n\n".join(rules) + "\n"

    def policies(self) -> frozenset[str]:
        """The bundle's packages, but for test modules left out (``tests``)."""
        return self._packages

    async def decide(self, policy: str, document: Mapping[str, JsonValue]) -> Decision:
        """`evaluate`, one decision per turn of the event loop. A decision runs inline (a
        fraction of a millisecond, tens where it computes on floats); taking turns keeps many
        concurrent ones from running back to back and holding up the worker's other tasks for
        all of their time together."""
        loop = asyncio.get_running_loop()
        turn = self._turns.get(loop)
        if turn is None:
            turn = self._turns[loop] = asyncio.Lock()
        async with turn:
            decision = self.evaluate(policy, document)
            await asyncio.sleep(0)  # hand the loop back before the next decision starts
        return decision

    def evaluate(
        self,
        policy: str,
        document: Mapping[str, JsonValue],
        *,
        clock: datetime | None = None,
    ) -> Decision:
        """`decide`, synchronously. With ``clock``, ``time.now_ns`` answers that instant: how
        replay re-evaluates a decision as of its recorded evaluation time."""
        if policy not in self._packages:
            known = ", ".join(sorted(self._packages))
            raise PolicyError(
                f"no policy {policy!r} in bundle {self.bundle.revision} "
                f"({self.bundle.source}); it defines: {known}"
            )
        # The engine sees exactly the canonical document whose digest is recorded.
        canonical = canonical_json(document)
        exact: dict[str, JsonValue] = json.loads(canonical)
        evaluated_at = clock or now()
        pinned = clock is not None and CLOCK_BUILTIN in self.analysis.builtins.get(policy, ())
        start = time.perf_counter()
        with self._lock:
            self._hand_over(exact, canonical)
            if not pinned:
                output = _native.rego_bundle_query_entrypoint(
                    self._interpreter._impl, self._compiled._impl, self._entrypoints[policy]
                )
            else:  # an ad-hoc query (it compiles, about 1 ms) to replace the clock
                nanoseconds = (
                    int(evaluated_at.timestamp()) * 10**9 + evaluated_at.microsecond * 1000
                )
                output = _native.rego_query(
                    self._interpreter._impl,
                    f"{_reference(policy)} with opa.runtime as {self._runtime} "
                    f"with time.now_ns as {nanoseconds}",
                )
            try:
                read = read_output(output)
            finally:
                _native.rego_free_output(output)
        elapsed_ms = (time.perf_counter() - start) * 1000
        if read is None:
            raise PolicyError(f"policy {policy!r} is undefined in bundle {self.bundle.revision}")
        result, error = read
        return make_decision(
            policy=policy,
            document=exact,
            input_sha256=text_digest(canonical),
            result=result,
            error=error,
            bundle_revision=self.bundle.revision,
            bundle_signing_key_id=self.bundle.signing_key_id,
            engine=self.name,
            engine_version=self.version,
            evaluated_at=evaluated_at,
            evaluation_ms=elapsed_ms,
            nondeterministic=tuple(sorted(self.analysis.nondeterministic(policy))),
        )

    def _hand_over(self, document: dict[str, JsonValue], canonical: str) -> None:
        """Give rego-cpp the input document, value for value as OPA would read it. Under the
        lock: the interpreter holds one input at a time."""
        handle = structured_input(document)
        if handle is None:  # a float, or an integer beyond 64 bits: parsed natively, exactly
            self._interpreter.set_input_term(canonical)
            return
        try:
            _native.rego_set_input(self._interpreter._impl, handle)
        finally:
            _native.rego_free_input(handle)


def engine_modules(bundle: PolicyBundle, *, tests: bool) -> dict[str, str]:
    """The bundle's modules as rego-cpp is given them: comparisons, arithmetic and the
    built-ins rego-cpp answers otherwise written as calls of generated modules that order
    values and compute on numbers as OPA does (`agento._policy.rego.ordered`), with the rules
    of those modules they reach. Without ``tests``, the test modules nothing else reads are
    left out (`EmbeddedEngine`)."""
    sources = dict(bundle.modules) if tests else _without_tests(bundle.modules)
    functions = package_functions(sources)
    modules = {
        name: ordered(source, functions.get(package_path(source) or "", frozenset()))
        for name, source in sources.items()
    }
    for package, module in ((ORDER_PACKAGE, ORDER_MODULE), (FORMAT_PACKAGE, FORMAT_MODULE)):
        if any(f"data.{package}." in source for source in modules.values()):
            modules[f"{package}.rego"] = module
    used = {m[1] for source in modules.values() for m in _CALLED.finditer(source)}
    if used:
        modules[f"{NUMBERS_PACKAGE}.rego"] = numbers_module(used)
    return modules


def _without_tests(modules: Mapping[str, str]) -> dict[str, str]:
    """``modules`` but for the test files (``*_test.rego``), unless their rules are part of
    another module's document or another module may read them: a test package that is, or is
    under, a policy's package (OPA's answer for ``data.a`` holds ``data.a.b_test``), or a
    module naming such a package, a package above it or ``data`` itself, keeps them all."""
    tests = {name for name in modules if name.endswith("_test.rego")}
    others = {name: source for name, source in modules.items() if name not in tests}
    packages = [p.split("/") for name in tests if (p := package_path(modules[name]))]
    policies = [p.split("/") for source in others.values() if (p := package_path(source))]
    if any(p[: len(q)] == q for p in packages for q in policies):
        return dict(modules)
    for source in others.values():
        for m in _DATA_REFERENCE.finditer(source):
            path = m[1].split(".")[1:]
            if any(p[: len(path)] == path or path[: len(p)] == p for p in packages):
                return dict(modules)
    return others


_DATA_REFERENCE = re.compile(r"(?<![.\w])data((?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
_CALLED = re.compile(rf"\bdata\.{NUMBERS_PACKAGE}\.(\w+)\(")


def _reference(policy: str) -> str:
    """``data.a.b.c`` for the policy path ``a/b/c``."""
    return "data." + _dotted(policy)


def _outcome(pid: int, reader: int) -> tuple[int | None, list[str]]:
    """The preflight child's exit code (``None`` when it ran out of time and was killed) and
    the lines it wrote."""
    said = bytearray()
    deadline = time.monotonic() + _PREFLIGHT_SECONDS
    timed_out = False
    with os.fdopen(reader, "rb", buffering=0) as child:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([child], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                timed_out = True
                break
            if not (chunk := child.read(65536)):
                break
            said += chunk
    _, status = os.waitpid(pid, 0)
    code = None if timed_out else os.waitstatus_to_exitcode(status)
    return code, said.decode(errors="replace").splitlines()


def _dotted(policy: str) -> str:
    return ".".join(policy.split("/"))


def read_output(output: object) -> tuple[JsonValue, str | None] | None:
    """(result, error) from an output, never trusting ``ok`` alone; ``None`` when the document
    is undefined. The result is read from the output's node tree, value by value, not from its
    text: rego-cpp prints strings as it holds them, unescaped, so a quote or a newline in a
    string broke the text, or could have closed the string and opened another key."""
    ok, text = _native.rego_output_ok(output), _native.rego_output_string(output)
    if not ok or text.strip() == "<error>":
        return None, "; ".join(_error_messages(output)) or _first_message(
            text
        ) or "evaluation error"
    if text.strip() == "undefined":
        return None
    node = _native.rego_output_node(output)
    if not node or _native.rego_node_type(node) is not NodeKind.Results:
        return None, _first_message(text) or f"unexpected engine output {text.strip()[:200]}"
    terms = _descend(node, NodeKind.Result, NodeKind.Terms)
    if terms is None or _native.rego_node_size(terms) != 1:
        return None, f"unexpected engine output {text.strip()[:200]}"
    try:
        return _value(_native.rego_node_get(terms, 0)), None
    except _Unreadable as e:
        return None, str(e)


class _Unreadable(Exception):
    """A value in an output that cannot be read as OPA would have written it."""


def _descend(node: object, *kinds: NodeKind) -> object | None:
    """The first child of ``node``, then its first, each of the given kinds in turn."""
    for kind in kinds:
        if _native.rego_node_size(node) == 0:
            return None
        node = _native.rego_node_get(node, 0)
        if _native.rego_node_type(node) is not kind:
            return None
    return node


_STRING = json.JSONDecoder(strict=False)  # raw string literals hold newlines as they are


def _value(node: object) -> JsonValue:
    kind = _native.rego_node_type(node)
    children = [_native.rego_node_get(node, i) for i in range(_native.rego_node_size(node))]
    if kind in (NodeKind.Term, NodeKind.Scalar) and len(children) == 1:
        return _value(children[0])
    if kind is NodeKind.Object:
        items: dict[str, JsonValue] = {}
        for item in children:
            key = _value(_native.rego_node_get(item, 0))
            items[key if isinstance(key, str) else canonical_json(key)] = _value(
                _native.rego_node_get(item, 1)
            )
        return items
    if kind is NodeKind.Array:
        return [_value(child) for child in children]
    if kind is NodeKind.Set:  # rego-cpp's own order compares numbers as text: OPA's instead
        return sorted((_value(child) for child in children), key=_opa_order)
    text: str = _native.rego_node_value(node)
    if kind is NodeKind.String:
        return _string(text)
    if kind is NodeKind.Int:
        return int(text)
    if kind is NodeKind.Float:
        return float(text)
    if kind in (NodeKind.Boolean, NodeKind.True_, NodeKind.False_):
        # A membership (`x in xs`, `internal.member_2`) answers rego-cpp's true written "True".
        return text in ("true", "True")
    if kind is NodeKind.Null:
        return None
    raise _Unreadable(f"the engine answered a {kind.name} where a JSON value belongs")


class _OpaOrder:
    """A sort key giving OPA's total order of values (``ast.Compare``): null, booleans,
    numbers, strings, arrays, objects; numbers by value, arrays element by element, objects by
    their sorted keys and then their values. Sets arrive as arrays, already in this order."""

    __slots__ = ("rank", "value")

    def __init__(self, value: JsonValue) -> None:
        self.value = value
        self.rank = (
            0
            if value is None
            else 1
            if isinstance(value, bool)
            else 2
            if isinstance(value, int | float)
            else 3
            if isinstance(value, str)
            else 4
            if isinstance(value, list)
            else 5
        )

    def __lt__(self, other: _OpaOrder) -> bool:
        if self.rank != other.rank:
            return self.rank < other.rank
        a, b = self.value, other.value
        if isinstance(a, list) and isinstance(b, list):
            return [_OpaOrder(x) for x in a] < [_OpaOrder(y) for y in b]
        if isinstance(a, dict) and isinstance(b, dict):
            ka, kb = sorted(a), sorted(b)
            if ka != kb:
                return ka < kb
            return [_OpaOrder(a[k]) for k in ka] < [_OpaOrder(b[k]) for k in kb]
        return a < b  # type: ignore[operator]  # same rank: comparable

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _OpaOrder) and not (self < other or other < self)

    __hash__ = None  # type: ignore[assignment]


def _opa_order(value: JsonValue) -> _OpaOrder:
    return _OpaOrder(value)


def _string(held: str) -> str:
    """A string as rego-cpp holds it: escaped as in JSON (input strings are handed over so, as
    the policy's literals are kept), and wrapped in quotes when a built-in made it."""
    if len(held) >= 2 and held[0] == held[-1] == '"':  # a raw quote is always escaped inside
        held = held[1:-1]
    try:
        value, end = _STRING.raw_decode(f'"{held}"')
    except ValueError:
        value, end = None, -1
    if not isinstance(value, str) or end != len(held) + 2:
        raise _Unreadable(
            f"the engine answered a string it did not hold as JSON text ({held[:80]!r}): a "
            "string built-in (upper, lower, substring, ...) changed an escape sequence of a "
            "string holding a quote, a backslash or a control character"
        )
    return value


def _error_messages(output: object) -> list[str]:
    """``code: message`` of each error in an output's error sequence, as OPA words them."""
    node = _native.rego_output_node(output)
    if not node or _native.rego_node_type(node) is not NodeKind.ErrorSeq:
        return []
    messages = []
    for i in range(_native.rego_node_size(node)):
        error = _native.rego_node_get(node, i)
        parts = {
            _native.rego_node_type(child): _native.rego_node_value(child)
            for child in (
                _native.rego_node_get(error, j) for j in range(_native.rego_node_size(error))
            )
        }
        message = parts.get(NodeKind.ErrorMessage, "")
        code = parts.get(NodeKind.ErrorCode, "")
        text = f"{code}: {message}" if code and message else message or code
        if text and text not in messages:
            messages.append(text)
    return messages


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
