from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import activity

from agento import (
    Idempotency,
    MisdeclaredActivityError,
    PolicyClass,
    check_activities,
    declaration_of,
    validate_activities,
)
from agento.rules import RULES, Checker
from tests.support import activities as well_declared
from tests.support.factory import build

IDEMPOTENT, KEYED, NON_IDEMPOTENT = Idempotency
READ_ONLY, SIDE_EFFECT = PolicyClass
ROUTING = "agento/commissioning/routing"

# rule id -> (declaration, mis-declared source, the nearest well-declared source)
DECLARATION_CASES: dict[str, tuple[dict[str, object], dict[str, object], str, str]] = {
    "agento-missing-key": (
        {"idempotency": NON_IDEMPOTENT, "policy_class": SIDE_EFFECT, "policy": ROUTING},
        {},
        "async def route(request: Request) -> None: ...",
        "async def route(key: IdempotencyKey, request: Request) -> None: ...",
    ),
    "agento-unexpected-key": (
        {"idempotency": IDEMPOTENT, "policy_class": READ_ONLY},
        {"idempotency": KEYED},
        "async def fetch(key: IdempotencyKey, project_id: str) -> None: ...",
        "async def fetch(key: IdempotencyKey, project_id: str) -> None: ...",
    ),
    "agento-missing-policy": (
        {"idempotency": IDEMPOTENT, "policy_class": SIDE_EFFECT},
        {"policy": ROUTING},
        "async def notify(request: Request) -> None: ...",
        "async def notify(request: Request) -> None: ...",
    ),
    "agento-missing-input": (
        {"idempotency": KEYED, "policy_class": SIDE_EFFECT, "policy": ROUTING},
        {},
        "async def route(key: IdempotencyKey, a: Request, b: OtherRequest) -> None: ...",
        "async def route(key: IdempotencyKey, a: Request) -> None: ...",
    ),
    "agento-unchecked-argument": (
        {"idempotency": KEYED, "policy_class": SIDE_EFFECT, "policy": ROUTING},
        {},
        "async def route(key: IdempotencyKey, request: Request, force: bool) -> None: ...",
        "async def route(key: IdempotencyKey, request: Request) -> None: ...",
    ),
    "agento-contradiction": (
        {"idempotency": NON_IDEMPOTENT, "policy_class": READ_ONLY},
        {"idempotency": KEYED},
        "async def fetch(key: IdempotencyKey) -> None: ...",
        "async def fetch(key: IdempotencyKey) -> None: ...",
    ),
    "agento-dynamic-declaration": (
        {"idempotency": IDEMPOTENT, "policy_class": "read_only"},
        {"policy_class": READ_ONLY},
        "async def fetch(project_id: str) -> None: ...",
        "async def fetch(project_id: str) -> None: ...",
    ),
    "agento-bad-version": (
        {"idempotency": IDEMPOTENT, "policy_class": READ_ONLY, "version": "1.4"},
        {"version": "1.4.0"},
        "async def fetch(project_id: str) -> None: ...",
        "async def fetch(project_id: str) -> None: ...",
    ),
    "agento-bad-policy-path": (
        {"idempotency": IDEMPOTENT, "policy_class": READ_ONLY, "policy": "agento.specs"},
        {"policy": "agento/specs"},
        "async def fetch(request: Request) -> None: ...",
        "async def fetch(request: Request) -> None: ...",
    ),
}


@pytest.mark.parametrize("rule_id", DECLARATION_CASES)
def test_each_declaration_rule_rejects_its_example_and_accepts_the_fix(rule_id: str) -> None:
    declaration, correction, bad_source, good_source = DECLARATION_CASES[rule_id]
    bad = build(bad_source, **{"version": "1.0.0", **declaration})
    good = build(good_source, **{"version": "1.0.0", **declaration, **correction})

    with pytest.raises(MisdeclaredActivityError) as raised:
        validate_activities([bad])
    assert [v.rule.id for v in raised.value.violations] == [rule_id]
    assert rule_id in str(raised.value)
    assert check_activities([good]) == []


def test_every_validator_rule_has_a_case() -> None:
    covered = set(DECLARATION_CASES) | {
        "agento-ungoverned",
        "agento-duplicate-name",
        "agento-unknown-policy",
    }
    missing = {r.id for r in RULES if Checker.VALIDATOR in r.checkers} - covered
    assert not missing, f"rules the validator enforces without a test case: {missing}"


@activity.defn
async def plain_activity(project_id: str) -> None: ...


