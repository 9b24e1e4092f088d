"""Call events reach exactly the connections the contract lists."""

from __future__ import annotations

import asyncio

from tests.realtime.conftest import Connect, NewUser


async def test_hello_is_first_and_names_the_device(user: NewUser, connect: Connect) -> None:
    alice = await user()
    phone = await connect(alice, "alice-phone")
    assert phone.hello["data"]["connectionId"] == "alice-phone"
    assert phone.hello["data"]["user"]["id"] == alice.id
    assert phone.hello["data"]["user"]["online"] is True
    assert phone.hello["data"]["activeCall"] is None
    anonymous = await connect(alice)
    assert anonymous.connection_id and anonymous.connection_id != "alice-phone"


async def test_initiate_answer_end_reach_every_device(user: NewUser, connect: Connect) -> None:
    alice, bob, carol = await user(), await user(), await user()
    alice_laptop, alice_phone = (
        await connect(alice, "alice-laptop"),
        await connect(alice, "alice-phone1"),
    )
    bob_laptop, bob_phone = await connect(bob, "bob-laptop"), await connect(bob, "bob-phone1")
    carol_device = await connect(carol)

    call = await alice.initiate(bob, connectionId="alice-laptop")
    for device in (alice_laptop, alice_phone):
        frame = await device.next("call.initiated")
        assert frame["data"]["call"]["id"] == call["id"]
        assert frame["data"]["call"]["direction"] == "outgoing"
    for device in (bob_laptop, bob_phone):
        frame = await device.next("call.incoming")
        assert frame["data"]["call"]["direction"] == "incoming"
        assert frame["data"]["call"]["version"] == 1

    await bob.patch(call["id"], "answer", {"accept": True, "connectionId": "bob-phone1"})
    for device in (alice_laptop, alice_phone, bob_laptop, bob_phone):
        frame = await device.next("call.answered")
        assert frame["data"]["connectionId"] == "bob-phone1"
        assert frame["data"]["call"]["version"] == 2

    await alice.patch(call["id"], "end")
    for device in (alice_laptop, alice_phone, bob_laptop, bob_phone):
        frame = await device.next("call.ended")
        assert frame["data"]["call"]["endReason"] == "hangup"
        assert frame["data"]["call"]["version"] == 3
    assert await carol_device.call_events(0.3) == []
    for device in (alice_laptop, bob_phone):
        assert await device.call_events(0.2) == []


async def test_rejected_and_cancelled_reach_both(user: NewUser, connect: Connect) -> None:
    alice, bob = await user(), await user()
    a, b = await connect(alice), await connect(bob)
    call = await alice.initiate(bob)
    await b.next("call.incoming")
    await a.next("call.initiated")
    await bob.patch(call["id"], "answer", {"accept": False})
    assert (await a.next("call.rejected"))["data"]["call"]["endReason"] == "rejected"
    assert (await b.next("call.rejected"))["data"]["call"]["direction"] == "incoming"

    call = await alice.initiate(bob, "audio")
    await b.next("call.incoming")
    await a.next("call.initiated")
    await alice.patch(call["id"], "end")
    for device in (a, b):
        frame = await device.next("call.missed")
        assert frame["data"]["call"]["endReason"] == "cancelled"


async def test_answered_without_device_names_none(user: NewUser, connect: Connect) -> None:
    alice, bob = await user(), await user()
    a = await connect(alice)
    call = await alice.initiate(bob)
    await a.next("call.initiated")
    await bob.patch(call["id"], "answer", {"accept": True})
    assert (await a.next("call.answered"))["data"]["connectionId"] is None


async def test_second_device_stops_ringing_when_first_answers(
    user: NewUser, connect: Connect
) -> None:
    alice, bob = await user(), await user()
    await connect(alice)
    first, second = await connect(bob, "bob-device-1"), await connect(bob, "bob-device-2")
    call = await alice.initiate(bob)
    await first.next("call.incoming")
    await second.next("call.incoming")
    await bob.patch(call["id"], "answer", {"accept": True, "connectionId": "bob-device-1"})
    answered = await second.next("call.answered")
    assert answered["data"]["connectionId"] == "bob-device-1"
    assert answered["data"]["call"]["status"] == "answered"


async def test_unknown_connection_id_is_refused(user: NewUser, connect: Connect) -> None:
    alice, bob = await user(), await user()
    await connect(alice, "alice-real-1")
    response = await alice.http.post(
        "/calls/initiate",
        json={"receiverId": bob.id, "callType": "audio", "connectionId": "not-mine-1"},
    )
    assert response.status_code == 422 and response.json()["code"] == "unknown_connection"
    assert (await alice.http.get("/calls/active")).json() == {"call": None}


async def test_presence_goes_to_people_who_share_a_conversation(
    user: NewUser, connect: Connect
) -> None:
    alice, bob, stranger = await user(), await user(), await user()
    await alice.http.post("/conversations", json={"participantIds": [bob.id]})
    a = await connect(alice)
    watcher = await connect(stranger)
    b = await connect(bob)
    assert (await a.next("presence"))["data"] == {"userId": bob.id, "online": True}
    second = await connect(bob)
    await second.close()
    await b.close()
    assert (await a.next("presence"))["data"] == {"userId": bob.id, "online": False}
    assert await watcher.call_events(0.2) == []
    assert watcher.frames.empty()
    response = await alice.http.get(f"/users/{bob.id}")
    assert response.json()["user"]["online"] is False


async def test_me_is_online_while_one_of_my_devices_is_connected(
    user: NewUser, connect: Connect
) -> None:
    alice = await user()
    assert (await alice.http.get("/users/me")).json()["user"]["online"] is False
    await connect(alice)
    assert (await alice.http.get("/users/me")).json()["user"]["online"] is True


async def test_a_reconnecting_device_replaces_the_old_socket(
    user: NewUser, connect: Connect
) -> None:
    alice = await user()
    old = await connect(alice, "alice-tablet")
    new = await connect(alice, "alice-tablet")
    assert new.connection_id == "alice-tablet"
    await asyncio.wait_for(old.reader, 5) if old.reader else None
    assert old.ws.close_code == 4409
