"""The registration-time validator: the rule set, checked against the activities a worker gets."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence

from agento._declaration.activity import ActivityDeclaration, declaration_of
from agento._postures import Idempotency, PolicyClass
from agento.rules import (
    DUPLICATE_NAME,
    UNGOVERNED,
    UNKNOWN_POLICY,
    DeclarationFacts,
    Dynamic,
    Violation,
    check_declaration,
)


class MisdeclaredActivityError(ValueError):
    """Raised, before any workflow runs, when activities break the rule set.

    Lists every violation at once, each with the activity, the rule id and the fix.
    """

    violations: tuple[Violation, ...]

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = tuple(violations)
        count = len(self.violations)
        lines = [f"{count} agento rule violation{'s' if count != 1 else ''}:"]
        lines += [f"  {v.activity} [{v.rule.id}]: {v}" for v in self.violations]
        super().__init__("\n".join(lines))


def check_activities(
    activities: Iterable[object],
    *,
    ungoverned: Collection[Callable[..., object] | str] = (),
    policies: Collection[str] | None = None,
) -> list[Violation]:
    """Every rule the given activities break, in registration order.

    ``activities`` is what a worker is given: governed activities, plain Temporal ones, anything.
    ``ungoverned`` lists plain Temporal activities deliberately run without agento's governance,
    or their names (for activities a framework's plugin builds, such as an agent's model call).
    ``policies``, when known, are the policy paths the worker's engine can answer.
    """
    found: list[Violation] = []
    seen: dict[str, object] = {}
    for fn in activities:
        declaration = declaration_of(fn)
        name = declaration.name if declaration else _temporal_name(fn)
        if declaration is not None:
            found += check_declaration(_facts(declaration))
            if policies is not None and declaration.policy not in (None, *policies):
                found.append(
                    UNKNOWN_POLICY.violation(
                        name,
                        policy=declaration.policy,
                        known=defined_policies(policies),
                    )
                )
        elif fn not in ungoverned and name not in ungoverned:
            found.append(UNGOVERNED.violation(name))
        first = seen.setdefault(name, fn)
        if first is not fn:
            found.append(DUPLICATE_NAME.violation(name, first=_where(first), second=_where(fn)))
    return found


def defined_policies(policies: Collection[str]) -> str:
    """The policies an engine defines, as messages list them: its test packages (``*_test``,
    where ``agento policy test`` finds tests) are not policies an activity could name."""
    return ", ".join(sorted(p for p in policies if not p.endswith("_test"))) or "nothing"


def validate_activities(
    activities: Iterable[object],
    *,
    ungoverned: Collection[Callable[..., object] | str] = (),
    policies: Collection[str] | None = None,
) -> None:
    """Raise `MisdeclaredActivityError` listing every rule the activities break."""
    violations = check_activities(activities, ungoverned=ungoverned, policies=policies)
    if violations:
        raise MisdeclaredActivityError(violations)


def _facts(d: ActivityDeclaration) -> DeclarationFacts:
    # The decorator's signature promises enum members and strings; callers that ignore the
    # type checker reach here with anything, which is exactly what the rules are for.
    idempotency: object = d.idempotency
    policy_class: object = d.policy_class
    policy: object = d.policy
    version: object = d.version
    return DeclarationFacts(
        activity=d.name,
        idempotency=(
            idempotency if isinstance(idempotency, Idempotency) else Dynamic(repr(idempotency))
        ),
        policy_class=(
            policy_class if isinstance(policy_class, PolicyClass) else Dynamic(repr(policy_class))
        ),
        policy=policy if policy is None or isinstance(policy, str) else repr(policy),
        version=version if isinstance(version, str) else repr(version),
        parameters=d.parameters,
    )


def _temporal_name(fn: object) -> str:
    defn = getattr(fn, "__temporal_activity_definition", None)
    name = getattr(defn, "name", None)
    return name if isinstance(name, str) else getattr(fn, "__qualname__", repr(fn))


def _where(fn: object) -> str:
    declaration = declaration_of(fn)
    target = declaration.fn if declaration else fn
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"
