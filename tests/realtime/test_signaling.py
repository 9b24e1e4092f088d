"""The signaling relay: who may signal, where signals go, in which order."""

from __future__ import annotations

from tests.realtime.conftest import Connect, NewUser
from tests.realtime.peer import Device, User

OFFER = {"type": "offer", "sdp": "v=0\r\n"}


async def ringing(alice: User, bob: User, a: Device, *bs: Device) -> str:
    call = await alice.initiate(bob)
    await a.next("call.initiated")
    for b in bs:
        await b.next("call.incoming")
    return str(call["id"])


async def test_offer_answer_and_candidates_in_order(user: NewUser, connect: Connect) -> None:
    alice, bob = await user(), await user()
    a, b = await connect(alice, "alice-desk"), await connect(bob, "bob-desk1")
    call_id = await ringing(alice, bob, a, b)
    await bob.patch(call_id, "answer", {"accept": True, "connectionId": "bob-desk1"})
    await a.next("call.answered")
    await b.next("call.answered")

    assert await a.signal(call_id, "offer", OFFER) == {"type": "ack", "id": "s"}
    relayed = await b.next("signal")
    assert relayed["data"] == {
        "callId": call_id,
        "from": alice.id,
        "fromConnectionId": "alice-desk",
        "kind": "offer",
        "payload": OFFER,
    }
    for n in range(30):
        candidate = {
            "candidate": f"candidate:{n} 1 udp 1 127.0.0.1 {9000 + n} typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
        }
        await b.send(
            {
                "type": "signal",
                "data": {"callId": call_id, "kind": "ice-candidate", "payload": candidate},
            }
        )
    await b.send(
        {
            "type": "signal",
            "data": {"callId": call_id, "kind": "ice-candidate", "payload": {"candidate": ""}},
        }
    )
    received = [(await a.next("signal"))["data"]["payload"]["candidate"] for _ in range(31)]
    assert received[:30] == [
        f"candidate:{n} 1 udp 1 127.0.0.1 {9000 + n} typ host" for n in range(30)
    ]
    assert received[30] == ""
    await b.send(
        {
            "type": "signal",
            "data": {
                "callId": call_id,
                "kind": "media-state",
                "payload": {"audio": False, "video": True},
                "from": "someone-else",
            },
        }
    )
    state = await a.next("signal")
    assert state["data"]["from"] == bob.id
    assert state["data"]["payload"] == {"audio": False, "video": True}


async def test_signals_follow_the_bound_devices(user: NewUser, connect: Connect) -> None:
    alice, bob = await user(), await user()
    a = await connect(alice, "alice-one")
    other_a = await connect(alice, "alice-two")
    b1, b2 = await connect(bob, "bob-one1"), await connect(bob, "bob-two2")
    call = await alice.initiate(bob, connectionId="alice-one")
    call_id = call["id"]
    await b1.next("call.incoming")
    await b2.next("call.incoming")
    await other_a.next("call.initiated")
    await a.next("call.initiated")

    # Before the answer, the caller's signals reach every receiver device.
    assert (await a.signal(call_id, "renegotiate", {}))["type"] == "ack"
    assert (await b1.next("signal"))["data"]["kind"] == "renegotiate"
    assert (await b2.next("signal"))["data"]["kind"] == "renegotiate"
    refused = await other_a.signal(call_id, "offer", OFFER, "x")
    assert refused["data"]["code"] == "not_answering_device" and refused["id"] == "x"

    await bob.patch(call_id, "answer", {"accept": True, "connectionId": "bob-two2"})
    for device in (a, other_a, b1, b2):
        await device.next("call.answered")
    assert (await a.signal(call_id, "offer", OFFER))["type"] == "ack"
    assert (await b2.next("signal"))["data"]["kind"] == "offer"
    assert (await b1.signal(call_id, "answer", OFFER))["data"]["code"] == "not_answering_device"
    assert (await b2.signal(call_id, "answer", OFFER))["type"] == "ack"
    assert (await a.next("signal"))["data"]["fromConnectionId"] == "bob-two2"
    assert await b1.call_events(0.2) == []
    assert await other_a.call_events(0.1) == []


async def test_outsiders_and_finished_calls_relay_nothing(user: NewUser, connect: Connect) -> None:
    alice, bob, eve = await user(), await user(), await user()
    a, b, e = await connect(alice), await connect(bob), await connect(eve)
    call_id = await ringing(alice, bob, a, b)
    outsider = await e.signal(call_id, "offer", OFFER)
    assert outsider["type"] == "error" and outsider["data"]["code"] == "call_not_found"
    unknown = await e.signal("0190-no-such-call", "offer", OFFER)
    assert unknown["data"]["code"] == "call_not_found"
    await alice.patch(call_id, "end")
    await a.next("call.missed")
    await b.next("call.missed")
    finished = await a.signal(call_id, "offer", OFFER)
    assert finished["data"]["code"] == "call_not_active"
    assert await b.call_events(0.3) == []