def test_plain_activity_needs_an_explicit_opt_out() -> None:
    [violation] = check_activities([plain_activity])
    assert violation.rule.id == "agento-ungoverned"
    assert violation.activity == "plain_activity"
    assert check_activities([plain_activity], ungoverned=[plain_activity]) == []


def test_an_opt_out_by_name_covers_activities_a_framework_builds_per_worker() -> None:
    @activity.defn(name="invoke_model_activity")
    async def built_per_worker(prompt: str) -> str:
        return prompt

    assert check_activities([built_per_worker], ungoverned=["invoke_model_activity"]) == []
    [violation] = check_activities([built_per_worker], ungoverned=["another_activity"])
    assert violation.rule.id == "agento-ungoverned"


def test_two_activities_under_one_name_are_rejected() -> None:
    source = "async def fetch(project_id: str) -> None: ..."
    first = build(source, idempotency=IDEMPOTENT, policy_class=READ_ONLY, version="1.0.0")
    second = build(source, idempotency=IDEMPOTENT, policy_class=READ_ONLY, version="2.0.0")
    [violation] = check_activities([first, second])
    assert violation.rule.id == "agento-duplicate-name"
    assert check_activities([first, first]) == [], "the same activity listed twice is one"


def test_policy_paths_the_engine_cannot_answer_are_rejected() -> None:
    [violation] = check_activities(well_declared.WELL_DECLARED, policies=[ROUTING])
    assert violation.rule.id == "agento-unknown-policy"
    assert violation.activity == "check_specs"
    assert "agento/specs/read" in violation.message
    assert (
        check_activities(well_declared.WELL_DECLARED, policies=[ROUTING, "agento/specs/read"]) == []
    )


def test_error_lists_every_violation_with_activity_rule_and_fix() -> None:
    bad = build(
        "def route(request: Request, force: bool) -> None: ...",
        idempotency=NON_IDEMPOTENT,
        policy_class=SIDE_EFFECT,
        policy="/routing",
        version="one",
    )
    with pytest.raises(MisdeclaredActivityError) as raised:
        validate_activities([bad, plain_activity, *well_declared.WELL_DECLARED])
    ids = [v.rule.id for v in raised.value.violations]
    assert ids == [
        "agento-missing-key",
        "agento-unchecked-argument",
        "agento-bad-version",
        "agento-bad-policy-path",
        "agento-ungoverned",
    ]
    text = str(raised.value)
    assert text.startswith("5 agento rule violations:\n")
    assert '  route [agento-missing-key]: Activity "route" is NON_IDEMPOTENT' in text
    assert 'Fix: add "key: agento.IdempotencyKey" as its first parameter' in text


def test_well_declared_activities_pass() -> None:
    validate_activities(well_declared.WELL_DECLARED)


def test_declaration_is_readable_at_runtime() -> None:
    declaration = declaration_of(well_declared.submit)
    assert declaration is not None
    assert declaration.name == "submit_report"
    assert declaration.idempotency is NON_IDEMPOTENT
    assert declaration.policy_class is SIDE_EFFECT
    assert declaration.policy == ROUTING
    assert declaration.version == "1.4.0"
    assert declaration.is_policy_gated
    assert declaration_of(plain_activity) is None


def test_unresolvable_annotation_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match=r'Activity "fetch": cannot resolve .*Missing'):
        build(
            "async def fetch(request: 'Missing') -> None: ...",
            idempotency=IDEMPOTENT,
            policy_class=READ_ONLY,
            version="1.0.0",
        )


def test_stacking_on_activity_defn_is_refused() -> None:
    with pytest.raises(TypeError, match=r"already decorated with @activity\.defn"):
        build(
            "from temporalio import activity\n"
            "@activity.defn\nasync def fetch(project_id: str) -> None: ...",
            idempotency=IDEMPOTENT,
            policy_class=READ_ONLY,
            version="1.0.0",
        )


def test_misdeclared_example_output_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    from agento._cli.main import main

    assert main(["validate", "examples.misdeclared.activities:ACTIVITIES"]) == 1
    expected = Path("examples/misdeclared/validator.txt").read_text()
    assert capsys.readouterr().err == expected


def test_the_policies_a_worker_defines_leave_out_test_packages() -> None:
    policies = [ROUTING, f"{ROUTING}_test"]
    [violation] = check_activities(well_declared.WELL_DECLARED, policies=policies)
    assert violation.fix.endswith(f"(it defines: {ROUTING})")
