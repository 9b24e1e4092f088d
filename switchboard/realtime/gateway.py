"""The `/ws` gateway's work for one connection: hello, frames in, frames out, goodbye.

It speaks to the socket through a small `Transport`, so the rules here know nothing of the
web framework.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import UTC, datetime
from typing import Protocol

from switchboard import logs
from switchboard.config import Settings
from switchboard.metrics import Metrics
from switchboard.realtime import codec
from switchboard.realtime.bus import Bus, BusUnavailable, Envelope
from switchboard.realtime.call_cache import CallCache
from switchboard.realtime.codec import ErrorCode, FrameError, Ping, SignalIn
from switchboard.realtime.connections import Connection, Registry
from switchboard.realtime.notifier import Notifier, call_state
from switchboard.realtime.presence import LocalPresence
from switchboard.realtime.ratelimit import TokenBucket
from switchboard.realtime.signaling import SignalRefused, route_signal
from switchboard.services.calls import CallService
from switchboard.services.conversations import ConversationService
from switchboard.services.views import CallEventType, UserView
from switchboard.wire import call_wire, user_wire

log = logging.getLogger(__name__)

REPLACED_CLOSE_CODE = 4409
# A control frame, never sent to clients: "the device's connection is now the one with this
# nonce", so that an older one on any instance closes.
REPLACED = "_replaced"


class Transport(Protocol):
    async def receive(self) -> str | bytes | None:
        """The next frame, or None once the peer has gone."""
        ...

    async def send(self, text: str) -> None: ...

    def send_now(self, texts: list[str]) -> bool:
        """Sends the frames at once if that needs no waiting (else sends nothing: False)."""
        ...

    async def close(self, code: int) -> None: ...


class Gateway:
    def __init__(
        self,
        *,
        bus: Bus,
        registry: Registry,
        presence: LocalPresence,
        calls: CallService,
        conversations: ConversationService,
        notifier: Notifier,
        settings: Settings,
        metrics: Metrics,
    ) -> None:
        self._metrics = metrics
        self._registry = registry
        self._presence = presence
        self._calls = calls
        self._conversations = conversations
        self._notifier = notifier
        self._settings = settings
        self._cache = CallCache()
        bus.attach(self.deliver, self.resync)

    # -- frames from the bus ------------------------------------------------------------------

    def deliver(self, envelope: Envelope) -> None:
        if envelope.call is not None:
            self._cache.observe(envelope.call)
        if envelope.frame["type"] == REPLACED:
            self._close_replaced(envelope)
            return
        if envelope.connection_id is not None:
            target = self._registry.get(envelope.user_id, envelope.connection_id)
            targets = [target] if target else []
        else:
            targets = self._registry.of_user(envelope.user_id)
        if targets:
            frame_type = envelope.frame["type"]
            text = codec.dumps(envelope.frame)  # {"type", "data"}, as `codec.frame` built it
            for connection in targets:
                connection.send(text)
            self._metrics.delivered.inc(frame_type, len(targets))
            if frame_type == CallEventType.INCOMING:
                self._observe_setup(envelope.frame["data"]["call"]["startedAt"])

    def _observe_setup(self, started_at: str) -> None:
        started = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
        self._metrics.call_setup.observe(max(0.0, (datetime.now(UTC) - started).total_seconds()))

    def _close_replaced(self, envelope: Envelope) -> None:
        if envelope.connection_id is None:
            return
        older = self._registry.get(envelope.user_id, envelope.connection_id)
        if older is not None and older.nonce != envelope.frame["data"]["nonce"]:
            older.close(REPLACED_CLOSE_CODE)

    async def resync(self) -> None:
        """Envelopes may have been lost: tell every connection the truth about its call."""
        self._cache.clear()
        for connection in self._registry.all():
            await self._send_sync(connection)

    async def _send_sync(self, connection: Connection) -> None:
        active = await self._active_call(connection.user_id)
        connection.send(codec.encode("sync", {"activeCall": active}))

    async def _active_call(self, user_id: str) -> dict[str, object] | None:
        call = await self._calls.active(user_id=user_id)
        return call_wire(call, viewer_id=user_id) if call else None

    # -- one connection -----------------------------------------------------------------------

    async def serve(self, transport: Transport, *, user: UserView, device_id: str | None) -> None:
        connection = Connection(user_id=user.id, connection_id=device_id or _random_id())
        logs.connection_id.set(connection.connection_id)
        replaced = self._registry.add(connection)
        if replaced is not None:
            replaced.close(REPLACED_CLOSE_CODE)
        writer = Writer(transport, connection)
        connection.wake = writer.wake
        try:
            # Live everywhere before hello, so that a request naming it right after succeeds.
            first = await self._presence.connected(connection)
            if device_id is not None:
                await self._publish_quietly(
                    Envelope(
                        user_id=user.id,
                        frame=codec.frame(REPLACED, {"nonce": connection.nonce}),
                        connection_id=device_id,
                    )
                )
            hello = {
                "user": {**user_wire(user), "online": True},
                "connectionId": connection.connection_id,
                "activeCall": await self._active_call(user.id),
            }
            connection.send_first(codec.encode("hello", hello))
            if first:
                await self._announce(user.id, online=True)
            await self._read(transport, connection)
        finally:
            if self._registry.remove(connection) and await self._presence.disconnected(connection):
                await self._announce(user.id, online=False)
            connection.close(connection.close_code or 1000)
            await writer.finished()

    async def _read(self, transport: Transport, connection: Connection) -> None:
        bucket = TokenBucket(
            rate=self._settings.ws_frame_rate_per_second, burst=self._settings.ws_frame_burst
        )
        while connection.close_code is None:
            message = await transport.receive()
            if message is None:
                return
            if not bucket.take():
                connection.send(codec.error(ErrorCode.RATE_LIMITED, "Too many frames"))
                continue
            if isinstance(message, bytes):
                connection.send(codec.error(ErrorCode.INVALID_FRAME, "Frames are JSON text"))
                continue
            try:
                await self._handle(connection, codec.decode(message))
            except FrameError as error:
                connection.send(codec.error(error.code, error.message, error.frame_id))

    async def _handle(self, connection: Connection, frame: codec.ClientFrame) -> None:
        match frame:
            case Ping(frame_id=frame_id):
                connection.send(codec.encode("pong", {}, frame_id))
            case SignalIn():
                await self._relay(connection, frame)
            case _:  # pragma: no cover - the codec returns nothing else
                raise AssertionError(frame)

    async def _relay(self, connection: Connection, signal: SignalIn) -> None:
        state = self._cache.get(signal.call_id)
        if state is None:
            call = await self._calls.peek(call_id=signal.call_id)
            if call is not None:
                state = call_state(call)
                self._cache.put(state)
        try:
            route = route_signal(
                state, user_id=connection.user_id, connection_id=connection.connection_id
            )
        except SignalRefused as refused:
            raise FrameError(refused.code, refused.message, signal.frame_id) from refused
        data = {
            "callId": signal.call_id,
            "from": connection.user_id,
            "fromConnectionId": connection.connection_id,
            "kind": signal.kind.value,
            "payload": signal.payload,
        }
        envelope = Envelope(
            user_id=route.user_id,
            frame=codec.frame("signal", data),
            connection_id=route.connection_id,
        )
        try:
            await self._notifier.publish([envelope])
        except BusUnavailable as error:
            message = "Signaling is unavailable; try again"
            raise FrameError(ErrorCode.UNAVAILABLE, message, signal.frame_id) from error
        if signal.frame_id is not None:
            connection.send(codec.ack(signal.frame_id))

    async def _announce(self, user_id: str, *, online: bool) -> None:
        try:
            contacts = await self._conversations.contacts(user_id=user_id)
            if contacts:
                await self._notifier.publish_presence(user_id=user_id, online=online, to=contacts)
        except Exception:
            log.warning("could not announce that %s is %s", user_id, "on" if online else "off")

    async def _publish_quietly(self, envelope: Envelope) -> None:
        try:
            await self._notifier.publish([envelope])
        except BusUnavailable:
            log.warning("could not publish %s", envelope.frame["type"])


class Writer:
    """Sends a connection's queued frames in order. Frames queued within one turn of the
    event loop go out together, in one write when the transport can take them at once; a
    task exists only while the transport makes frames wait (or for the close), so that
    thousands of idle connections hold no task each."""

    __slots__ = ("_connection", "_flush", "_task", "_transport")

    def __init__(self, transport: Transport, connection: Connection) -> None:
        self._transport = transport
        self._connection = connection
        self._task: asyncio.Task[None] | None = None
        self._flush: asyncio.Handle | None = None

    def wake(self) -> None:
        if self._flush is None and (self._task is None or self._task.done()):
            self._flush = asyncio.get_running_loop().call_soon(self._send_queued)

    def _send_queued(self) -> None:
        self._flush = None
        outbox = self._connection.outbox
        # A close empties the outbox before it queues its None: either all are frames, or
        # the close (which goes through the task) is the only item.
        if outbox and outbox[-1] is not None:
            texts = [text for text in outbox if text is not None]
            if self._transport.send_now(texts):
                outbox.clear()
                return
        if outbox:
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        outbox = self._connection.outbox
        while outbox:
            text = outbox.popleft()
            if text is None:
                with contextlib.suppress(Exception):
                    await self._transport.close(self._connection.close_code or 1000)
                return
            try:
                await self._transport.send(text)
            except Exception:
                self._connection.close(self._connection.close_code or 1000)

    async def finished(self) -> None:
        """Waits until the queued frames (and the close) have gone out."""
        if self._flush is not None:
            self._flush.cancel()
            self._send_queued()
        while self._task is not None and not self._task.done():
            await self._task


def _random_id() -> str:
    return "c-" + secrets.token_urlsafe(12)
