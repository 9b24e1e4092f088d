"""uvicorn's WebSocket protocol (websockets sans-I/O), leaner for many long-lived sockets.

`switchboard serve` runs uvicorn with this class (uvicorn is pinned: it extends uvicorn
0.54's `WebSocketsSansIOProtocol`, and `tests/realtime/test_wsprotocol.py` holds it to that).
It changes three things and keeps every other behaviour of the parent:

- frames received wait in a plain deque with at most one waiting future, instead of an
  `asyncio.Queue` (three deques and its own bookkeeping per socket);
- the handshake's request and response are let go once the socket is accepted (including
  the request that the sans-I/O parser's suspended generator would otherwise keep);
- the application may write text frames at once, several in one write, through the
  `switchboard.send_now` ASGI extension (`scope["extensions"]["switchboard.send_now"]["send"]`):
  `send(texts)` returns False (and sends nothing)
  when the frames cannot go out without waiting, and the application then uses `send`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from uvicorn._types import ASGIReceiveEvent, ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.protocol import Protocol, State

SEND_NOW_EXTENSION = "switchboard.send_now"
SendNow = Callable[[list[str]], bool]


class _Inbox:
    """What uvicorn's protocol needs of its receive queue: `put_nowait`, `get`, `empty`."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        # A list (56 bytes empty; a deque allocates a 0.5 KiB block): it holds a few messages
        # at most, as reading pauses once one waits.
        self._items: list[ASGIReceiveEvent] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: ASGIReceiveEvent) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def get(self) -> ASGIReceiveEvent:
        while not self._items:
            if self._waiter is not None:
                raise RuntimeError("receive() is already awaited")  # one reader, as in ASGI
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        if self.handshake_complete:  # refused by the handshake itself: no application runs
            return
        conn = self.conn
        if not conn.reader.buffer:
            # The handshake parser's suspended frame holds the request for the socket's life:
            # go on with the frame parser alone. uvicorn hands over exactly the request's
            # bytes, so no frame has begun (the check is for any other caller).
            conn.parser = Protocol.parse(conn)
            next(conn.parser)
        extensions = self.scope["extensions"]
        if extensions is not None:  # an ASGI extension's value is a dict
            extensions[SEND_NOW_EXTENSION] = {"send": self.send_now}

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if self.handshake_complete:
            # Accepted (or refused): the handshake's request and response are not needed.
            self.request = self.response = None  # type: ignore[assignment]

    def send_now(self, texts: list[str]) -> bool:
        """Writes the text frames in one write if that needs no waiting; False otherwise."""
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.initial_response is not None
            or not self.writable.is_set()
            or self.conn.state is not State.OPEN
        ):
            return False
        try:
            for text in texts:
                self.conn.send_text(text.encode())
        except InvalidState:  # pragma: no cover - the state was checked just above
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True
