"""agento: governed Temporal activities.

Temporal owns sequencing and durability, Open Policy Agent owns authorization; agento is the
governed layer between them. Names are imported lazily so that ``agento.mypy`` and
``agento.rules`` load into the type checker without the Temporal runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agento._audit.replay import (
        ImpactReport,
        ReplayedDecision,
        Verdict,
        impact,
        replay_decisions,
    )
    from agento._audit.report import AuditReport, audit_report
    from agento._cli.process import run
    from agento._decision.record import AgentCall, Decision, DecisionContext, policy_input
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
    from agento._observability.decision_log import DecisionLog, FileDecisionLog, HttpDecisionLog
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
    from agento._postures import Idempotency, PolicyClass
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
    from agento._worker.plugin import AgentoPlugin
    from agento._workflow.execute import execute_activity, start_activity
    from agento.evidence import (
        DecisionReceipt,
        EvidenceVerification,
        export_evidence,
        verify_evidence,
    )

__all__ = [
    "ActivityDeclaration",
    "AgentCall",
    "AgentoPlugin",
    "AnyActivity",
    "AuditReport",
    "BundleActivation",
    "BundleError",
    "BundleService",
    "BundleStatus",
    "BundleVerification",
    "Decision",
    "DecisionContext",
    "DecisionLog",
    "DecisionReceipt",
    "EmbeddedEngine",
    "EvidenceVerification",
    "FileDecisionLog",
    "GovernanceError",
    "GovernanceFailure",
    "GovernedActivity",
    "HttpDecisionLog",
    "Idempotency",
    "IdempotencyKey",
    "IdempotencyKeyTransport",
    "ImpactReport",
    "MisdeclaredActivityError",
    "Needed",
    "OpaServerEngine",
    "PendingReview",
    "PolicyBundle",
    "PolicyCatalog",
    "PolicyClass",
    "PolicyDenied",
    "PolicyEngine",
    "PolicyEngineUnavailable",
    "PolicyError",
    "PolicyInput",
    "ReplayedDecision",
    "ResolutionClaims",
    "ResolutionRefused",
    "ResolutionSigner",
    "ResolutionStatement",
    "ResolveReview",
    "ReviewOutcome",
    "ReviewReason",
    "ReviewRefused",
    "ReviewRejected",
    "ReviewTimedOut",
    "ReviewerIdentity",
    "Sensitive",
    "ServedBundleEngine",
    "Verdict",
    "VerificationKey",
    "activity",
    "as_temporal_activities",
    "audit_report",
    "check_activities",
    "declaration_of",
    "ensure_search_attributes",
    "execute_activity",
    "export_evidence",
    "governance_failure",
    "impact",
    "pending_reviews",
    "policy_input",
    "replay_decisions",
    "resolve_review",
    "run",
    "sign_resolution",
    "start_activity",
    "validate_activities",
    "verify_evidence",
    "verify_resolution",
]

_HOMES = {
    "ResolutionStatement": "agento._reviews.resolution",
    "verify_resolution": "agento._reviews.resolution",
    "sign_resolution": "agento._reviews.resolution",
    "ReviewerIdentity": "agento._reviews.resolution",
    "ResolutionSigner": "agento._reviews.resolution",
    "ResolutionRefused": "agento._reviews.resolution",
    "ResolutionClaims": "agento._reviews.resolution",
    "AuditReport": "agento._audit.report",
    "audit_report": "agento._audit.report",
    "ImpactReport": "agento._audit.replay",
    "ReplayedDecision": "agento._audit.replay",
    "Verdict": "agento._audit.replay",
    "impact": "agento._audit.replay",
    "replay_decisions": "agento._audit.replay",
    "pending_reviews": "agento._reviews.client",
    "resolve_review": "agento._reviews.client",
    "Needed": "agento._decision.redaction",
    "Sensitive": "agento._decision.redaction",
    "GovernanceError": "agento._errors",
    "GovernanceFailure": "agento._errors",
    "ReviewRefused": "agento._errors",
    "governance_failure": "agento._errors",
    "PolicyDenied": "agento._errors",
    "ReviewRejected": "agento._errors",
    "ReviewTimedOut": "agento._errors",
    "execute_activity": "agento._workflow.execute",
    "start_activity": "agento._workflow.execute",
    "IdempotencyKeyTransport": "agento._declaration.http",
    "PendingReview": "agento._reviews.models",
    "ResolveReview": "agento._reviews.models",
    "ReviewOutcome": "agento._reviews.models",
    "ReviewReason": "agento._reviews.models",
    "ActivityDeclaration": "agento._declaration.activity",
    "AnyActivity": "agento._declaration.activity",
    "GovernedActivity": "agento._declaration.activity",
    "IdempotencyKey": "agento._declaration.activity",
    "PolicyInput": "agento._declaration.activity",
    "activity": "agento._declaration.activity",
    "as_temporal_activities": "agento._declaration.activity",
    "declaration_of": "agento._declaration.activity",
    "AgentoPlugin": "agento._worker.plugin",
    "PolicyBundle": "agento._policy.bundle",
    "BundleActivation": "agento._policy.served",
    "BundleService": "agento._policy.served",
    "BundleStatus": "agento._policy.served",
    "ServedBundleEngine": "agento._policy.served",
    "BundleVerification": "agento._policy.signing",
    "VerificationKey": "agento._policy.signing",
    "AgentCall": "agento._decision.record",
    "Decision": "agento._decision.record",
    "DecisionContext": "agento._decision.record",
    "policy_input": "agento._decision.record",
    "EmbeddedEngine": "agento._policy.embedded",
    "PolicyCatalog": "agento._policy.engine",
    "PolicyEngine": "agento._policy.engine",
    "BundleError": "agento._errors",
    "PolicyEngineUnavailable": "agento._errors",
    "PolicyError": "agento._errors",
    "OpaServerEngine": "agento._policy.opa_server",
    "DecisionLog": "agento._observability.decision_log",
    "FileDecisionLog": "agento._observability.decision_log",
    "HttpDecisionLog": "agento._observability.decision_log",
    "Idempotency": "agento._postures",
    "PolicyClass": "agento._postures",
    "run": "agento._cli.process",
    "MisdeclaredActivityError": "agento._declaration.validator",
    "check_activities": "agento._declaration.validator",
    "validate_activities": "agento._declaration.validator",
    "ensure_search_attributes": "agento._reviews.visibility",
    "DecisionReceipt": "agento.evidence",
    "EvidenceVerification": "agento.evidence",
    "export_evidence": "agento.evidence",
    "verify_evidence": "agento.evidence",
}


def __getattr__(name: str) -> object:
    try:
        home = _HOMES[name]
    except KeyError:
        raise AttributeError(f"module 'agento' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
