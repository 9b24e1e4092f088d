"""WebSocket fuzzing against a real server process: malformed frames, floods, slow readers.

While one client sends random and malformed frames (random bytes, huge frames, deeply nested
JSON, wrong types, odd unicode), another floods, and a third never reads while events are pushed
to it, the server keeps serving others: a healthy client's ping gets its pong and a call between
two healthy users goes through. The server's resident memory (VmRSS) stays within a generous
bound. `FUZZ_WS_FRAMES` (default 300) sets how many random frames are sent; see docs/testing.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import string
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.realtime.peer import Device, User, new_user
from tests.server_process import ServerProcess

FUZZ_WS_FRAMES = int(os.environ.get("FUZZ_WS_FRAMES", "300"))
pytestmark = pytest.mark.timeout(max(600, FUZZ_WS_FRAMES))
SEED = int(os.environ.get("FUZZ_SEED", "20261125"))
# Growth of the server's RSS over the whole test: generous (the slow reader alone may hold up
# to its outbox of frames before it is dropped), yet far below what unbounded buffering takes.
RSS_GROWTH_LIMIT_MB = 200
# Frames over 1 MiB may be refused by closing the connection (API.md).
CLOSE_CODES = {1009}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    process = ServerProcess(
        tmp_path,
        # High enough that a flood fills the slow reader quickly, low enough to be hit.
        WS_FRAME_RATE_PER_SECOND="2000",
        WS_FRAME_BURST="500",
        WS_CONNECTIONS_PER_USER="100000",
        WS_MAX_CONNECTIONS_PER_USER="1000",
        REGISTRATIONS_PER_ADDRESS="100000",
        CALL_INITIATIONS_PER_USER="100000",
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


def _random_text(rng: random.Random, size: int) -> str:
    alphabet = string.printable + "ÄßΩ漢字🙂\u200b\ufeff\u202e\x00\x7f"
    return "".join(rng.choice(alphabet) for _ in range(size))


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(9 if depth < 4 else 6)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([True, False])
    if pick == 2:
        return rng.choice([0, -1, 2**63, -(2**70), 1e308, -0.0, rng.random()])
    if pick in (3, 4, 5):
        return _random_text(rng, rng.randrange(0, 40))
    if pick in (6, 7):
        return {
            rng.choice(
                ["type", "data", "id", "callId", "kind", "payload", "from", _random_text(rng, 5)]
            ): _random_json(rng, depth + 1)
            for _ in range(rng.randrange(0, 5))
        }
    return [_random_json(rng, depth + 1) for _ in range(rng.randrange(0, 5))]


def malformed_frame(rng: random.Random, call_id: str) -> str | bytes:
    """One frame a broken or hostile client might send."""
    kind = rng.randrange(14)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 2048))
    if kind == 1:
        return _random_text(rng, rng.randrange(0, 300))
    if kind == 2:
        depth = rng.choice([100, 1_000, 5_000, 50_000])
        return "[" * depth + "]" * depth
    if kind == 3:
        depth = rng.choice([1_000, 20_000])
        return '{"a":' * depth + "1" + "}" * depth
    if kind == 4:
        return json.dumps(
            {
                "type": "signal",
                "data": {
                    "callId": call_id,
                    "kind": "offer",
                    "payload": "x" * rng.choice([70_000, 200_000]),
                },
            }
        )
    if kind == 5:
        return "x" * rng.choice([65_537, 900_000])
    if kind == 6:
        return json.dumps(_random_json(rng))
    if kind == 7:
        frame = {"type": _random_json(rng), "data": _random_json(rng), "id": _random_json(rng)}
        return json.dumps(frame)
    if kind == 8:
        data = {
            "callId": rng.choice([call_id, "", "nope", 5, None, ["x"]]),
            "kind": rng.choice(["offer", "answer", "ice-candidate", "bogus", 7, None]),
            "payload": _random_json(rng),
        }
        return json.dumps({"type": "signal", "data": data, "id": _random_text(rng, 8)})
    if kind == 9:
        return '{"type": "ping", "data": {}, "id": "\\ud800"}'  # a lone surrogate
    if kind == 10:
        return '{"type": "ping", "data": NaN, "id": 1e999999}'
    if kind == 11:
        return '{"type": "ping", "type": "signal", "data": {}, "data": []}'
    if kind == 12:
        return json.dumps({"type": "ping" * rng.randrange(1, 5000), "data": {}})
    return json.dumps(
        {
            "type": "signal",
            "from": "someone-else",
            "data": {
                "callId": call_id,
                "kind": "media-state",
                "payload": {"audio": True, "video": False},
            },
        }
    )


async def healthy(server: ServerProcess, a: User, b: User, device_a: Device) -> None:
    """A ping gets its pong, and a whole call between two healthy users works."""
    await device_a.send({"type": "ping", "id": "health", "data": {}})
    pong = await device_a.until("pong", timeout=10)
    assert pong.get("id") == "health", pong
    device_b = await Device.connect(server, b)
    try:
        call = await a.initiate(b, "audio")
        incoming = await device_b.until("call.incoming", timeout=10)
        assert incoming["data"]["call"]["id"] == call["id"]
        await b.patch(call["id"], "answer", {"accept": True})
        answered = await device_a.until("call.answered", timeout=10)
        assert answered["data"]["call"]["id"] == call["id"]
        await device_a.signal(call["id"], "offer", {"type": "offer", "sdp": "v=0"}, "sig")
        relayed = await device_b.until("signal", timeout=10)
        assert relayed["data"]["payload"] == {"type": "offer", "sdp": "v=0"}
        ended = await a.patch(call["id"], "end")
        assert ended["status"] == "ended"
        await device_b.until("call.ended", timeout=10)
        await device_a.until("call.ended", timeout=10)
    finally:
        await device_b.close()


async def fuzz_connection(
    server: ServerProcess, user: User, call_id: str, rng: random.Random, frames: int
) -> dict[str, int]:
    """Sends malformed frames, reconnecting when the server closes for a frame over 1 MiB;
    every frame answered gets an `error` (or a pong/ack), and the socket is never dropped for
    anything else."""
    seen: dict[str, int] = {}
    url = f"{server.ws_url}?token={user.token}"
    ws: ClientConnection = await websockets.connect(url, compression=None, max_size=2**22)
    try:
        assert json.loads(await ws.recv())["type"] == "hello"
        for index in range(frames):
            frame = malformed_frame(rng, call_id)
            try:
                await ws.send(frame)
                # Every few frames, a ping shows that the connection still serves this client.
                if index % 10 == 9:
                    await ws.send(json.dumps({"type": "ping", "id": f"p{index}", "data": {}}))
                    async with asyncio.timeout(15):
                        while True:
                            reply = json.loads(await ws.recv())
                            seen[reply["type"]] = seen.get(reply["type"], 0) + 1
                            if reply["type"] == "pong" and reply.get("id") == f"p{index}":
                                break
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                assert code in CLOSE_CODES, f"closed with {code} after {frame[:200]!r}"
                seen[f"closed-{code}"] = seen.get(f"closed-{code}", 0) + 1
                ws = await websockets.connect(url, compression=None, max_size=2**22)
                assert json.loads(await ws.recv())["type"] == "hello"
    finally:
        await ws.close()
    return seen


async def flood(server: ServerProcess, user: User, count: int) -> None:
    """Frames as fast as the socket takes them, never reading the answers."""
    ws = await websockets.connect(f"{server.ws_url}?token={user.token}", compression=None)
    try:
        for index in range(count):
            await ws.send(json.dumps({"type": "ping", "id": str(index), "data": {}}))
    except websockets.ConnectionClosed:
        pass  # dropped as a slow reader: the server protected itself
    finally:
        await ws.close()


async def read_until_closed(ws: ClientConnection) -> tuple[int, int | None]:
    """How many frames arrive before the server closes, and its close code."""
    received = 0
    try:
        async with asyncio.timeout(60):
            while True:
                await ws.recv()
                received += 1
    except websockets.ConnectionClosed as closed:
        return received, closed.rcvd.code if closed.rcvd else None


SLOW_READER_FRAMES = 1500  # more than a connection's outbox holds (1024 frames)


async def push_to_slow_reader(
    server: ServerProcess, pusher: User, slow: User, while_stuck: Callable[[], Awaitable[None]]
) -> None:
    """`slow` connects and stops reading; `pusher` rings it and sends it large signals (before
    the answer they reach every receiver device). The server must not keep them all: when the
    slow client reads again it gets at most an outbox of frames, then close 1013."""
    ws = await websockets.connect(
        f"{server.ws_url}?token={slow.token}&deviceId=slowreader", compression=None, max_queue=1
    )
    sender = await Device.connect(server, pusher)
    try:
        call = await pusher.initiate(slow, "video")
        payload = {"type": "offer", "sdp": "a" * 30_000}
        frame = {
            "type": "signal",
            "data": {"callId": call["id"], "kind": "offer", "payload": payload},
        }
        for index in range(SLOW_READER_FRAMES):
            await sender.send(frame)
            if index % 400 == 399:
                await sender.send({"type": "ping", "id": f"paced{index}", "data": {}})
                # Generous: 12 MB of signals queue ahead of the pong on a shared machine.
                await sender.until("pong", timeout=60)
                # A fresh connection's bucket holds 500 frames (2000/s): 400 + the ping fit.
                # Let it refill before the next 400, or the next ping would be dropped.
                await asyncio.sleep(400 / 2000 + 0.05)
        await while_stuck()  # others are served while the slow reader is stuck
        received, code = await read_until_closed(ws)
        assert code == 1013, code
        assert received < SLOW_READER_FRAMES, received
        await pusher.patch(call["id"], "end")
    finally:
        await sender.close()
        await ws.close()


async def test_gateway_survives_fuzzing(server: ServerProcess) -> None:
    assert server.process is not None
    pid = server.process.pid
    rng = random.Random(SEED)
    a, b, fuzzer, flooder, pusher, slow = [await new_user(server) for _ in range(6)]
    device_a = await Device.connect(server, a)
    try:
        await healthy(server, a, b, device_a)  # warm: the first call loads what calls need
        before = rss_mb(pid)

        # A call of the fuzzer's, so that signal frames name a real call too.
        call = await fuzzer.initiate(b, "video")
        seen = await fuzz_connection(server, fuzzer, call["id"], rng, FUZZ_WS_FRAMES)
        assert seen.get("error", 0) > 0, seen
        await fuzzer.patch(call["id"], "end")
        await healthy(server, a, b, device_a)

        flooding = asyncio.create_task(flood(server, flooder, 20_000))
        await push_to_slow_reader(server, pusher, slow, lambda: healthy(server, a, b, device_a))
        await flooding
        await healthy(server, a, b, device_a)

        after = rss_mb(pid)
        assert after - before < RSS_GROWTH_LIMIT_MB, f"RSS {before:.0f} -> {after:.0f} MB"
        assert server.process.poll() is None, server.log()
        assert "Traceback" not in server.log(), server.log()[-5000:]
    finally:
        await device_a.close()
        for user in (a, b, fuzzer, flooder, pusher, slow):
            await user.http.aclose()
