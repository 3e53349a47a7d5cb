"""``agento audit``, ``replay``, ``impact`` and ``review``: the auditor's and reviewer's commands.

They connect the way the ``temporal`` CLI does: an environment-config profile (TOML file and
``TEMPORAL_*`` variables), overridden by ``--address``, ``--namespace``, ``--api-key``, ``--tls``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pydantic
from temporalio.client import Client, WorkflowHistory
from temporalio.envconfig import ClientConfig
from temporalio.service import RPCError

from agento._audit import AuditReport, audit_report, render
from agento._bundle import PolicyBundle
from agento._embedded import EmbeddedEngine
from agento._errors import PolicyError
from agento._plugin import AgentoPlugin
from agento._replay import impact, replay_decisions
from agento._reviews import pending_reviews, resolve_review

COMMANDS = ("audit", "replay", "impact", "review")


class CommandError(Exception):
    """Reported on one line; exit status 2."""


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connection = argparse.ArgumentParser(add_help=False)
    group = connection.add_argument_group("connection (as the temporal CLI)")
    group.add_argument("--address", help="host:port (default: the profile's, else localhost:7233)")
    group.add_argument("--namespace", help="namespace (default: the profile's, else default)")
    group.add_argument("--api-key", help="API key (Temporal Cloud)")
    group.add_argument("--tls", action="store_true", help="connect with TLS")
    group.add_argument("--profile", help="environment-config profile to start from")

    audit = commands.add_parser(
        "audit", parents=[connection], help="the ordered audit report of one workflow run"
    )
    _source_arguments(audit)
    audit.add_argument("--json", action="store_true", help="print the versioned JSON report")

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
    candidate.add_argument("--bundle", required=True, metavar="CANDIDATE")
    candidate.add_argument("--query", default="", help="visibility query selecting the runs")
    candidate.add_argument("--json", action="store_true")

    review = commands.add_parser("review", help="list and resolve pending reviews")
    actions = review.add_subparsers(dest="review_command", required=True)
    listing = actions.add_parser("list", parents=[connection], help="pending reviews")
    listing.add_argument("--query", default='ExecutionStatus="Running"')
    for verb in ("approve", "reject"):
        act = actions.add_parser(verb, parents=[connection], help=f"{verb} a pending review")
        act.add_argument("workflow_id", metavar="WORKFLOW_ID")
        act.add_argument("review_id", metavar="REVIEW_ID")
        act.add_argument("--reviewer", required=True)
        act.add_argument("--comment", default="")


def _source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("workflow_id", nargs="?", metavar="WORKFLOW_ID")
    parser.add_argument("--run-id", help="a specific run (default: the latest)")
    parser.add_argument("--history", metavar="FILE", help="an exported history JSON instead")


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except RPCError as e:
        raise CommandError(f"Temporal refused: {e.message}") from e
    except RuntimeError as e:  # temporalio's connection failures
        raise CommandError(str(e).splitlines()[0]) from e


async def _run(args: argparse.Namespace) -> int:
    if args.command == "audit":
        report = await _report(args)
        if args.json:
            print(report.model_dump_json(indent=2))
        else:
            print(render(report, color=sys.stdout.isatty()))
        return 0
    if args.command == "replay":
        return _replay(await _report(args), _bundles(args.bundle, args.bundles))
    if args.command == "impact":
        return await _impact(args)
    return await _review(args)


async def _report(args: argparse.Namespace) -> AuditReport:
    if args.history:
        history = _read_history(Path(args.history), args.workflow_id)
    elif args.workflow_id:
        client = await _connect(args)
        handle = client.get_workflow_handle(args.workflow_id, run_id=args.run_id)
        history = await handle.fetch_history()
    else:
        raise CommandError("give a WORKFLOW_ID, or --history FILE")
    report = audit_report(history)
    if not report.decisions and not any(a.governed for a in report.activities):
        raise CommandError(
            f"workflow {report.workflow_id} has no agento records: it ran no governed activity"
        )
    return report


def _read_history(path: Path, workflow_id: str | None) -> WorkflowHistory:
    try:
        return WorkflowHistory.from_json(workflow_id or path.stem, path.read_text())
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CommandError(f"cannot read the history file {path}: {e}") from e


def _bundles(paths: list[str], directory: str | None) -> dict[str, PolicyBundle]:
    found = [Path(p) for p in paths]
    if directory:
        found += sorted(Path(directory).iterdir())
    if not found:
        raise CommandError("give the bundles to replay with: --bundle PATH or --bundles DIR")
    bundles = [PolicyBundle.load(p) for p in found]
    return {b.revision: b for b in bundles}


def _replay(report: AuditReport, bundles: dict[str, PolicyBundle]) -> int:
    try:
        results = replay_decisions(report, bundles)
    except PolicyError as e:
        raise CommandError(str(e)) from e
    for r in results:
        detail = f" ({r.note})" if r.note else ""
        if r.verdict == "different" and r.replayed is not None:
            detail = f" (recorded {_verdict(*r.recorded)}, now {_verdict(*r.replayed)})"
        print(
            f"#{r.event_id:<5} {r.policy} {r.bundle_revision} {r.decision_id}: {r.verdict}{detail}"
        )
    same = sum(r.verdict == "identical" for r in results)
    print(f"{same} of {len(results)} decisions identical")
    return 0 if same == len(results) else 1


def _verdict(allow: bool, reasons: tuple[str, ...]) -> str:
    return ("allow" if allow else "deny") + (f": {'; '.join(reasons)}" if reasons else "")


async def _impact(args: argparse.Namespace) -> int:
    candidate = EmbeddedEngine(args.bundle)
    client = await _connect(args)
    reports = [report async for report in _reports(client, args.query)]
    result = impact(reports, candidate)
    if args.json:
        print(result.model_dump_json(indent=2))
        return 0
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
        print(f"  {c.workflow_id} {c.decision_id}: {c.change}")
    return 0


async def _reports(client: Client, query: str) -> AsyncIterator[AuditReport]:
    progress = sys.stderr.isatty()
    count = 0
    async for execution in client.list_workflows(query or None):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        yield audit_report(await handle.fetch_history())
        count += 1
        if progress:
            print(f"\rread {count} runs", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)


async def _review(args: argparse.Namespace) -> int:
    client = await _connect(args)
    if args.review_command == "list":
        async for execution in client.list_workflows(args.query or None):
            try:
                reviews = await pending_reviews(client, execution.id)
            except RPCError:
                continue  # not a governed workflow, or not answering queries
            for r in reviews:
                print(
                    f"{execution.id} {r.review_id} {r.activity} {r.reason} since "
                    f"{r.since:%Y-%m-%d %H:%M:%S}: {'; '.join(r.reasons)}"
                )
        return 0
    try:
        outcome = await resolve_review(
            client,
            args.workflow_id,
            args.review_id,
            approve=args.review_command == "approve",
            reviewer=args.reviewer,
            comment=args.comment,
        )
    except pydantic.ValidationError as e:
        raise CommandError(f"invalid review: {e.errors()[0]['msg']}") from e
    print(json.dumps(outcome.model_dump(mode="json")))
    return 0


async def _connect(args: argparse.Namespace) -> Client:
    try:
        config = ClientConfig.load_client_connect_config(profile=args.profile)
    except Exception as e:  # a malformed profile file, for instance
        raise CommandError(f"cannot load the connection profile: {e}") from e
    if args.address:
        config["target_host"] = args.address
    config.setdefault("target_host", "localhost:7233")
    if args.namespace:
        config["namespace"] = args.namespace
    if args.api_key:
        config["api_key"] = args.api_key
    if args.tls:
        config["tls"] = True
    try:
        return await asyncio.wait_for(Client.connect(**config, plugins=[AgentoPlugin()]), 15)
    except (RuntimeError, TimeoutError) as e:
        message = str(e).splitlines()[0] if str(e) else "timed out"
        raise CommandError(
            f"cannot connect to Temporal at {config['target_host']}: {message}"
        ) from e
