"""One suite for the bus interface, run over the in-process and the Redis backend."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis

from switchboard.realtime.bus import Bus, Envelope, LocalBus
from switchboard.realtime.redis_bus import RedisBus
from tests.services_available import REDIS_URL, require_redis


@dataclass
class Inbox:
    """What one instance's gateway would get from its bus."""

    envelopes: list[Envelope] = field(default_factory=list)
    resyncs: int = 0
    listener_name: str | None = None  # the Redis client name of its bus's subscriber
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def deliver(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)
        self.changed.set()

    async def resync(self) -> None:
        self.resyncs += 1
        self.changed.set()

    async def until(self, done: Callable[[], bool], timeout: float = 5) -> None:
        async with asyncio.timeout(timeout):
            while not done():
                self.changed.clear()
                await self.changed.wait()

    async def wait_for(self, count: int) -> list[Envelope]:
        await self.until(lambda: len(self.envelopes) >= count)
        await asyncio.sleep(0.05)  # and nothing more arrives
        return self.envelopes


MakeBus = Callable[[Inbox], Awaitable[Bus]]


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
async def make_bus(request: pytest.FixtureRequest) -> AsyncIterator[MakeBus]:
    """Starts buses ("instances") of one backend, attached to an inbox; stops them after."""
    if request.param == "redis":
        require_redis()
    # A channel per test: nothing else that runs on this Redis hears these envelopes.
    channel = f"switchboard-test:{uuid.uuid4().hex}"
    started: list[Bus] = []
    clients: list[Redis] = []

    async def make(inbox: Inbox) -> Bus:
        bus: Bus
        if request.param == "local":
            bus = LocalBus()
        else:
            publisher = Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
            inbox.listener_name = f"bus-test-{uuid.uuid4().hex}"
            listener = Redis.from_url(
                REDIS_URL, socket_connect_timeout=2, client_name=inbox.listener_name
            )
            clients.extend((publisher, listener))
            bus = RedisBus(publisher, listener=listener, channel=channel)
        bus.attach(inbox.deliver, inbox.resync)
        await bus.start()
        started.append(bus)
        return bus

    yield make
    for bus in started:
        await bus.stop()
    for client in clients:
        await client.aclose()


def envelope(number: int) -> Envelope:
    return Envelope(user_id=f"user-{number % 3}", frame={"type": "signal", "data": {"n": number}})


async def test_envelopes_reach_deliver_in_order(make_bus: MakeBus) -> None:
    inbox = Inbox()
    bus = await make_bus(inbox)
    assert bus.healthy
    for number in range(50):
        await bus.publish([envelope(number)])
    assert await inbox.wait_for(50) == [envelope(number) for number in range(50)]


async def test_publishing_several_at_once_keeps_their_order(make_bus: MakeBus) -> None:
    inbox = Inbox()
    bus = await make_bus(inbox)
    await bus.publish([envelope(number) for number in range(100)])
    await bus.publish([])
    await bus.publish([envelope(number) for number in range(100, 110)])
    assert await inbox.wait_for(110) == [envelope(number) for number in range(110)]


async def test_every_envelope_field_survives_the_trip(make_bus: MakeBus) -> None:
    inbox = Inbox()
    bus = await make_bus(inbox)
    sent = [
        Envelope(
            user_id="0190a1b2-user",
            frame={
                "type": "call.answered",
                "data": {"call": {"id": "c1", "version": 2}, "connectionId": "phone-1"},
            },
            connection_id="phone-1",
            call={
                "id": "c1",
                "caller_id": "u1",
                "receiver_id": "u2",
                "status": "answered",
                "version": 2,
                "caller_connection_id": None,
                "receiver_connection_id": "phone-1",
            },
        ),
        Envelope(
            user_id="u2",
            frame={"type": "signal", "data": {"payload": {"sdp": "v=0\r\nä ✓ \u0000", "n": 1.5}}},
        ),
    ]
    assert [Envelope.loads(one.dumps()) for one in sent] == sent
    await bus.publish(sent)
    received = await inbox.wait_for(2)
    assert received == sent
    assert received[1].connection_id is None and received[1].call is None


# The in-process bus has one instance by definition, and no connection to lose.
REDIS_ONLY = pytest.mark.parametrize("make_bus", ["redis"], indirect=True)


@REDIS_ONLY
async def test_every_instance_hears_every_envelope(make_bus: MakeBus) -> None:
    first_inbox, second_inbox = Inbox(), Inbox()
    first = await make_bus(first_inbox)
    second = await make_bus(second_inbox)
    await first.publish([envelope(1)])
    await second.publish([envelope(2)])
    await first.publish([envelope(3)])
    for inbox in (first_inbox, second_inbox):
        assert await inbox.wait_for(3) == [envelope(1), envelope(2), envelope(3)]


@REDIS_ONLY
async def test_a_dropped_connection_reconnects_and_resyncs(make_bus: MakeBus) -> None:
    inbox, other_inbox = Inbox(), Inbox()
    bus = await make_bus(inbox)
    assert isinstance(bus, RedisBus)
    other = await make_bus(other_inbox)
    admin = Redis.from_url(REDIS_URL)
    try:
        # Only this bus's subscriber: other users of this Redis keep theirs.
        clients = await admin.client_list(_type="pubsub")
        (mine,) = [client for client in clients if client["name"] == inbox.listener_name]
        assert await admin.client_kill_filter(_id=mine["id"]) == 1
    finally:
        await admin.aclose()
    await inbox.until(lambda: inbox.resyncs > 0)
    assert bus.healthy
    assert other_inbox.resyncs == 0
    # Delivery resumes both ways.
    await other.publish([envelope(1)])
    await bus.publish([envelope(2)])
    assert await inbox.wait_for(2) == [envelope(1), envelope(2)]
    assert await other_inbox.wait_for(2) == [envelope(1), envelope(2)]
