"""The call lifecycle over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Account, Register


async def initiate(caller: Account, receiver: Account, call_type: str = "video") -> dict[str, Any]:
    response = await caller.client.post(
        "/calls/initiate", json={"receiverId": receiver.id, "callType": call_type}
    )
    assert response.status_code == 201, response.text
    call: dict[str, Any] = response.json()["call"]
    return call


async def test_video_call_from_ring_to_history(register: Register) -> None:
    alice, bob = await register("alice"), await register("bob")
    call = await initiate(alice, bob)
    assert call["status"] == "initiated"
    assert call["_id"] == call["id"]
    assert call["version"] == 1
    assert call["direction"] == "outgoing"
    assert call["caller"]["username"] == "alice" and call["receiver"]["username"] == "bob"
    assert call["duration"] == 0 and call["endReason"] is None
    assert call["startedAt"] == call["createdAt"] and call["startedAt"].endswith("Z")

    seen_by_bob = (await bob.client.get(f"/calls/{call['id']}")).json()["call"]
    assert seen_by_bob["direction"] == "incoming"

    answered = await bob.client.patch(f"/calls/{call['id']}/answer", json={"accept": True})
    assert answered.status_code == 200
    assert answered.json()["call"]["status"] == "answered"
    assert answered.json()["call"]["version"] == 2

    active = (await alice.client.get("/calls/active")).json()["call"]
    assert active["id"] == call["id"] and active["status"] == "answered"
    assert active == (await alice.client.get(f"/calls/{call['id']}")).json()["call"]
    bobs_active = (await bob.client.get("/calls/active")).json()["call"]
    assert bobs_active == {**active, "direction": "incoming"}

    ended = (await alice.client.patch(f"/calls/{call['id']}/end")).json()["call"]
    assert ended["status"] == "ended"
    assert ended["endReason"] == "hangup"
    assert ended["endedBy"] == alice.id
    assert ended["version"] == 3
    assert ended["duration"] >= 0

    again = await bob.client.patch(f"/calls/{call['id']}/end")
    assert again.status_code == 200 and again.json()["call"]["version"] == 3

    assert (await alice.client.get("/calls/active")).json() == {"call": None}
    history = (await bob.client.get("/calls/history")).json()
    assert [c["id"] for c in history["calls"]] == [call["id"]]
    assert history["calls"][0]["direction"] == "incoming"
    assert history["pagination"] == {
        "page": 1,
        "limit": 20,
        "total": 1,
        "totalPages": 1,
        "hasNext": False,
    }
    stats = (await alice.client.get("/calls/stats/summary")).json()["stats"]
    assert stats["total"] == 1 and stats["outgoing"] == 1 and stats["answered"] == 1
    assert stats["byType"] == {"audio": 0, "video": 1}


async def test_reject_cancel_and_reasons(register: Register) -> None:
    alice, bob = await register(), await register()
    call = await initiate(alice, bob, "audio")
    rejected = await bob.client.patch(f"/calls/{call['id']}/answer", json={"accept": False})
    assert rejected.json()["call"]["status"] == "rejected"
    assert rejected.json()["call"]["endReason"] == "rejected"
    assert rejected.json()["call"]["endedBy"] == bob.id

    call = await initiate(alice, bob)
    cancelled = (await alice.client.patch(f"/calls/{call['id']}/end")).json()["call"]
    assert (cancelled["status"], cancelled["endReason"]) == ("missed", "cancelled")

    call = await initiate(bob, alice)
    await alice.client.patch(f"/calls/{call['id']}/answer", json={"accept": True})
    ended = await bob.client.patch(f"/calls/{call['id']}/end", json={"reason": "ice_failed"})
    assert ended.json()["call"]["endReason"] == "ice_failed"


async def test_status_route_follows_the_table(register: Register) -> None:
    alice, bob = await register(), await register()
    call = await initiate(alice, bob)
    url = f"/calls/{call['id']}/status"
    assert (await alice.client.patch(url, json={"status": "answered"})).status_code == 403
    assert (await bob.client.patch(url, json={"status": "missed"})).status_code == 403
    response = await bob.client.patch(url, json={"status": "ended"})
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    assert (await bob.client.patch(url, json={"status": "answered"})).status_code == 200
    assert (await alice.client.patch(url, json={"status": "ended"})).json()["call"]["version"] == 3
    same = await bob.client.patch(url, json={"status": "ended"})
    assert same.status_code == 200 and same.json()["call"]["version"] == 3
    assert (await bob.client.patch(url, json={"status": "missed"})).status_code == 403
    assert (await alice.client.patch(url, json={"status": "missed"})).status_code == 409
    answer = await bob.client.patch(f"/calls/{call['id']}/answer", json={"accept": True})
    assert answer.status_code == 409


async def test_busy_rules(register: Register) -> None:
    alice, bob, carol = await register(), await register(), await register()
    await initiate(alice, bob)
    busy = await carol.client.post(
        "/calls/initiate", json={"receiverId": bob.id, "callType": "audio"}
    )
    assert busy.status_code == 409
    assert busy.json()["code"] == "user_busy" and busy.json()["detail"] == "User is busy"
    assert busy.headers["content-type"] == "application/problem+json"
    me_busy = await alice.client.post(
        "/calls/initiate", json={"receiverId": carol.id, "callType": "audio"}
    )
    assert me_busy.json()["code"] == "caller_busy"
    self_call = await carol.client.post(
        "/calls/initiate", json={"receiverId": carol.id, "callType": "audio"}
    )
    assert self_call.status_code == 422 and self_call.json()["code"] == "cannot_call_self"


async def test_twenty_concurrent_initiations_one_wins(register: Register) -> None:
    receiver = await register()
    callers = [await register() for _ in range(20)]
    responses = await asyncio.gather(
        *(
            c.client.post("/calls/initiate", json={"receiverId": receiver.id, "callType": "audio"})
            for c in callers
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 19
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"user_busy"}
    history = (await receiver.client.get("/calls/history")).json()
    assert history["pagination"]["total"] == 1


async def test_glare_one_wins_and_loser_is_caller_busy(register: Register) -> None:
    for _ in range(3):
        a, b = await register(), await register()
        first, second = await asyncio.gather(
            a.client.post("/calls/initiate", json={"receiverId": b.id, "callType": "audio"}),
            b.client.post("/calls/initiate", json={"receiverId": a.id, "callType": "audio"}),
        )
        assert sorted((first.status_code, second.status_code)) == [201, 409]
        loser = first if first.status_code == 409 else second
        assert loser.json()["code"] == "caller_busy"


async def test_history_filters_and_pages(register: Register) -> None:
    alice, bob, carol = await register(), await register(), await register()
    ids = []
    for receiver, kind in ((bob, "audio"), (carol, "video"), (bob, "video")):
        call = await initiate(alice, receiver, kind)
        await alice.client.patch(f"/calls/{call['id']}/end")
        ids.append(call["id"])
    incoming = await initiate(bob, alice, "audio")
    await alice.client.patch(f"/calls/{incoming['id']}/answer", json={"accept": False})
    ids.append(incoming["id"])

    async def history(**params: str | int) -> list[str]:
        response = await alice.client.get("/calls/history", params=params)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["calls"]]

    assert await history() == ids[::-1]
    assert await history(callType="video") == [ids[2], ids[1]]
    assert await history(direction="incoming") == [ids[3]]
    assert await history(status="missed") == [ids[2], ids[1], ids[0]]
    assert await history(withUserId=bob.id) == [ids[3], ids[2], ids[0]]
    assert await history(withUserId=bob.id, callType="audio") == [ids[3], ids[0]]
    page = (await alice.client.get("/calls/history", params={"limit": 3, "page": 2})).json()
    assert [c["id"] for c in page["calls"]] == [ids[0]]
    assert page["pagination"] == {
        "page": 2,
        "limit": 3,
        "total": 4,
        "totalPages": 2,
        "hasNext": False,
    }
    past = (await alice.client.get("/calls/history", params={"page": 9})).json()
    assert past["calls"] == [] and past["pagination"]["total"] == 4
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert await history(**{"from": future}) == []
    assert await history(to=future) == ids[::-1]


async def test_missed_count_seen_and_since(register: Register) -> None:
    alice, bob = await register(), await register()
    for _ in range(2):
        call = await initiate(alice, bob)
        await alice.client.patch(f"/calls/{call['id']}/end")
    assert (await bob.client.get("/calls/missed/count")).json() == {"count": 2}
    assert (await alice.client.get("/calls/missed/count")).json() == {"count": 0}
    seen = (await bob.client.post("/calls/missed/seen")).json()["seenAt"]
    assert (await bob.client.get("/calls/missed/count", params={"unseen": "true"})).json() == {
        "count": 0
    }
    assert (await bob.client.get("/calls/missed/count")).json() == {"count": 2}
    call = await initiate(alice, bob)
    await alice.client.patch(f"/calls/{call['id']}/end")
    assert (await bob.client.get("/calls/missed/count", params={"unseen": "true"})).json() == {
        "count": 1
    }
    assert (await bob.client.get("/calls/missed/count", params={"since": seen})).json() == {
        "count": 1
    }


async def test_soft_delete_is_per_user(register: Register) -> None:
    alice, bob = await register(), await register()
    call = await initiate(alice, bob)
    active = await alice.client.delete(f"/calls/{call['id']}")
    assert active.status_code == 409 and active.json()["code"] == "call_active"
    await alice.client.patch(f"/calls/{call['id']}/end")
    assert (await bob.client.delete(f"/calls/{call['id']}")).json() == {"success": True}
    assert (await bob.client.get("/calls/history")).json()["pagination"]["total"] == 0
    assert (await bob.client.get("/calls/missed/count")).json() == {"count": 0}
    assert (await bob.client.get("/calls/stats/summary")).json()["stats"]["total"] == 0
    assert (await bob.client.get(f"/calls/{call['id']}")).status_code == 404
    assert (await bob.client.delete(f"/calls/{call['id']}")).status_code == 404
    assert (await alice.client.get("/calls/history")).json()["pagination"]["total"] == 1


async def test_stats_in_a_range(register: Register) -> None:
    alice, bob = await register(), await register()
    answered = await initiate(alice, bob, "video")
    await bob.client.patch(f"/calls/{answered['id']}/answer", json={"accept": True})
    await bob.client.patch(f"/calls/{answered['id']}/end")
    missed = await initiate(bob, alice, "audio")
    await bob.client.patch(f"/calls/{missed['id']}/end")
    rejected = await initiate(bob, alice, "audio")
    await alice.client.patch(f"/calls/{rejected['id']}/answer", json={"accept": False})
    stats = (await alice.client.get("/calls/stats/summary")).json()["stats"]
    assert stats == {
        "total": 3,
        "outgoing": 1,
        "incoming": 2,
        "answered": 1,
        "missed": 1,
        "rejected": 1,
        "totalDuration": stats["totalDuration"],
        "averageDuration": float(stats["totalDuration"]),
        "byType": {"audio": 2, "video": 1},
    }
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    empty = (await alice.client.get("/calls/stats/summary", params={"from": later})).json()
    assert empty["stats"]["total"] == 0 and empty["stats"]["averageDuration"] == 0


async def test_conversation_of_the_pair_is_found_or_created(register: Register) -> None:
    alice, bob, carol = await register(), await register(), await register()
    created = await alice.client.post("/conversations", json={"participantIds": [bob.id]})
    assert created.status_code == 201
    again = await bob.client.post("/conversations", json={"participantIds": [alice.id]})
    assert again.status_code == 200
    conversation = created.json()["conversation"]
    assert again.json()["conversation"]["id"] == conversation["id"]
    call = await initiate(alice, bob)
    assert call["conversationId"] == conversation["id"]
    listed = (await bob.client.get("/conversations")).json()["conversations"]
    assert listed[0]["lastCallAt"] == call["startedAt"]
    assert (await carol.client.get(f"/conversations/{conversation['id']}")).status_code == 404
    outsider = await carol.client.post(
        "/calls/initiate",
        json={"receiverId": bob.id, "callType": "audio", "conversationId": conversation["id"]},
    )
    assert outsider.status_code == 403 and outsider.json()["code"] == "not_a_participant"


async def test_ice_servers_with_turn_credentials(register: Register) -> None:
    alice = await register()
    response = await alice.client.get("/calls/ice-servers")
    assert response.status_code == 200 and response.json()["ttl"] == 86400


async def test_unauthenticated_requests_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/calls/history")
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"
    forged = await client.get("/users/me", headers={"Authorization": "Bearer nope"})
    assert forged.status_code == 401


@pytest.mark.parametrize("route", ["/calls/{id}", "/calls/{id}/answer", "/calls/{id}/end"])
async def test_outsiders_get_not_found(register: Register, route: str) -> None:
    alice, bob, eve = await register(), await register(), await register()
    call = await initiate(alice, bob)
    url = route.format(id=call["id"])
    if route.endswith("answer"):
        response = await eve.client.patch(url, json={"accept": True})
    elif route.endswith("end"):
        response = await eve.client.patch(url)
    else:
        response = await eve.client.get(url)
    assert response.status_code == 404 and response.json()["code"] == "call_not_found"
