"""No call rings or runs forever: ring timeout, lost connections, maximum length, restarts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

from tests.realtime.conftest import Connect, NewUser
from tests.realtime.peer import Device, new_user
from tests.server_process import ServerProcess


async def test_ring_timeout_tells_both_sides_once(user: NewUser, connect: Connect) -> None:
    alice, bob = await user(), await user()
    a, b1, b2 = await connect(alice), await connect(bob), await connect(bob)
    call = await alice.initiate(bob)
    for device in (a, b1, b2):
        await device.next()
    for device in (a, b1, b2):
        missed = await device.next("call.missed", timeout=6)
        assert missed["data"]["call"]["endReason"] == "timeout"
        assert missed["data"]["call"]["endedBy"] is None
    for device in (a, b1, b2):
        assert await device.call_events(0.5) == []
    assert (await bob.get_call(call["id"]))["status"] == "missed"
    assert (await bob.http.get("/calls/missed/count")).json() == {"count": 1}


async def test_caller_vanishing_while_ringing_makes_it_missed(
    user: NewUser, connect: Connect
) -> None:
    alice, bob = await user(), await user()
    a, b = await connect(alice), await connect(bob)
    await bob.http.post("/conversations", json={"participantIds": [alice.id]})
    call = await alice.initiate(bob, "audio")
    await b.next("call.incoming")
    await a.close()
    missed = await b.next("call.missed", timeout=4)
    assert missed["data"]["call"]["endReason"] == "connection_lost"
    assert missed["data"]["call"]["id"] == call["id"]


async def test_answered_call_ends_when_the_bound_device_is_gone(
    user: NewUser, connect: Connect
) -> None:
    alice, bob = await user(), await user()
    a = await connect(alice, "alice-main")
    b_main, b_other = await connect(bob, "bob-main1"), await connect(bob, "bob-other")
    call = await alice.initiate(bob, connectionId="alice-main")
    await a.next("call.initiated")
    await bob.patch(call["id"], "answer", {"accept": True, "connectionId": "bob-main1"})
    await a.next("call.answered")
    await b_main.close()
    # bob's other device stays, but it is not the device in the call.
    ended = await a.next("call.ended", timeout=5)
    assert ended["data"]["call"]["endReason"] == "connection_lost"
    assert (await b_other.until("call.ended"))["data"]["call"]["endedBy"] is None


async def test_reconnecting_within_the_grace_keeps_the_call(
    user: NewUser, connect: Connect
) -> None:
    alice, bob = await user(), await user()
    a, b = await connect(alice, "alice-keep"), await connect(bob, "bob-keep1")
    call = await alice.initiate(bob, connectionId="alice-keep")
    await a.next("call.initiated")
    await bob.patch(call["id"], "answer", {"accept": True, "connectionId": "bob-keep1"})
    await a.next("call.answered")
    await b.close()
    await asyncio.sleep(0.4)
    back = await connect(bob, "bob-keep1")
    active = back.hello["data"]["activeCall"]
    assert active["id"] == call["id"] and active["status"] == "answered"
    await asyncio.sleep(1.5)
    assert (await alice.get_call(call["id"]))["status"] == "answered"
    assert (await back.signal(call["id"], "renegotiate", {}))["type"] == "ack"
    assert (await a.next("signal"))["data"]["kind"] == "renegotiate"


async def test_rest_only_participants_are_never_ended(user: NewUser) -> None:
    alice, bob = await user(), await user()
    call = await alice.initiate(bob)
    await bob.patch(call["id"], "answer", {"accept": True})
    await asyncio.sleep(2.5)
    assert (await alice.get_call(call["id"]))["status"] == "answered"


async def test_calls_end_at_the_maximum_length(
    fresh_server: Callable[..., ServerProcess],
) -> None:
    server = fresh_server(MAX_CALL_SECONDS="1")
    alice, bob = await new_user(server), await new_user(server)
    a = await Device.connect(server, alice)
    try:
        call = await alice.initiate(bob)
        await a.next("call.initiated")
        await bob.patch(call["id"], "answer", {"accept": True})
        await a.next("call.answered")
        ended = await a.next("call.ended", timeout=5)
        assert ended["data"]["call"]["endReason"] == "max_duration"
        assert ended["data"]["call"]["duration"] >= 1
    finally:
        await a.close()
        await alice.http.aclose()
        await bob.http.aclose()


async def test_a_restart_expires_overdue_calls_at_once(
    fresh_server: Callable[..., ServerProcess],
) -> None:
    server = fresh_server(RING_TIMEOUT_SECONDS="1.5")
    alice, bob = await new_user(server), await new_user(server)
    try:
        call = await alice.initiate(bob)
        server.stop(kill=True)
        await asyncio.sleep(2)
        await asyncio.to_thread(server.start)
        ringing_long_ago = await bob.get_call(call["id"])
        assert ringing_long_ago["status"] == "missed"
        assert ringing_long_ago["endReason"] == "timeout"
    finally:
        await alice.http.aclose()
        await bob.http.aclose()


async def test_heartbeat_closes_dead_connections(
    server: ServerProcess, user: NewUser, connect: Connect
) -> None:
    alice, bob = await user(), await user()
    await alice.http.post("/conversations", json={"participantIds": [bob.id]})
    watcher = await connect(alice)
    # A client that completes the handshake and then never answers a ping.
    dead = socket.create_connection(("127.0.0.1", server.port))
    dead.sendall(
        (
            f"GET /ws?token={bob.token} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    try:
        assert (await watcher.next("presence"))["data"]["online"] is True
        offline = await watcher.next("presence", timeout=6)
        assert offline["data"] == {"userId": bob.id, "online": False}
    finally:
        dead.close()
