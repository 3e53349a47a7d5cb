"""The `agento` command line: exit statuses and one-line errors, no tracebacks."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment

from agento import (
    ResolutionSigner,
    ResolutionStatement,
    ReviewerIdentity,
    VerificationKey,
    verify_resolution,
)
from agento._cli.common import connection_parser, tls_config
from agento._cli.main import EXAMPLES, main
from tests.policy.bundles import write_bundle
from tests.support.cli import agento
from tests.support.routing_cases import BUNDLE, CASES, ROUTING


def test_validate_accepts_well_declared_activities() -> None:
    run = agento("validate", "tests.support.activities")
    assert run.returncode == 0, run.stderr
    assert run.stdout == "5 activities follow the agento rules\n"


def test_validate_rejects_each_rule_with_its_id() -> None:
    run = agento("validate", "examples.misdeclared.activities:ACTIVITIES")
    assert run.returncode == 1
    ids = {line.split("[")[1].split("]")[0] for line in run.stderr.splitlines()[1:]}
    assert ids == {
        "agento-missing-key",
        "agento-unexpected-key",
        "agento-missing-policy",
        "agento-missing-input",
        "agento-unchecked-argument",
        "agento-contradiction",
        "agento-dynamic-declaration",
        "agento-bad-version",
        "agento-bad-policy-path",
        "agento-ungoverned",
        "agento-duplicate-name",
    }


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_such_module", "agento: cannot import 'no_such_module': ModuleNotFoundError"),
        ("tests.support.activities:NOPE", "agento: module 'tests.support.activities' has no"),
        ("agento.rules:RULES", "agento: agento.rules:RULES is neither an activity nor a list"),
    ],
)
def test_validate_bad_targets_are_one_line_errors(target: str, message: str) -> None:
    run = agento("validate", target)
    assert run.returncode == 2
    assert run.stderr.startswith(message)
    assert "Traceback" not in run.stderr


def test_policy_check_lists_revision_and_packages() -> None:
    run = agento("policy", "check", str(BUNDLE))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[1].startswith("revision  sha256:")
    assert f"policy    {ROUTING}" in lines[2:]


def test_policy_check_reports_located_errors(tmp_path: Path) -> None:
    write_bundle(tmp_path, {"p.rego": "package p\n\nallow {\n    true\n}\n"})
    run = agento("policy", "check", str(tmp_path))
    assert run.returncode == 2
    assert "p.rego:3:7: rule body without `if`" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("case", ["all closed and within tolerance", "both"])
def test_policy_eval_prints_the_decision(case: str, tmp_path: Path) -> None:
    document, allow, reasons = CASES[case]
    (tmp_path / "input.json").write_text(json.dumps(document))
    args = (
        "policy",
        "eval",
        str(BUNDLE),
        "--path",
        ROUTING,
        "--input",
        str(tmp_path / "input.json"),
    )
    text = agento(*args)
    assert text.returncode == 0, text.stderr
    assert f"decision  {'ALLOW' if allow else 'DENY (recoverable'}" in text.stdout
    as_json = json.loads(agento(*args, "--json").stdout)
    assert (as_json["allow"], tuple(as_json["reasons"])) == (allow, reasons)
    assert as_json["input"] == document


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read the input document"),
        ("[1, 2]", "is not a JSON object"),
    ],
)
def test_policy_eval_bad_input_file(content: str, message: str, tmp_path: Path) -> None:
    (tmp_path / "input.json").write_text(content)
    run = agento(
        "policy", "eval", str(BUNDLE), "--path", ROUTING, "--input", str(tmp_path / "input.json")
    )
    assert run.returncode == 2
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_policy_eval_unknown_path(tmp_path: Path) -> None:
    (tmp_path / "input.json").write_text("{}")
    run = agento(
        "policy",
        "eval",
        str(BUNDLE),
        "--path",
        "agento/nope",
        "--input",
        str(tmp_path / "input.json"),
    )
    assert run.returncode == 2
    assert "no policy 'agento/nope'" in run.stderr


async def test_the_exit_status_is_the_commands_own_in_200_runs(
    agento_dev_server: WorkflowEnvironment,
) -> None:
    # Each run makes a Temporal client, whose threads used to abort the finishing interpreter
    # now and then (sdk-python#300): a CI step must be able to trust $?.
    address = agento_dev_server.client.service_client.config.target_host
    commands = [
        (["review", "list", "--query", 'WorkflowId="none"', "--address", address], 0),
        (["audit", "no-such-run", "--address", address], 2),
    ] * 100
    gate = asyncio.Semaphore(4)

    async def status(args: list[str]) -> int:
        async with gate:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "agento",
                *args,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            return await process.wait()

    statuses = await asyncio.gather(*(status(args) for args, _ in commands))
    wrong = [
        (args[0], got) for (args, want), got in zip(commands, statuses, strict=True) if got != want
    ]
    assert wrong == [], f"{len(wrong)} of {len(commands)} runs left with another status"


def test_mtls_flags_build_the_tls_config(tmp_path: Path) -> None:
    cert, key, ca = (tmp_path / name for name in ("client.pem", "client.key", "ca.pem"))
    for path in (cert, key, ca):
        path.write_bytes(f"-----{path.name}-----".encode())
    flags = {
        "--tls-cert-path": str(cert),
        "--tls-key-path": str(key),
        "--tls-ca-path": str(ca),
        "--tls-server-name": "temporal.internal",
    }
    args = connection_parser().parse_args([part for pair in flags.items() for part in pair])
    assert tls_config(args) == TLSConfig(
        client_cert=b"-----client.pem-----",
        client_private_key=b"-----client.key-----",
        server_root_ca_cert=b"-----ca.pem-----",
        domain="temporal.internal",
    )
    assert tls_config(connection_parser().parse_args(["--tls"])) is True
    assert tls_config(connection_parser().parse_args([])) is False


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--tls-cert-path", "/nope/client.pem"], "mTLS needs both --tls-cert-path and"),
        (
            ["--tls-cert-path", "/nope/c.pem", "--tls-key-path", "/nope/c.key"],
            "cannot read /nope/c.pem: No such file or directory",
        ),
    ],
)
def test_bad_mtls_flags_are_one_line_errors(flags: list[str], message: str) -> None:
    run = agento("audit", "wf", *flags)
    assert run.returncode == 2
    assert run.stderr.startswith(f"agento: {message}")


def test_output_cut_by_its_reader_ends_quietly(tmp_path: Path) -> None:
    # `| head` closes the pipe while the command still writes (more than a pipe holds): the
    # command stops with 141, as a SIGPIPE would stop it, and no traceback on stderr.
    tests = "\n".join(f"test_{n}_{'x' * 300} if true" for n in range(250))
    (tmp_path / "t.rego").write_text(f"package many\n\n{tests}\n")
    run = subprocess.run(
        f"{sys.executable} -m agento policy test {tmp_path} --json | head -c 10; "
        'echo " ${PIPESTATUS[0]}"',
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.stdout == '{\n  "bundl 141\n'
    assert run.stderr == ""


_RUN_ON = ("temporalio", "pydantic", "regopy", "jwt", "cryptography", "opentelemetry", "httpx")
"""Packages the commands run on, none of which parsing arguments needs."""


@pytest.mark.parametrize(
    "args",
    [["--help"], ["audit", "--help"], ["review", "serve", "--help"], ["policy", "test", "--help"]],
)
def test_parsing_arguments_imports_nothing_the_commands_run_on(args: list[str]) -> None:
    executable = Path(sys.executable).parent / "agento"
    run = subprocess.run(
        [str(executable), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"},
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: agento")
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in run.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "agento._cli.main" in imported, "the profile lists the command's imports"
    heavy = sorted(m for m in imported if m.split(".")[0] in _RUN_ON)
    assert heavy == []
    assert not {m for m in imported if m.startswith("agento.")} - _LIGHT


_LIGHT = {
    "agento._cli",
    "agento._cli.main",
    "agento._cli.common",
    "agento._cli.audit",
    "agento._cli.policy",
    "agento._cli.review",
    "agento._cli.serve",
    "agento._cli.process",
    "agento._postures",
    "agento.rules",
    "agento.evidence",
    "agento._cli.evidence",
}


def test_review_keygen_writes_a_signing_key_and_its_public_half(tmp_path: Path) -> None:
    private = tmp_path / "review-service.pem"
    made = agento("review", "keygen", "--out", str(private))
    assert made.returncode == 0, made.stderr
    public = tmp_path / "review-service.pub.pem"
    assert f"agento review serve --signing-key {private}" in made.stdout
    assert f"--review-key review-service={public}" in made.stdout
    assert private.stat().st_mode & 0o777 == 0o600, "the private key is its owner's alone"
    signer = ResolutionSigner.from_file(private)
    statement = ResolutionStatement(
        workflow_id="wf",
        review_id="r1",
        decision_id=None,
        approve=True,
        comment="checked",
        reviewer=ReviewerIdentity(subject="carol"),
    )
    keys = {"review-service": VerificationKey.from_pem(public.read_text())}
    claims = verify_resolution(signer.sign(statement), keys, now=datetime.now(UTC))
    assert claims.key_id == "review-service"
    before = (private.read_text(), public.read_text())
    again = agento("review", "keygen", "--out", str(private))
    assert again.returncode == 2
    assert again.stderr == f"agento: {private} exists: give another --out, or move it away first\n"
    assert (private.read_text(), public.read_text()) == before, "nothing is overwritten"


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                yield " ".join((*path, name)), command
                yield from _commands(command, (*path, name))


def test_every_command_describes_itself_with_an_example_and_helps_every_option() -> None:
    parsers: list[argparse.ArgumentParser] = []

    def keep(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        parsers.append(self)
        raise SystemExit(0)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, "parse_args", keep)
        with pytest.raises(SystemExit):
            main([])
    commands = dict(_commands(parsers[0]))
    leaves = {name for name, c in commands.items() if not c._subparsers}
    assert leaves == set(EXAMPLES), "every command has one example"
    for name in leaves:
        command = commands[name]
        assert command.description, name
        unhelped = [a.dest for a in command._actions if not a.help and a.dest != "help"]
        assert unhelped == [], f"agento {name}: options without help"
    shown = agento("impact", "--help")
    assert "Which recorded decisions a candidate bundle would decide differently." in shown.stdout
    assert "--bundle CANDIDATE    the candidate bundle" in shown.stdout
    assert shown.stdout.rstrip().endswith(f"example:\n  $ {EXAMPLES['impact']}")
