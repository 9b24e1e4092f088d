"""Errors a use case reports, each with a stable machine-readable code.

The API maps the kind to an HTTP status; services know nothing of HTTP.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    INVALID = "invalid"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNAVAILABLE = "unavailable"


class ServiceError(Exception):
    def __init__(
        self, kind: ErrorKind, code: str, detail: str, *, field: str | None = None
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.code = code
        self.detail = detail
        # The request field at fault, for `validation_error`s found past the schema.
        self.field = field


def not_found(code: str, detail: str) -> ServiceError:
    return ServiceError(ErrorKind.NOT_FOUND, code, detail)


def conflict(code: str, detail: str) -> ServiceError:
    return ServiceError(ErrorKind.CONFLICT, code, detail)


def forbidden(code: str, detail: str) -> ServiceError:
    return ServiceError(ErrorKind.FORBIDDEN, code, detail)


def invalid(code: str, detail: str, *, field: str | None = None) -> ServiceError:
    return ServiceError(ErrorKind.INVALID, code, detail, field=field)


def unauthorized(detail: str = "Missing, expired or invalid token") -> ServiceError:
    return ServiceError(ErrorKind.UNAUTHORIZED, "unauthorized", detail)


CALL_NOT_FOUND = "call_not_found"
USER_NOT_FOUND = "user_not_found"
CONVERSATION_NOT_FOUND = "conversation_not_found"
