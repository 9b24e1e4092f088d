"""Conversations: find or create the 1:1 thread, list mine, read one, lastCallAt."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.test_errors import assert_problem
from tests.conftest import Register


async def test_open_creates_then_finds(register: Register) -> None:
    alice, bob = await register("alice"), await register("bob")
    created = await alice.client.post("/conversations", json={"participantIds": [bob.id]})
    assert created.status_code == 201
    conversation = created.json()["conversation"]
    assert set(conversation) == {"id", "participants", "createdAt", "lastCallAt"}
    assert conversation["lastCallAt"] is None and conversation["createdAt"].endswith("Z")
    assert sorted(p["username"] for p in conversation["participants"]) == ["alice", "bob"]
    assert all(
        set(p) == {"id", "username", "displayName", "online", "createdAt"}
        for p in conversation["participants"]
    )

    again = await alice.client.post("/conversations", json={"participantIds": [bob.id]})
    assert again.status_code == 200
    assert again.json()["conversation"] == conversation
    from_bob = await bob.client.post("/conversations", json={"participantIds": [alice.id]})
    assert from_bob.status_code == 200
    assert from_bob.json()["conversation"]["id"] == conversation["id"]

    for who in (alice, bob):
        read = await who.client.get(f"/conversations/{conversation['id']}")
        assert read.status_code == 200 and read.json()["conversation"] == conversation


async def test_both_people_opening_it_at_once_get_one_conversation(register: Register) -> None:
    alice, bob = await register(), await register()
    responses = await asyncio.gather(
        *(
            (alice, bob)[i % 2].client.post(
                "/conversations", json={"participantIds": [(bob, alice)[i % 2].id]}
            )
            for i in range(10)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.json()["conversation"]["id"] for r in responses}) == 1
    listed = (await alice.client.get("/conversations")).json()["conversations"]
    assert len(listed) == 1 and len(listed[0]["participants"]) == 2


async def test_participant_ids_rules(register: Register) -> None:
    alice, bob, carol = await register(), await register(), await register()
    for ids in ([], [bob.id, carol.id], [alice.id], [bob.id, bob.id]):
        response = await alice.client.post("/conversations", json={"participantIds": ids})
        assert_problem(response, 422, "validation_error")
        assert response.json()["errors"][0]["field"].startswith("participantIds")
    unknown = await alice.client.post(
        "/conversations", json={"participantIds": ["01890000-0000-7000-8000-000000000000"]}
    )
    assert_problem(unknown, 404, "user_not_found")
    assert (await alice.client.get("/conversations")).json() == {"conversations": []}


async def test_list_is_mine_newest_call_first_and_last_call_at(register: Register) -> None:
    alice, bob, carol = await register(), await register(), await register()

    async def call(caller: Any, receiver: Any) -> dict[str, Any]:
        response = await caller.client.post(
            "/calls/initiate", json={"receiverId": receiver.id, "callType": "audio"}
        )
        assert response.status_code == 201
        started: dict[str, Any] = response.json()["call"]
        await caller.client.patch(f"/calls/{started['id']}/end")
        return started

    with_carol = (
        await alice.client.post("/conversations", json={"participantIds": [carol.id]})
    ).json()["conversation"]
    first = await call(alice, bob)  # creates the alice-bob conversation
    listed = (await alice.client.get("/conversations")).json()["conversations"]
    assert [c["id"] for c in listed] == [first["conversationId"], with_carol["id"]]
    assert listed[0]["lastCallAt"] == first["startedAt"]
    assert listed[1]["lastCallAt"] is None

    second = await call(carol, alice)
    assert second["conversationId"] == with_carol["id"]
    listed = (await alice.client.get("/conversations")).json()["conversations"]
    assert [c["id"] for c in listed] == [with_carol["id"], first["conversationId"]]
    assert listed[0]["lastCallAt"] == second["startedAt"]

    third = await call(bob, alice)
    read = (await bob.client.get(f"/conversations/{first['conversationId']}")).json()
    assert read["conversation"]["lastCallAt"] == third["startedAt"]
    assert [c["id"] for c in (await bob.client.get("/conversations")).json()["conversations"]] == [
        first["conversationId"]
    ]


async def test_initiate_in_a_given_conversation(register: Register) -> None:
    alice, bob, carol = await register(), await register(), await register()
    conversation = (
        await alice.client.post("/conversations", json={"participantIds": [bob.id]})
    ).json()["conversation"]
    response = await bob.client.post(
        "/calls/initiate",
        json={"receiverId": alice.id, "callType": "video", "conversationId": conversation["id"]},
    )
    assert response.status_code == 201
    assert response.json()["call"]["conversationId"] == conversation["id"]
    await bob.client.patch(f"/calls/{response.json()['call']['id']}/end")

    wrong_pair = await alice.client.post(
        "/calls/initiate",
        json={"receiverId": carol.id, "callType": "video", "conversationId": conversation["id"]},
    )
    assert_problem(wrong_pair, 403, "not_a_participant")
    unknown = await alice.client.post(
        "/calls/initiate",
        json={
            "receiverId": bob.id,
            "callType": "video",
            "conversationId": "01890000-0000-7000-8000-000000000000",
        },
    )
    assert_problem(unknown, 404, "conversation_not_found")
