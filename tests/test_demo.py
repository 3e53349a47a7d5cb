"""`make demo`'s program, run as a user runs it: two commissioning runs, a review, the audit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_demo_routes_one_report_and_routes_the_other_after_review() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "examples.commissioning"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
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
    assert "1 of 1 resolutions signed and verified" in steps[-2]
    assert steps[-1] == "dev server stopped"
