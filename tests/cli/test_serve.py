"""`agento review serve` as an operator starts it: a real process against the dev server, a
signed approval through its API, and clear refusals of a half-configured service."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from agento import EmbeddedEngine, VerificationKey
from agento.testing import governed_client
from tests.support.cli import agento
from tests.support.engines import POLICY_BUNDLE
from tests.support.keys import es256_key_pair
from tests.support.review_service import review_service
from tests.support.reviews import paused
from tests.support.runs import governed_worker

ROOT = Path(__file__).parents[2]
PUBLIC_KEY = ROOT / "examples" / "commissioning" / "keys" / "review-service-demo.pub.pem"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ([], "say how reviewers are authenticated, once"),
        (["--dev-user", "a", "--proxy-header", "X-User"], "say how reviewers are authenticated"),
        (["--jwks", "jwks.json"], "--jwks needs --issuer and --audience"),
        (
            ["--jwks", "http://idp.example.com/jwks.json", "--issuer", "i", "--audience", "a"],
            "is plain http: whoever is on the path could swap the IdP's keys",
        ),
        (["--proxy-header", "X-User"], "--proxy-header needs --trusted-proxy"),
        (["--proxy-header", "X-User", "--trusted-proxy", "nowhere"], "--trusted-proxy: "),
        (["--dev-user", "a", "--signing-key", "/no/such/key.pem"], "cannot read --signing-key"),
        (["--dev-user", "a", "--signing-key", str(PUBLIC_KEY)], "not a PEM private key"),
    ],
)
def test_a_half_configured_service_is_refused_with_the_fix(
    options: list[str], message: str
) -> None:
    signing = [] if "--signing-key" in options else ["--signing-key", "/no/such/key.pem"]
    run = agento("review", "serve", *signing, *options)
    assert run.returncode == 2, run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr


def test_an_approval_with_a_key_that_cannot_sign_is_refused_before_temporal_is_asked() -> None:
    # Nothing listens at the address: the key is refused before any connection is tried.
    run = agento(
        "review", "approve", "wf", "r1", "--reviewer", "carol",
        "--signing-key", str(PUBLIC_KEY), "--address", "127.0.0.1:1",
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert f"cannot read --signing-key {PUBLIC_KEY}: not a PEM private key" in run.stderr
    assert "connect" not in run.stderr


async def test_the_served_api_signs_an_approval_the_worker_accepts(
    agento_dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    private, public = es256_key_pair()
    key = tmp_path / "review-service.pem"
    key.write_text(private)
    client = governed_client(
        agento_dev_server,
        EmbeddedEngine(POLICY_BUNDLE),
        review_keys={"review-service": VerificationKey.from_pem(public)},
    )
    task_queue = f"serve-{uuid.uuid4()}"
    async with (
        governed_worker(client, task_queue),
        review_service(agento_dev_server, key, "--dev-user", "carol") as service,
    ):
        handle, review = await paused(client, task_queue)
        answer = await service.api.post(
            f"/api/reviews/{review.review_id}/approve",
            params={"workflow_id": handle.id},
            json={"comment": "checked"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["signing_key_id"] == "review-service", "the file's stem"
        assert answer.json()["identity"]["issuer"] == "dev"
        assert (await handle.result()).startswith("routed")
    assert "DEVELOPMENT MODE" in service.errors, "the dev user is said loudly"
    assert "signing as key review-service" in service.errors
