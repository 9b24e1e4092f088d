"""Bad frames get error frames; the server keeps serving everyone."""

from __future__ import annotations

import json

import pytest
import websockets

from tests.realtime.conftest import Connect, NewUser
from tests.server_process import ServerProcess


@pytest.mark.parametrize(
    ("frame", "code", "frame_id"),
    [
        ("not json", "invalid_frame", None),
        ("[1, 2]", "invalid_frame", None),
        (json.dumps({"data": {}}), "invalid_frame", None),
        (json.dumps({"type": "dance", "id": "7"}), "unknown_type", "7"),
        (
            json.dumps({"type": "signal", "id": "8", "data": {"kind": "offer"}}),
            "invalid_frame",
            "8",
        ),
        (
            json.dumps(
                {
                    "type": "signal",
                    "id": "9",
                    "data": {"callId": "c", "kind": "shout", "payload": {}},
                }
            ),
            "invalid_frame",
            "9",
        ),
        (
            json.dumps({"type": "signal", "data": {"callId": "c", "kind": "offer"}}),
            "invalid_frame",
            None,
        ),
        (json.dumps({"type": "ping", "data": []}), "invalid_frame", None),
    ],
)
async def test_bad_frames_get_errors(
    user: NewUser, connect: Connect, frame: str, code: str, frame_id: str | None
) -> None:
    device = await connect(await user())
    await device.send(frame)
    error = await device.next("error")
    assert error["data"]["code"] == code
    assert error.get("id") == frame_id
    await device.send({"type": "ping", "id": "after"})
    assert await device.next("pong") == {"type": "pong", "data": {}, "id": "after"}


async def test_oversized_frames(user: NewUser, connect: Connect) -> None:
    device = await connect(await user())
    big = json.dumps({"type": "ping", "id": "big", "data": {"pad": "x" * 70_000}})
    await device.send(big)
    error = await device.next("error")
    assert error["data"]["code"] == "payload_too_large" and "id" not in error
    await device.send({"type": "ping"})
    assert (await device.next("pong"))["data"] == {}
    await device.send("x" * (1024 * 1024 + 10))
    if device.reader:
        await device.reader
    assert device.ws.close_code == 1009


async def test_a_flood_is_rate_limited_and_others_are_served(
    user: NewUser, connect: Connect
) -> None:
    flooder, calm = await connect(await user()), await connect(await user())
    for n in range(200):
        await flooder.send({"type": "ping", "id": str(n)})
    frames = [await flooder.next() for _ in range(200)]
    limited = [f for f in frames if f["type"] == "error"]
    assert limited and all(f["data"]["code"] == "rate_limited" for f in limited)
    assert len([f for f in frames if f["type"] == "pong"]) >= 40
    await calm.send({"type": "ping", "id": "calm"})
    assert (await calm.next("pong"))["id"] == "calm"


async def test_bad_token_and_foreign_origin(server: ServerProcess, user: NewUser) -> None:
    async with websockets.connect(f"{server.ws_url}?token=forged") as ws:
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4401
    alice = await user()
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            f"{server.ws_url}?token={alice.token}",
            origin="https://evil.example",  # type: ignore[arg-type]
        )
    assert refused.value.response.status_code == 403
    same_origin = f"http://127.0.0.1:{server.port}"
    async with websockets.connect(
        f"{server.ws_url}?token={alice.token}",
        origin=same_origin,  # type: ignore[arg-type]
    ) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
    async with websockets.connect(
        server.ws_url, additional_headers={"Authorization": f"Bearer {alice.token}"}
    ) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
    async with websockets.connect(f"{server.ws_url}?token={alice.token}&deviceId=bad!") as ws:
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4400


def test_tokens_never_reach_the_log(server: ServerProcess) -> None:
    log = server.log()
    assert "WebSocket /ws?token=[redacted]" in log
    assert "eyJ" not in log
