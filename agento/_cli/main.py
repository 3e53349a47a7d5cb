"""The ``agento`` command line."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from agento._cli import audit as _cli_audit
from agento._cli import evidence as _cli_evidence
from agento._cli import policy as _cli_policy
from agento._cli import review as _cli_review
from agento._cli.common import CommandError, Exit, connection_parser
from agento._cli.process import leave
from agento.rules import RULES, rules_markdown

# Parsing arguments (and `agento --help`) imports none of what the commands run on: a command's
# handler imports its modules when it runs, so `agento replay` in a CI step pays for the replay
# alone. A new command: its arguments in `_parser`, its handler in `_RUNS`, its heavy imports
# inside that handler.


class _UsageError(Exception):
    """A bad argument: reported on one line, exit status 2."""


def entrypoint() -> None:
    """The ``agento`` executable: `main`, then exit with its status and no interpreter teardown,
    so that ``$?`` is the command's own verdict even after a Temporal client ran."""
    try:
        status = main()
    except BrokenPipeError:
        # The reader went away (`agento ... | head`): stop quietly, as a command killed by
        # SIGPIPE does, and let nothing flush into the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = _SIGPIPE
    leave(status)


_SIGPIPE = 128 + 13
"""The status a shell gives a command killed by SIGPIPE."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _RUNS[args.command](args)  # the table closes the module
    except _reported() as e:
        print(f"agento: {e}", file=sys.stderr)
        return Exit.ERROR


def _parser() -> argparse.ArgumentParser:
    """Every command's arguments, each command described and given its example."""
    parser = argparse.ArgumentParser(prog="agento", description="Governed Temporal activities.")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_validate(commands)
    _add_rules(commands)
    _cli_policy.add_commands(commands)
    _cli_audit.add_commands(commands)
    _cli_review.add_commands(commands)
    _cli_evidence.add_commands(commands, connection_parser())
    _describe(parser, ())
    return parser


def _add_validate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    validate.add_argument(
        "targets",
        nargs="+",
        metavar="MODULE[:ATTR]",
        help="a module (its governed activities), or an activity or list of activities in it",
    )


def _add_rules(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rules = commands.add_parser("rules", help="list the rule set")
    rules.add_argument("--markdown", action="store_true", help="print docs/rules.md")


EXAMPLES: dict[str, str] = {
    "validate": "agento validate examples.misdeclared.activities:ACTIVITIES",
    "rules": "agento rules --markdown > docs/rules.md",
    "policy check": "agento policy check policies/ --verification-key keys/bundle.pub.pem",
    "policy eval": "agento policy eval policies/ --path agento/payments/refunds --input req.json",
    "policy test": "agento policy test policies/ --run refund",
    "policy sign": "agento policy sign policies/ --signing-key keys/bundle.pem --key-id ci",
    "policy build": "agento policy build policies/ -o bundle.tar.gz",
    "audit": "agento audit refund-42 --address localhost:7233",
    "replay": "agento replay --history refund-42.json --bundles bundles/",
    "impact": "agento impact --bundle candidate/ --query 'WorkflowType=\"Refunds\"'",
    "review list": "agento review list --query 'TaskQueue=\"payments\"'",
    "review show": "agento review show refund-42 agento-2-refund-review-1",
    "review approve": "agento review approve refund-42 agento-2-refund-review-1 --reviewer lee "
    "--comment 'customer verified by phone'",
    "review reject": "agento review reject refund-42 agento-2-refund-review-1 --reviewer lee "
    "--comment 'duplicate of refund-41'",
    "review retry": "agento review retry refund-42 agento-2-refund-review-1 --reviewer ops.kim",
    "review keygen": "agento review keygen --out review-service.pem",
    "review serve": "agento review serve --signing-key review-service.pem --dev-user carol",
    "evidence export": "agento evidence export refund-42 --signing-key keys/evidence.pem "
    "--bundle policies/ -o refund-42.agento-evidence.zip",
    "evidence watch": "agento evidence watch --directory /srv/evidence --signing-key "
    "keys/evidence.pem --bundle policies/",
    "evidence verify": "agento evidence verify refund-42.agento-evidence.zip --key "
    "keys/evidence.pub.pem",
    "evidence show": "agento evidence show refund-42.agento-evidence.zip --key "
    "keys/evidence.pub.pem",
    "setup": "agento setup --address temporal.internal:7233 --namespace payments",
}
"""One example per command, shown at the end of its --help (a test keeps every command here)."""


class _Formatter(argparse.HelpFormatter):
    """Wraps a description as usual, and prints an example as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("example:"):
            return text
        return super()._fill_text(text, width, indent)


def _describe(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
    """Give every command a description (its summary, unless it has its own) and its example."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        summaries = {a.dest: a.help or "" for a in action._choices_actions}
        for name, command in action.choices.items():
            named = (*path, name)
            command.formatter_class = _Formatter
            summary = summaries.get(name, "")
            if not command.description and summary:
                command.description = f"{summary[0].upper()}{summary[1:]}."
            example = EXAMPLES.get(" ".join(named))
            if example:
                command.epilog = f"example:\n  $ {example}"
            _describe(command, named)


def _reported() -> tuple[type[Exception], ...]:
    """The errors reported on one line (exit status 2); evaluated only when a command raised,
    so the policy engine's errors are imported only then."""
    from agento._errors import PolicyError

    return (_UsageError, CommandError, PolicyError)


def _validate(targets: Sequence[str]) -> int:
    from agento._declaration.validator import MisdeclaredActivityError, validate_activities

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
    from agento._declaration.activity import GovernedActivity

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


_RUNS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": lambda args: _validate(args.targets),
    "rules": lambda args: _rules(markdown=args.markdown),
    "policy": _cli_policy.run,
    **dict.fromkeys(_cli_audit.COMMANDS, _cli_audit.run),
    "review": _cli_review.run,
    "setup": _cli_review.run,
    _cli_evidence.COMMAND: _cli_evidence.run,
}
"""Each command's handler, by its name."""
