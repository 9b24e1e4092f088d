"""The lean uvicorn WebSocket protocol that `switchboard serve` runs: its receive inbox, the
`switchboard.send_now` extension (several frames in one write, refused once the socket
closes), and the handshake's request let go once the socket is open."""

from __future__ import annotations

import asyncio
import gc
import socket
import weakref
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
import websockets
from starlette.types import Receive, Scope, Send

from switchboard.realtime.wsprotocol import SEND_NOW_EXTENSION, LeanWebSocketProtocol, _Inbox

requests: list[weakref.ref[Any]] = []
protocols: list[LeanWebSocketProtocol] = []


class Observed(LeanWebSocketProtocol):
    """Remembers (weakly) each handshake request, and each protocol."""

    def handle_connect(self, event: Any) -> None:
        requests.append(weakref.ref(event))
        protocols.append(self)
        super().handle_connect(event)


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Echoes each text frame three times with one `send_now`, then closes on "bye"."""
    assert scope["type"] == "websocket"
    send_now = scope["extensions"][SEND_NOW_EXTENSION]["send"]
    assert not send_now(["too early"])  # before accept nothing is written
    await receive()
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message["text"]
        if text == "bye":
            await send({"type": "websocket.close", "code": 1000, "reason": ""})
            assert not send_now(["after close"])
            return
        assert send_now([f"{text}-1", f"{text}-2", f"{text}-3"])


@pytest.fixture
async def url() -> AsyncIterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        echo_app, host="127.0.0.1", port=port, ws=Observed, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    async with asyncio.timeout(20):
        while not server.started:  # noqa: ASYNC110 - uvicorn's state, no event to wait on
            await asyncio.sleep(0.01)
    yield f"ws://127.0.0.1:{port}/"
    server.should_exit = True
    await serving


async def test_frames_sent_at_once_arrive_in_order_and_close_works(url: str) -> None:
    async with websockets.connect(url) as ws:
        for n in range(3):
            await ws.send(f"m{n}")
            assert [await ws.recv() for _ in range(3)] == [f"m{n}-1", f"m{n}-2", f"m{n}-3"]
        await ws.send("bye")
        with pytest.raises(websockets.ConnectionClosedOK):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 1000


async def test_the_handshake_is_let_go_once_open(url: str) -> None:
    requests.clear()
    protocols.clear()
    async with websockets.connect(url) as ws:
        await ws.send("hi")  # frames are still parsed after the handshake parser is gone
        assert await ws.recv() == "hi-1"
        gc.collect()
        assert len(requests) == 1 and requests[0]() is None
        assert protocols[0].request is None and protocols[0].response is None


async def test_inbox_hands_messages_over_in_order() -> None:
    inbox = _Inbox()
    assert inbox.empty()
    getter = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait({"type": "websocket.connect"})
    inbox.put_nowait({"type": "websocket.receive", "text": "a"})
    assert await getter == {"type": "websocket.connect"}
    assert not inbox.empty()
    assert await inbox.get() == {"type": "websocket.receive", "text": "a"}
    assert inbox.empty()
    cancelled = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})  # kept for the next get
    assert await inbox.get() == {"type": "websocket.disconnect", "code": 1000}
