"""The Redis backend of the event bus (redis-py asyncio pub/sub), for several instances.

Every instance publishes to and listens on one channel, so each sender's envelopes arrive in
the order sent. An instance publishes in batches: what is published while a batch is on its
way to Redis goes in the next one, in order, so that a busy instance sends one pipeline per
round trip instead of one per envelope. Pub/sub drops what is published while a subscriber is
disconnected: after a reconnect the bus asks the gateway to resync its connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from switchboard.realtime.bus import Bus, BusUnavailable, Envelope

log = logging.getLogger(__name__)

CHANNEL = "switchboard:events"
RETRY_SECONDS = (0.1, 0.25, 0.5, 1.0, 2.0)
PUBLISH_TIMEOUT_SECONDS = 5.0


class RedisBus(Bus):
    def __init__(
        self,
        redis: Redis,
        *,
        listener: Redis,
        channel: str = CHANNEL,
        publish_timeout: float = PUBLISH_TIMEOUT_SECONDS,
    ) -> None:
        """`redis` publishes (a batch that takes longer than `publish_timeout` fails, so the
        client needs no socket timeout of its own); `listener` subscribes (no read timeout:
        a quiet channel is not a dead one)."""
        super().__init__()
        self._redis = redis
        self._listener_redis = listener
        self._channel = channel
        self._publish_timeout = publish_timeout
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._healthy = False
        self._batch: list[str] = []
        self._batch_waiters: list[asyncio.Future[None]] = []
        self._publisher: asyncio.Task[None] | None = None
        self._sending = False  # a batch is on its way to Redis
        self._owned_clients: list[Redis] = []

    @classmethod
    def connect(cls, url: str, *, channel: str = CHANNEL) -> RedisBus:
        """A bus with clients of its own, closed when it stops."""
        # Its one connection is idle between batches: after a Redis restart the first batch
        # finds it closed, and goes again on a new one.
        once_more = Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,))
        redis = Redis.from_url(
            url, socket_connect_timeout=2, socket_keepalive=True, retry=once_more
        )
        listener = Redis.from_url(url, socket_connect_timeout=2, socket_keepalive=True)
        bus = cls(redis, listener=listener, channel=channel)
        bus._owned_clients = [redis, listener]
        return bus

    @property
    def healthy(self) -> bool:
        return self._healthy

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen())
        with contextlib.suppress(TimeoutError):
            # Serve even if Redis is down at start; the listener keeps trying.
            await asyncio.wait_for(self._subscribed.wait(), timeout=5)

    async def stop(self) -> None:
        for task in (self._listener, self._publisher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._settle(self._batch_waiters, BusUnavailable("the bus has stopped"))
        for client in self._owned_clients:
            await client.aclose()

    async def publish(self, envelopes: list[Envelope]) -> None:
        if not envelopes:
            return
        texts = [envelope.dumps() for envelope in envelopes]
        if self._sending:  # a batch is on its way: these go in the next one
            sent = asyncio.get_running_loop().create_future()
            self._batch.extend(texts)
            self._batch_waiters.append(sent)
            await sent
            return
        self._sending = True
        try:
            await self._send(texts)
        finally:
            # What queued meanwhile goes next, without waiting for this publisher's caller.
            if self._batch:
                self._publisher = asyncio.create_task(self._publish_batches())
            else:
                self._sending = False

    async def _publish_batches(self) -> None:
        try:
            while self._batch:
                batch, waiters = self._batch, self._batch_waiters
                self._batch, self._batch_waiters = [], []
                try:
                    await self._send(batch)
                except BusUnavailable as error:
                    self._settle(waiters, error)
                except asyncio.CancelledError:
                    self._settle(waiters, BusUnavailable("the bus has stopped"))
                    raise
                else:
                    self._settle(waiters, None)
        finally:
            self._sending = False

    async def _send(self, texts: list[str]) -> None:
        try:
            async with asyncio.timeout(self._publish_timeout):
                if len(texts) == 1:
                    await self._redis.publish(self._channel, texts[0])
                    return
                async with self._redis.pipeline(transaction=False) as pipe:
                    for text in texts:
                        pipe.publish(self._channel, text)
                    await pipe.execute()
        except (RedisError, OSError, TimeoutError) as error:
            raise BusUnavailable(str(error) or "Redis did not answer") from error

    @staticmethod
    def _settle(waiters: list[asyncio.Future[None]], error: BusUnavailable | None) -> None:
        for waiter in waiters:
            if waiter.done():  # its publisher was cancelled
                continue
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(error)

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
