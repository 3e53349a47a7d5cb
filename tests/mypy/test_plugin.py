"""agento's mypy plugin, run by mypy itself over fixture modules and compared exactly."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from mypy import api

from agento.rules import RULES, Checker
from tests.support.mypy_cases import CASES

ROOT = Path(__file__).parents[2]
CONFIG = ROOT / "mypy.ini"
MISDECLARED = ROOT / "examples" / "misdeclared"
_ERROR = re.compile(r"(?P<file>[^:]+):(?P<line>\d+): error: (?P<message>.*)  \[(?P<code>[\w-]+)\]")


def run_mypy(*args: str) -> list[str]:
    stdout, stderr, _ = api.run(["--config-file", str(CONFIG), "--no-error-summary", *args])
    assert not stderr, stderr
    return stdout.splitlines()


@pytest.fixture(scope="module")
def corpus_output() -> dict[Path, list[str]]:
    """One mypy run over every case module and the mis-declared example, split by file."""
    files = [*sorted(CASES.glob("*/*.py")), MISDECLARED / "activities.py"]
    by_file: dict[Path, list[str]] = {f.resolve(): [] for f in files}
    for line in run_mypy("--no-incremental", "--show-absolute-path", *map(str, files)):
        path, _, rest = line.partition(":")
        by_file[Path(path)].append(f"{Path(path).name}:{rest}")
    return by_file


CASE_DIRS = sorted(p.parent.name for p in CASES.glob("*/fail.py"))


@pytest.mark.parametrize("case", CASE_DIRS)
def test_failing_case_gives_exactly_the_expected_errors(
    case: str, corpus_output: dict[Path, list[str]]
) -> None:
    expected = (CASES / case / "fail.out").read_text().splitlines()
    assert corpus_output[(CASES / case / "fail.py").resolve()] == expected


@pytest.mark.parametrize("case", CASE_DIRS)
def test_passing_neighbour_is_clean(case: str, corpus_output: dict[Path, list[str]]) -> None:
    assert corpus_output[(CASES / case / "pass.py").resolve()] == []


def test_every_rule_the_plugin_enforces_has_a_failing_case() -> None:
    for r in RULES:
        if Checker.MYPY not in r.checkers:
            continue
        out = CASES / r.id.replace("-", "_") / "fail.out"
        assert out.exists(), f"{r.id} has no failing case in {CASES}"
        codes = {m["code"] for m in map(_ERROR.match, out.read_text().splitlines()) if m}
        assert codes == {r.id}, f"{out} should fail with {r.id} only, not {codes}"


def test_misdeclared_example_output_is_current(corpus_output: dict[Path, list[str]]) -> None:
    committed = (MISDECLARED / "mypy.txt").read_text().splitlines()
    actual = corpus_output[(MISDECLARED / "activities.py").resolve()]
    assert [line.split(":", 1)[1] for line in committed] == [
        line.split(":", 1)[1] for line in actual
    ]


def test_plugin_and_validator_reject_the_same_example_with_the_same_words() -> None:
    shared = {r.id for r in RULES if {Checker.MYPY, Checker.VALIDATOR} <= r.checkers}
    from_mypy = {
        (m["code"], m["message"])
        for m in map(_ERROR.match, (MISDECLARED / "mypy.txt").read_text().splitlines())
        if m
    }
    validator_line = re.compile(r"  (?P<activity>\S+) \[(?P<code>[\w-]+)\]: (?P<message>.*)")
    from_validator = {
        (m["code"], m["message"])
        for m in map(validator_line.match, (MISDECLARED / "validator.txt").read_text().splitlines())
        if m and m["code"] in shared
    }
    assert {code for code, _ in from_mypy} == shared
    assert from_mypy == from_validator


def test_error_codes_can_be_silenced_and_disabled(tmp_path: Path) -> None:
    module = tmp_path / "silenced.py"
    source = (CASES / "agento_contradiction" / "fail.py").read_text()
    module.write_text(
        source.replace('version="1.0.0")', 'version="1.0.0")  # type: ignore[agento-contradiction]')
    )
    assert run_mypy("--no-incremental", str(module)) == []

    fail = str(CASES / "agento_contradiction" / "fail.py")
    assert run_mypy("--no-incremental", "--disable-error-code", "agento-contradiction", fail) == []
    unused = tmp_path / "unused.py"
    unused.write_text("x: int = 1  # type: ignore[agento-bypass]\n")
    [error] = run_mypy("--no-incremental", str(unused))
    assert 'Unused "type: ignore" comment' in error


ACTIVITIES = """
import agento
from agento import Idempotency, IdempotencyKey, PolicyClass, PolicyInput


