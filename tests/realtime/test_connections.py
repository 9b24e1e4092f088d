"""The connection registry, outboxes, the call cache and the token bucket."""

from __future__ import annotations

from switchboard.realtime.call_cache import CallCache
from switchboard.realtime.connections import (
    OUTBOX_LIMIT,
    SLOW_READER_CLOSE_CODE,
    Connection,
    Registry,
)
from switchboard.realtime.ratelimit import TokenBucket


def test_registry_replaces_a_device_and_forgets_only_the_current_one() -> None:
    registry = Registry()
    old, new = Connection("alice", "phone"), Connection("alice", "phone")
    assert registry.add(old) is None
    assert registry.add(new) is old
    assert registry.remove(old) is False
    assert registry.get("alice", "phone") is new and registry.has_user("alice")
    assert registry.remove(new) is True
    assert not registry.has_user("alice") and len(registry) == 0


def test_hello_goes_first_and_slow_readers_are_dropped() -> None:
    connection = Connection("alice", "phone")
    connection.send("event")
    connection.send_first("hello")
    assert [connection.outbox.popleft() for _ in range(2)] == ["hello", "event"]
    for n in range(OUTBOX_LIMIT + 1):
        connection.send(str(n))
    assert connection.close_code == SLOW_READER_CLOSE_CODE
    assert list(connection.outbox) == [None]


def test_call_cache_keeps_the_newest_active_state() -> None:
    cache = CallCache()
    state = {
        "id": "c",
        "caller_id": "a",
        "receiver_id": "b",
        "status": "initiated",
        "version": 2,
        "caller_connection_id": None,
        "receiver_connection_id": None,
    }
    cache.observe(state)
    cache.observe({**state, "version": 1, "status": "answered"})
    assert cache.get("c") is not None and cache.get("c").status == "initiated"  # type: ignore[union-attr]
    cache.observe({**state, "version": 3, "status": "ended"})
    assert cache.get("c") is None


def test_token_bucket_allows_a_burst_then_refuses() -> None:
    bucket = TokenBucket(rate=0.001, burst=3)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
