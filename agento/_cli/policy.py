"""``agento policy``: check, evaluate, test and sign OPA bundles, as compliance teams do with
the OPA CLI (``opa check``, ``opa eval``, ``opa test``, ``opa sign``)."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agento._cli.common import CommandError, Exit

if TYPE_CHECKING:  # the commands import the engine when they run (`agento --help`)
    from agento._policy.rego_tests import Outcome

    _Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]  # not generic at run time

_VERDICTS: dict[Outcome, str] = {
    "pass": "PASS",
    "fail": "FAIL",
    "error": "ERROR",
    "skip": "SKIPPED",
}


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policy = commands.add_parser(
        "policy", help="check, evaluate, test and sign OPA bundles"
    ).add_subparsers(dest="policy_command", required=True)
    for add in (_add_check, _add_eval, _add_test, _add_sign, _add_build):
        add(policy)


def _add_check(policy: _Subcommands) -> None:
    check = policy.add_parser(
        "check", help="compile a bundle: its revision and packages, or located errors"
    )
    check.add_argument("bundle", metavar="BUNDLE", help="bundle directory or .tar.gz")
    check.add_argument(
        "--verification-key",
        metavar="KEY",
        help="require a signature: a PEM public key file, or the secret for HS* algorithms",
    )
    check.add_argument(
        "--verification-key-id",
        default="",
        metavar="ID",
        help="the key id the signature names (default: default)",
    )
    check.add_argument(
        "--verification-alg", default="RS256", metavar="ALG", help="its algorithm (default RS256)"
    )
    check.add_argument("--scope", default="", help="the scope the signature must carry")
    check.add_argument(
        "--exclude-files", nargs="*", default=[], metavar="GLOB", help="files left unverified"
    )


def _add_eval(policy: _Subcommands) -> None:
    evaluate = policy.add_parser("eval", help="ask a bundle's policy for a decision")
    evaluate.add_argument("bundle", metavar="BUNDLE", help="bundle directory or .tar.gz")
    evaluate.add_argument(
        "--path", required=True, help="policy path, e.g. agento/commissioning/routing"
    )
    evaluate.add_argument("--input", required=True, metavar="FILE.json", help="input document")
    evaluate.add_argument("--json", action="store_true", help="print the Decision as JSON")


def _add_test(policy: _Subcommands) -> None:
    test = policy.add_parser(
        "test",
        help="run the bundle's Rego tests (rules named test_*), as `opa test` does",
        description=(
            "Run every rule named test_* in the bundle with no input; todo_test_* are skipped. "
            "A test passes when it is defined and not false. Exit 0 when all pass, 1 when one "
            "fails or errors (or there is none), 2 when the bundle cannot be loaded."
        ),
    )
    test.add_argument("bundle", metavar="BUNDLE", help="bundle directory or .tar.gz")
    test.add_argument("--run", metavar="REGEX", help="only tests whose data.* reference matches")
    test.add_argument("--json", action="store_true", help="print the results as JSON")


def _add_sign(policy: _Subcommands) -> None:
    signing = policy.add_parser(
        "sign",
        help="write BUNDLE/.signatures.json, as `opa sign` does",
        description=(
            "Hash every file of a bundle directory (data.json and .manifest as parsed JSON) and "
            "sign the list in a JWT, OPA's signed-bundle format: OPA verifies it, and so does "
            "EmbeddedEngine(verification=...)."
        ),
    )
    signing.add_argument("bundle", metavar="BUNDLE_DIR", help="the bundle directory to sign")
    signing.add_argument(
        "--signing-key",
        required=True,
        metavar="KEY",
        help="a PEM private key file (RS*, PS*, ES*, EdDSA), or the secret for HS*",
    )
    signing.add_argument(
        "--signing-alg", default="RS256", metavar="ALG", help="the algorithm (default RS256)"
    )
    signing.add_argument("--key-id", default="", help="the kid header verifiers look keys up by")
    signing.add_argument(
        "--claims-file", metavar="FILE.json", help="more claims for the payload (scope, iss)"
    )


def _add_build(policy: _Subcommands) -> None:
    build = policy.add_parser(
        "build",
        help="pack a bundle directory into a .tar.gz a bundle service can serve",
        description=(
            "Pack a bundle directory (its .manifest, data.json, *.rego and .signatures.json) "
            "into a reproducible .tar.gz, as `opa build` packs one; sign the directory first to "
            "serve a signed bundle."
        ),
    )
    build.add_argument("bundle", metavar="BUNDLE_DIR", help="the bundle directory to pack")
    build.add_argument(
        "--output", "-o", required=True, metavar="FILE.tar.gz", help="the archive to write"
    )
    build.add_argument(
        "--revision",
        help="the packed .manifest's revision (an unsigned bundle; a signed one keeps its own)",
    )


def run(args: argparse.Namespace) -> int:
    return _RUNS[args.policy_command](args)  # the table closes the module


def _check(args: argparse.Namespace) -> int:
    from agento._policy.embedded import EmbeddedEngine
    from agento._policy.rego import CLOCK_BUILTIN
    from agento._policy.signing import BundleVerification, VerificationKey

    verification = None
    if args.verification_key:
        key = VerificationKey(_key(args.verification_key), args.verification_alg)
        key_id = args.verification_key_id or "default"
        verification = BundleVerification(
            keys={key_id: key},
            key_id=key_id,
            scope=args.scope,
            exclude_files=tuple(args.exclude_files),
        )
    engine = EmbeddedEngine(args.bundle, verification=verification, tests=True)
    print(f"bundle    {engine.bundle.source}")
    print(f"revision  {engine.bundle.revision}")
    if engine.bundle.signing_key_id is not None:
        print(f"signed    verified with key {engine.bundle.signing_key_id}")
    for package in sorted(engine.bundle.packages):
        print(f"policy    {package}")
    for package in sorted(engine.bundle.packages):
        if calls := engine.analysis.nondeterministic(package):
            print(f"not reproducible  {package}: {', '.join(sorted(calls))}")
        if CLOCK_BUILTIN in engine.analysis.builtins.get(package, ()):
            print(f"reads the clock   {package}: {CLOCK_BUILTIN} (replay pins it)")
    return Exit.OK


def _sign(args: argparse.Namespace) -> int:
    from agento._policy.bundle import PolicyBundle, bundle_files
    from agento._policy.signing import SIGNATURES, sign

    root = Path(args.bundle)
    if not root.is_dir():
        raise CommandError(f"{root} is not a bundle directory (sign a directory, then pack it)")
    claims: dict[str, Any] | None = None
    if args.claims_file:
        claims = _json_object(args.claims_file, "claims file")
    PolicyBundle.load(root)  # refuse to sign what does not load
    signatures = sign(
        bundle_files(root),
        key=_key(args.signing_key),
        algorithm=args.signing_alg,
        key_id=args.key_id,
        claims=claims,
    )
    (root / SIGNATURES).write_bytes(signatures)
    print(f"signed    {root / SIGNATURES} ({args.signing_alg}, key id {args.key_id or 'none'})")
    return Exit.OK


def _build(args: argparse.Namespace) -> int:
    from agento._policy.bundle import PolicyBundle, build_tarball, bundle_files
    from agento._policy.signing import SIGNATURES

    root = Path(args.bundle)
    if not root.is_dir():
        raise CommandError(f"{root} is not a bundle directory")
    files = bundle_files(root)
    if args.revision is not None:
        if SIGNATURES in files:
            raise CommandError(
                "this bundle is signed: a new revision in its .manifest would break the "
                "signature. Set the revision in .manifest, sign again, then build"
            )
        manifest = json.loads(files[".manifest"]) if ".manifest" in files else {}
        if not isinstance(manifest, dict):
            raise CommandError(f"{root}/.manifest is not a JSON object")
        files[".manifest"] = json.dumps({**manifest, "revision": args.revision}).encode()
    bundle = PolicyBundle.from_files(files, source=str(root))  # refuse to pack what won't load
    Path(args.output).write_bytes(build_tarball(files))
    print(f"built     {args.output} (revision {bundle.revision})")
    return Exit.OK


def _key(value: str) -> str:
    """A key file's content, or the value itself (an HMAC secret), as ``opa sign`` takes it."""
    path = Path(value)
    try:
        return path.read_text() if path.is_file() else value
    except OSError as e:
        raise CommandError(f"cannot read the key file {value}: {e.strerror or e}") from e


