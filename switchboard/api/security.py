"""Security headers on every HTTP response, and CORS limited to the allowed origins.

The web client gets a strict Content-Security-Policy (its own scripts, styles and images only;
connections to this origin and its WebSocket). The OpenAPI pages (`/docs`, `/redoc`) load
Swagger UI and ReDoc from a CDN with an inline bootstrap script, so they get a policy of their
own that allows exactly that and nothing else (they do not work offline).
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.config import Settings

# A Host header we may echo into the policy (anything odd: the policy just uses 'self').
_SANE_HOST = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")

_COMMON = (
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
)

_DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = "; ".join(
    (
        "default-src 'self'",
        f"script-src 'self' 'unsafe-inline' {_DOCS_CDN}",
        f"style-src 'self' 'unsafe-inline' {_DOCS_CDN} https://fonts.googleapis.com",
        "font-src 'self' https://fonts.gstatic.com",
        "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        *_COMMON,
    )
)

STATIC_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), microphone=(self), geolocation=(), payment=()"),
)


def web_policy(host: str | None) -> str:
    """The web client's policy; `connect-src` names this host's ws:/wss: explicitly (browsers
    before CSP 3 do not let 'self' cover WebSockets)."""
    connect = "connect-src 'self'"
    if host and _SANE_HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob: mediastream:",
            "font-src 'self'",
            connect,
            "worker-src 'self'",
            "manifest-src 'self'",
            *_COMMON,
        )
    )


class SecurityHeaders:
    """Adds the security headers to every HTTP response (a route's own values are kept)."""

    def __init__(self, app: ASGIApp, *, docs_paths: frozenset[str]) -> None:
        self.app = app
        self._docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path in self._docs_paths:
            policy = DOCS_POLICY
        else:
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            policy = web_policy(host or None)
        extra = [*STATIC_HEADERS, (b"content-security-policy", policy.encode())]
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", b"max-age=31536000"))
        if path.startswith("/auth/"):
            extra.append((b"cache-control", b"no-store"))  # answers carry access tokens

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in extra if name not in present)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, settings: Settings) -> None:
    """CORS only for ALLOWED_ORIGINS (none: same origin only); security headers outermost."""
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[origin.rstrip("/") for origin in settings.allowed_origins],
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["Retry-After", "X-Request-ID"],
            allow_credentials=False,  # bearer tokens, no cookies
            max_age=600,
        )
    docs = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    app.add_middleware(SecurityHeaders, docs_paths=frozenset(p for p in docs if p))
