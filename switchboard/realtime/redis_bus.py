"""The Redis backend of the event bus (redis-py asyncio pub/sub), for several instances.

Every instance publishes to and listens on one channel, so each sender's envelopes arrive in
the order sent. Pub/sub drops what is published while a subscriber is disconnected: after a
reconnect the bus asks the gateway to resync its connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from switchboard.realtime.bus import Bus, BusUnavailable, Envelope

log = logging.getLogger(__name__)

CHANNEL = "switchboard:events"
RETRY_SECONDS = (0.1, 0.25, 0.5, 1.0, 2.0)


class RedisBus(Bus):
    def __init__(self, redis: Redis, *, listener: Redis, channel: str = CHANNEL) -> None:
        """`redis` publishes (with timeouts); `listener` subscribes (no read timeout: a quiet
        channel is not a dead one)."""
        super().__init__()
        self._redis = redis
        self._listener_redis = listener
        self._channel = channel
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._healthy = False

    @property
    def healthy(self) -> bool:
        return self._healthy

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen())
        with contextlib.suppress(TimeoutError):
            # Serve even if Redis is down at start; the listener keeps trying.
            await asyncio.wait_for(self._subscribed.wait(), timeout=5)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    async def publish(self, envelopes: list[Envelope]) -> None:
        if not envelopes:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for envelope in envelopes:
                    pipe.publish(self._channel, envelope.dumps())
                await pipe.execute()
        except (RedisError, OSError) as error:
            raise BusUnavailable(str(error)) from error

    def _deliver_safely(self, data: bytes) -> None:
        try:
            self._deliver(Envelope.loads(data))
        except Exception:
            log.exception("could not deliver an envelope")

    async def _listen(self) -> None:
        attempt = 0
        lost = False
        while True:
            pubsub = self._listener_redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._healthy = True
                self._subscribed.set()
                attempt = 0
                if lost:
                    log.warning("event bus reconnected to Redis: resyncing connections")
                    lost = False
                    if self._resync is not None:
                        await self._resync()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._deliver_safely(message["data"])
            except (RedisError, OSError) as error:
                if self._healthy:
                    log.error("event bus lost Redis: %s", error)
                self._healthy = False
                lost = True
                await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
