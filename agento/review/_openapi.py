"""The JSON API's OpenAPI description, served at ``/api/openapi.json`` for approval tools."""

from __future__ import annotations

from typing import Any

_WORKFLOW_ID = {
    "name": "workflow_id",
    "in": "query",
    "required": True,
    "schema": {"type": "string"},
    "description": "The paused run's workflow id.",
}
_REVIEW_ID = {"name": "review_id", "in": "path", "required": True, "schema": {"type": "string"}}
_PROBLEM = {
    "type": "object",
    "required": ["error", "message", "reasons"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "reasons": {"type": "array", "items": {"type": "string"}},
    },
}


def _refusals(*statuses: int) -> dict[str, Any]:
    described = {
        401: "No accepted identity (a bearer token, or the proxy's headers).",
        403: "The reviewer may not resolve it: the reviewer policy's reasons, or the requester.",
        404: "No such run or pending review.",
        409: "Already resolved, or no longer pending.",
        413: "The body is over 64 KiB.",
        415: "Not sent as application/json.",
        422: "A comment is required (or the body is not JSON, or nests deeper than 16).",
        502: "Temporal refused or could not be reached.",
        503: "The policy engine could not decide on the reviewer: try again.",
        504: "No worker answered in time.",
    }
    problem = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {str(s): {"description": described[s], "content": problem} for s in statuses}


def _resolve(verb: str) -> dict[str, Any]:
    return {
        "summary": f"{verb.capitalize()} a pending review, signed for the authenticated reviewer",
        "parameters": [_REVIEW_ID, _WORKFLOW_ID],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["comment"],
                        "properties": {"comment": {"type": "string", "minLength": 1}},
                    }
                }
            },
        },
        "responses": {
            "200": {"description": "The recorded outcome (agento.ReviewOutcome)."},
            **_refusals(401, 403, 404, 409, 413, 415, 422, 502, 503, 504),
        },
    }


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "agento review service", "version": "1"},
    "components": {
        "schemas": {"Problem": _PROBLEM},
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    },
    "security": [{"bearer": []}],
    "paths": {
        "/api/reviews": {
            "get": {
                "summary": "Pending reviews, from Temporal's visibility",
                "responses": {
                    "200": {"description": '{"reviews": [...]}'},
                    **_refusals(401, 502),
                },
            }
        },
        "/api/reviews/{review_id}": {
            "get": {
                "summary": "One pending review in full (sensitive fields as digests)",
                "parameters": [_REVIEW_ID, _WORKFLOW_ID],
                "responses": {
                    "200": {"description": "agento.PendingReview and its workflow_id."},
                    **_refusals(401, 404, 502, 504),
                },
            }
        },
        "/api/reviews/{review_id}/approve": {"post": _resolve("approve")},
        "/api/reviews/{review_id}/reject": {"post": _resolve("reject")},
    },
}
