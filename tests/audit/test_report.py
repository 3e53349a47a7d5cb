"""Audit, replay, impact and review on the dev server: the history is the audit trail."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import JsonValue
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import agento
from agento import EmbeddedEngine, PolicyBundle
from agento._audit.replay import ImpactTally, impact, replay_decisions
from agento._audit.report import (
    ActivityRun,
    AuditReport,
    DecisionRecorded,
    ReviewResolved,
    _short,
    audit_report,
)
from agento._cli.audit import reports_of
from agento._reviews.client import pending_reviews, resolve_review
from agento.testing import governance_violations
from tests.support.engines import POLICY_BUNDLE
from tests.support.governed_activities import GOVERNED, Transfer
from tests.support.governed_workflows import WORKFLOWS, BypassWorkflow, PlainWorkflow, RouteWorkflow

ROOT = Path(__file__).parents[2]
SUPPORT = ROOT / "tests" / "support"
SCHEMA = ROOT / "docs" / "audit-schema.json"


@dataclass
class Runs:
    client: Client
    address: str
    task_queue: str
    allowed: WorkflowHandle[Any, Any]
    approved: WorkflowHandle[Any, Any]
    denied: WorkflowHandle[Any, Any]
    bypass: WorkflowHandle[Any, Any]


@pytest.fixture(scope="module")
async def runs(agento_dev_server: WorkflowEnvironment) -> AsyncIterator[Runs]:
    """The allow, deny-review-approve and deny-fail paths, run once for the module."""
    engine = EmbeddedEngine(POLICY_BUNDLE)
    client = Client(
        agento_dev_server.client.service_client, plugins=[agento.AgentoPlugin(engine=engine)]
    )
    task_queue = f"audit-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=agento.as_temporal_activities(*GOVERNED),
    ):

        async def start(workflow: Any, amount: int) -> WorkflowHandle[Any, Any]:
            return await client.start_workflow(
                workflow,
                Transfer(project_id="bess-7", amount=amount),
                id=f"audit-{uuid.uuid4()}",
                task_queue=task_queue,
            )

        allowed, approved, denied = (
            await start(RouteWorkflow.run, 40),
            await start(RouteWorkflow.run, 150),
            await start(RouteWorkflow.run, 5000),
        )
        bypass = await start(BypassWorkflow.run, 1)
        review = await _first_review(client, approved.id)
        await resolve_review(
            client, approved.id, review, approve=True, reviewer="bob", comment="checked on site"
        )
        await allowed.result()
        await approved.result()
        for failing in (denied, bypass):
            with pytest.raises(WorkflowFailureError):
                await failing.result()
        address = agento_dev_server.client.service_client.config.target_host
        yield Runs(client, address, task_queue, allowed, approved, denied, bypass)


async def _first_review(client: Client, workflow_id: str) -> str:
    for _ in range(200):
        reviews = await pending_reviews(client, workflow_id)
        if reviews:
            return reviews[0].review_id
        await asyncio.sleep(0.05)
    raise AssertionError("no review became pending")


async def agento_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The command, in a thread: the module's worker shares this event loop and must keep
    answering the queries the command sends."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "agento", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


async def report_of(handle: WorkflowHandle[Any, Any]) -> AuditReport:
    return audit_report(await handle.fetch_history())


async def test_audit_report_lists_every_step_in_order(runs: Runs) -> None:
    report = await report_of(runs.approved)
    assert [e.kind for e in report.entries] == [
        "workflow_started",
        "activity",
        "decision",
        "review",
        "activity",
        "workflow_closed",
    ]
    lookup, decision, review, route = report.entries[1:5]
    assert isinstance(lookup, ActivityRun)
    assert (lookup.activity, lookup.status, lookup.output) == ("lookup", "completed", 6)
    assert isinstance(decision, DecisionRecorded)
    assert decision.decision.allow is False
    assert decision.decision.reasons == ("amount over the limit of 100",)
    assert decision.decision.input["amount"] == 150
    assert isinstance(review, ReviewResolved)
    assert (review.outcome.reviewer, review.outcome.approved) == ("bob", True)
    assert review.outcome.comment == "checked on site"
    assert isinstance(route, ActivityRun)
    assert route.activity == "route"
    assert (route.version, route.idempotency, route.policy_class) == (
        "1.4.0",
        agento.Idempotency.NON_IDEMPOTENT,
        agento.PolicyClass.SIDE_EFFECT,
    )
    first_run = runs.approved.first_execution_run_id
    assert route.idempotency_key == f"{runs.approved.id}/{first_run}/0/agento-2-route"
    assert route.decision_id == decision.decision.decision_id
    assert route.override_review_id == review.outcome.review_id
    assert (route.attempts, route.status, route.input[1]) == (
        1,
        "completed",
        {"project_id": "bess-7", "amount": 150},
    )
    closed = report.entries[-1]
    assert closed.kind == "workflow_closed"


async def test_audit_json_follows_the_published_schema(runs: Runs) -> None:
    assert json.loads(SCHEMA.read_text()) == AuditReport.model_json_schema(), (
        "docs/audit-schema.json is out of date: run "
        "`python -c 'import json, agento._audit.report as a; "
        "print(json.dumps(a.AuditReport.model_json_schema(), indent=2))'`"
    )
    schema = json.loads(SCHEMA.read_text())
    for handle in (runs.allowed, runs.approved, runs.denied):
        run = await agento_cli("audit", handle.id, "--json", "--address", runs.address)
        assert run.returncode == 0, run.stderr
        jsonschema.validate(json.loads(run.stdout), schema)


async def test_failed_run_ends_with_the_denial(runs: Runs) -> None:
    report = await report_of(runs.denied)
    kinds = [e.kind for e in report.entries]
    assert kinds == ["workflow_started", "activity", "decision", "workflow_closed"]
    closed = report.entries[-1]
    assert closed.kind == "workflow_closed"
    assert closed.status == "failed"
    assert closed.failure is not None
    assert closed.failure.startswith("PolicyDenied: ")


async def test_text_report_is_aligned_and_plain_off_a_terminal(runs: Runs) -> None:
    run = await agento_cli("audit", runs.approved.id, "--address", runs.address)
    assert run.returncode == 0, run.stderr
    *lines, verdict = run.stdout.splitlines()
    assert lines[0].startswith(f"workflow {runs.approved.id} (RouteWorkflow); times in UTC")
    assert verdict.startswith("no findings")
    assert "\033[" not in run.stdout
    kind_columns = {line.index(line.split()[3]) for line in lines[1:]}
    assert len(kind_columns) == 1, "the kind column is aligned"
    assert all(line.split()[2].endswith("Z") for line in lines[1:]), "times carry their zone"
    assert [line.split()[3] for line in lines[1:]] == [
        "workflow_started",
        "activity",
        "decision",
        "review",
        "activity",
        "workflow_closed",
    ]
    assert "DENY agento/tests/route" in lines[3]
    assert 'requested by alice input {"amount":150,"project_id":"bess-7"} sha256:' in lines[3]
    denied_at = lines[3].split()[0]  # "#11": the decision's event
    assert (
        f"agento-2-route-review-1 (policy_denied at {denied_at}) approved by bob "
        "requested by alice: checked on site"
    ) in lines[4]


async def test_exported_history_gives_the_same_report(runs: Runs, tmp_path: Path) -> None:
    exported = tmp_path / "export.json"  # the run is named by its history, not by the file
    exported.write_text((await runs.approved.fetch_history()).to_json())
    from_file = await agento_cli("audit", "--history", str(exported), "--json")
    from_server = await agento_cli("audit", runs.approved.id, "--json", "--address", runs.address)
    assert from_file.returncode == 0, from_file.stderr
    assert json.loads(from_file.stdout) == json.loads(from_server.stdout)


async def test_replay_finds_every_decision_identical(runs: Runs) -> None:
    bundles = {b.revision: b for b in [PolicyBundle.load(POLICY_BUNDLE)]}
    for handle in (runs.allowed, runs.approved, runs.denied):
        results = replay_decisions(await report_of(handle), bundles)
        assert [r.verdict for r in results] == ["identical"]
    run = await agento_cli(
        "replay", runs.approved.id, "--bundle", str(POLICY_BUNDLE), "--address", runs.address
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "1 of 1 decisions identical"


async def test_replay_refuses_a_bundle_of_another_revision(runs: Runs) -> None:
    candidate = str(SUPPORT / "candidate")
    run = await agento_cli(
        "replay", runs.approved.id, "--bundle", candidate, "--address", runs.address
    )
    assert run.returncode == 2
    assert run.stderr.startswith("agento: decision ")
    assert "was made by bundle revision" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


async def _reports(runs: Runs) -> list[AuditReport]:
    return [await report_of(handle) for handle in (runs.allowed, runs.approved, runs.denied)]


async def test_impact_reports_exactly_the_decisions_a_change_flips(runs: Runs) -> None:
    result = impact(await _reports(runs), EmbeddedEngine(SUPPORT / "candidate"))
    assert (result.runs, result.decisions, result.not_evaluated) == (3, 3, 0)
    [change] = result.changes
    assert change.workflow_id == runs.approved.id
    assert change.change == "deny_to_allow"
    [group] = result.groups
    assert (group.policy, group.workflow_type, group.decisions) == (
        "agento/tests/route",
        "RouteWorkflow",
        3,
    )
    assert (group.allow_to_deny, group.deny_to_allow, group.reasons) == (0, 1, 0)

    unchanged = impact(await _reports(runs), EmbeddedEngine(SUPPORT / "candidate_copy"))
    assert unchanged.candidate_revision == "unchanged-copy"
    assert unchanged.changes == []


async def test_impact_command_lists_runs_through_visibility(runs: Runs) -> None:
    query = f'TaskQueue="{runs.task_queue}"'
    for _ in range(100):  # visibility is eventually consistent
        run = await agento_cli(
            "impact",
            "--bundle",
            str(SUPPORT / "candidate"),
            "--query",
            query,
            "--json",
            "--address",
            runs.address,
        )
        assert run.returncode in (0, 1), run.stderr
        result = json.loads(run.stdout)
        if result["runs"] == 4:
            break
        await asyncio.sleep(0.2)
    assert result["runs"] == 4
    assert run.returncode == 1, "a decision that would flip is a finding"
    [change] = result["changes"]
    assert (change["workflow_id"], change["change"]) == (runs.approved.id, "deny_to_allow")
    assert change["recorded"] == {"allow": False, "reasons": ["amount over the limit of 100"]}
    assert change["candidate"]["allow"] is True
    unchanged = await agento_cli(
        "impact",
        "--bundle",
        str(SUPPORT / "candidate_copy"),
        "--query",
        query,
        "--address",
        runs.address,
    )
    assert unchanged.returncode == 0, unchanged.stderr
    assert "0 would change" in unchanged.stdout


async def test_impact_streams_the_same_answer_at_any_concurrency(runs: Runs) -> None:
    query = f'TaskQueue="{runs.task_queue}"'
    candidate = EmbeddedEngine(SUPPORT / "candidate")
    for _ in range(100):  # visibility is eventually consistent
        if len([r async for r in reports_of(runs.client, query, concurrency=1)]) == 4:
            break
        await asyncio.sleep(0.2)
    answers = []
    for concurrency in (1, 3, 16):
        tally = ImpactTally(candidate)
        seen = []
        async for report in reports_of(runs.client, query, concurrency=concurrency):
            tally.add(report)
            seen.append(report.workflow_id)
        assert len(seen) == len(set(seen)) == 4, f"each run once at concurrency {concurrency}"
        answers.append(tally.report())
    assert answers[0] == answers[1] == answers[2]
    assert answers[0] == impact(
        [await report_of(h) for h in (runs.allowed, runs.approved, runs.denied, runs.bypass)],
        candidate,
    )


async def test_impact_refuses_a_concurrency_below_one(runs: Runs) -> None:
    run = await agento_cli("impact", "--bundle", str(SUPPORT / "candidate"), "--concurrency", "0")
    assert run.returncode == 2
    assert "--concurrency: '0' is not a positive whole number" in run.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["audit", "no-such-workflow"], "agento: Temporal refused:"),
        (["audit", "--history", "{corrupt}"], "agento: cannot read the history file"),
        (["audit", "no-such-workflow", "--address", "127.0.0.1:1"], "agento: cannot connect"),
    ],
)
async def test_bad_input_is_one_line_and_non_zero(
    runs: Runs, args: list[str], message: str, tmp_path: Path
) -> None:
    if "--history" in args:
        corrupt = tmp_path / "corrupt.json"
        corrupt.write_text("{not a history")
        args = ["audit", "--history", str(corrupt)]
    elif "--address" not in args:
        args = [*args, "--address", runs.address]
    run = await agento_cli(*args)
    assert run.returncode == 2
    assert run.stderr.startswith(message), run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr


async def test_a_refused_bypass_is_a_finding_the_report_shows(runs: Runs) -> None:
    run = await agento_cli("audit", runs.bypass.id, "--address", runs.address)
    assert run.returncode == 1, run.stderr
    [*_, activity, _closed, heading, finding] = run.stdout.splitlines()
    assert "route not started through agento" in activity
    assert "-> failed" in activity
    assert "[agento-bypass]" in activity
    assert heading == "1 finding(s):"
    assert finding.endswith(
        "route (1) was scheduled without agento's grant, and refused by the worker "
        "(agento-bypass): it did not run"
    )
    as_json = await agento_cli("audit", runs.bypass.id, "--json", "--address", runs.address)
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["findings"] == [finding.strip()]
    [refused] = [e for e in report["entries"] if e["kind"] == "activity"]
    assert refused["refused"] == "agento-bypass"


async def test_the_findings_are_the_invariant_checkers(runs: Runs) -> None:
    for handle in (runs.allowed, runs.approved, runs.denied, runs.bypass):
        history = await handle.fetch_history()
        assert audit_report(history).findings == governance_violations(history, GOVERNED)


async def test_a_history_without_agento_records_is_refused(runs: Runs) -> None:
    plain = await runs.client.start_workflow(
        PlainWorkflow.run, id=f"plain-{uuid.uuid4()}", task_queue=runs.task_queue
    )
    await plain.result()
    run = await agento_cli("audit", plain.id, "--address", runs.address)
    assert run.returncode == 2
    assert run.stderr == (
        f"agento: workflow {plain.id} has no agento records: it ran no governed activity\n"
    )


async def test_review_commands_list_and_resolve(runs: Runs) -> None:
    handle = await runs.client.start_workflow(
        RouteWorkflow.run,
        Transfer(project_id="bess-9", amount=150),
        id=f"audit-{uuid.uuid4()}",
        task_queue=runs.task_queue,
    )
    # The module's worker is still serving the task queue.
    review = await _first_review(runs.client, handle.id)
    query = f'WorkflowId="{handle.id}"'
    for _ in range(100):
        listing = await agento_cli("review", "list", "--query", query, "--address", runs.address)
        if listing.stdout:
            break
        await asyncio.sleep(0.2)
    assert listing.stdout.startswith(f"{handle.id} {review} route policy_denied since ")
    approved = await agento_cli(
        "review",
        "approve",
        handle.id,
        review,
        "--reviewer",
        "carol",
        "--comment",
        "ok",
        "--address",
        runs.address,
    )
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["reviewer"] == "carol"
    assert (await handle.result()).startswith("routed bess-9")


def test_long_values_are_cut_between_whole_fields() -> None:
    value: JsonValue = {
        "project_id": "bess-7",
        "items": list(range(100)),
        "note": "x" * 500,
        "z": 1,
    }
    shown = _short(value)
    assert shown.startswith('{"project_id":"bess-7","items":[0,1,2,')
    assert shown.endswith(",20,21,... 78 more],... 2 more}"), "counted, never cut mid-value"
    assert _short("x" * 500) == '"' + "x" * 60 + '..." (500 characters)'
    assert _short({"a": 1}) == '{"a":1}'
