"""`make demo`'s program, run as a user runs it: two commissioning runs, a review, the audit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def demo(module: str) -> str:
    """What a demo program prints, run from the checkout as `make` runs it; it must succeed."""
    run = subprocess.run(
        [sys.executable, "-m", module],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_demo_routes_one_report_and_routes_the_other_after_review() -> None:
    out = demo("examples.commissioning")
    before_audit = out.split("`agento audit")[0].splitlines()
    assert all(line.startswith("[") for line in before_audit), "no server banner among steps"
    steps = [line.split("] ", 1)[1] for line in out.splitlines() if line.startswith("[")]
    assert "run 1 (bess-7, all closed): routed as SUB-0001" in steps
    paused = next(s for s in steps if s.startswith("run 2 (bess-9) paused for review"))
    assert paused.endswith(": punch items still open")
    refused = next(s for s in steps if s.startswith("intern.sam may not approve (403): "))
    assert refused.endswith(
        "only members of commissioning-engineers may override generate_and_route_report"
    )
    assert (
        "engineer.lee approved it through the review service (signed, key review-service-demo)"
        in steps
    )
    assert "run 2 completed: routed as SUB-0002" in steps
    assert "the stand-in recorded 2 submissions, one per key" in steps
    assert "DENY agento/commissioning/routing" in out
    assert "(policy_denied at #" in out, "the review cites the decision that denied"
    assert "DENY agento/commissioning/reviewers" in out, "the intern's attempt, decided"
    assert "REFUSED intern.sam: ReviewerDenied" in out
    assert "ALLOW agento/commissioning/reviewers" in out
    assert (
        "approved by engineer.lee (via https://idp.demo.invalid; groups commissioning-engineers) "
        "requested by ana: PI-104 label fitted on site"
    ) in out
    assert "[signed, key review-service-demo]" in out
    assert "1 of 1 resolutions signed and verified" in steps[-5]
    run_2 = steps[-4].split("`")[1].removeprefix("agento evidence export ")
    assert run_2.startswith("commissioning-bess-9-")
    assert steps[-4].startswith(f"`agento evidence export {run_2}`: .agento/demo/{run_2}")
    assert steps[-3] == "dev server stopped"
    assert steps[-2].startswith("`agento evidence verify --key ")
    assert steps[-2].endswith(": verified"), "the pack verifies with the server gone"
    page = steps[-1].removeprefix("the pack as a page for auditors (open it in a browser): ")
    assert page == f".agento/demo/{run_2}.agento-evidence.zip.html"
    assert "Verified: the signature" in (ROOT / page).read_text()


def test_agent_demo_shows_the_models_tool_call_its_decision_and_the_audit_line() -> None:
    out = demo("examples.agent_refunds")
    steps = [line.split("] ", 1)[1] for line in out.splitlines() if line.startswith("[")]
    assert any(
        s.startswith("run 1: refund-desk (scripted-refund-desk) called issue_refund")
        and "as call-2: ALLOW agento/refunds/issue revision sha256:" in s
        for s in steps
    ), steps
    assert (
        "run 2 paused for review agento-2-issue_refund-review-1: an agent may not refund more "
        "than 100 without review"
    ) in steps
    assert "finance.lead approved it (signed, key review-service-demo)" in steps
    assert 'run 2 answered: done: {"refund_id":"rf-2","order_id":"A-1001","amount":250.0}' in steps
    assert "the payment stand-in issued 2 refunds, each with its own key" in steps
    assert (
        "asked by agent refund-desk (openai-agents, model scripted-refund-desk, tool call call-2)"
        " reasons: an agent may not refund more than 100 without review"
    ) in out
    assert "(policy_denied at #" in out
    assert steps[-1] == "dev server stopped"
