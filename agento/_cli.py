"""The ``agento`` command line."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from agento import _cli_audit, _cli_review
from agento._cli_audit import Exit
from agento._declaration import GovernedActivity
from agento._embedded import EmbeddedEngine
from agento._errors import PolicyError
from agento._policy_test import Outcome, run_policy_tests
from agento._process import leave
from agento._rego import CLOCK_BUILTIN
from agento._validator import MisdeclaredActivityError, validate_activities
from agento.rules import RULES, rules_markdown


class _UsageError(Exception):
    """A bad argument: reported on one line, exit status 2."""


def entrypoint() -> None:
    """The ``agento`` executable: `main`, then exit with its status and no interpreter teardown,
    so that ``$?`` is the command's own verdict even after a Temporal client ran."""
    leave(main())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agento", description="Governed Temporal activities.")
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser(
        "validate",
        help="check activities against the rule set, as a worker would at start",
        description=(
            "Check activities against agento's rule set. MODULE alone checks every governed "
            "activity defined at its top level; MODULE:ATTR checks one activity or a list of "
            "activities, as handed to a worker (plain activities among them break "
            "agento-ungoverned)."
        ),
    )
    validate.add_argument("targets", nargs="+", metavar="MODULE[:ATTR]")

    rules = commands.add_parser("rules", help="list the rule set")
    rules.add_argument("--markdown", action="store_true", help="print docs/rules.md")

    policy = commands.add_parser("policy", help="check and evaluate OPA bundles").add_subparsers(
        dest="policy_command", required=True
    )
    check = policy.add_parser(
        "check", help="compile a bundle: its revision and packages, or located errors"
    )
    check.add_argument("bundle", metavar="BUNDLE", help="bundle directory or .tar.gz")
    evaluate = policy.add_parser("eval", help="ask a bundle's policy for a decision")
    evaluate.add_argument("bundle", metavar="BUNDLE", help="bundle directory or .tar.gz")
    evaluate.add_argument(
        "--path", required=True, help="policy path, e.g. agento/commissioning/routing"
    )
    evaluate.add_argument("--input", required=True, metavar="FILE.json", help="input document")
    evaluate.add_argument("--json", action="store_true", help="print the Decision as JSON")
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

    _cli_audit.add_commands(commands)
    _cli_review.add_commands(commands)

    args = parser.parse_args(argv)
    try:
        if args.command in _cli_audit.COMMANDS:
            return _cli_audit.run(args)
        if args.command == "review":
            return _cli_review.run(args)
        if args.command == "validate":
            return _validate(args.targets)
        if args.command == "policy":
            if args.policy_command == "check":
                return _policy_check(args.bundle)
            if args.policy_command == "test":
                return _policy_test(args.bundle, args.run, as_json=args.json)
            return _policy_eval(args.bundle, args.path, args.input, as_json=args.json)
        return _rules(markdown=args.markdown)
    except (_UsageError, _cli_audit.CommandError, PolicyError) as e:
        print(f"agento: {e}", file=sys.stderr)
        return Exit.ERROR


def _validate(targets: Sequence[str]) -> int:
    sys.path.insert(0, os.getcwd())  # as `python -m` does, so project modules import
    activities = [fn for target in targets for fn in _load(target)]
    try:
        validate_activities(activities)
    except MisdeclaredActivityError as e:
        print(e, file=sys.stderr)
        return Exit.FINDING
    print(f"{len(activities)} activities follow the agento rules")
    return Exit.OK


def _load(target: str) -> list[object]:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:
        raise _UsageError(f"cannot import {module_name!r}: {type(e).__name__}: {e}") from e
    if not attr:
        return [v for v in vars(module).values() if isinstance(v, GovernedActivity)]
    try:
        value = getattr(module, attr)
    except AttributeError:
        raise _UsageError(f"module {module_name!r} has no attribute {attr!r}") from None
    items: list[object] = list(value) if isinstance(value, (list, tuple)) else [value]
    if not all(callable(item) for item in items):
        raise _UsageError(f"{target} is neither an activity nor a list of activities")
    return items


def _rules(*, markdown: bool) -> int:
    if markdown:
        sys.stdout.write(rules_markdown())
        return Exit.OK
    width = max(len(r.id) for r in RULES)
    for r in RULES:
        print(f"{r.id:<{width}}  {r.statement}")
    return Exit.OK


def _policy_check(bundle: str) -> int:
    engine = EmbeddedEngine(bundle)
    print(f"bundle    {engine.bundle.source}")
    print(f"revision  {engine.bundle.revision}")
    for package in sorted(engine.bundle.packages):
        print(f"policy    {package}")
    for package in sorted(engine.bundle.packages):
        if calls := engine.analysis.nondeterministic(package):
            print(f"not reproducible  {package}: {', '.join(sorted(calls))}")
        if CLOCK_BUILTIN in engine.analysis.builtins.get(package, ()):
            print(f"reads the clock   {package}: {CLOCK_BUILTIN} (replay pins it)")
    return Exit.OK


_VERDICTS: dict[Outcome, str] = {
    "pass": "PASS",
    "fail": "FAIL",
    "error": "ERROR",
    "skip": "SKIPPED",
}


def _policy_test(bundle: str, run: str | None, *, as_json: bool) -> int:
    if run is not None:
        try:
            re.compile(run)
        except re.error as e:
            raise _UsageError(f"--run {run!r} is not a regular expression: {e}") from None
    report = run_policy_tests(EmbeddedEngine(bundle), run=run)
    if as_json:
        print(report.model_dump_json(indent=2))
        return Exit.OK if report.ok else Exit.FINDING
    for r in report.results:
        verdict = _VERDICTS[r.outcome]
        detail = f": {r.detail}" if r.detail else ""
        timing = f" ({r.duration_ms:.1f} ms)" if r.outcome != "skip" else ""
        where = Path(bundle) / r.file if Path(bundle).is_dir() else r.file  # for the editor
        print(f"{where}:{r.line}: {r.reference}: {verdict}{detail}{timing}")
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


def _policy_eval(bundle: str, path: str, input_file: str, *, as_json: bool) -> int:
    try:
        document = json.loads(Path(input_file).read_text())
    except (OSError, ValueError) as e:
        raise _UsageError(f"cannot read the input document {input_file}: {e}") from e
    if not isinstance(document, dict):
        raise _UsageError(f"the input document {input_file} is not a JSON object")
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
