"""`/ws` is a raw ASGI app ahead of FastAPI's middleware and routing: which handshakes it
takes, that other WebSocket paths are still refused by the router, and that it works over
any ASGI server (here the app is driven directly, with no server extension)."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import orjson
import pytest
import websockets
from fastapi import FastAPI

from switchboard.api.ws import is_gateway_socket
from tests.conftest import Register
from tests.server_process import ServerProcess


def scope(path: str, root_path: str = "", kind: str = "websocket") -> dict[str, Any]:
    return {"type": kind, "path": path, "root_path": root_path}


def test_only_websocket_handshakes_for_ws_are_the_gateways() -> None:
    assert is_gateway_socket(scope("/ws"))
    assert is_gateway_socket(scope("/api/ws", root_path="/api"))
    assert not is_gateway_socket(scope("/ws", kind="http"))
    assert not is_gateway_socket(scope("/ws/"))
    assert not is_gateway_socket(scope("/wss"))
    assert not is_gateway_socket(scope("/other"))


@pytest.mark.parametrize("path", ["/ws/", "/ws/extra", "/nope"])
async def test_other_websocket_paths_are_refused(server: ServerProcess, path: str) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(f"ws://127.0.0.1:{server.port}{path}")
    assert refused.value.response.status_code == 403


class Socket:
    """The server side of one ASGI WebSocket, for driving the app directly."""

    def __init__(self, app: FastAPI, query: str, headers: list[tuple[bytes, bytes]]) -> None:
        self.scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "path": "/ws",
            "root_path": "",
            "query_string": query.encode(),
            "headers": headers,
            "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
            "subprotocols": [],
            "extensions": {},  # no `switchboard.send_now`: frames go through `send`
        }
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.incoming.put_nowait({"type": "websocket.connect"})
        self.task = asyncio.create_task(app(self.scope, self.incoming.get, self._send))

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        await self.sent.put(dict(message))

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.sent.get(), 5)

    async def frame(self) -> Any:
        message = await self.next()
        assert message["type"] == "websocket.send", message
        return orjson.loads(message["text"])


async def test_the_gateway_over_plain_asgi(app: FastAPI, register: Register) -> None:
    alice = await register()
    headers = [(b"host", b"testserver"), (b"origin", b"http://testserver")]
    socket = Socket(app, f"token={alice.token}&deviceId=alice-device-1", headers)
    assert (await socket.next())["type"] == "websocket.accept"
    hello = await socket.frame()
    assert hello["type"] == "hello"
    assert hello["data"]["connectionId"] == "alice-device-1"
    assert socket.scope["headers"] == []  # let go after the handshake
    socket.incoming.put_nowait({"type": "websocket.receive", "text": '{"type":"ping","id":"7"}'})
    assert await socket.frame() == {"type": "pong", "data": {}, "id": "7"}
    socket.incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(socket.task, 5)


async def test_plain_asgi_refusals(app: FastAPI, register: Register) -> None:
    alice = await register()
    foreign = Socket(app, f"token={alice.token}", [(b"origin", b"https://evil.example")])
    assert await foreign.next() == {"type": "websocket.close", "code": 1008, "reason": ""}
    await asyncio.wait_for(foreign.task, 5)
    forged = Socket(app, "token=forged", [])
    assert (await forged.next())["type"] == "websocket.accept"
    assert await forged.next() == {
        "type": "websocket.close",
        "code": 4401,
        "reason": "unauthorized",
    }
    await asyncio.wait_for(forged.task, 5)