class Request(PolicyInput):
    project_id: str


@agento.activity(
    idempotency=Idempotency.NON_IDEMPOTENT,
    policy_class=PolicyClass.SIDE_EFFECT,
    policy="agento/routing",
    version="1.0.0",
)
async def route(key: IdempotencyKey, request: Request) -> None: ...
"""

WORKFLOW = """
from datetime import timedelta

from temporalio import workflow

from acts import Request, route


async def run(request: Request) -> None:
    await workflow.execute_activity(route, request, start_to_close_timeout=timedelta(seconds=1))
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "acts.py").write_text(ACTIVITIES)
    (tmp_path / "wf.py").write_text(WORKFLOW)
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\nplugins = agento.mypy\n")
    return tmp_path


def test_call_site_errors_survive_the_incremental_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(_project(tmp_path))
    args = ["--config-file", "mypy.ini", "--cache-dir", ".cache", "--no-error-summary"]
    first, _, _ = api.run([*args, "acts.py", "wf.py"])
    assert first.splitlines() == [_bypass_line("wf.py", 10)]

    # Edit only the workflow module: acts now comes from the cache, without its decorator
    # expressions, and the call-site check must still fire from the types alone.
    (tmp_path / "wf.py").write_text("# edited\n" + WORKFLOW)
    second, log, _ = api.run([*args, "--verbose", "acts.py", "wf.py"])
    assert second.splitlines() == [_bypass_line("wf.py", 11)]
    assert "Metadata fresh for acts:" in log, "acts was expected to load from the cache"
    assert "Metadata fresh for wf:" not in log


def _bypass_line(path: str, line: int) -> str:
    return (
        f'{path}:{line}: error: Activity "route" is governed, but workflow.execute_activity(...) '
        "would start it without a policy decision. Fix: call agento.execute_activity(...) "
        "instead.  [agento-bypass]"
    )


def test_plugin_works_under_dmypy(tmp_path: Path) -> None:
    project = _project(tmp_path)
    dmypy = [sys.executable, "-m", "mypy.dmypy", "--status-file", str(project / ".dmypy.json")]
    try:
        run = subprocess.run(
            [*dmypy, "run", "--", "--config-file", "mypy.ini", "acts.py", "wf.py"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert _bypass_line("wf.py", 10) in run.stdout.splitlines(), run.stdout + run.stderr
        assert run.returncode == 1
    finally:
        subprocess.run([*dmypy, "stop"], cwd=project, capture_output=True, timeout=60)


def test_plugin_does_not_load_the_runtime() -> None:
    probe = (
        "import sys, agento.mypy; "
        "prefixes = ('temporalio', 'pydantic', 'agento'); "
        "print(sorted(m for m in sys.modules if m.startswith(prefixes)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "['agento', 'agento._postures', 'agento.mypy', 'agento.rules']"


def test_a_wrong_request_type_is_said_plainly(tmp_path: Path) -> None:
    module = tmp_path / "calls.py"
    module.write_text(
        (CASES / "agento_retry_unsafe" / "pass.py").read_text()
        + """

class Other(PolicyInput):
    n: int


async def wrong(other: Other) -> None:
    await agento.execute_activity(route, other, start_to_close_timeout=timedelta(minutes=1))
    await agento.execute_activity(route, "p", start_to_close_timeout=timedelta(minutes=1))
"""
    )
    errors = run_mypy("--no-incremental", str(module))
    assert [line.rsplit("  [", 1)[1] for line in errors] == ["agento-bad-call]"] * 2
    assert "was given a Other where its request is expected; it takes a RouteRequest" in errors[0]
    assert "was given a str where its request is expected" in errors[1]
