"""The validator accepts exactly the declarations the rule table allows, over every combination."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agento import Idempotency, PolicyClass, check_activities
from tests.support.factory import build

POSTURES: list[object] = [*Idempotency, "keyed"]
CLASSES: list[object] = [*PolicyClass, "side_effect"]
POLICIES = [None, "agento/commissioning/routing", "agento//routing"]
VERSIONS = ["1.4.0", "2.0.0-rc.1+build.7", "1.4", ""]
PARAMETERS = {
    "key": "key: IdempotencyKey",
    "request": "request: Request",
    "other_request": "other: OtherRequest",
    "plain": "project_id: str",
}


def allowed(
    idempotency: object,
    policy_class: object,
    policy: str | None,
    version: str,
    params: list[str],
) -> bool:
    """The rule table, restated independently of agento.rules.check_declaration (sync and async
    functions alike)."""
    if not isinstance(idempotency, Idempotency) or not isinstance(policy_class, PolicyClass):
        return False
    gated = policy_class is PolicyClass.SIDE_EFFECT or policy is not None
    needs_key = idempotency is not Idempotency.IDEMPOTENT
    return (
        version in ("1.4.0", "2.0.0-rc.1+build.7")
        and policy != "agento//routing"
        and not (
            policy_class is PolicyClass.READ_ONLY and idempotency is Idempotency.NON_IDEMPOTENT
        )
        and not (policy_class is PolicyClass.SIDE_EFFECT and policy is None)
        and (params[:1] == ["key"] if needs_key else "key" not in params)
        and (
            not gated or sorted(p for p in params if p != "key") in (["request"], ["other_request"])
        )
    )


@given(
    idempotency=st.sampled_from(POSTURES),
    policy_class=st.sampled_from(CLASSES),
    policy=st.sampled_from(POLICIES),
    version=st.sampled_from(VERSIONS),
    params=st.lists(st.sampled_from(list(PARAMETERS)), max_size=3, unique=True),
    is_async=st.booleans(),
)
def test_validator_accepts_exactly_what_the_rules_allow(
    idempotency: object,
    policy_class: object,
    policy: str | None,
    version: str,
    params: list[str],
    is_async: bool,
) -> None:
    signature = ", ".join(PARAMETERS[p] for p in params)
    source = f"{'async ' if is_async else ''}def act({signature}) -> None: ..."
    governed = build(
        source,
        idempotency=idempotency,
        policy_class=policy_class,
        policy=policy,
        version=version,
    )
    violations = check_activities([governed])
    expected = allowed(idempotency, policy_class, policy, version, params)
    assert (not violations) == expected, [str(v) for v in violations]
