"""agento: governed Temporal activities.

Temporal owns sequencing and durability, Open Policy Agent owns authorization; agento is the
governed layer between them. Names are imported lazily so that ``agento.mypy`` and
``agento.rules`` load into the type checker without the Temporal runtime.

The public names, by topic, in one order in all three places below (type-checking imports,
``__all__`` and their homes); ``tests/test_exports.py`` keeps them so.
"""

from __future__ import annotations

import importlib
from types import FunctionType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Declaring activities
    from agento._decision.redaction import Needed, Sensitive
    from agento._declaration.activity import (
        ActivityDeclaration,
        AnyActivity,
        GovernedActivity,
        IdempotencyKey,
        PolicyInput,
        activity,
        as_temporal_activities,
        declaration_of,
    )
    from agento._declaration.http import IdempotencyKeyTransport
    from agento._declaration.validator import (
        MisdeclaredActivityError,
        check_activities,
        validate_activities,
    )
    from agento._postures import Idempotency, PolicyClass

    # isort: split
    # Running them: the worker plugin and the governed calls of workflow code
    from agento._cli.process import run
    from agento._decision.record import AgentCall
    from agento._worker.plugin import AgentoPlugin
    from agento._workflow.execute import execute_activity, start_activity

    # isort: split
    # Decisions and where they go
    from agento._decision.record import Decision, DecisionContext, policy_input
    from agento._observability.decision_log import DecisionLog, FileDecisionLog, HttpDecisionLog
    from agento.evidence import DecisionReceipt

    # isort: split
    # Policy engines and bundles
    from agento._policy.bundle import PolicyBundle
    from agento._policy.embedded import EmbeddedEngine
    from agento._policy.engine import PolicyCatalog, PolicyEngine
    from agento._policy.opa_server import OpaServerEngine
    from agento._policy.served import (
        BundleActivation,
        BundleService,
        BundleStatus,
        ServedBundleEngine,
    )
    from agento._policy.signing import BundleVerification, VerificationKey

    # isort: split
    # Reviews
    from agento._reviews.client import pending_reviews, resolve_review
    from agento._reviews.models import PendingReview, ResolveReview, ReviewOutcome, ReviewReason
    from agento._reviews.resolution import (
        ResolutionClaims,
        ResolutionRefused,
        ResolutionSigner,
        ResolutionStatement,
        ReviewerIdentity,
        sign_resolution,
        verify_resolution,
    )
    from agento._reviews.visibility import ensure_search_attributes

    # isort: split
    # Failures
    from agento._errors import (
        BundleError,
        GovernanceError,
        GovernanceFailure,
        PolicyDenied,
        PolicyEngineUnavailable,
        PolicyError,
        ReviewRefused,
        ReviewRejected,
        ReviewTimedOut,
        governance_failure,
    )

    # isort: split
    # Audit and evidence
    from agento._audit.replay import (
        ImpactReport,
        ReplayedDecision,
        Verdict,
        impact,
        replay_decisions,
    )
    from agento._audit.report import AuditReport, audit_report
    from agento.evidence import EvidenceVerification, export_evidence, verify_evidence

# By topic, in the order of the imports above.
__all__ = [  # noqa: RUF022
    # Declaring activities
    "Needed",
    "Sensitive",
    "ActivityDeclaration",
    "AnyActivity",
    "GovernedActivity",
    "IdempotencyKey",
    "PolicyInput",
    "activity",
    "as_temporal_activities",
    "declaration_of",
    "IdempotencyKeyTransport",
    "MisdeclaredActivityError",
    "check_activities",
    "validate_activities",
    "Idempotency",
    "PolicyClass",
    # Running them: the worker plugin and the governed calls of workflow code
    "run",
    "AgentCall",
    "AgentoPlugin",
    "execute_activity",
    "start_activity",
    # Decisions and where they go
    "Decision",
    "DecisionContext",
    "policy_input",
    "DecisionLog",
    "FileDecisionLog",
    "HttpDecisionLog",
    "DecisionReceipt",
    # Policy engines and bundles
    "PolicyBundle",
    "EmbeddedEngine",
    "PolicyCatalog",
    "PolicyEngine",
    "OpaServerEngine",
    "BundleActivation",
    "BundleService",
    "BundleStatus",
    "ServedBundleEngine",
    "BundleVerification",
    "VerificationKey",
    # Reviews
    "pending_reviews",
    "resolve_review",
    "PendingReview",
    "ResolveReview",
    "ReviewOutcome",
    "ReviewReason",
    "ResolutionClaims",
    "ResolutionRefused",
    "ResolutionSigner",
    "ResolutionStatement",
    "ReviewerIdentity",
    "sign_resolution",
    "verify_resolution",
    "ensure_search_attributes",
    # Failures
    "BundleError",
    "GovernanceError",
    "GovernanceFailure",
    "PolicyDenied",
    "PolicyEngineUnavailable",
    "PolicyError",
    "ReviewRefused",
    "ReviewRejected",
    "ReviewTimedOut",
    "governance_failure",
    # Audit and evidence
    "ImpactReport",
    "ReplayedDecision",
    "Verdict",
    "impact",
    "replay_decisions",
    "AuditReport",
    "audit_report",
    "EvidenceVerification",
    "export_evidence",
    "verify_evidence",
]

