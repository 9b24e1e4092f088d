"""A plain WebSocket client of the contract, for gateway tests (independent of the SDK)."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from tests.server_process import ServerProcess

Frame = dict[str, Any]


@dataclass
class User:
    id: str
    username: str
    token: str
    http: httpx.AsyncClient

    async def initiate(self, receiver: User, call_type: str = "video", **extra: Any) -> Frame:
        body = {"receiverId": receiver.id, "callType": call_type, **extra}
        response = await self.http.post("/calls/initiate", json=body)
        assert response.status_code == 201, response.text
        call: Frame = response.json()["call"]
        return call

    async def patch(self, call_id: str, action: str, body: Frame | None = None) -> Frame:
        response = await self.http.patch(f"/calls/{call_id}/{action}", json=body)
        assert response.status_code == 200, response.text
        call: Frame = response.json()["call"]
        return call

    async def get_call(self, call_id: str) -> Frame:
        call: Frame = (await self.http.get(f"/calls/{call_id}")).json()["call"]
        return call


async def new_user(server: ServerProcess, name: str | None = None) -> User:
    username = name or f"u{uuid.uuid4().hex[:10]}"
    http = httpx.AsyncClient(base_url=server.url, timeout=10)
    response = await http.post(
        "/auth/register", json={"username": username, "password": "password123"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    http.headers["Authorization"] = f"Bearer {body['accessToken']}"
    return User(id=body["user"]["id"], username=username, token=body["accessToken"], http=http)


@dataclass
class Device:
    ws: ClientConnection
    hello: Frame
    frames: asyncio.Queue[Frame] = field(default_factory=asyncio.Queue)
    reader: asyncio.Task[None] | None = None

    @property
    def connection_id(self) -> str:
        return str(self.hello["data"]["connectionId"])

    @classmethod
    async def connect(
        cls, server: ServerProcess, user: User, device_id: str | None = None
    ) -> Device:
        url = f"{server.ws_url}?token={user.token}"
        if device_id:
            url += f"&deviceId={device_id}"
        ws = await websockets.connect(url, compression=None, max_size=2**21)
        hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert hello["type"] == "hello", hello
        device = cls(ws=ws, hello=hello)
        device.reader = asyncio.create_task(device._read())
        return device

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                await self.frames.put(json.loads(message))
        except websockets.ConnectionClosed:
            pass

    async def send(self, frame: Frame | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def next(self, frame_type: str | None = None, timeout: float = 5) -> Frame:
        """The next frame (of this type, skipping presence frames when a type is given)."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.frames.get()
                if frame_type is None or frame["type"] == frame_type:
                    return frame
                if frame["type"] != "presence":
                    raise AssertionError(f"expected {frame_type}, got {frame}")

    async def until(self, frame_type: str, timeout: float = 5) -> Frame:
        """The next frame of this type, whatever comes before it."""
        async with asyncio.timeout(timeout):
            while (frame := await self.frames.get())["type"] != frame_type:
                pass
            return frame

    async def call_events(self, seconds: float) -> list[Frame]:
        """Every non-presence frame that arrives within `seconds`."""
        seen: list[Frame] = []
        try:
            async with asyncio.timeout(seconds):
                while True:
                    frame = await self.frames.get()
                    if frame["type"] != "presence":
                        seen.append(frame)
        except TimeoutError:
            return seen

    async def signal(self, call_id: str, kind: str, payload: Any, frame_id: str = "s") -> Frame:
        await self.send(
            {
                "type": "signal",
                "id": frame_id,
                "data": {"callId": call_id, "kind": kind, "payload": payload},
            }
        )
        return await self.next()

    async def close(self) -> None:
        await self.ws.close()
        if self.reader:
            await self.reader
