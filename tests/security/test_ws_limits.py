"""WebSocket limits against a real server: connections per user (per window and at once) are
refused with a `rate_limited` error frame and close 4429; frames per connection get
`rate_limited` error frames; each limit resets after its window."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from tests.realtime.peer import Device, User, new_user
from tests.server_process import ServerProcess

CONNECT_WINDOW = 3


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        "WS_CONNECTIONS_PER_USER": "6",
        "WS_CONNECTION_WINDOW_SECONDS": str(CONNECT_WINDOW),
        "WS_MAX_CONNECTIONS_PER_USER": "2",
        "WS_FRAME_RATE_PER_SECOND": "5",
        "WS_FRAME_BURST": "10",
    }
    with ServerProcess(tmp_path_factory.mktemp("limits"), **env) as process:
        yield process


async def refused(server: ServerProcess, user: User, device_id: str | None = None) -> Any:
    """Connects, expects the `rate_limited` error frame then close 4429; returns the frame."""
    url = f"{server.ws_url}?token={user.token}" + (f"&deviceId={device_id}" if device_id else "")
    async with websockets.connect(url) as ws:
        error = json.loads(await asyncio.wait_for(ws.recv(), 5))
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 4429
    assert error["type"] == "error" and error["data"]["code"] == "rate_limited", error
    assert isinstance(error["data"]["retryAfter"], int) and error["data"]["retryAfter"] >= 1
    return error


async def test_connections_per_window(limited_server: ServerProcess) -> None:
    alice, bob = await new_user(limited_server), await new_user(limited_server)
    try:
        for _ in range(6):
            await (await Device.connect(limited_server, alice)).close()
        error = await refused(limited_server, alice)
        assert error["data"]["retryAfter"] <= CONNECT_WINDOW
        await (await Device.connect(limited_server, bob)).close()  # others are not limited
        await asyncio.sleep(error["data"]["retryAfter"] + 0.2)
        await (await Device.connect(limited_server, alice)).close()
    finally:
        await alice.http.aclose()
        await bob.http.aclose()


async def test_connections_at_once(limited_server: ServerProcess) -> None:
    alice = await new_user(limited_server)
    devices: list[Device] = []
    try:
        devices.append(await Device.connect(limited_server, alice, "phone-0001"))
        devices.append(await Device.connect(limited_server, alice, "laptop-001"))
        await refused(limited_server, alice, "tablet-001")  # a third device
        # A device reconnecting replaces its own connection: not one more device.
        devices.append(await Device.connect(limited_server, alice, "phone-0001"))
        await devices[0].close()
        await devices[1].close()  # one device gone: room for another
        await asyncio.sleep(0.2)
        devices.append(await Device.connect(limited_server, alice, "tablet-001"))
        ping = {"type": "ping", "id": "still-here"}
        await devices[-1].send(ping)
        assert (await devices[-1].next("pong"))["id"] == "still-here"
    finally:
        for device in devices:
            await device.close()
        await alice.http.aclose()


async def test_frames_per_connection_reset(limited_server: ServerProcess) -> None:
    alice = await new_user(limited_server)
    device = await Device.connect(limited_server, alice)
    try:
        for n in range(30):
            await device.send({"type": "ping", "id": str(n)})
        frames = [await device.next() for _ in range(30)]
        limited = [f for f in frames if f["type"] == "error"]
        assert limited and all(f["data"]["code"] == "rate_limited" for f in limited)
        assert len(limited) >= 15  # burst 10, then 5 a second
        await asyncio.sleep(1)  # the bucket refills
        await device.send({"type": "ping", "id": "later"})
        assert await device.next() == {"type": "pong", "data": {}, "id": "later"}
    finally:
        await device.close()
        await alice.http.aclose()
