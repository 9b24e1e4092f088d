"""Request bodies are JSON: anything else is 415 before it reaches a route."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from switchboard.api.problems import problem

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class RequireJsonBodies:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in BODY_METHODS:
            headers = dict(scope["headers"])
            has_body = headers.get(b"content-length", b"0") != b"0" or (
                b"transfer-encoding" in headers
            )
            media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if has_body and media_type != b"application/json":
                response = problem(
                    415, "unsupported_media_type", "Request bodies must be application/json"
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
