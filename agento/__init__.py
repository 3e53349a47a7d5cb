"""agento: governed Temporal activities.

Temporal owns sequencing and durability, Open Policy Agent owns authorization; agento is the
governed layer between them. Names are imported lazily so that ``agento.mypy`` and
``agento.rules`` load into the type checker without the Temporal runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agento._audit import AuditReport, audit_report
    from agento._bundle import PolicyBundle
    from agento._bundle_service import (
        BundleActivation,
        BundleService,
        BundleStatus,
        ServedBundleEngine,
    )
    from agento._decision import AgentCall, Decision, DecisionContext, policy_input
    from agento._declaration import (
        ActivityDeclaration,
        AnyActivity,
        GovernedActivity,
        IdempotencyKey,
        PolicyInput,
        activity,
        as_temporal_activities,
        declaration_of,
    )
    from agento._embedded import EmbeddedEngine
    from agento._engine import PolicyCatalog, PolicyEngine
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
    from agento._execution import execute_activity, start_activity
    from agento._http import IdempotencyKeyTransport
    from agento._observability.decision_log import DecisionLog, FileDecisionLog, HttpDecisionLog
    from agento._opa import OpaServerEngine
    from agento._plugin import AgentoPlugin
    from agento._postures import Idempotency, PolicyClass
    from agento._process import run
    from agento._recording import Needed, Sensitive
    from agento._replay import ImpactReport, ReplayedDecision, Verdict, impact, replay_decisions
    from agento._resolution import (
        ResolutionClaims,
        ResolutionRefused,
        ResolutionSigner,
        ResolutionStatement,
        ReviewerIdentity,
        sign_resolution,
        verify_resolution,
    )
    from agento._review import PendingReview, ResolveReview, ReviewOutcome, ReviewReason
    from agento._reviews import pending_reviews, resolve_review
    from agento._signing import BundleVerification, VerificationKey
    from agento._validator import MisdeclaredActivityError, check_activities, validate_activities
    from agento._visibility import ensure_search_attributes
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
    "ResolutionStatement": "agento._resolution",
    "verify_resolution": "agento._resolution",
    "sign_resolution": "agento._resolution",
    "ReviewerIdentity": "agento._resolution",
    "ResolutionSigner": "agento._resolution",
    "ResolutionRefused": "agento._resolution",
    "ResolutionClaims": "agento._resolution",
    "AuditReport": "agento._audit",
    "audit_report": "agento._audit",
    "ImpactReport": "agento._replay",
    "ReplayedDecision": "agento._replay",
    "Verdict": "agento._replay",
    "impact": "agento._replay",
    "replay_decisions": "agento._replay",
    "pending_reviews": "agento._reviews",
    "resolve_review": "agento._reviews",
    "Needed": "agento._recording",
    "Sensitive": "agento._recording",
    "GovernanceError": "agento._errors",
    "GovernanceFailure": "agento._errors",
    "ReviewRefused": "agento._errors",
    "governance_failure": "agento._errors",
    "PolicyDenied": "agento._errors",
    "ReviewRejected": "agento._errors",
    "ReviewTimedOut": "agento._errors",
    "execute_activity": "agento._execution",
    "start_activity": "agento._execution",
    "IdempotencyKeyTransport": "agento._http",
    "PendingReview": "agento._review",
    "ResolveReview": "agento._review",
    "ReviewOutcome": "agento._review",
    "ReviewReason": "agento._review",
    "ActivityDeclaration": "agento._declaration",
    "AnyActivity": "agento._declaration",
    "GovernedActivity": "agento._declaration",
    "IdempotencyKey": "agento._declaration",
    "PolicyInput": "agento._declaration",
    "activity": "agento._declaration",
    "as_temporal_activities": "agento._declaration",
    "declaration_of": "agento._declaration",
    "AgentoPlugin": "agento._plugin",
    "PolicyBundle": "agento._bundle",
    "BundleActivation": "agento._bundle_service",
    "BundleService": "agento._bundle_service",
    "BundleStatus": "agento._bundle_service",
    "ServedBundleEngine": "agento._bundle_service",
    "BundleVerification": "agento._signing",
    "VerificationKey": "agento._signing",
    "AgentCall": "agento._decision",
    "Decision": "agento._decision",
    "DecisionContext": "agento._decision",
    "policy_input": "agento._decision",
    "EmbeddedEngine": "agento._embedded",
    "PolicyCatalog": "agento._engine",
    "PolicyEngine": "agento._engine",
    "BundleError": "agento._errors",
    "PolicyEngineUnavailable": "agento._errors",
    "PolicyError": "agento._errors",
    "OpaServerEngine": "agento._opa",
    "DecisionLog": "agento._observability.decision_log",
    "FileDecisionLog": "agento._observability.decision_log",
    "HttpDecisionLog": "agento._observability.decision_log",
    "Idempotency": "agento._postures",
    "PolicyClass": "agento._postures",
    "run": "agento._process",
    "MisdeclaredActivityError": "agento._validator",
    "check_activities": "agento._validator",
    "validate_activities": "agento._validator",
    "ensure_search_attributes": "agento._visibility",
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
