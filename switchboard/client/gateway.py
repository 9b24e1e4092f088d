"""The WebSocket session with the gateway (``GET /ws`` of ``API.md``).

```python
session = GatewaySession(api.ws_url, api.token, device_id="laptop-1")
hello = await session.connect()
async with session.subscribe() as events:
    async for event in events:
        print(event.type, event.data)
```

- Every subscriber gets every event, in order, from the moment it subscribed.
- A request (a frame with an ``id``) waits for its ``ack``, or raises :class:`GatewayError`.
- When the connection drops, the session reconnects with exponential back-off and reads the new
  ``hello``; subscribers see a local ``client.disconnected`` event, then that ``hello``. With the
  same ``device_id`` the server keeps the device's binding to a call.
- The session gives up (``client.closed``, and iterators end) when it is closed, when it is
  replaced by another connection of the same device (close code 4409), or when the server
  rejects the token (4401) and there is no token provider to get a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from .models import Hello, SignalKind

log = logging.getLogger(__name__)

TokenProvider = Callable[[], Awaitable[str]]

CLOSE_BAD_TOKEN = 4401
CLOSE_REPLACED = 4409

#: Local event types, made by the client (not sent by the server).
DISCONNECTED = "client.disconnected"
CLOSED = "client.closed"


@dataclass(frozen=True, slots=True)
class Event:
    """One server frame (``{"type", "data", "id"?}``) or a local ``client.*`` event."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


class GatewayError(Exception):
    """The server answered a request with an ``error`` frame (``code``: ``call_not_found``...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class GatewayClosed(Exception):
    """The session is not connected (and did not reconnect in time) or has been closed.

    ``code`` is the WebSocket close code when the server closed it (4401: refused token).
    """

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect delays: ``initial * factor**n`` capped at ``maximum``, with +-``jitter``."""

    initial: float = 0.25
    factor: float = 2.0
    maximum: float = 10.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.initial * self.factor**attempt)
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)