def _test(bundle: str, run: str | None, *, as_json: bool) -> int:
    from agento._policy.embedded import EmbeddedEngine
    from agento._policy.rego_tests import run_policy_tests

    if run is not None:
        try:
            re.compile(run)
        except re.error as e:
            raise CommandError(f"--run {run!r} is not a regular expression: {e}") from None
    report = run_policy_tests(EmbeddedEngine(bundle, tests=True), run=run)
    if as_json:
        print(report.model_dump_json(indent=2))
        return Exit.OK if report.ok else Exit.FINDING
    for r in report.results:
        detail = f": {r.detail}" if r.detail else ""
        timing = f" ({r.duration_ms:.1f} ms)" if r.outcome != "skip" else ""
        where = Path(bundle) / r.file if Path(bundle).is_dir() else r.file  # for the editor
        print(f"{where}:{r.line}: {r.reference}: {_VERDICTS[r.outcome]}{detail}{timing}")
    if not report.results:
        matching = f" matching {run!r}" if run else ""
        print(f"no tests in {report.bundle} (rules named test_*){matching}")
        return Exit.FINDING
    print("-" * 80)
    total = len(report.results)
    for outcome, label in _VERDICTS.items():
        if count := report.count(outcome):
            print(f"{label}: {count}/{total}")
    return Exit.OK if report.ok else Exit.FINDING


def _eval(bundle: str, path: str, input_file: str, *, as_json: bool) -> int:
    from agento._policy.embedded import EmbeddedEngine

    document = _json_object(input_file, "input document")
    decision = EmbeddedEngine(bundle).evaluate(path, document)
    if as_json:
        print(decision.model_dump_json(indent=2))
        return Exit.OK
    verdict = "ALLOW" if decision.allow else "DENY"
    if not decision.allow:
        verdict += " (recoverable: a review may resolve it)" if decision.recoverable else " (final)"
    print(f"policy    {decision.policy}")
    print(f"revision  {decision.bundle_revision}")
    print(f"engine    {decision.engine} ({decision.engine_version})")
    print(f"decision  {verdict}")
    for reason in decision.reasons:
        print(f"reason    {reason}")
    print(f"input     {decision.input_sha256}")
    return Exit.OK


def _json_object(file: str, what: str) -> dict[str, Any]:
    try:
        document = json.loads(Path(file).read_text())
    except (OSError, ValueError) as e:
        raise CommandError(f"cannot read the {what} {file}: {e}") from e
    if not isinstance(document, dict):
        raise CommandError(f"the {what} {file} is not a JSON object")
    return document


_RUNS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": _check,
    "eval": lambda args: _eval(args.bundle, args.path, args.input, as_json=args.json),
    "test": lambda args: _test(args.bundle, args.run, as_json=args.json),
    "sign": _sign,
    "build": _build,
}
"""Each ``agento policy`` subcommand's handler, by its name."""
