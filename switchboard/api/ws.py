"""`GET /ws`: authenticates the socket and hands it to the gateway."""

from __future__ import annotations

import contextlib
import math
import re
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from switchboard.config import Settings
from switchboard.realtime import codec
from switchboard.realtime.codec import ErrorCode
from switchboard.realtime.connections import Registry
from switchboard.realtime.gateway import Gateway
from switchboard.services.container import Services
from switchboard.services.errors import ServiceError
from switchboard.services.ratelimit import RateLimited, RateLimits

router = APIRouter()

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


class StarletteTransport:
    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket

    async def receive(self) -> str | bytes | None:
        message = await self._ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text: str | None = message.get("text")
        return text if text is not None else message.get("bytes") or b""

    async def send(self, text: str) -> None:
        await self._ws.send_text(text)

    async def close(self, code: int) -> None:
        if self._ws.application_state is not WebSocketState.DISCONNECTED:
            await self._ws.close(code)


def _token(websocket: WebSocket) -> str | None:
    token = websocket.query_params.get("token")
    if token:
        return token
    scheme, _, credentials = websocket.headers.get("authorization", "").partition(" ")
    return credentials if scheme.lower() == "bearer" and credentials else None


async def _refuse_rate_limited(websocket: WebSocket, retry_after: int, message: str) -> None:
    """An accepted socket past a limit: a `rate_limited` error frame, then close 4429."""
    data = {"code": ErrorCode.RATE_LIMITED.value, "message": message, "retryAfter": retry_after}
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):  # the peer has gone
        await websocket.send_text(codec.encode("error", data))
        await websocket.close(code=RATE_LIMITED_CLOSE_CODE, reason="rate limited")


def _other_live_connections(registry: Registry, user_id: str, device_id: str | None) -> int:
    """This instance's live connections of the user that a new one would not replace."""
    return sum(1 for c in registry.of_user(user_id) if c.connection_id != device_id)


@router.websocket("/ws")
async def gateway_socket(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    gateway: Gateway = websocket.app.state.gateway
    if not origin_allowed(
        websocket.headers.get("origin"), websocket.headers.get("host"), services.settings
    ):
        await websocket.close(code=1008)  # before accept: the handshake is refused with 403
        return
    await websocket.accept()
    token = _token(websocket)
    try:
        user = await services.auth.authenticate(token or "")
    except ServiceError:
        await websocket.close(code=UNAUTHORIZED_CLOSE_CODE, reason="unauthorized")
        return
    device_id = websocket.query_params.get("deviceId")
    if device_id is not None and not DEVICE_ID.match(device_id):
        await websocket.close(code=BAD_REQUEST_CLOSE_CODE, reason="invalid deviceId")
        return
    rate: RateLimits = websocket.app.state.rate_limits
    try:
        await rate.limiter.hit(rate.limits.ws_connect, user.id)
    except RateLimited as limited:
        message = f"Too many connections; try again in {limited.retry_after} s"
        await _refuse_rate_limited(websocket, limited.retry_after, message)
        return
    settings = services.settings
    registry: Registry = websocket.app.state.registry
    # No await between this count and the gateway registering the connection.
    live = _other_live_connections(registry, user.id, device_id)
    if live >= settings.ws_max_connections_per_user:
        retry_after = max(1, math.ceil(settings.ws_connection_window_seconds))
        message = f"At most {settings.ws_max_connections_per_user} connections at once"
        await _refuse_rate_limited(websocket, retry_after, message)
        return
    await gateway.serve(StarletteTransport(websocket), user=user, device_id=device_id)