class EventStream:
    """An async iterator over the events of a session, from the moment of subscribing."""

    def __init__(self, session: GatewaySession) -> None:
        self._session = session
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._ended = False

    def _push(self, event: Event | None) -> None:
        self._queue.put_nowait(event)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        if self._ended:
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is None:
            self._ended = True
            raise StopAsyncIteration
        return event

    async def next(self, timeout: float | None = None) -> Event:
        """The next event; ``TimeoutError`` after ``timeout``, ``GatewayClosed`` at the end."""
        try:
            return await asyncio.wait_for(self.__anext__(), timeout)
        except StopAsyncIteration:
            raise GatewayClosed("the session is closed") from None

    async def wait_for(
        self, predicate: Callable[[Event], bool] | str, timeout: float | None = None
    ) -> Event:
        """Skip events until one matches (a type name or a predicate)."""
        match = (lambda e: e.type == predicate) if isinstance(predicate, str) else predicate
        async with asyncio.timeout(timeout):
            while True:
                event = await self.next()
                if match(event):
                    return event

    def close(self) -> None:
        self._session._unsubscribe(self)
        self._ended = True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class GatewaySession:
    """One device's WebSocket session with automatic reconnect."""

    def __init__(
        self,
        url: str,
        token: str | TokenProvider,
        *,
        device_id: str | None = None,
        reconnect: bool = True,
        backoff: Backoff | None = None,
        open_timeout: float = 10.0,
        request_timeout: float = 10.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.device_id = device_id
        self.reconnect = reconnect
        self.backoff = backoff or Backoff()
        self.open_timeout = open_timeout
        self.request_timeout = request_timeout
        self._token = token
        self._headers = headers or {}
        self._ws: ClientConnection | None = None
        self._hello: Hello | None = None
        self._connected = asyncio.Event()
        self._closing = False
        self._closed = False
        self._reader: asyncio.Task[None] | None = None
        self._subscribers: list[EventStream] = []
        self._pending: dict[str, asyncio.Future[Event]] = {}
        self._ids = itertools.count(1)
        self.close_code: int | None = None
        self.reconnects = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def connect(self) -> Hello:
        """Open the first connection and return its ``hello`` (no retry on this first one)."""
        if self._reader is not None:
            raise RuntimeError("already connected")
        self._ws, self._hello = await self._open()
        self._connected.set()
        self._reader = asyncio.create_task(self._run(), name="switchboard-gateway")
        return self._hello

    async def close(self) -> None:
        """Close the connection for good; subscribers' iterators end."""
        self._closing = True
        ws = self._ws
        if ws is not None:
            await ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._finish()

    async def __aenter__(self) -> Self:
        if self._reader is None:
            await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def hello(self) -> Hello:
        """The ``hello`` of the current (or last) connection."""
        if self._hello is None:
            raise GatewayClosed("not connected yet")
        return self._hello

    @property
    def connection_id(self) -> str:
        return self.hello["connectionId"]

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- events ---------------------------------------------------------------------------

    def subscribe(self) -> EventStream:
        """A new stream of every event from now on. Close it (or use ``with``) when done."""
        stream = EventStream(self)
        if self._closed:
            stream._push(None)
        else:
            self._subscribers.append(stream)
        return stream

    def events(self) -> EventStream:
        """Alias of :meth:`subscribe`."""
        return self.subscribe()

    def _unsubscribe(self, stream: EventStream) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(stream)

    def _publish(self, event: Event) -> None:
        for stream in list(self._subscribers):
            stream._push(event)

    # -- sending --------------------------------------------------------------------------

    async def send(self, type: str, data: dict[str, Any], *, id: str | None = None) -> None:
        """Send one frame; waits (up to ``request_timeout``) for a reconnect if disconnected."""
        frame: dict[str, Any] = {"type": type, "data": data}
        if id is not None:
            frame["id"] = id
        text = json.dumps(frame, separators=(",", ":"))
        ws = await self._wait_connected()
        try:
            await ws.send(text)
        except ConnectionClosed as exc:
            raise GatewayClosed(f"connection closed while sending: {exc}") from exc

    async def request(
        self, type: str, data: dict[str, Any], *, timeout: float | None = None
    ) -> Event:
        """Send a frame with an ``id``; return its ``ack`` (or ``pong``), raise on ``error``."""
        frame_id = f"c{next(self._ids)}"
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._pending[frame_id] = future
        try:
            await self.send(type, data, id=frame_id)
            async with asyncio.timeout(timeout or self.request_timeout):
                return await future
        finally:
            self._pending.pop(frame_id, None)

    async def signal(
        self, call_id: str, kind: SignalKind, payload: dict[str, Any], *, ack: bool = True
    ) -> None:
        """Relay a WebRTC signal to the other participant of ``call_id``.

        With ``ack`` (the default) wait for the server's acknowledgement, so that a refused
        signal raises :class:`GatewayError` (``not_answering_device``, ``call_not_active``...).
        """
        data = {"callId": call_id, "kind": kind, "payload": payload}
        if ack:
            await self.request("signal", data)
        else:
            await self.send("signal", data)

    async def ping(self, *, timeout: float | None = None) -> float:
        """Send ``ping`` and return the round-trip time to its ``pong`` in seconds."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        await self.request("ping", {}, timeout=timeout)
        return loop.time() - start

    async def _wait_connected(self) -> ClientConnection:
        if self._closed or self._closing:
            raise GatewayClosed("the session is closed")
        try:
            async with asyncio.timeout(self.request_timeout):
                await self._connected.wait()
        except TimeoutError:
            raise GatewayClosed("not connected") from None
        if self._ws is None:
            raise GatewayClosed("the session is closed")
        return self._ws

    # -- connection -----------------------------------------------------------------------

    async def _token_value(self) -> str:
        token = self._token
        return token if isinstance(token, str) else await token()

    async def _open(self) -> tuple[ClientConnection, Hello]:
        query = {"token": await self._token_value()}
        if self.device_id is not None:
            query["deviceId"] = self.device_id
        ws = await connect(
            f"{self.url}?{urlencode(query)}",
            additional_headers=self._headers,
            open_timeout=self.open_timeout,
            max_size=2**20,
        )
        try:
            try:
                async with asyncio.timeout(self.open_timeout):
                    raw = await ws.recv()
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else None
                reason = exc.rcvd.reason if exc.rcvd is not None else ""
                raise GatewayClosed(f"closed before hello ({code} {reason})", code=code) from exc
            frame = json.loads(raw)
            if not isinstance(frame, dict) or frame.get("type") != "hello":
                raise GatewayError("invalid_frame", f"expected hello first, got {raw!r:.200}")
        except BaseException:
            await ws.close()
            raise
        return ws, cast(Hello, frame["data"])

    async def _run(self) -> None:
        try:
            while True:
                ws = self._ws
                assert ws is not None
                await self._read(ws)
                self._connected.clear()
                self.close_code = ws.close_code
                self._fail_pending(GatewayClosed(f"connection closed ({ws.close_code})"))
                if self._closing or not self._should_reconnect(ws.close_code):
                    return
                self._publish(
                    Event(DISCONNECTED, {"code": ws.close_code, "reason": ws.close_reason})
                )
                if not await self._reconnect():
                    return
        finally:
            self._finish()

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                self._dispatch(raw)
        except ConnectionClosed:
            pass

    def _dispatch(self, raw: str | bytes) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            log.warning("gateway sent a frame that is not JSON: %.200r", raw)
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            log.warning("gateway sent a frame without a type: %.200r", raw)
            return
        data = frame.get("data")
        event = Event(frame["type"], data if isinstance(data, dict) else {}, frame.get("id"))
        if event.id is not None and event.id in self._pending:
            future = self._pending[event.id]
            if not future.done():
                if event.type == "error":
                    code = str(event.data.get("code", "error"))
                    future.set_exception(GatewayError(code, str(event.data.get("message", ""))))
                else:
                    future.set_result(event)
            return
        if event.type == "hello":
            self._hello = cast(Hello, event.data)
        self._publish(event)

    def _should_reconnect(self, code: int | None) -> bool:
        if not self.reconnect or code == CLOSE_REPLACED:
            return False
        return not (code == CLOSE_BAD_TOKEN and isinstance(self._token, str))

    async def _reconnect(self) -> bool:
        for attempt in itertools.count():
            await asyncio.sleep(self.backoff.delay(attempt))
            if self._closing:
                return False
            try:
                ws, hello = await self._open()
            except (OSError, InvalidHandshake, TimeoutError, GatewayClosed, GatewayError) as exc:
                log.info("gateway reconnect attempt %d failed: %s", attempt + 1, exc)
                continue
            self._ws, self._hello = ws, hello
            self.reconnects += 1
            self._connected.set()
            self._publish(Event("hello", cast(dict[str, Any], hello)))
            return True
        return False  # pragma: no cover - itertools.count() never ends

    def _fail_pending(self, exc: Exception) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)

    def _finish(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._connected.clear()
        self._fail_pending(GatewayClosed("the session is closed"))
        self._publish(Event(CLOSED, {"code": self.close_code}))
        for stream in self._subscribers:
            stream._push(None)
        self._subscribers.clear()
