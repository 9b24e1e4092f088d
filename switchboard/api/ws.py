"""`GET /ws`: authenticates the socket and hands it to the gateway.

It is served as a raw ASGI app ahead of the HTTP middleware and routing (see
`switchboard.app.SwitchboardApp`): none of them acts on WebSockets, and every held socket
would otherwise keep a suspended frame of each.
"""

from __future__ import annotations

import contextlib
import math
import re
from urllib.parse import urlsplit

from starlette.datastructures import Headers, QueryParams, State
from starlette.types import Receive, Scope, Send

from switchboard.config import Settings
from switchboard.realtime import codec
from switchboard.realtime.codec import ErrorCode
from switchboard.realtime.connections import Registry
from switchboard.realtime.gateway import Gateway
from switchboard.realtime.wsprotocol import SEND_NOW_EXTENSION, SendNow
from switchboard.services.container import Services
from switchboard.services.errors import ServiceError
from switchboard.services.ratelimit import RateLimited, RateLimits

PATH = "/ws"
DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
UNAUTHORIZED_CLOSE_CODE = 4401
BAD_REQUEST_CLOSE_CODE = 4400
RATE_LIMITED_CLOSE_CODE = 4429


def origin_allowed(origin: str | None, host: str | None, settings: Settings) -> bool:
    """No Origin (not a browser) is fine; a browser's must be ours or explicitly allowed."""
    if origin is None:
        return True
    if settings.allowed_origins:
        return origin.rstrip("/") in {o.rstrip("/") for o in settings.allowed_origins}
    return host is not None and urlsplit(origin).netloc.lower() == host.lower()


class AsgiTransport:
    """The socket as raw ASGI messages: `/ws` is served below the HTTP middleware and without
    Starlette's `WebSocket`, so that a held connection keeps no frames or objects of theirs."""

    __slots__ = ("_closed", "_receive", "_send", "_send_now")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._closed = False
        # A server that can write frames without a round through `send` offers this (see
        # `switchboard.realtime.wsprotocol`); any other ASGI server takes the `send` path.
        extension = (scope.get("extensions") or {}).get(SEND_NOW_EXTENSION) or {}
        self._send_now: SendNow | None = extension.get("send")

    async def receive(self) -> str | bytes | None:
        message = await self._receive()
        if message["type"] != "websocket.receive":  # websocket.disconnect
            self._closed = True
            return None
        text: str | None = message.get("text")
        return text if text is not None else message.get("bytes") or b""

    async def send(self, text: str) -> None:
        await self._send({"type": "websocket.send", "text": text})

    def send_now(self, texts: list[str]) -> bool:
        return self._send_now is not None and not self._closed and self._send_now(texts)

    async def close(self, code: int) -> None:
        if not self._closed:
            self._closed = True
            await self._send({"type": "websocket.close", "code": code, "reason": ""})


def _token(query: QueryParams, headers: Headers) -> str | None:
    token = query.get("token")
    if token:
        return token
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    return credentials if scheme.lower() == "bearer" and credentials else None


async def _close(send: Send, code: int, reason: str = "") -> None:
    await send({"type": "websocket.close", "code": code, "reason": reason})


async def _refuse_rate_limited(send: Send, retry_after: int, message: str) -> None:
    """An accepted socket past a limit: a `rate_limited` error frame, then close 4429."""
    data = {"code": ErrorCode.RATE_LIMITED.value, "message": message, "retryAfter": retry_after}
    with contextlib.suppress(RuntimeError, OSError):  # the peer has gone
        await send({"type": "websocket.send", "text": codec.encode("error", data)})
        await _close(send, RATE_LIMITED_CLOSE_CODE, "rate limited")


def _other_live_connections(registry: Registry, user_id: str, device_id: str | None) -> int:
    """This instance's live connections of the user that a new one would not replace."""
    return sum(1 for c in registry.of_user(user_id) if c.connection_id != device_id)


def is_gateway_socket(scope: Scope) -> bool:
    """A WebSocket handshake for `/ws` (the path as routing sees it, below any root path)."""
    if scope["type"] != "websocket":
        return False
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path == PATH


async def gateway_socket(state: State, scope: Scope, receive: Receive, send: Send) -> None:
    """`GET /ws` as a raw ASGI app (see `AsgiTransport`)."""
    if (await receive())["type"] != "websocket.connect":
        return
    services: Services = state.services
    gateway: Gateway = state.gateway
    headers, query = Headers(scope=scope), QueryParams(scope["query_string"])
    if not origin_allowed(headers.get("origin"), headers.get("host"), services.settings):
        await _close(send, 1008)  # before accept: the handshake is refused with 403
        return
    await send({"type": "websocket.accept"})
    token = _token(query, headers)
    device_id = query.get("deviceId")
    # Nothing below needs the handshake's headers: a held socket need not keep them.
    del headers, query
    scope["headers"] = []
    try:
        user_id = await services.auth.authenticate(token or "")
        user = await services.users.profile(user_id=user_id)  # hello says it is online
    except ServiceError:
        await _close(send, UNAUTHORIZED_CLOSE_CODE, "unauthorized")
        return
    if device_id is not None and not DEVICE_ID.match(device_id):
        await _close(send, BAD_REQUEST_CLOSE_CODE, "invalid deviceId")
        return
    rate: RateLimits = state.rate_limits
    try:
        await rate.limiter.hit(rate.limits.ws_connect, user.id)
    except RateLimited as limited:
        message = f"Too many connections; try again in {limited.retry_after} s"
        await _refuse_rate_limited(send, limited.retry_after, message)
        return
    settings = services.settings
    registry: Registry = state.registry
    # No await between this count and the gateway registering the connection.
    live = _other_live_connections(registry, user.id, device_id)
    if live >= settings.ws_max_connections_per_user:
        retry_after = max(1, math.ceil(settings.ws_connection_window_seconds))
        message = f"At most {settings.ws_max_connections_per_user} connections at once"
        await _refuse_rate_limited(send, retry_after, message)
        return
    await gateway.serve(AsgiTransport(scope, receive, send), user=user, device_id=device_id)
