"""``agento evidence export | watch | verify | show``. Building the parser imports nothing
heavy; each command imports what it runs when it runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from agento._cli.common import CommandError, Exit, connect, read_review_keys, run_connected

if TYPE_CHECKING:
    from cryptography import x509

    from agento.evidence._sink import EvidenceExport
    from agento.evidence._verify import EvidenceVerification

COMMAND = "evidence"


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    connection: argparse.ArgumentParser,
) -> None:
    evidence = commands.add_parser(
        COMMAND, help="evidence packs: one run's audit trail, verifiable offline"
    )
    actions = evidence.add_subparsers(dest="evidence_command", required=True)

    signing = argparse.ArgumentParser(add_help=False)
    signing.add_argument(
        "--signing-key",
        required=True,
        metavar="FILE",
        help="PEM private key the manifest is signed with",
    )
    signing.add_argument(
        "--bundle",
        action="append",
        default=[],
        required=True,
        metavar="PATH",
        help="the bundle of a revision that decided (repeatable; others are left out)",
    )
    signing.add_argument(
        "--receipt-key",
        action="append",
        default=[],
        metavar="FILE",
        help="public key (PEM) the workers sign receipts with (repeatable)",
    )
    signing.add_argument(
        "--review-key",
        action="append",
        default=[],
        metavar="KEY_ID=FILE",
        help="a review service's public key (PEM), by the key id it signs with (repeatable)",
    )
    signing.add_argument(
        "--tsa-url", metavar="URL", help="an RFC 3161 timestamp authority to timestamp the manifest"
    )

    export = actions.add_parser(
        "export",
        parents=[connection, signing],
        help="write a run's evidence pack: history, receipts, resolutions, keys, bundles, report",
    )
    export.add_argument("workflow_id", metavar="WORKFLOW_ID", help="the run whose pack to write")
    export.add_argument("--run-id", help="a specific run (default: the latest)")
    export.add_argument(
        "--output", "-o", metavar="FILE", help="where (default: WORKFLOW_ID.agento-evidence.zip)"
    )

    watch = actions.add_parser(
        "watch",
        parents=[connection, signing],
        help="export every closed run's pack into a directory, once each, as runs close",
    )
    watch.add_argument("--directory", required=True, metavar="DIR", help="where packs go")
    watch.add_argument("--query", default="", help="visibility query narrowing the runs")
    watch.add_argument(
        "--interval", type=float, default=30.0, metavar="SECONDS", help="between sweeps (30)"
    )
    watch.add_argument("--once", action="store_true", help="one sweep, then exit (for cron)")

    verify = actions.add_parser(
        "verify", help="verify a pack offline: signature, digests, receipts, reviews, replay"
    )
    verify.add_argument("pack", metavar="PACK", help="the evidence pack to verify")
    verify.add_argument(
        "--key",
        action="append",
        required=True,
        metavar="FILE",
        help="public key (PEM) the manifest must be signed with (repeatable: any one of them)",
    )
    _pinning(verify)
    verify.add_argument("--json", action="store_true", help="print the verdict as JSON")

    show = actions.add_parser(
        "show", help="verify a pack and write it as one HTML page an auditor opens in a browser"
    )
    show.add_argument("pack", metavar="PACK", help="the evidence pack to verify and render")
    show.add_argument("--key", action="append", required=True, metavar="FILE", help="as verify's")
    _pinning(show)
    show.add_argument("--output", "-o", metavar="FILE", help="where (default: PACK.html)")


def _pinning(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--receipt-key",
        action="append",
        metavar="FILE",
        help="trust only this receipt key (PEM), not the pack's (repeatable)",
    )
    parser.add_argument(
        "--review-key",
        action="append",
        metavar="KEY_ID=FILE",
        help="trust only this review service key (PEM), not the pack's (repeatable)",
    )
    parser.add_argument(
        "--tsa-cert",
        action="append",
        metavar="FILE",
        help="a timestamp authority's root certificate (PEM): the pack must be timestamped",
    )
    parser.add_argument(
        "--ungoverned",
        action="append",
        default=[],
        metavar="ACTIVITY",
        help="an activity the deployment runs without a policy (an agent framework's model "
        "call, say): not a finding when it ran without an allow (repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        return _RUNS[args.evidence_command](args)
    except ValueError as e:  # an unreadable pack or key (PackError is one)
        raise CommandError(str(e)) from e


def _verify(args: argparse.Namespace) -> int:
    verdict = _verified(args, Path(args.pack))
    if args.json:
        print(verdict.model_dump_json(indent=2))
    else:
        for c in verdict.checks:
            print(f"{c.status if c.status == 'ok' else c.status.upper()} {c.check}: {c.message}")
        print(
            f"evidence pack of {verdict.workflow_id} run {verdict.run_id}: "
            + ("verified" if verdict.ok else "FAILED")
        )
    return Exit.OK if verdict.ok else Exit.FINDING


def _verified(args: argparse.Namespace, pack: Path) -> EvidenceVerification:
    from agento.evidence._keys import public_key_from_file
    from agento.evidence._verify import verify_evidence

    return verify_evidence(
        pack,
        keys=[public_key_from_file(k) for k in args.key],
        receipt_keys=[public_key_from_file(k) for k in args.receipt_key]
        if args.receipt_key
        else None,
        review_keys=read_review_keys(args.review_key) if args.review_key else None,
        tsa_roots=[_certificate(c) for c in args.tsa_cert] if args.tsa_cert else None,
        ungoverned=args.ungoverned,
    )


def _certificate(path: str) -> x509.Certificate:
    from cryptography import x509

    try:
        return x509.load_pem_x509_certificate(Path(path).read_bytes())
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read {path} as a PEM certificate: {e}") from e


def _show(args: argparse.Namespace) -> int:
    from agento.evidence._html import render

    pack = Path(args.pack)
    verdict = _verified(args, pack)
    page = Path(args.output or pack.with_name(pack.name + ".html"))
    page.write_text(render(pack, verdict))
    print(page)
    return Exit.OK if verdict.ok else Exit.FINDING


def _export(args: argparse.Namespace) -> int:
    from agento.evidence._export import export_evidence

    export = _configured(args)
    output = Path(args.output or f"{args.workflow_id}.agento-evidence.zip")

    async def run() -> int:
        path = await export_evidence(
            await connect(args),
            args.workflow_id,
            output,
            signer=export.signer,
            bundles=export.bundles,
            receipt_keys=export.receipt_keys,
            review_keys=export.review_keys,
            run_id=args.run_id,
            tsa_url=export.tsa_url,
        )
        print(f"wrote {path} ({path.stat().st_size} bytes)", file=sys.stderr)
        print(path)
        return Exit.OK

    return run_connected(run())


def _watch(args: argparse.Namespace) -> int:
    import asyncio

    from agento.evidence._sink import DirectorySink, export_closed_runs

    export, sink = _configured(args), DirectorySink(Path(args.directory))

    async def run() -> int:
        client = await connect(args)
        while True:
            for name in await export_closed_runs(client, export, sink, query=args.query):
                print(sink.directory / name, flush=True)
            if args.once:
                return Exit.OK
            await asyncio.sleep(args.interval)

    return run_connected(run())


def _configured(args: argparse.Namespace) -> EvidenceExport:
    """The signing and content options, read (a bad key is one line, exit 2)."""
    from agento.evidence._keys import public_key_from_file, signer_from_file
    from agento.evidence._sink import EvidenceExport

    return EvidenceExport(
        signer=signer_from_file(args.signing_key),
        bundles=tuple(args.bundle),
        receipt_keys=tuple(public_key_from_file(k) for k in args.receipt_key),
        review_keys=read_review_keys(args.review_key) if args.review_key else None,
        tsa_url=args.tsa_url,
    )


_RUNS: dict[str, Callable[[argparse.Namespace], int]] = {
    "export": _export,
    "verify": _verify,
    "show": _show,
    "watch": _watch,
}
