"""The suite's policy bundle and the engines the tests decide with: the bundle's policy paths, its
embedded engine in an outage, and the policy listing an OPA server gives."""

from __future__ import annotations

from pathlib import Path

from pydantic import JsonValue

from agento import EmbeddedEngine
from agento.testing import OutageEngine

POLICY_BUNDLE = Path(__file__).parent / "policy"
ROUTE = "agento/tests/route"
"""Allows amounts up to 100; denies more, for good (not recoverable) over 1000."""
REVIEWERS = "agento/tests/reviewers"
"""Who may resolve a review: members of "approvers" approve; anyone may reject."""


def flaky(failures: int | None) -> OutageEngine:
    """The embedded engine behind an outage of ``failures`` decisions (``None``: for good)."""
    return OutageEngine(EmbeddedEngine(POLICY_BUNDLE), failures=failures)


def listing(*packages: str) -> dict[str, JsonValue]:
    """GET /v1/policies as OPA documents it: each module with its AST's package path."""
    modules: list[JsonValue] = []
    for package in packages:
        path: list[JsonValue] = [{"type": "var", "value": "data"}]
        path += [{"type": "string", "value": part} for part in package.split("/")]
        modules.append(
            {
                "id": f"{package}.rego",
                "raw": f"package {package.replace('/', '.')}\n",
                "ast": {"package": {"path": path}, "rules": []},
            }
        )
    return {"result": modules}
