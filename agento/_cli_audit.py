"""``agento audit``, ``replay``, ``impact`` and ``review``: the auditor's and reviewer's commands.

They connect the way the ``temporal`` CLI does: an environment-config profile (TOML file and
``TEMPORAL_*`` variables), overridden by ``--address``, ``--namespace``, ``--api-key``, ``--tls``.
"""

from __future__ import annotations

import argparse
import enum
import sys
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Parsing arguments imports none of what the commands run on (`agento --help` stays fast): each
# command imports its own modules when it runs.
if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowExecution, WorkflowHistory
    from temporalio.service import TLSConfig

    from agento._audit import AuditReport
    from agento._bundle import PolicyBundle
    from agento._signing import VerificationKey

COMMANDS = ("audit", "replay", "impact")


class CommandError(Exception):
    """Reported on one line; exit status 2."""


class Exit(enum.IntEnum):
    """The exit statuses of every ``agento`` command (docs/cli.md)."""

    OK = 0
    FINDING = 1
    """The command worked and found something: rule violations, a replay difference."""
    ERROR = 2
    """It could not do its work: bad usage or input, a refusal, Temporal unreachable."""


def connection_parser() -> argparse.ArgumentParser:
    """The connection options every command that talks to Temporal takes, as the temporal CLI."""
    connection = argparse.ArgumentParser(add_help=False)
    group = connection.add_argument_group("connection (as the temporal CLI)")
    group.add_argument("--address", help="host:port (default: the profile's, else localhost:7233)")
    group.add_argument("--namespace", help="namespace (default: the profile's, else default)")
    group.add_argument("--api-key", help="API key (Temporal Cloud)")
    group.add_argument("--tls", action="store_true", help="connect with TLS")
    group.add_argument("--tls-cert-path", metavar="FILE", help="client certificate (mTLS)")
    group.add_argument("--tls-key-path", metavar="FILE", help="client private key (mTLS)")
    group.add_argument("--tls-ca-path", metavar="FILE", help="server CA certificate")
    group.add_argument("--tls-server-name", metavar="NAME", help="server name to verify")
    group.add_argument("--profile", help="environment-config profile to start from")
    return connection


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


def _tls(args: argparse.Namespace) -> TLSConfig | bool:
    """``--tls`` alone, or a TLSConfig from the certificate and key files given."""
    from temporalio.service import TLSConfig

    files = {
        "client_cert": args.tls_cert_path,
        "client_private_key": args.tls_key_path,
        "server_root_ca_cert": args.tls_ca_path,
    }
    if not any(files.values()) and not args.tls_server_name:
        return bool(args.tls)
    if bool(args.tls_cert_path) != bool(args.tls_key_path):
        raise CommandError("mTLS needs both --tls-cert-path and --tls-key-path")
    contents: dict[str, bytes | None] = {}
    for field, path in files.items():
        try:
            contents[field] = Path(path).read_bytes() if path else None
        except OSError as e:
            raise CommandError(f"cannot read {path}: {e.strerror or e}") from e
    return TLSConfig(
        client_cert=contents["client_cert"],
        client_private_key=contents["client_private_key"],
        server_root_ca_cert=contents["server_root_ca_cert"],
        domain=args.tls_server_name,
    )


def run(args: argparse.Namespace) -> int:
    return run_connected(_run(args))


def run_connected(command: Coroutine[Any, Any, int]) -> int:
    """Run a command that talks to Temporal; its refusals and connection failures become one
    line (`CommandError`)."""
    import asyncio

    from temporalio.service import RPCError

    try:
        return asyncio.run(command)
    except RPCError as e:
        raise CommandError(f"Temporal refused: {e.message}") from e
    except RuntimeError as e:  # temporalio's connection failures
        raise CommandError(str(e).splitlines()[0]) from e


async def _run(args: argparse.Namespace) -> int:
    from agento._audit import render

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
    from agento._audit import audit_report

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
    from agento._bundle import PolicyBundle

    found = [Path(p) for p in paths]
    if directory:
        found += sorted(Path(directory).iterdir())
    if not found:
        raise CommandError("give the bundles to replay with: --bundle PATH or --bundles DIR")
    bundles = [PolicyBundle.load(p) for p in found]
    return {b.revision: b for b in bundles}


def _replay(report: AuditReport, bundles: dict[str, PolicyBundle]) -> int:
    from agento._errors import PolicyError
    from agento._replay import replay_decisions

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


def read_review_keys(specs: list[str]) -> dict[str, VerificationKey]:
    from agento._signing import VerificationKey

    if not specs:
        raise CommandError("--verify needs the public keys to check with: --review-key ID=FILE")
    keys = {}
    for spec in specs:
        key_id, _, path = spec.partition("=")
        if not key_id or not path:
            raise CommandError(f"--review-key {spec!r} is not KEY_ID=FILE")
        try:
            keys[key_id] = VerificationKey.from_pem(Path(path).read_text())
        except (OSError, ValueError) as e:
            raise CommandError(f"cannot read review key {key_id} from {path}: {e}") from e
    return keys


def _verify(report: AuditReport, keys: dict[str, VerificationKey]) -> int:
    from agento._audit import signature_findings

    findings = signature_findings(report, keys)
    for event_id, review_id, found in findings:
        print(f"#{event_id:<5} {review_id}: {found}")
    verified = sum(found.startswith("verified") for *_, found in findings)
    print(f"{verified} of {len(findings)} resolutions signed and verified")
    return Exit.OK if verified == len(findings) else Exit.FINDING


async def _impact(args: argparse.Namespace) -> int:
    from agento._embedded import EmbeddedEngine
    from agento._replay import ImpactTally

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

    from agento._audit import audit_report

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


async def connect(args: argparse.Namespace) -> Client:
    import asyncio

    from temporalio.client import Client
    from temporalio.envconfig import ClientConfig

    from agento._plugin import AgentoPlugin

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
    if tls := _tls(args):
        config["tls"] = tls
    try:
        return await asyncio.wait_for(Client.connect(**config, plugins=[AgentoPlugin()]), 15)
    except (RuntimeError, TimeoutError) as e:
        message = str(e).splitlines()[0] if str(e) else "timed out"
        raise CommandError(
            f"cannot connect to Temporal at {config['target_host']}: {message}"
        ) from e
