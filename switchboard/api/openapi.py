"""What the OpenAPI document says about errors: RFC 9457 problem details, per status.

Routers and routes declare the errors they answer with `errors(...)`; the schema is inlined
(FastAPI registers components only for response models, and those would be `application/json`).
"""

from __future__ import annotations

from typing import Any

from switchboard.api.problems import PROBLEM_JSON

_FIELD_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["field", "message"],
    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
}


def _problem_schema() -> dict[str, Any]:
    return {
        "title": "Problem",
        "type": "object",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
            # Every `validation_error` carries the fields at fault.
            "errors": {"type": "array", "items": _FIELD_ERROR},
        },
    }


_DESCRIPTIONS = {
    401: "No valid token (`unauthorized`) or wrong credentials (`invalid_credentials`)",
    403: "Not allowed to make this move (`forbidden`, `not_a_participant`)",
    404: "Not found, or not mine (`call_not_found`, `user_not_found`, `conversation_not_found`)",
    409: "Conflicts with the current state (`user_busy`, `caller_busy`, `invalid_transition`, "
    "`call_active`, `username_taken`)",
    415: "The request body is not `application/json` (`unsupported_media_type`)",
    422: "The request is not valid (`validation_error` with `errors`, or a rule such as "
    "`cannot_call_self`, `unknown_connection`)",
    429: "Too many requests (`rate_limited`)",
    503: "The database is unavailable for a moment (`service_unavailable`)",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for these error statuses, as problem+json."""
    return {
        status: {
            "description": _DESCRIPTIONS[status],
            "content": {PROBLEM_JSON: {"schema": _problem_schema()}},
        }
        for status in statuses
    }


#: Every route behind a token, on every router that needs one.
AUTHENTICATED = errors(401, 503)
#: A JSON request body: not JSON (415) or not valid (422).
WITH_BODY = errors(415, 422)
