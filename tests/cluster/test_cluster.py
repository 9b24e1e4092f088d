"""Three instances behave as one: events, signals, devices, busy checks, timers, a crash."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.cluster.conftest import Cluster, Connect, NewUser, Rest
from tests.realtime.peer import Device, Frame

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

OFFER = {"type": "offer", "sdp": "v=0\r\n"}


def candidate(number: int) -> dict[str, Any]:
    return {"candidate": f"candidate:{number} 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"}


async def send_signals(device: Device, call_id: str, count: int) -> None:
    """`count` ice candidates without ids (no acks), as fast as the socket takes them."""
    for number in range(count):
        await device.send(
            {
                "type": "signal",
                "data": {"callId": call_id, "kind": "ice-candidate", "payload": candidate(number)},
            }
        )


async def received_signals(device: Device, count: int) -> list[Frame]:
    return [await device.next("signal") for _ in range(count)]


async def test_instances_started_together_share_one_schema_and_secret(
    cluster: Cluster, user: NewUser, rest: Rest
) -> None:
    engine = create_async_engine(cluster.env["DATABASE_URL"])
    try:
        async with engine.connect() as connection:
            versions = (await connection.execute(text("SELECT * FROM alembic_version"))).all()
    finally:
        await engine.dispose()
    assert len(versions) == 1
    alice = await user(cluster.instances[0])
    for instance in cluster.instances:
        # The development secret was created once: a token of one instance works on all.
        me = await rest(alice, instance).http.get("/users/me")
        assert me.status_code == 200, me.text
        assert (await rest(alice, instance).http.get("/readyz")).status_code == 200


async def test_events_signals_and_devices_across_instances(
    cluster: Cluster, user: NewUser, connect: Connect, rest: Rest
) -> None:
    one, two, three = cluster.instances[:3]
    alice, bob, carol = await user(one), await user(two), await user(three)
    a = await connect(alice, one, "alice-desk")
    b2 = await connect(bob, two, "bob-phone")
    b3 = await connect(bob, three, "bob-laptop")
    bystander = await connect(carol, three)

    # Liveness is visible everywhere: bob is online for instance 1, and alice's device on
    # instance 1 may be named in a request to instance 2.
    seen = (await alice.http.get(f"/users/{bob.id}")).json()["user"]
    assert seen["online"] is True
    call = await rest(alice, two).initiate(bob, connectionId="alice-desk")
    call_id = call["id"]
    initiated = await a.next("call.initiated")
    assert initiated["data"]["call"]["id"] == call_id
    for device in (b2, b3):
        incoming = await device.next("call.incoming")
        assert incoming["data"]["call"]["id"] == call_id
        assert incoming["data"]["call"]["direction"] == "incoming"

    # Before the answer, the caller's signals reach both receiver devices, in order.
    await send_signals(a, call_id, 20)
    for device in (b2, b3):
        relayed = await received_signals(device, 20)
        assert [s["data"]["payload"] for s in relayed] == [candidate(n) for n in range(20)]
        assert {s["data"]["fromConnectionId"] for s in relayed} == {"alice-desk"}

    # The answer, through instance 1, names bob's device on instance 3.
    answered = await rest(bob, one).patch(
        call_id, "answer", {"accept": True, "connectionId": "bob-laptop"}
    )
    assert answered["status"] == "answered"
    for device in (a, b2, b3):
        frame = await device.next("call.answered")
        assert frame["data"]["connectionId"] == "bob-laptop"
        assert frame["data"]["call"]["version"] == 2

    # The other device of bob is out of the call; bob's laptop and alice talk, in order.
    refused = await b2.signal(call_id, "answer", OFFER, "late")
    assert refused["type"] == "error"
    assert refused["data"]["code"] == "not_answering_device"
    assert (await a.signal(call_id, "offer", OFFER))["type"] == "ack"
    assert (await b3.next("signal"))["data"]["kind"] == "offer"
    assert (await b3.signal(call_id, "answer", {**OFFER, "type": "answer"}))["type"] == "ack"
    reply = await a.next("signal")
    assert reply["data"]["kind"] == "answer"
    assert reply["data"]["from"] == bob.id
    assert reply["data"]["fromConnectionId"] == "bob-laptop"
    await send_signals(b3, call_id, 30)
    relayed = await received_signals(a, 30)
    assert [s["data"]["payload"] for s in relayed] == [candidate(n) for n in range(30)]

    ended = await rest(alice, three).patch(call_id, "end")
    assert ended["status"] == "ended"
    for device in (a, b2, b3):
        frame = await device.next("call.ended")
        assert frame["data"]["call"]["endReason"] == "hangup"
        assert frame["data"]["call"]["endedBy"] == alice.id
    for device in (a, b2, b3, bystander):
        assert await device.call_events(0.3) == []


async def test_unknown_connection_is_refused_everywhere(
    cluster: Cluster, user: NewUser, connect: Connect
) -> None:
    one, two = cluster.instances[:2]
    alice, bob = await user(one), await user(two)
    await connect(alice, two, "alice-real")
    response = await alice.http.post(
        "/calls/initiate",
        json={"receiverId": bob.id, "callType": "audio", "connectionId": "alice-ghost"},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_connection"


async def test_device_reconnecting_on_another_instance_replaces_the_old_socket(
    cluster: Cluster, user: NewUser, connect: Connect
) -> None:
    one, two, three = cluster.instances[:3]
    alice, bob = await user(one), await user(two)
    a = await connect(alice, one, "alice-keep")
    old = await connect(bob, two, "bob-moving")
    call = await alice.initiate(bob, connectionId="alice-keep")
    await old.next("call.incoming")
    await bob.patch(call["id"], "answer", {"accept": True, "connectionId": "bob-moving"})
    await a.until("call.answered")
    await old.next("call.answered")

    new = await connect(bob, three, "bob-moving")
    assert new.hello["data"]["activeCall"]["id"] == call["id"]
    assert new.hello["data"]["activeCall"]["status"] == "answered"
    assert old.reader is not None
    await asyncio.wait_for(old.reader, 5)
    assert old.ws.close_code == 4409

    # Longer than liveness TTL + grace: the old socket's goodbye does not end the call.
    await asyncio.sleep(3.5)
    assert (await alice.get_call(call["id"]))["status"] == "answered"
    assert (await new.signal(call["id"], "renegotiate", {}))["type"] == "ack"
    assert (await a.next("signal"))["data"]["fromConnectionId"] == "bob-moving"
    assert (await a.signal(call["id"], "offer", OFFER))["type"] == "ack"
    assert (await new.next("signal"))["data"]["kind"] == "offer"
    await alice.patch(call["id"], "end")
    assert (await new.next("call.ended"))["data"]["call"]["endReason"] == "hangup"


async def test_concurrent_initiations_over_instances_book_the_receiver_once(
    cluster: Cluster, user: NewUser, connect: Connect
) -> None:
    instances = cluster.instances[:3]
    receiver = await user(instances[1])
    device = await connect(receiver, instances[2])
    # Registered a few at a time (password hashing is slow), then all initiate at once.
    callers = []
    for batch in range(0, 20, 4):
        callers += await asyncio.gather(*(user(instances[n % 3]) for n in range(batch, batch + 4)))
    body = {"receiverId": receiver.id, "callType": "audio"}
    responses: list[httpx.Response] = await asyncio.gather(
        *(caller.http.post("/calls/initiate", json=body) for caller in callers)
    )
    statuses = [response.status_code for response in responses]
    wins = sorted(
        (r.json()["call"] for r in responses if r.status_code == 201),
        key=lambda call: str(call["startedAt"]),
    )
    losers = [r for r in responses if r.status_code == 409]
    assert wins, statuses
    assert len(wins) + len(losers) == 20, [r.text for r in responses if r.status_code != 409]
    assert {r.json()["code"] for r in losers} == {"user_busy"}
    assert all(r.headers["content-type"].startswith("application/problem+json") for r in losers)
    # One booking at a time. On a slow machine the race may outlast the 2 s ring: a later
    # initiation may then win, but only once the earlier call had timed out.
    for earlier, later in itertools.pairwise(wins):
        stored = await receiver.get_call(earlier["id"])
        assert stored["endReason"] == "timeout", (stored, statuses)
        assert stored["endedAt"] <= later["startedAt"], (stored, later)
    for call in wins:
        incoming = await device.until("call.incoming")
        assert incoming["data"]["call"]["id"] == call["id"]
    later_frames = await device.call_events(0.5)
    assert [frame for frame in later_frames if frame["type"] == "call.incoming"] == []
    winner = next(c for c in callers if c.id == wins[-1]["callerId"])
    await winner.patch(wins[-1]["id"], "end")  # cancelled, or already missed: 200 either way


async def test_glare_across_instances_has_one_winner(
    cluster: Cluster, user: NewUser, connect: Connect
) -> None:
    one, two = cluster.instances[:2]
    alice, bob = await user(one), await user(two)
    for _ in range(5):
        responses = await asyncio.gather(
            alice.http.post("/calls/initiate", json={"receiverId": bob.id, "callType": "video"}),
            bob.http.post("/calls/initiate", json={"receiverId": alice.id, "callType": "video"}),
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [201, 409], [r.text for r in responses]
        loser = next(r.json() for r in responses if r.status_code == 409)
        assert loser["code"] in ("caller_busy", "user_busy")
        won = next(r.json()["call"] for r in responses if r.status_code == 201)
        caller = alice if won["callerId"] == alice.id else bob
        assert (await caller.patch(won["id"], "end"))["status"] == "missed"


async def test_ring_timeout_is_applied_once_across_instances(
    cluster: Cluster, user: NewUser, connect: Connect
) -> None:
    one, two, three = cluster.instances[:3]
    alice, bob = await user(one), await user(two)
    devices = [
        await connect(alice, one),
        await connect(alice, three),
        await connect(bob, two),
        await connect(bob, three),
    ]
    call = await alice.initiate(bob)
    for device in devices:
        first = await device.next()
        assert first["type"] in ("call.initiated", "call.incoming")
    for device in devices:
        missed = await device.next("call.missed", timeout=6)
        assert missed["data"]["call"]["endReason"] == "timeout"
        assert missed["data"]["call"]["endedBy"] is None
    # Three sweepers saw the deadline; no second call.missed anywhere.
    for device in devices:
        assert await device.call_events(0.5) == []
    stored = await bob.get_call(call["id"])
    assert stored["status"] == "missed"
    assert stored["version"] == 2


async def test_crash_of_the_callees_instance_ends_the_call_after_the_grace(
    cluster: Cluster, user: NewUser, connect: Connect
) -> None:
    one = cluster.instances[0]
    (doomed,) = cluster.add(1)
    alice, bob = await user(one), await user(one)
    a = await connect(alice, one, "alice-stays")
    b = await connect(bob, doomed, "bob-doomed")
    call = await alice.initiate(bob, connectionId="alice-stays")
    await b.next("call.incoming")
    await bob.patch(call["id"], "answer", {"accept": True, "connectionId": "bob-doomed"})
    await a.until("call.answered")

    doomed.stop(kill=True)  # kill -9: no goodbye, its liveness in Redis just expires
    killed_at = time.monotonic()
    ended = await a.next("call.ended", timeout=8)
    elapsed = time.monotonic() - killed_at
    assert ended["data"]["call"]["endReason"] == "connection_lost"
    assert ended["data"]["call"]["endedBy"] is None
    # Not before the liveness expired (refreshed every TTL/3, so at least 1 s of its 1.5 s
    # TTL was left) and the 1 s grace ran.
    assert elapsed >= 1.8, elapsed
    assert await a.call_events(0.5) == []
    assert (await alice.get_call(call["id"]))["status"] == "ended"
