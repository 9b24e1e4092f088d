"""RFC 9457 problem details for every error the API answers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from switchboard.services.errors import ErrorKind, ServiceError
from switchboard.services.ratelimit import RateLimited

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

STATUS_OF_KIND = {
    ErrorKind.INVALID: 422,
    ErrorKind.UNAUTHORIZED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAVAILABLE: 503,
}

CODE_OF_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "service_unavailable",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": f"https://switchboard.dev/problems/{code.replace('_', '-')}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path")]
    return ".".join(parts) or "body"


async def _service_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ServiceError)
    status = STATUS_OF_KIND[error.kind]
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    extra: dict[str, Any] = {}
    if error.code == "validation_error":
        extra["errors"] = [{"field": error.field or "body", "message": error.detail}]
    return problem(status, error.code, error.detail, headers=headers, **extra)


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {
            # A body that is not JSON at all: its loc ends with a character offset.
            "field": "body"
            if item.get("type") == "json_invalid"
            else _field(tuple(item.get("loc", ()))),
            "message": item.get("msg", "invalid"),
        }
        for item in error.errors()
    ]
    return problem(422, "validation_error", "The request is not valid", errors=errors)


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    if error.status_code == 400 and error.detail == "There was an error parsing the body":
        # FastAPI's answer to a body it cannot decode (not UTF-8): bad input is 422.
        return problem(
            422,
            "validation_error",
            "The request is not valid",
            errors=[{"field": "body", "message": "The body is not valid JSON"}],
        )
    code = CODE_OF_STATUS.get(error.status_code, "error")
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    return problem(error.status_code, code, detail, headers=error.headers)


async def _rate_limited(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RateLimited)
    return problem(
        429,
        "rate_limited",
        f"Too many requests; try again in {error.retry_after} s",
        headers={"Retry-After": str(error.retry_after)},
        retryAfter=error.retry_after,
    )


async def _database_unavailable(_: Request, error: Exception) -> JSONResponse:
    log.error("database unavailable: %s", type(error).__name__)
    return problem(503, "service_unavailable", "The database is unavailable; try again shortly")


async def _unexpected(_: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=error)
    return problem(500, "internal_error", "Something went wrong on our side")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RateLimited, _rate_limited)
    for unavailable in (
        OperationalError,
        InterfaceError,
        PoolTimeout,
        ConnectionError,
        TimeoutError,
    ):
        app.add_exception_handler(unavailable, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
