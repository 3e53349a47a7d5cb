"""The rule set: every way a governed activity can be mis-declared or mis-used, in one table.

Two checkers enforce it: the registration-time validator (``agento.validate_activities``, run
when a worker is built) and the mypy plugin (``agento.mypy``). Declaration rules are not only
*listed* here but *decided* here, by `check_declaration`, over `DeclarationFacts` that each checker
extracts its own way (runtime objects, or mypy types), so the two cannot drift apart.

Standard library only: the mypy plugin imports this module into the type checker.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from agento._postures import Idempotency, PolicyClass

__all__ = [
    "RULES",
    "Checker",
    "DeclarationFacts",
    "Dynamic",
    "Parameter",
    "ParameterKind",
    "Rule",
    "Scope",
    "Violation",
    "check_declaration",
    "extra_arguments",
    "request_and_args",
    "rule",
    "rules_markdown",
    "wrong_request",
]


class Checker(enum.Enum):
    """Who enforces a rule."""

    MYPY = "mypy plugin"
    VALIDATOR = "validator"
    RUNTIME = "workflow runtime"


class Scope(enum.Enum):
    """What a rule looks at, and so where a checker reports it."""

    DECLARATION = "the @agento.activity(...) arguments"
    SIGNATURE = "the decorated function"
    REGISTRATION = "the activities a worker is given"
    CALL_SITE = "a workflow's call of the activity"


@dataclass(frozen=True)
class Violation:
    """One broken rule, located at one activity."""

    rule: Rule
    activity: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.message}. Fix: {self.fix}."


@dataclass(frozen=True)
class Rule:
    """A rule with a stable id: the mypy error code, and the key of its section in docs/rules.md."""

    id: str
    statement: str
    """The rule, as one sentence."""
    message: str
    """What is wrong, as a ``str.format`` template over ``activity`` and rule-specific fields."""
    fix: str
    """What to change, as a template over the same fields."""
    checkers: frozenset[Checker]
    scope: Scope

    def violation(self, activity: str, **details: object) -> Violation:
        """The violation of this rule by ``activity``, with its message and fix filled in."""
        fields = {"activity": activity, **details}
        return Violation(self, activity, self.message.format(**fields), self.fix.format(**fields))


_STATIC = frozenset({Checker.MYPY, Checker.VALIDATOR})

MISSING_KEY = Rule(
    "agento-missing-key",
    "A KEYED or NON_IDEMPOTENT activity takes an IdempotencyKey as its first parameter.",
    'Activity "{activity}" is {idempotency} but its first parameter is not an '
    "agento.IdempotencyKey",
    'add "key: agento.IdempotencyKey" as its first parameter; agento fills it with a key that is '
    "stable across retries and replay, for the external system to deduplicate on",
    _STATIC,
    Scope.SIGNATURE,
)
UNEXPECTED_KEY = Rule(
    "agento-unexpected-key",
    "An IDEMPOTENT activity takes no IdempotencyKey: needing one means the posture is KEYED.",
    'Activity "{activity}" is IDEMPOTENT but takes the IdempotencyKey parameter "{param}"',
    "declare idempotency=agento.Idempotency.KEYED if the system it calls deduplicates by key, "
    'or remove "{param}"',
    _STATIC,
    Scope.SIGNATURE,
)
MISSING_POLICY = Rule(
    "agento-missing-policy",
    "A SIDE_EFFECT activity names the Rego package whose decision must allow each execution.",
    'Activity "{activity}" is SIDE_EFFECT but names no policy',
    'pass policy="<rego/package/path>", e.g. policy="agento/commissioning/routing"',
    _STATIC,
    Scope.DECLARATION,
)
MISSING_INPUT = Rule(
    "agento-missing-input",
    "A policy-gated activity (SIDE_EFFECT, or READ_ONLY with a policy) takes exactly one "
    "PolicyInput request.",
    'Activity "{activity}" is policy-gated but takes {count} agento.PolicyInput parameters',
    "take exactly one parameter typed with an agento.PolicyInput subclass: the policy decides on "
    "that request and the activity executes exactly it",
    _STATIC,
    Scope.SIGNATURE,
)
UNCHECKED_ARGUMENT = Rule(
    "agento-unchecked-argument",
    "A policy-gated activity takes nothing but its key and its PolicyInput request.",
    'Parameter "{param}" of activity "{activity}" is outside its PolicyInput request, '
    "so the policy never sees it",
    'move "{param}" into the request model, so that what the policy checked is what runs',
    _STATIC,
    Scope.SIGNATURE,
)
CONTRADICTION = Rule(
    "agento-contradiction",
    "A READ_ONLY activity is not NON_IDEMPOTENT: a read must be safe to retry.",
    'Activity "{activity}" is READ_ONLY and NON_IDEMPOTENT, which contradict each other',
    "declare policy_class=agento.PolicyClass.SIDE_EFFECT if it changes anything, "
    "otherwise idempotency=agento.Idempotency.IDEMPOTENT",
    _STATIC,
    Scope.DECLARATION,
)
DYNAMIC_DECLARATION = Rule(
    "agento-dynamic-declaration",
    "idempotency and policy_class are literal enum members, so that audit tools and the type "
    "checker can read them without running code.",
    'Activity "{activity}" declares {field} as {value}, not as a literal {enum} member',
    "write the member itself, e.g. {field}=agento.{enum}.{example}",
    _STATIC,
    Scope.DECLARATION,
)
BAD_VERSION = Rule(
    "agento-bad-version",
    'version is a semantic version such as "1.4.0"; it is recorded with every decision and '
    "execution.",
    'Activity "{activity}" declares version {value}, which is not a semantic version',
    'use MAJOR.MINOR.PATCH with an optional -prerelease or +build, e.g. version="1.4.0"',
    _STATIC,
    Scope.DECLARATION,
)
BAD_POLICY_PATH = Rule(
    "agento-bad-policy-path",
    'policy is a Rego package path such as "agento/commissioning/routing".',
    'Activity "{activity}" declares policy {value}, which is not a Rego package path',
    "use identifiers separated by single slashes, without a leading or trailing slash, "
    'e.g. policy="agento/commissioning/routing"',
    _STATIC,
    Scope.DECLARATION,
)
UNGOVERNED = Rule(
    "agento-ungoverned",
    "Every activity on a governed worker is declared with @agento.activity, or is opted out "
    "by name.",
    'Activity "{activity}" is registered on a governed worker without an agento declaration',
    "declare it with @agento.activity(...), or opt out visibly with "
    "AgentoPlugin(ungoverned=[{activity}])",
    frozenset({Checker.VALIDATOR}),
    Scope.REGISTRATION,
)
DUPLICATE_NAME = Rule(
    "agento-duplicate-name",
    "No two registered activities share a name: audit reports identify activities by name.",
    'Activity name "{activity}" is registered by both {first} and {second}',
    "give one of them a distinct name=... in its declaration",
    frozenset({Checker.VALIDATOR}),
    Scope.REGISTRATION,
)
UNKNOWN_POLICY = Rule(
    "agento-unknown-policy",
    "A declared policy path is a package of the bundle the worker's engine loaded.",
    'Activity "{activity}" declares policy "{policy}", which the worker\'s bundle does not define',
    "fix the policy path, or load the bundle that defines it (it defines: {known})",
    frozenset({Checker.VALIDATOR}),
    Scope.REGISTRATION,
)
RETRY_UNSAFE = Rule(
    "agento-retry-unsafe",
    "A NON_IDEMPOTENT activity is never given a retry policy that allows more than one attempt.",
    'Activity "{activity}" is NON_IDEMPOTENT but its retry policy allows {attempts}',
    "pass RetryPolicy(maximum_attempts=1) or no retry policy (agento runs it at most once), "
    "or declare it KEYED if the system it calls deduplicates by key",
    frozenset({Checker.MYPY, Checker.RUNTIME}),
    Scope.CALL_SITE,
)
BYPASS = Rule(
    "agento-bypass",
    "A governed activity is started only through agento.execute_activity, never through "
    "temporalio.workflow directly.",
    'Activity "{activity}" is governed, but {call} would start it without a policy decision',
    "call agento.execute_activity(...) instead",
    frozenset({Checker.MYPY, Checker.RUNTIME}),
    Scope.CALL_SITE,
)
BAD_CALL = Rule(
    "agento-bad-call",
    "agento.execute_activity is given a governed activity and what it takes: its PolicyInput "
    "request, or args=[...] without the key.",
    'agento.execute_activity("{activity}", ...) was given {given}; it takes {expected}',
    "{fix}",
    frozenset({Checker.MYPY, Checker.RUNTIME}),
    Scope.CALL_SITE,
)


def extra_arguments(activity: str, count: int, request: str | None, takes_key: bool) -> Violation:
    """agento-bad-call: ``count`` positional arguments after the activity (``request``: the
    name of the PolicyInput model it takes, if one)."""
    takes = f"its {request} request" if request else "the arguments after its key"
    filled = " (agento fills the idempotency key)" if takes_key else ""
    return BAD_CALL.violation(
        activity,
        given=f"{count} positional arguments after the activity",
        expected=f"one: {takes}{filled}",
        fix=f"pass {request + '(...)' if request else 'the one argument'} alone, or "
        "args=[...] for an activity that takes several",
    )


def request_and_args(activity: str) -> Violation:
    """agento-bad-call: both a request and ``args=[...]``."""
    return BAD_CALL.violation(
        activity,
        given="both a request and args=[...]",
        expected="one or the other",
        fix="pass the request alone",
    )


def wrong_request(activity: str, given: str, request: str) -> Violation:
    """agento-bad-call: ``given`` (a type's name, or ``nothing``) where the ``request`` model
    is expected."""
    from_dict = f", or {request}.model_validate(value) from a dict" if given == "dict" else ""
    return BAD_CALL.violation(
        activity,
        given=f"{'nothing' if given == 'nothing' else 'a ' + given} where its request is expected",
        expected=f"a {request}, the PolicyInput the policy decides on",
        fix=f"pass {request}(...){from_dict}",
    )


RAW_TOOL = Rule(
    "agento-raw-tool",
    "A governed activity becomes an agent's tool only through agento.agents, never through an "
    "agent framework's own tool wrapper.",
    'Activity "{activity}" is governed, but {call} would let a model run it without a policy '
    "decision",
    "use {adapter}(...) instead: the model's call is then decided, reviewed and recorded",
    frozenset({Checker.MYPY, Checker.RUNTIME}),
    Scope.CALL_SITE,
)

RULES: tuple[Rule, ...] = (
    MISSING_KEY,
    UNEXPECTED_KEY,
    MISSING_POLICY,
    MISSING_INPUT,
    UNCHECKED_ARGUMENT,
    CONTRADICTION,
    DYNAMIC_DECLARATION,
    BAD_VERSION,
    BAD_POLICY_PATH,
    UNGOVERNED,
    DUPLICATE_NAME,
    UNKNOWN_POLICY,
    RETRY_UNSAFE,
    BYPASS,
    RAW_TOOL,
    BAD_CALL,
)
"""Every rule, in the order docs/rules.md lists them."""

_BY_ID = {r.id: r for r in RULES}


def rule(rule_id: str) -> Rule:
    """The rule with this id; `KeyError` naming the known ids otherwise."""
    try:
        return _BY_ID[rule_id]
    except KeyError:
        raise KeyError(f"no rule {rule_id!r}; known: {', '.join(_BY_ID)}") from None


_VERSION = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
)
_POLICY_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*")


@dataclass(frozen=True)
class Dynamic:
    """A declaration value that is not a literal; ``description`` says what it is instead."""

    description: str


class ParameterKind(enum.Enum):
    KEY = "key"
    """Typed `agento.IdempotencyKey`."""
    REQUEST = "request"
    """Typed with a `agento.PolicyInput` subclass."""
    OTHER = "other"


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: ParameterKind


@dataclass(frozen=True)
class DeclarationFacts:
    """What a checker knows about one ``@agento.activity`` declaration.

    ``None`` for ``version`` or ``parameters`` means the checker cannot know it
    (the mypy plugin facing a non-literal version, say); the rules about it are then skipped.
    """

    activity: str
    idempotency: Idempotency | Dynamic
    policy_class: PolicyClass | Dynamic
    policy: str | Dynamic | None
    version: str | Dynamic | None
    parameters: tuple[Parameter, ...] | None


def check_declaration(facts: DeclarationFacts) -> list[Violation]:
    """Every declaration rule ``facts`` break, in table order."""
    name, idempotency, policy_class = facts.activity, facts.idempotency, facts.policy_class
    found: list[Violation] = []

    if facts.parameters is not None:
        params = facts.parameters
        keys = [p for p in params if p.kind is ParameterKind.KEY]
        if idempotency in (Idempotency.KEYED, Idempotency.NON_IDEMPOTENT) and (
            not params or params[0].kind is not ParameterKind.KEY
        ):
            found.append(MISSING_KEY.violation(name, idempotency=idempotency.name))
        if idempotency is Idempotency.IDEMPOTENT and keys:
            found.append(UNEXPECTED_KEY.violation(name, param=keys[0].name))

    if policy_class is PolicyClass.SIDE_EFFECT and facts.policy is None:
        found.append(MISSING_POLICY.violation(name))

    gated = policy_class is PolicyClass.SIDE_EFFECT or facts.policy is not None
    if gated and facts.parameters is not None:
        requests = [p for p in facts.parameters if p.kind is ParameterKind.REQUEST]
        if len(requests) != 1:
            found.append(MISSING_INPUT.violation(name, count=len(requests)))
        found.extend(
            UNCHECKED_ARGUMENT.violation(name, param=p.name)
            for p in facts.parameters
            if p.kind is ParameterKind.OTHER
        )

    if policy_class is PolicyClass.READ_ONLY and idempotency is Idempotency.NON_IDEMPOTENT:
        found.append(CONTRADICTION.violation(name))

    for field, value, enum_type in (
        ("idempotency", idempotency, Idempotency),
        ("policy_class", policy_class, PolicyClass),
    ):
        if isinstance(value, Dynamic):
            example = next(iter(enum_type)).name
            found.append(
                DYNAMIC_DECLARATION.violation(
                    name,
                    field=field,
                    value=value.description,
                    enum=enum_type.__name__,
                    example=example,
                )
            )

    if isinstance(facts.version, str) and not _VERSION.fullmatch(facts.version):
        found.append(BAD_VERSION.violation(name, value=_quote(facts.version)))
    if isinstance(facts.policy, str) and not _POLICY_PATH.fullmatch(facts.policy):
        found.append(BAD_POLICY_PATH.violation(name, value=_quote(facts.policy)))
    return found


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rules_markdown() -> str:
    """docs/rules.md, rendered from the table (a test keeps the file equal to this)."""
    lines = [
        "# Rules",
        "",
        "<!-- Generated from agento/rules.py by `agento rules --markdown`; do not edit. -->",
        "",
        "Every rule has a stable id. The mypy plugin reports it as the error code "
        "(`# type: ignore[<id>]` silences one occurrence); the validator prints it beside "
        "the activity's name.",
        "",
        "| id | rule | looks at | checked by |",
        "| --- | --- | --- | --- |",
    ]
    for r in RULES:
        checkers = ", ".join(c.value for c in Checker if c in r.checkers) or "not yet enforced"
        lines.append(f"| [`{r.id}`](#{r.id}) | {r.statement} | {r.scope.value} | {checkers} |")
    for r in RULES:
        example = r.violation("<activity>", **_placeholders(r))
        lines += [
            "",
            f"## {r.id}",
            "",
            r.statement,
            "",
            f"- Message: `{example.message}`",
            f"- Fix: `{example.fix}`",
        ]
    return "\n".join(lines) + "\n"


def _placeholders(r: Rule) -> dict[str, str]:
    fields = re.findall(r"{(\w+)}", r.message + r.fix)
    return {f: f"<{f}>" for f in fields if f != "activity"}
