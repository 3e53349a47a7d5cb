"""`AgentoPlugin`: agento as a Temporal plugin for clients, workers and replayers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

import temporalio.converter
import temporalio.plugin
from temporalio.client import Client
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.worker import WorkerConfig, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from agento._declaration.activity import (
    AnyActivity,
    as_temporal_activities,
    declaration_of,
)
from agento._declaration.validator import defined_policies, validate_activities
from agento._errors import PolicyEngineUnavailable
from agento._observability.decision_log import DecisionLog
from agento._policy.engine import PolicyCatalog, PolicyEngine
from agento._reviews.resolution import ReviewKeys
from agento._reviews.visibility import ensure_search_attributes, missing_search_attributes
from agento._worker.decision_activity import DecisionActivity
from agento._worker.interceptors import GovernanceInterceptor
from agento._workflow.decision_step import DecisionSettings
from agento._workflow.review_board import ReviewSettings

if TYPE_CHECKING:  # a type only: importing securesystemslib's signers takes ~0.4 s
    from securesystemslib.signer import Signer

# Deterministic libraries workflow code reaches through agento; shared, not re-imported per run.
_PASSTHROUGH = (
    "agento",
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "httpx",
    "regopy",
    "opentelemetry",
    "jwt",
    "cryptography",
    "rfc8785",
    "securesystemslib",
)


class AgentoPlugin(temporalio.plugin.SimplePlugin):
    """Governs a Temporal client and the workers built from it.

    Give it to ``Client.connect(plugins=[...])``. Every worker built from that client then:

    - runs the rule set over all of its activities, raising `agento.MisdeclaredActivityError`
      before any workflow runs if one breaks it (including a policy path that ``engine`` does
      not define: the embedded engine's bundle, or the policies an OPA server lists);
    - refuses to be built when it runs workflows but ``engine`` is not set: its workflows could
      not ask for decisions;
    - answers ``agento.execute_activity``'s decisions with ``engine``, through a recorded step;
    - refuses to run a policy-gated activity started without the grant of a recorded decision;
    - registers the review query and update on every workflow.

    It also switches the payload converter to pydantic's, keeping any codec already configured.

    Args:
        engine: The policy engine workers ask (`agento.EmbeddedEngine`,
            `agento.OpaServerEngine`). Required on workers that run workflows; a client that
            only starts workflows, or a worker that only runs activities, needs none.
        activities: Governed activities to register on every worker built from the client. To
            give a single worker its own, use
            ``Worker(activities=agento.as_temporal_activities(...))``.
        ungoverned: Plain ``@activity.defn`` activities a worker may run without governance,
            or their names (``agento.agents.openai.MODEL_ACTIVITIES``: an agent framework's
            model calls, which its plugin builds per worker); the opt-out is explicit so that
            it shows in review.
        decide_locally: Ask through a local activity (one history event, about 4 ms) rather than
            a regular activity (six events, about 46 ms). Both record the full Decision.
        decision_log: Where every decision also goes, as an OPA decision-log event
            (`agento.FileDecisionLog`, `agento.HttpDecisionLog`); it never delays a decision.
        decision_attempts: How often an unavailable engine is asked (1 s apart, doubling up to
            15 s; five attempts span about 15 s) before the activity pauses for review with
            "policy engine unavailable". Nothing runs meanwhile.
        max_request_bytes: The largest request a governed activity may be sent (2 MiB:
            Temporal's default blob size limit). A larger one fails the run with a
            ``PolicyError`` before anything is asked; raise it only with the cluster's
            ``limit.blobSize.error``.
        review_keys: Key id -> public key (`agento.VerificationKey`) of the review service.
            Given, a resolution must carry a token signed with one of them for the very review,
            verdict and comment it states, unexpired; anything else is refused before it is
            written to history. Without it, resolutions are accepted unsigned (the reviewer is
            the name the client gives).
        reviewer_policy: The policy path that decides whether a reviewer may resolve a review
            (asked with the review, the reviewer's identity and the action, through the same
            recorded step as activity decisions). Without it, anyone but the run's requester
            may. The requester may never review their own run.
        receipt_signer: Signs every decision the worker makes (a receipt recorded with it,
            chained to the run's previous one: docs/audit.md, evidence packs). A
            securesystemslib ``Signer``: `agento.evidence.signer_from_file` for a PEM file, or
            its HSM and cloud KMS signers.
    """

    def __init__(
        self,
        *,
        engine: PolicyEngine | None = None,
        activities: Sequence[AnyActivity] = (),
        ungoverned: Sequence[Callable[..., object] | str] = (),
        decide_locally: bool = True,
        decision_attempts: int = 5,
        decision_log: DecisionLog | None = None,
        max_request_bytes: int = 2 * 1024 * 1024,
        review_keys: ReviewKeys | None = None,
        reviewer_policy: str | None = None,
        receipt_signer: Signer | None = None,
    ) -> None:
        registered = as_temporal_activities(*activities)
        self._decision_activity = None
        if engine is not None:
            self._decision_activity = DecisionActivity(engine, decision_log, receipt_signer).decide
            registered.append(self._decision_activity)
        self.decision_log = decision_log
        settings = DecisionSettings(
            local=decide_locally, attempts=decision_attempts, max_request_bytes=max_request_bytes
        )
        super().__init__(
            "agento.AgentoPlugin",
            data_converter=_with_pydantic_payloads,
            activities=registered or None,
            interceptors=[
                GovernanceInterceptor(settings, ReviewSettings(review_keys, reviewer_policy))
            ],
            workflow_runner=_with_passthrough,
            run_context=self._running,
        )
        self.engine = engine
        self.ungoverned = tuple(ungoverned)
        self.decide_locally = decide_locally
        self.reviewer_policy = reviewer_policy
        self.review_keys = review_keys
        self.receipt_signer = receipt_signer

    @contextlib.asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        """Around a worker's run: deliver the decision log's buffer when it stops."""
        try:
            yield
        finally:
            if self.decision_log is not None:
                await self.decision_log.aclose()

    def configure_worker(self, config: WorkerConfig) -> WorkerConfig:
        config = super().configure_worker(config)
        own = [self._decision_activity] if self._decision_activity else []
        activities = config.get("activities", ())
        runs_workflows = bool(config.get("workflows"))
        known = self._known_policies(activities, runs_workflows=runs_workflows)
        validate_activities(activities, ungoverned=[*self.ungoverned, *own], policies=known)
        if self.engine is None and config.get("workflows"):
            raise ValueError(
                "this worker runs workflows, but its AgentoPlugin has no policy engine: its "
                "workflows could not ask for decisions. Give the plugin one "
                "(AgentoPlugin(engine=agento.EmbeddedEngine(...)) or OpaServerEngine(...)) on "
                "the client the worker is built from, or on the worker's own plugins=[...]"
            )
        if self.reviewer_policy and runs_workflows:
            self._check_reviewer_policy(known)
        if self.engine is not None and config.get("workflows") and "client" in config:
            _check_search_attributes(config["client"])
        if (
            self.decide_locally
            and config.get("workflows")
            and config.get("max_cached_workflows") == 0
        ):
            warnings.warn(
                "this worker decides with local activities and has no workflow cache "
                "(max_cached_workflows=0): Temporal's core can evict a run while its decision "
                "is in flight, and the run then waits out its workflow task timeout (10 s by "
                "default) for every concurrent decision. Give the worker a cache, or build the "
                "plugin with decide_locally=False",
                RuntimeWarning,
                stacklevel=2,
            )
        return config

    def _check_reviewer_policy(self, known: frozenset[str] | None) -> None:
        """Refuse a reviewer policy the engine does not define (every resolution would be
        refused), and warn when nothing verifies the identities it decides on."""
        if known is not None and self.reviewer_policy not in known:
            raise ValueError(
                f"reviewer_policy {self.reviewer_policy!r} is not defined by the policy engine "
                f"(it defines {defined_policies(known)}): add it to the "
                "bundle, or fix the path given to AgentoPlugin(reviewer_policy=...)"
            )
        if not self.review_keys:
            warnings.warn(
                f"reviewer_policy {self.reviewer_policy!r} is set without review_keys: it "
                "decides on identities no worker verifies (a name, or the claims of a token "
                "anyone can sign). Give the plugin the review service's public keys; the "
                "policy sees input.reviewer.verified",
                RuntimeWarning,
                stacklevel=3,
            )

    def _known_policies(
        self, activities: Sequence[Callable[..., Any]], *, runs_workflows: bool
    ) -> frozenset[str] | None:
        """The engine's policies, asked once, when it can list them and the worker names one:
        a policy its activities declare, or the reviewer policy of a worker running workflows."""
        declared = any(
            d is not None and d.policy is not None for d in map(declaration_of, activities)
        )
        named = declared or (runs_workflows and self.reviewer_policy is not None)
        if not named or not isinstance(self.engine, PolicyCatalog):
            return None
        try:
            return self.engine.policies()
        except PolicyEngineUnavailable as e:
            raise PolicyEngineUnavailable(
                f"the worker is not built: it checks that the policies it names exist (those its "
                f"activities declare, and the reviewer policy), and the policy engine could not "
                f"be asked ({e}). Start the engine first (an OPA sidecar before the worker), "
                "then build the worker again"
            ) from e


def _check_search_attributes(client: Client) -> None:
    """Refuse a worker whose namespace lacks agento's search attributes: its runs would fail
    their workflow tasks the moment a review opened, and retry them forever. On a server that
    cannot list them (Temporal's time-skipping test server) they are added instead. The check
    is an RPC and building a worker is synchronous, so it runs on a loop of its own in a thread
    (a few milliseconds)."""
    outcome: list[list[str] | BaseException] = []

    def check() -> None:
        try:
            outcome.append(asyncio.run(_missing_or_added(client)))
        except BaseException as e:
            outcome.append(e)

    thread = threading.Thread(target=check, name="agento-namespace-check", daemon=True)
    thread.start()
    thread.join(timeout=30)
    result = outcome[0] if outcome else TimeoutError("no answer in 30 s")
    if isinstance(result, BaseException):
        warnings.warn(
            f"could not check that namespace {client.namespace!r} defines agento's search "
            f"attributes ({result}); if it does not, runs fail when a review opens: run "
            "`agento setup`",
            RuntimeWarning,
            stacklevel=3,
        )
        return
    if result:
        raise ValueError(
            f"namespace {client.namespace!r} does not define the search attribute(s) "
            f"{', '.join(result)} that governed runs list their pending reviews in: a run would "
            "fail its workflow tasks the moment a review opened. Run `agento setup --address "
            f"{client.service_client.config.target_host} --namespace {client.namespace}` (or "
            "`await agento.ensure_search_attributes(client)`), then build the worker again"
        )


async def _missing_or_added(client: Client) -> list[str]:
    """The search attributes ``client``'s namespace lacks; none on a server that cannot list
    them, once they are added there (the test server lists nothing but accepts additions)."""
    missing = await missing_search_attributes(client)
    if missing is None:
        await ensure_search_attributes(client)
        return []
    return missing


def _with_pydantic_payloads(
    existing: temporalio.converter.DataConverter | None,
) -> temporalio.converter.DataConverter:
    base = existing or temporalio.converter.DataConverter.default
    if base.payload_converter_class is not temporalio.converter.DefaultPayloadConverter:
        return base  # a custom payload converter is the user's deliberate choice
    return dataclasses.replace(base, payload_converter_class=PydanticPayloadConverter)


def _with_passthrough(existing: WorkflowRunner | None) -> WorkflowRunner:
    runner = existing or SandboxedWorkflowRunner()
    if not isinstance(runner, SandboxedWorkflowRunner):
        return runner
    restrictions = runner.restrictions.with_passthrough_modules(*_PASSTHROUGH)
    return dataclasses.replace(runner, restrictions=restrictions)
