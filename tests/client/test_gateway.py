"""The gateway session against a small fake gateway (a ``websockets`` server on loopback)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve

from switchboard.client import Backoff, GatewayClosed, GatewayError, GatewaySession

FAST = Backoff(initial=0.01, maximum=0.05, jitter=0.0)


class FakeGateway:
    """Sends ``hello`` with the device id, acks frames with an ``id``, records what it got."""

    def __init__(self) -> None:
        self.connections: list[ServerConnection] = []
        self.queries: list[dict[str, list[str]]] = []
        self.received: list[dict[str, object]] = []
        self.server: Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"ws://{host}:{port}/ws"

    async def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        query = parse_qs(urlsplit(ws.request.path).query)
        self.queries.append(query)
        self.connections.append(ws)
        if query.get("token") == ["bad"]:
            await ws.close(4401, "unauthorized")
            return
        device = query.get("deviceId", ["random-1"])[0]
        hello = {"user": {"id": "u1"}, "connectionId": device, "activeCall": None}
        await ws.send(json.dumps({"type": "hello", "data": hello}))
        async for raw in ws:
            frame = json.loads(raw)
            self.received.append(frame)
            if frame["type"] == "ping":
                await ws.send(json.dumps({"type": "pong", "data": {}, "id": frame.get("id")}))
            elif frame["data"].get("callId") == "unknown":
                error = {"code": "call_not_found", "message": "no such call"}
                await ws.send(json.dumps({"type": "error", "id": frame["id"], "data": error}))
            elif "id" in frame:
                await ws.send(json.dumps({"type": "ack", "id": frame["id"]}))

    async def push(self, type: str, data: dict[str, object]) -> None:
        await self.connections[-1].send(json.dumps({"type": type, "data": data}))


@pytest.fixture
async def gateway() -> AsyncIterator[FakeGateway]:
    fake = FakeGateway()
    async with serve(fake.handler, "127.0.0.1", 0) as server:
        fake.server = server
        yield fake


async def test_hello_events_requests_and_errors(gateway: FakeGateway) -> None:
    async with GatewaySession(gateway.url, "tok", device_id="device-42", backoff=FAST) as session:
        assert session.connection_id == "device-42"
        assert gateway.queries[0] == {"token": ["tok"], "deviceId": ["device-42"]}
        events = session.subscribe()
        await gateway.push("presence", {"userId": "u2", "online": True})
        event = await events.next(timeout=2)
        assert (event.type, event.data) == ("presence", {"userId": "u2", "online": True})

        await session.signal("c1", "offer", {"type": "offer", "sdp": "v=0"})
        assert gateway.received[-1]["data"] == {
            "callId": "c1",
            "kind": "offer",
            "payload": {"type": "offer", "sdp": "v=0"},
        }
        assert await session.ping() >= 0
        with pytest.raises(GatewayError) as info:
            await session.signal("unknown", "offer", {})
        assert info.value.code == "call_not_found"
        await session.signal("c1", "media-state", {"audio": True, "video": True}, ack=False)
        events.close()


async def test_reconnects_with_the_same_device_and_reads_a_new_hello(gateway: FakeGateway) -> None:
    async with GatewaySession(gateway.url, "tok", device_id="device-42", backoff=FAST) as session:
        events = session.subscribe()
        await gateway.connections[0].close(1011, "server restart")
        disconnected = await events.next(timeout=2)
        assert disconnected.type == "client.disconnected"
        assert disconnected.data["code"] == 1011
        hello = await events.next(timeout=2)
        assert hello.type == "hello" and hello.data["connectionId"] == "device-42"
        assert session.reconnects == 1 and session.connected
        assert gateway.queries[1] == {"token": ["tok"], "deviceId": ["device-42"]}
        await session.ping()  # the new connection works
        events.close()


async def test_gives_up_when_replaced_by_the_same_device(gateway: FakeGateway) -> None:
    session = GatewaySession(gateway.url, "tok", device_id="device-42", backoff=FAST)
    await session.connect()
    events = session.subscribe()
    await gateway.connections[0].close(4409, "replaced")
    closed = await events.next(timeout=2)
    assert closed.type == "client.closed" and closed.data["code"] == 4409
    with pytest.raises(StopAsyncIteration):
        await events.__anext__()
    assert session.closed and len(gateway.connections) == 1
    with pytest.raises(GatewayClosed):
        await session.ping()
    await session.close()


async def test_a_refused_token_is_not_retried_without_a_provider(gateway: FakeGateway) -> None:
    session = GatewaySession(gateway.url, "bad", backoff=FAST)
    with pytest.raises(GatewayClosed) as info:
        await session.connect()
    assert info.value.code == 4401
    await session.close()


async def test_a_token_provider_is_asked_again_on_reconnect(gateway: FakeGateway) -> None:
    tokens = iter(["first", "second"])

    async def provider() -> str:
        return next(tokens)

    async with GatewaySession(gateway.url, provider, backoff=FAST) as session:
        events = session.subscribe()
        await gateway.connections[0].close(1001, "going away")
        await events.wait_for("hello", timeout=2)
        events.close()
    assert [q["token"] for q in gateway.queries] == [["first"], ["second"]]


async def test_iterators_end_when_the_session_closes(gateway: FakeGateway) -> None:
    session = GatewaySession(gateway.url, "tok", backoff=FAST)
    await session.connect()
    events = session.subscribe()

    async def drain() -> list[str]:
        return [event.type async for event in events]

    draining = asyncio.create_task(drain())
    await gateway.push("pong", {})
    await asyncio.sleep(0.05)
    await session.close()
    assert await asyncio.wait_for(draining, 2) == ["pong", "client.closed"]
    late = session.subscribe()
    assert [event.type async for event in late] == []


def test_backoff_grows_and_is_capped() -> None:
    backoff = Backoff(initial=0.5, factor=2, maximum=4, jitter=0)
    assert [backoff.delay(n) for n in range(5)] == [0.5, 1, 2, 4, 4]
    jittered = Backoff(initial=1, jitter=0.2)
    assert all(0.8 <= jittered.delay(0) <= 1.2 for _ in range(50))
