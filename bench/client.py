"""Lean clients of the contract: keep-alive HTTP/1.1 over asyncio streams and a WebSocket
device that timestamps every frame as it arrives (so the load generator stays cheap)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

Frame = dict[str, Any]
IDLE_RECONNECT_S = 4.0


class HttpError(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:300]!r}")
        self.status = status
        self.body = body


class Http:
    """One keep-alive connection to one server, for one user (requests go one at a time)."""

    def __init__(self, host: str, port: int, token: str | None = None) -> None:
        self._host, self._port = host, port
        self._auth = f"Authorization: Bearer {token}\r\n" if token else ""
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self._used = 0.0

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        return self._reader, self._writer

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """Sends one request; returns the decoded JSON body, raises HttpError past 299."""
        payload = b"" if body is None else orjson.dumps(body)
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n{self._auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        async with self._lock:
            if time.monotonic() - self._used > IDLE_RECONNECT_S:
                await self.close()  # the server drops idle keep-alive connections after 5 s
            reader, writer = await self._connect()
            writer.write(head.encode() + payload)
            try:
                status_line_and_headers = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionResetError) as error:
                if isinstance(error, asyncio.IncompleteReadError) and error.partial:
                    raise
                await self.close()  # closed before it read the request: send it again
                reader, writer = await self._connect()
                writer.write(head.encode() + payload)
                status_line_and_headers = await reader.readuntil(b"\r\n\r\n")
            self._used = time.monotonic()
            lines = status_line_and_headers.split(b"\r\n")
            status = int(lines[0].split()[1])
            length = 0
            for line in lines[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            data = await reader.readexactly(length) if length else b""
        if status >= 300:
            raise HttpError(status, data)
        return orjson.loads(data) if data else None

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


class Device:
    """One WebSocket connection of a user. Frames of the `wanted` types queue with their
    arrival time (perf_counter); `on_signal`, when set, gets signal frames instead."""

    def __init__(self, ws: ClientConnection, hello: Frame, wanted: Iterable[str]) -> None:
        self.ws = ws
        self.hello = hello
        self._wanted = set(wanted)
        self._queues: dict[str, deque[tuple[float, Frame]]] = {t: deque() for t in self._wanted}
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self.on_signal: Callable[[float, Frame], None] | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def connection_id(self) -> str:
        return str(self.hello["data"]["connectionId"])

    @classmethod
    async def connect(
        cls, url: str, token: str, *, wanted: Iterable[str] = (), device_id: str | None = None
    ) -> Device:
        full = f"{url}?token={token}" + (f"&deviceId={device_id}" if device_id else "")
        ws = await websockets.connect(
            full, compression=None, ping_interval=None, max_size=2**21, open_timeout=60
        )
        hello = orjson.loads(await asyncio.wait_for(ws.recv(), 30))
        if hello.get("type") != "hello":
            raise RuntimeError(f"expected hello, got {hello}")
        device = cls(ws, hello, wanted)
        device._reader = asyncio.create_task(device._read())
        return device

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                now = time.perf_counter()
                frame = orjson.loads(message)
                kind = frame.get("type")
                if kind == "signal" and self.on_signal is not None:
                    self.on_signal(now, frame)
                elif kind in self._wanted:
                    self._queues[kind].append((now, frame))
                    waiter = self._waiters.pop(kind, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(None)
        except websockets.ConnectionClosed:
            pass

    async def next(self, kind: str, timeout: float = 10) -> tuple[float, Frame]:
        """The next frame of this type and when it arrived."""
        queue = self._queues[kind]
        async with asyncio.timeout(timeout):
            while not queue:
                waiter = asyncio.get_running_loop().create_future()
                self._waiters[kind] = waiter
                await waiter
        return queue.popleft()

    def clear(self) -> None:
        for queue in self._queues.values():
            queue.clear()

    async def send(self, frame: Frame) -> None:
        await self.ws.send(orjson.dumps(frame).decode())

    async def close(self) -> None:
        await self.ws.close()
        if self._reader is not None:
            await self._reader
