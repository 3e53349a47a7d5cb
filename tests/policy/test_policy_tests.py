"""``agento policy test``: a bundle's Rego tests, discovered and judged as ``opa test`` does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import agento
from agento._policy.rego_tests import run_policy_tests
from tests.support.cli import agento as agento_cli

ROOT = Path(__file__).parents[2]
COMMISSIONING = ROOT / "examples" / "commissioning" / "policy"

POLICY = """package shop

default allow := false

allow if input.amount <= 100

conflict := 1 if input.twice
conflict := 2 if input.twice
"""

TESTS = """package shop_test

import data.shop

test_small_is_allowed if {
	shop.allow with input.amount as 10
}

test_large_is_allowed if {
	shop.allow with input.amount as 1000
}

test_false := false


test_conflicting_values if {
	shop.conflict with input.twice as true
}

todo_test_refunds if {
	false
}
"""


def bundle(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_an_engine_that_left_the_tests_out_cannot_run_them() -> None:
    worker = agento.EmbeddedEngine(COMMISSIONING)
    assert "agento/commissioning/routing_test" not in worker.policies()
    with pytest.raises(ValueError, match="tests=True"):
        run_policy_tests(worker)


def test_the_commissioning_tests_cover_the_seeds_table() -> None:
    report = run_policy_tests(agento.EmbeddedEngine(COMMISSIONING, tests=True))
    assert [(r.reference.rsplit(".", 1)[1], r.outcome) for r in report.results] == [
        ("test_an_engineer_may_override_a_routing_deny", "pass"),
        ("test_anyone_else_may_not_and_is_told_why", "pass"),
        ("test_an_unverified_engineer_may_not_and_is_told_why", "pass"),
        ("test_anyone_may_reject", "pass"),
        ("test_clean_commissioning_is_allowed", "pass"),
        ("test_open_punch_items_are_denied", "pass"),
        ("test_a_result_outside_tolerance_is_denied", "pass"),
        ("test_both_problems_are_both_reasons", "pass"),
    ]
    assert report.ok


def test_the_tests_catch_a_changed_policy(tmp_path: Path) -> None:
    changed = tmp_path / "policy"
    shutil.copytree(COMMISSIONING, changed)
    routing = changed / "agento" / "commissioning" / "routing.rego"
    routing.write_text(routing.read_text().replace("punch items still open", "punch list open"))
    run = agento_cli("policy", "test", str(changed))
    assert run.returncode == 1, run.stdout + run.stderr
    failed = [line for line in run.stdout.splitlines() if ": FAIL" in line]
    assert len(failed) == 2, run.stdout  # the two tests that expect the punch-list reason
    assert all(
        line.startswith(f"{changed}/agento/commissioning/routing_test.rego:") for line in failed
    )
    assert run.stdout.splitlines()[-2:] == ["PASS: 6/8", "FAIL: 2/8"]


def test_each_outcome_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    root = bundle(tmp_path, {"shop/policy.rego": POLICY, "shop/policy_test.rego": TESTS})
    run = agento_cli("policy", "test", str(root), "--json")
    assert run.returncode == 1, run.stderr
    results = {r["reference"]: r for r in json.loads(run.stdout)["results"]}
    assert {name: (r["outcome"], r["detail"], r["line"]) for name, r in results.items()} == {
        "data.shop_test.test_small_is_allowed": ("pass", "", 5),
        "data.shop_test.test_large_is_allowed": ("fail", "undefined", 9),
        "data.shop_test.test_false": ("fail", "false", 13),
        "data.shop_test.test_conflicting_values": (
            "error",
            "eval_conflict_error: complete rules must not produce multiple outputs",
            16,
        ),
        "data.shop_test.todo_test_refunds": ("skip", "", 20),
    }
    assert {r["file"] for r in results.values()} == {"shop/policy_test.rego"}


def test_run_selects_tests_and_no_test_is_a_finding(tmp_path: Path) -> None:
    root = bundle(tmp_path, {"shop/policy.rego": POLICY, "shop/policy_test.rego": TESTS})
    run = agento_cli("policy", "test", str(root), "--run", "small")
    assert (run.returncode, run.stdout.splitlines()[-1]) == (0, "PASS: 1/1")
    run = agento_cli("policy", "test", str(root), "--run", "refund_by_card")
    assert run.returncode == 1
    assert "no tests in" in run.stdout
    assert "matching 'refund_by_card'" in run.stdout
    run = agento_cli("policy", "test", str(root), "--run", "(")
    assert run.returncode == 2
    assert "--run '(' is not a regular expression" in run.stderr


def test_a_rule_named_like_a_test_is_a_test_as_in_opa(tmp_path: Path) -> None:
    # The seed named a helper rule test_results_within_tolerance; opa test runs it, undefined
    # without input, so it fails. agento judges it the same way.
    helper = "package seed\n\ntest_results_within_tolerance if input.ok\n"
    report = run_policy_tests(
        agento.EmbeddedEngine(bundle(tmp_path, {"seed.rego": helper}), tests=True)
    )
    [result] = report.results
    assert (result.reference, result.outcome) == (
        "data.seed.test_results_within_tolerance",
        "fail",
    )


@pytest.mark.parametrize("value", ['{"amount": 100}', "doc"])
def test_replacing_the_whole_input_is_refused_not_a_crash(tmp_path: Path, value: str) -> None:
    """A test written the usual OPA way aborted the process (exit 134) in policy test, policy
    check and EmbeddedEngine: rego-cpp cannot compile `<=` under `with input as`."""
    policy = "package refunds\n\ndefault allow := false\n\nallow if input.amount <= 500\n"
    tests = (
        'package refunds_test\n\nimport data.refunds\n\ndoc := {"amount": 100}\n\n'
        f"test_small_refund if refunds.allow with input as {value}\n"
    )
    root = bundle(tmp_path, {"refunds.rego": policy, "refunds_test.rego": tests})
    for command in ("test", "check"):
        run = agento_cli("policy", command, str(root))
        assert run.returncode == 2, run.stderr
        assert "refunds_test.rego:7:" in run.stderr
        assert "with input.a as ... with input.b as ..." in run.stderr, "the message names the fix"
    # Fields replaced one by one compile and evaluate.
    fields = tests.replace(f"with input as {value}", "with input.amount as 100")
    (root / "refunds_test.rego").write_text(fields)
    run = agento_cli("policy", "test", str(root))
    assert (run.returncode, run.stdout.splitlines()[-1]) == (0, "PASS: 1/1"), run.stderr
