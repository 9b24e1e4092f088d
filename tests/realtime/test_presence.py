"""Liveness through Redis: who is online, whichever instance holds their connections."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from switchboard.realtime.connections import Connection, Registry
from switchboard.realtime.presence import RedisPresence
from switchboard.services.ports import LivenessUnavailable
from tests.services_available import REDIS_URL, require_redis


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    require_redis()
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


def _instance(redis: Redis, ttl_seconds: float = 30) -> tuple[RedisPresence, Registry]:
    registry = Registry()
    return RedisPresence(redis, registry, ttl_seconds=ttl_seconds), registry


async def _connect(presence: RedisPresence, registry: Registry, user_id: str) -> Connection:
    connection = Connection(user_id, f"device-{uuid.uuid4().hex[:8]}")
    registry.add(connection)
    await presence.connected(connection)
    return connection


def _users(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


async def test_users_online_on_any_instance_are_online_everywhere(redis: Redis) -> None:
    first, first_registry = _instance(redis)
    second, second_registry = _instance(redis)
    users = _users(25)  # more than a page of calls has parties
    here, there = users[3], users[20]
    await _connect(first, first_registry, here)
    leaving = await _connect(second, second_registry, there)
    asked = [*users, here, there]  # asked twice: counted once
    assert await first.online_users(asked) == {here, there}
    assert await second.online_users(asked) == {here, there}
    second_registry.remove(leaving)
    await second.disconnected(leaving)
    assert await first.online_users(asked) == {here}
    assert await first.online_users([]) == set()
    await redis.script_flush()  # as a restarted Redis forgets scripts: loaded again
    assert await first.online_users(asked) == {here}


async def test_a_connection_nobody_refreshes_stops_counting(redis: Redis) -> None:
    presence, registry = _instance(redis, ttl_seconds=0.3)
    user = _users(1)[0]
    await _connect(presence, registry, user)
    assert await presence.online_users([user]) == {user}
    await asyncio.sleep(0.5)  # the instance died without a word: no refresh, no disconnect
    assert await presence.online_users([user]) == set()


async def test_without_redis_display_falls_back_and_strict_callers_hear_of_it() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    presence, registry = _instance(unreachable)
    user, other = _users(2)
    registry.add(Connection(user, "device"))  # held by this instance
    assert await presence.online_users([user, other]) == {user}
    with pytest.raises(LivenessUnavailable):
        await presence.online_users([user], strict=True)
    await unreachable.aclose()
