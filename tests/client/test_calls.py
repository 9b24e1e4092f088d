"""The Call object: statuses, stale events dropped by version, signals, waiting."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from switchboard.client import Call, CallData, CallEnded, Event

ALICE, BOB = "u-alice", "u-bob"


def call_data(status: str = "initiated", version: int = 1, **extra: Any) -> CallData:
    user = {"online": True, "createdAt": "2025-01-01T00:00:00Z"}
    data: dict[str, Any] = {
        "id": "c1",
        "_id": "c1",
        "callerId": ALICE,
        "receiverId": BOB,
        "caller": {"id": ALICE, "username": "alice", "displayName": "alice", **user},
        "receiver": {"id": BOB, "username": "bob", "displayName": "bob", **user},
        "conversationId": "v1",
        "callType": "audio",
        "status": status,
        "endReason": None,
        "endedBy": None,
        "direction": "incoming",
        "startedAt": "2025-01-01T00:00:00Z",
        "answeredAt": "2025-01-01T00:00:05Z" if status in ("answered", "ended") else None,
        "endedAt": None,
        "duration": 0,
        "version": version,
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-01-01T00:00:00Z",
    }
    data.update(extra)
    return copy.deepcopy(data)  # type: ignore[return-value]


class FakeControl:
    def __init__(self, connection_id: str | None = "bob-phone") -> None:
        self.connection_id = connection_id
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    async def answer_call(self, call_id: str, *, accept: bool) -> CallData:
        return call_data("answered" if accept else "rejected", version=2)

    async def end_call(self, call_id: str, *, reason: str | None) -> CallData:
        return call_data("ended", version=3, endReason=reason or "hangup")

    async def get_call(self, call_id: str) -> CallData:
        return call_data("ended", version=5, endReason="connection_lost")

    async def send_signal(self, call_id: str, kind: str, payload: dict[str, Any]) -> None:
        self.sent.append((call_id, kind, payload))


def event(type: str, **data: Any) -> Event:
    return Event(type, data)


def test_newer_versions_are_taken_older_and_equal_ones_dropped() -> None:
    call = Call(call_data(), my_user_id=BOB)
    assert call.apply(call_data("answered", version=2))
    assert not call.apply(call_data("initiated", version=1))  # late call.incoming
    assert not call.apply(call_data("answered", version=2))  # duplicate
    assert call.apply(call_data("ended", version=3))
    assert not call.apply(call_data("answered", version=2))  # a stale event after the end
    assert call.status == "ended" and call.version == 3
    assert call.statuses == ["initiated", "answered", "ended"]
    assert call.stale_dropped == 3
    assert call.is_terminal


def test_events_of_other_calls_are_ignored() -> None:
    call = Call(call_data(), my_user_id=BOB)
    other = call_data("ended", version=9, id="c2")
    call.handle_event(event("call.ended", call=other))
    call.handle_event(event("signal", callId="c2", kind="offer", payload={}))
    assert call.status == "initiated"
    assert call._signals.empty()


def test_answered_event_records_the_answering_device() -> None:
    mine = Call(call_data(), my_user_id=BOB, control=FakeControl("bob-laptop"))
    mine.handle_event(
        event("call.answered", call=call_data("answered", 2), connectionId="bob-phone")
    )
    assert mine.status == "answered"
    assert mine.answered_connection_id == "bob-phone"
    assert mine.answered_elsewhere and not mine.answered_here

    here = Call(call_data(), my_user_id=BOB, control=FakeControl("bob-phone"))
    here.handle_event(
        event("call.answered", call=call_data("answered", 2), connectionId="bob-phone")
    )
    assert here.answered_here and not here.answered_elsewhere

    caller = Call(call_data(), my_user_id=ALICE, control=FakeControl("alice-1"))
    caller.handle_event(event("call.answered", call=call_data("answered", 2), connectionId=None))
    assert not caller.answered_elsewhere
    assert caller.is_caller and caller.peer["id"] == BOB


async def test_signals_are_queued_in_order_and_end_with_the_call() -> None:
    call = Call(call_data("answered", 2), my_user_id=ALICE)
    for n in range(3):
        call.handle_event(event("signal", callId="c1", kind="ice-candidate", payload={"n": n}))
    received = [await call.next_signal(timeout=1) for _ in range(3)]
    assert [s["payload"]["n"] for s in received if s is not None] == [0, 1, 2]
    call.handle_event(event("call.ended", call=call_data("ended", 3)))
    assert await call.next_signal(timeout=1) is None
    call.handle_event(event("signal", callId="c1", kind="offer", payload={}))  # too late
    assert await call.next_signal(timeout=1) is None


def test_hello_updates_or_asks_for_a_refresh() -> None:
    call = Call(call_data("answered", 2), my_user_id=ALICE)
    assert not call.handle_event(event("hello", activeCall=call_data("answered", 2)))
    assert call.handle_event(event("sync", activeCall=None))  # the call vanished: refresh
    assert call.handle_event(event("hello", activeCall=call_data("initiated", 1, id="c9")))
    assert not call.handle_event(event("hello", activeCall=call_data("ended", 4)))
    assert call.status == "ended"
    assert not call.handle_event(event("hello", activeCall=None))  # terminal: nothing to do


async def test_wait_for_status_wakes_on_change_and_fails_on_another_end() -> None:
    call = Call(call_data(), my_user_id=ALICE)
    waiter = asyncio.create_task(call.wait_answered(timeout=2))
    await asyncio.sleep(0)
    call.apply(call_data("answered", 2))
    assert (await waiter)["status"] == "answered"

    rejected = Call(call_data(), my_user_id=ALICE)
    waiter = asyncio.create_task(rejected.wait_answered(timeout=2))
    await asyncio.sleep(0)
    rejected.apply(call_data("rejected", 2, endReason="rejected"))
    with pytest.raises(CallEnded, match="rejected"):
        await waiter
    assert (await rejected.wait_ended(timeout=1))["status"] == "rejected"

    with pytest.raises(TimeoutError):
        await Call(call_data(), my_user_id=ALICE).wait_ended(timeout=0.05)


async def test_actions_go_through_the_control_and_update_the_call() -> None:
    control = FakeControl("bob-phone")
    call = Call(call_data(), my_user_id=BOB, control=control)
    await call.answer()
    assert call.statuses == ["initiated", "answered"]
    assert call.answered_connection_id == "bob-phone"
    await call.signal("media-state", {"audio": True, "video": False})
    assert control.sent == [("c1", "media-state", {"audio": True, "video": False})]
    await call.end("media_failed")
    assert call.statuses == ["initiated", "answered", "ended"]
    assert call.data["endReason"] == "media_failed"
    await call.refresh()
    assert call.version == 5


async def test_a_call_without_control_cannot_act() -> None:
    from switchboard.client.calls import CallNotControllable

    with pytest.raises(CallNotControllable):
        await Call(call_data(), my_user_id=BOB).answer()
