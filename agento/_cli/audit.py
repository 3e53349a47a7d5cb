"""``agento audit``, ``replay`` and ``impact``: the auditor's commands over recorded runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from agento._cli.common import (
    CommandError,
    Exit,
    connect,
    connection_parser,
    read_review_keys,
    run_connected,
)

# Parsing arguments imports none of what the commands run on (`agento --help` stays fast): each
# command imports its own modules when it runs.
if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowExecution, WorkflowHistory

    from agento._audit.report import AuditReport
    from agento._policy.bundle import PolicyBundle
    from agento._policy.signing import VerificationKey

COMMANDS = ("audit", "replay", "impact")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connection = connection_parser()

    audit = commands.add_parser(
        "audit", parents=[connection], help="the ordered audit report of one workflow run"
    )
    _source_arguments(audit)
    audit.add_argument("--json", action="store_true", help="print the versioned JSON report")
    audit.add_argument(
        "--verify",
        action="store_true",
        help="re-check every resolution's signature against --review-key (exit 1 if one fails "
        "or is unsigned)",
    )
    audit.add_argument(
        "--review-key",
        action="append",
        default=[],
        metavar="KEY_ID=FILE",
        help="a review service's public key (PEM), by the key id it signs with (repeatable)",
    )

    replay = commands.add_parser(
        "replay",
        parents=[connection],
        help="re-evaluate a run's recorded decisions against their recorded bundle revisions",
    )
    _source_arguments(replay)
    replay.add_argument(
        "--bundle", action="append", default=[], metavar="PATH", help="a bundle (repeatable)"
    )
    replay.add_argument("--bundles", metavar="DIR", help="a directory whose entries are bundles")

    candidate = commands.add_parser(
        "impact",
        parents=[connection],
        help="which recorded decisions a candidate bundle would decide differently",
    )
    candidate.add_argument(
        "--bundle",
        required=True,
        metavar="CANDIDATE",
        help="the candidate bundle (directory or .tar.gz) to decide the recorded inputs again",
    )
    candidate.add_argument("--query", default="", help="visibility query selecting the runs")
    candidate.add_argument(
        "--concurrency",
        type=_positive,
        default=16,
        metavar="N",
        help="histories fetched at once (default 16); memory stays flat in the number of runs",
    )
    candidate.add_argument("--json", action="store_true", help="print the impact report as JSON")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "workflow_id", nargs="?", metavar="WORKFLOW_ID", help="the run, read from Temporal"
    )
    parser.add_argument("--run-id", help="a specific run (default: the latest)")
    parser.add_argument("--history", metavar="FILE", help="an exported history JSON instead")


def run(args: argparse.Namespace) -> int:
    return run_connected(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from agento._audit.report import render

    if args.command == "audit":
        report = await _report(args)
        if args.verify:
            return _verify(report, read_review_keys(args.review_key))
        if args.json:
            print(report.model_dump_json(indent=2))
        else:
            print(render(report, color=sys.stdout.isatty()))
        return Exit.FINDING if report.findings else Exit.OK
    if args.command == "replay":
        return _replay(await _report(args), _bundles(args.bundle, args.bundles))
    return await _impact(args)


async def _report(args: argparse.Namespace) -> AuditReport:
    from agento._audit.report import audit_report

    if args.history:
        history = _read_history(Path(args.history), args.workflow_id)
    elif args.workflow_id:
        client = await connect(args)
        handle = client.get_workflow_handle(args.workflow_id, run_id=args.run_id)
        history = await handle.fetch_history()
    else:
        raise CommandError("give a WORKFLOW_ID, or --history FILE")
    report = audit_report(history)
    if not (report.decisions or report.findings or any(a.governed for a in report.activities)):
        raise CommandError(
            f"workflow {report.workflow_id} has no agento records: it ran no governed activity"
        )
    return report


def _read_history(path: Path, workflow_id: str | None) -> WorkflowHistory:
    from temporalio.client import WorkflowHistory

    try:
        return WorkflowHistory.from_json(workflow_id or path.stem, path.read_text())
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CommandError(f"cannot read the history file {path}: {e}") from e


def _bundles(paths: list[str], directory: str | None) -> dict[str, PolicyBundle]:
    from agento._policy.bundle import PolicyBundle

    found = [Path(p) for p in paths]
    if directory:
        found += sorted(Path(directory).iterdir())
    if not found:
        raise CommandError("give the bundles to replay with: --bundle PATH or --bundles DIR")
    bundles = [PolicyBundle.load(p) for p in found]
    return {b.revision: b for b in bundles}


def _replay(report: AuditReport, bundles: dict[str, PolicyBundle]) -> int:
    from agento._audit.replay import replay_decisions
    from agento._errors import PolicyError

    try:
        results = replay_decisions(report, bundles)
    except PolicyError as e:
        raise CommandError(str(e)) from e
    for r in results:
        detail = f" ({r.note})" if r.note else ""
        if r.verdict == "different" and r.replayed is not None:
            detail = f" (recorded {r.recorded}, now {r.replayed})"
        print(
            f"#{r.event_id:<5} {r.policy} {r.bundle_revision} {r.decision_id}: {r.verdict}{detail}"
        )
    same = sum(r.verdict == "identical" for r in results)
    print(f"{same} of {len(results)} decisions identical")
    return Exit.OK if same == len(results) else Exit.FINDING


def _verify(report: AuditReport, keys: dict[str, VerificationKey]) -> int:
    from agento._audit.report import signature_findings

    findings = signature_findings(report, keys)
    for event_id, review_id, found in findings:
        print(f"#{event_id:<5} {review_id}: {found}")
    verified = sum(found.startswith("verified") for *_, found in findings)
    print(f"{verified} of {len(findings)} resolutions signed and verified")
    return Exit.OK if verified == len(findings) else Exit.FINDING


async def _impact(args: argparse.Namespace) -> int:
    from agento._audit.replay import ImpactTally
    from agento._policy.embedded import EmbeddedEngine

    candidate = EmbeddedEngine(args.bundle)
    client = await connect(args)
    tally = ImpactTally(candidate)
    async for report in reports_of(client, args.query, concurrency=args.concurrency):
        tally.add(report)
    result = tally.report()
    changed = Exit.FINDING if result.changes else Exit.OK  # a flip is a finding, as in replay
    if args.json:
        print(result.model_dump_json(indent=2))
        return changed
    print(
        f"candidate {result.candidate_revision}: {result.runs} runs, {result.decisions} "
        f"decisions, {len(result.changes)} would change ({result.not_evaluated} not evaluated)"
    )
    for g in result.groups:
        print(
            f"  {g.policy} / {g.workflow_type}: {g.decisions} decisions, "
            f"{g.allow_to_deny} allow->deny, {g.deny_to_allow} deny->allow, {g.reasons} reasons"
        )
    for c in result.changes:
        print(
            f"  {c.workflow_id} {c.decision_id}: {c.change} "
            f"(recorded {c.recorded}, now {c.candidate})"
        )
    return changed


async def reports_of(
    client: Client, query: str, *, concurrency: int = 16
) -> AsyncIterator[AuditReport]:
    """The audit report of every run ``query`` selects, in no particular order: histories are
    fetched ``concurrency`` at a time and each is dropped once reduced to its report, so that
    memory stays flat however many runs there are."""
    import asyncio

    from agento._audit.report import audit_report

    progress = sys.stderr.isatty()
    count = 0

    async def report_of(execution: WorkflowExecution) -> AuditReport:
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        return audit_report(await handle.fetch_history())

    fetching: set[asyncio.Task[AuditReport]] = set()
    try:
        # Visibility pages are held whole: a page a few times the fetches keeps memory flat.
        pages = client.list_workflows(query or None, page_size=max(100, 4 * concurrency))
        executions = aiter(pages)
        while True:
            if len(fetching) < concurrency:
                execution = await anext(executions, None)
                if execution is not None:
                    fetching.add(asyncio.create_task(report_of(execution)))
                    continue
            if not fetching:
                break
            done, fetching = await asyncio.wait(fetching, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                yield task.result()
                count += 1
                if progress:
                    print(f"\rread {count} runs", end="", file=sys.stderr, flush=True)
    finally:
        for task in fetching:
            task.cancel()
    if progress:
        print(file=sys.stderr)
