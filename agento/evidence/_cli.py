"""``agento evidence export | verify | show``. Building the parser imports nothing heavy; each
command imports what it runs when it runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

COMMAND = "evidence"


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    connection: argparse.ArgumentParser,
) -> None:
    evidence = commands.add_parser(
        COMMAND, help="evidence packs: one run's audit trail, verifiable offline"
    )
    actions = evidence.add_subparsers(dest="evidence_command", required=True)

    export = actions.add_parser(
        "export",
        parents=[connection],
        help="write a run's evidence pack: history, receipts, resolutions, keys, bundles, report",
    )
    export.add_argument("workflow_id", metavar="WORKFLOW_ID")
    export.add_argument("--run-id", help="a specific run (default: the latest)")
    export.add_argument(
        "--output", "-o", metavar="FILE", help="where (default: WORKFLOW_ID.agento-evidence.zip)"
    )
    export.add_argument(
        "--signing-key",
        required=True,
        metavar="FILE",
        help="PEM private key the manifest is signed with",
    )
    export.add_argument(
        "--bundle",
        action="append",
        default=[],
        required=True,
        metavar="PATH",
        help="the bundle of a revision that decided (repeatable; others are left out)",
    )
    export.add_argument(
        "--receipt-key",
        action="append",
        default=[],
        metavar="FILE",
        help="public key (PEM) the workers sign receipts with (repeatable)",
    )
    export.add_argument(
        "--review-key",
        action="append",
        default=[],
        metavar="KEY_ID=FILE",
        help="a review service's public key (PEM), by the key id it signs with (repeatable)",
    )

    verify = actions.add_parser(
        "verify", help="verify a pack offline: signature, digests, receipts, reviews, replay"
    )
    verify.add_argument("pack", metavar="PACK")
    verify.add_argument(
        "--key",
        action="append",
        required=True,
        metavar="FILE",
        help="public key (PEM) the manifest must be signed with (repeatable: any one of them)",
    )
    verify.add_argument("--json", action="store_true", help="print the verdict as JSON")

    show = actions.add_parser(
        "show", help="verify a pack and write it as one HTML page an auditor opens in a browser"
    )
    show.add_argument("pack", metavar="PACK")
    show.add_argument("--key", action="append", required=True, metavar="FILE", help="as verify's")
    show.add_argument("--output", "-o", metavar="FILE", help="where (default: PACK.html)")


def run(args: argparse.Namespace) -> int:
    from agento._cli_audit import CommandError

    try:
        if args.evidence_command == "verify":
            return _verify(args)
        if args.evidence_command == "show":
            return _show(args)
        return _export(args)
    except ValueError as e:  # an unreadable pack or key (PackError is one)
        raise CommandError(str(e)) from e


def _verify(args: argparse.Namespace) -> int:
    from agento._cli_audit import Exit
    from agento.evidence._keys import public_key_from_file
    from agento.evidence._verify import verify_evidence

    verdict = verify_evidence(args.pack, keys=[public_key_from_file(k) for k in args.key])
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


def _show(args: argparse.Namespace) -> int:
    from agento._cli_audit import Exit
    from agento.evidence._html import render
    from agento.evidence._keys import public_key_from_file
    from agento.evidence._verify import verify_evidence

    pack = Path(args.pack)
    verdict = verify_evidence(pack, keys=[public_key_from_file(k) for k in args.key])
    page = Path(args.output or pack.with_name(pack.name + ".html"))
    page.write_text(render(pack, verdict))
    print(page)
    return Exit.OK if verdict.ok else Exit.FINDING


def _export(args: argparse.Namespace) -> int:
    from agento._cli_audit import Exit, connect, read_review_keys, run_connected
    from agento.evidence._export import export_evidence
    from agento.evidence._keys import public_key_from_file, signer_from_file

    signer = signer_from_file(args.signing_key)
    receipt_keys = [public_key_from_file(k) for k in args.receipt_key]
    reviews = read_review_keys(args.review_key) if args.review_key else None
    output = Path(args.output or f"{args.workflow_id}.agento-evidence.zip")

    async def export() -> int:
        client = await connect(args)
        path = await export_evidence(
            client,
            args.workflow_id,
            output,
            signer=signer,
            bundles=args.bundle,
            receipt_keys=receipt_keys,
            review_keys=reviews,
            run_id=args.run_id,
        )
        print(f"wrote {path} ({path.stat().st_size} bytes)", file=sys.stderr)
        print(path)
        return Exit.OK

    return run_connected(export())
