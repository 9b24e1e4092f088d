"""One suite for the bus interface, run over the in-process and the Redis backend."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.asyncio import Redis

from switchboard.realtime.bus import Bus, BusUnavailable, Envelope, LocalBus
from switchboard.realtime.redis_bus import RedisBus
from tests.redis_server import RedisServer
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


async def test_publishers_at_once_each_keep_their_order(make_bus: MakeBus) -> None:
    inbox = Inbox()
    bus = await make_bus(inbox)

    async def sender(number: int) -> None:
        for sequence in range(25):
            await bus.publish([Envelope(user_id=f"sender-{number}", frame={"n": sequence})])

    await asyncio.gather(*(sender(number) for number in range(20)))
    received = await inbox.wait_for(500)
    assert len(received) == 500
    for number in range(20):
        mine = [e.frame["n"] for e in received if e.user_id == f"sender-{number}"]
        assert mine == list(range(25))


class CountingRedis(Redis):
    """A real client that counts its round trips: a PUBLISH, or a pipeline."""

    round_trips = 0

    def pipeline(self, *args: Any, **kwargs: Any) -> Any:
        self.round_trips += 1
        return super().pipeline(*args, **kwargs)

    async def publish(self, *args: Any, **kwargs: Any) -> Any:
        self.round_trips += 1
        return await super().publish(*args, **kwargs)


MakeRedisBus = Callable[[Redis], Awaitable[tuple[RedisBus, Inbox]]]


@pytest.fixture
async def make_redis_bus() -> AsyncIterator[MakeRedisBus]:
    """Starts a Redis bus on a publisher client of the test's choosing; stops it after."""
    require_redis()
    started: list[tuple[RedisBus, Redis, Redis]] = []

    async def make(publisher: Redis) -> tuple[RedisBus, Inbox]:
        listener = Redis.from_url(REDIS_URL)
        inbox = Inbox()
        channel = f"switchboard-test:{uuid.uuid4().hex}"
        bus = RedisBus(publisher, listener=listener, channel=channel)
        bus.attach(inbox.deliver, inbox.resync)
        await bus.start()
        started.append((bus, publisher, listener))
        return bus, inbox

    yield make
    for bus, publisher, listener in started:
        await bus.stop()
        await publisher.aclose()
        await listener.aclose()


@pytest.mark.redis
async def test_what_is_published_meanwhile_goes_in_one_batch(
    make_redis_bus: MakeRedisBus,
) -> None:
    publisher = CountingRedis.from_url(REDIS_URL)
    assert isinstance(publisher, CountingRedis)
    bus, inbox = await make_redis_bus(publisher)
    await asyncio.gather(*(bus.publish([envelope(number)]) for number in range(50)))
    assert await inbox.wait_for(50) == [envelope(number) for number in range(50)]
    # The first goes at once; the 49 published while it was on its way, together.
    assert publisher.round_trips == 2


async def silent_server() -> asyncio.Server:
    """Accepts connections and never answers: a Redis that hangs."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    return await asyncio.start_server(hold, "127.0.0.1", 0)


@pytest.mark.parametrize("redis_answers", [False, True], ids=["refused", "silent"])
async def test_publishing_without_redis_fails_every_waiting_publisher(
    redis_answers: bool,
) -> None:
    server = await silent_server()
    port = server.sockets[0].getsockname()[1]
    if not redis_answers:
        server.close()
        await server.wait_closed()
    url = f"redis://127.0.0.1:{port}"
    publisher = Redis.from_url(url, socket_connect_timeout=1)
    bus = RedisBus(publisher, listener=Redis.from_url(url), publish_timeout=0.3)
    try:
        results = await asyncio.gather(
            *(bus.publish([envelope(number)]) for number in range(3)), return_exceptions=True
        )
        assert [type(result) for result in results] == [BusUnavailable] * 3
        # Nothing is left waiting: the next publish fails the same way, on its own.
        with pytest.raises(BusUnavailable):
            await bus.publish([envelope(4)])
    finally:
        await bus.stop()
        await publisher.aclose()
        server.close()
        await server.wait_closed()


@pytest.mark.redis
async def test_a_cancelled_publisher_leaves_the_others_alone(make_redis_bus: MakeRedisBus) -> None:
    bus, inbox = await make_redis_bus(Redis.from_url(REDIS_URL))
    on_its_way = asyncio.create_task(bus.publish([envelope(1)]))
    await asyncio.sleep(0)
    queued = asyncio.create_task(bus.publish([envelope(2)]))
    await asyncio.sleep(0)
    on_its_way.cancel()
    queued.cancel()
    await bus.publish([envelope(3)])
    await inbox.until(lambda: envelope(3) in inbox.envelopes)
    # The first may or may not have reached Redis; what was queued still goes, in order.
    assert [e for e in inbox.envelopes if e != envelope(1)] == [envelope(2), envelope(3)]
    assert on_its_way.cancelled() and queued.cancelled()


@pytest.mark.redis
async def test_publishing_goes_on_after_redis_restarts(redis_server: RedisServer) -> None:
    inbox = Inbox()
    bus = RedisBus.connect(redis_server.url, channel="switchboard-test:restart")
    bus.attach(inbox.deliver, inbox.resync)
    await bus.start()
    try:
        await bus.publish([envelope(1)])
        await inbox.wait_for(1)
        redis_server.kill()
        redis_server.start()
        await inbox.until(lambda: inbox.resyncs > 0)
        # The publisher's idle connection died with the server: the first batch finds out
        # and goes again on a new one.
        await bus.publish([envelope(2)])
        assert await inbox.wait_for(2) == [envelope(1), envelope(2)]
    finally:
        await bus.stop()