_HOMES = {
    # Declaring activities
    "Needed": "agento._decision.redaction",
    "Sensitive": "agento._decision.redaction",
    "ActivityDeclaration": "agento._declaration.activity",
    "AnyActivity": "agento._declaration.activity",
    "GovernedActivity": "agento._declaration.activity",
    "IdempotencyKey": "agento._declaration.activity",
    "PolicyInput": "agento._declaration.activity",
    "activity": "agento._declaration.activity",
    "as_temporal_activities": "agento._declaration.activity",
    "declaration_of": "agento._declaration.activity",
    "IdempotencyKeyTransport": "agento._declaration.http",
    "MisdeclaredActivityError": "agento._declaration.validator",
    "check_activities": "agento._declaration.validator",
    "validate_activities": "agento._declaration.validator",
    "Idempotency": "agento._postures",
    "PolicyClass": "agento._postures",
    # Running them: the worker plugin and the governed calls of workflow code
    "run": "agento._cli.process",
    "AgentCall": "agento._decision.record",
    "AgentoPlugin": "agento._worker.plugin",
    "execute_activity": "agento._workflow.execute",
    "start_activity": "agento._workflow.execute",
    # Decisions and where they go
    "Decision": "agento._decision.record",
    "DecisionContext": "agento._decision.record",
    "policy_input": "agento._decision.record",
    "DecisionLog": "agento._observability.decision_log",
    "FileDecisionLog": "agento._observability.decision_log",
    "HttpDecisionLog": "agento._observability.decision_log",
    "DecisionReceipt": "agento.evidence",
    # Policy engines and bundles
    "PolicyBundle": "agento._policy.bundle",
    "EmbeddedEngine": "agento._policy.embedded",
    "PolicyCatalog": "agento._policy.engine",
    "PolicyEngine": "agento._policy.engine",
    "OpaServerEngine": "agento._policy.opa_server",
    "BundleActivation": "agento._policy.served",
    "BundleService": "agento._policy.served",
    "BundleStatus": "agento._policy.served",
    "ServedBundleEngine": "agento._policy.served",
    "BundleVerification": "agento._policy.signing",
    "VerificationKey": "agento._policy.signing",
    # Reviews
    "pending_reviews": "agento._reviews.client",
    "resolve_review": "agento._reviews.client",
    "PendingReview": "agento._reviews.models",
    "ResolveReview": "agento._reviews.models",
    "ReviewOutcome": "agento._reviews.models",
    "ReviewReason": "agento._reviews.models",
    "ResolutionClaims": "agento._reviews.resolution",
    "ResolutionRefused": "agento._reviews.resolution",
    "ResolutionSigner": "agento._reviews.resolution",
    "ResolutionStatement": "agento._reviews.resolution",
    "ReviewerIdentity": "agento._reviews.resolution",
    "sign_resolution": "agento._reviews.resolution",
    "verify_resolution": "agento._reviews.resolution",
    "ensure_search_attributes": "agento._reviews.visibility",
    # Failures
    "BundleError": "agento._errors",
    "GovernanceError": "agento._errors",
    "GovernanceFailure": "agento._errors",
    "PolicyDenied": "agento._errors",
    "PolicyEngineUnavailable": "agento._errors",
    "PolicyError": "agento._errors",
    "ReviewRefused": "agento._errors",
    "ReviewRejected": "agento._errors",
    "ReviewTimedOut": "agento._errors",
    "governance_failure": "agento._errors",
    # Audit and evidence
    "ImpactReport": "agento._audit.replay",
    "ReplayedDecision": "agento._audit.replay",
    "Verdict": "agento._audit.replay",
    "impact": "agento._audit.replay",
    "replay_decisions": "agento._audit.replay",
    "AuditReport": "agento._audit.report",
    "audit_report": "agento._audit.report",
    "EvidenceVerification": "agento.evidence",
    "export_evidence": "agento.evidence",
    "verify_evidence": "agento.evidence",
}
"""Public name -> the module that defines it."""


if not TYPE_CHECKING:  # to a type checker, agento has exactly the names imported above

    def __getattr__(name: str) -> object:
        try:
            home = _HOMES[name]
        except KeyError:
            raise AttributeError(f"module 'agento' has no attribute {name!r}") from None
        value = getattr(importlib.import_module(home), name)
        if _shows_public_home(value):
            value.__module__ = "agento"
        globals()[name] = value
        return value


def _shows_public_home(value: object) -> bool:
    """Whether reprs, tracebacks and docs may name ``value`` as ``agento.X``: functions, and
    classes without annotations of their own (errors, enums, the plugin). A model or dataclass
    keeps its defining module, where ``typing.get_type_hints`` resolves its annotations."""
    if isinstance(value, type):
        return not any(vars(c).get("__annotations__") for c in value.__mro__[:-1])
    return isinstance(value, FunctionType)


def __dir__() -> list[str]:
    return sorted(__all__)
