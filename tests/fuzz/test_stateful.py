"""A Hypothesis state machine: users and their devices make random moves through the real API.

Uvicorn serves `create_app(settings, clock=ManualClock)` on a free loopback port, in an event
loop on a background thread, so that real WebSockets connect. Rules: initiate, answer, reject,
end (cancel, hang up), delete, connect, disconnect, reconnect (the same deviceId), and time
passing (the manual clock, then one `sweep_once()`: no sleeps). A model of the contract predicts
every answer, and after every step:

- each live device got exactly the call events the contract lists for the status changes of the
  step, in order (a ping/pong barrier closes each step's frames; presence frames are not call
  events and are left out);
- nobody is in two non-terminal calls (`/calls/active`, history of ringing and answered calls);
- a terminal call never changes; `version` only grows and is the model's; durations are whole,
  not negative and the model's;
- history, missed count and stats are the model's.

`STATEFUL_EXAMPLES` and `STATEFUL_STEPS` bound the run (see docs/testing.md).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import socket
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
import pytest
import uvicorn
import websockets
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from websockets.asyncio.client import ClientConnection

from switchboard.app import create_app
from switchboard.clock import ManualClock
from switchboard.realtime.connections import Registry
from tests.conftest import make_settings

STATEFUL_EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "6"))
STATEFUL_STEPS = int(os.environ.get("STATEFUL_STEPS", "30"))
# A step takes well under a second; a busy machine gets plenty of room.
pytestmark = pytest.mark.timeout(max(900, STATEFUL_EXAMPLES * STATEFUL_STEPS * 2))

RING_TIMEOUT = 45
GRACE = 30
MAX_CALL = 600
USERS = 3
DEVICES = 2  # device slots per user
TERMINAL = frozenset({"rejected", "missed", "ended"})
EVENT_OF_STATUS = {
    "answered": "call.answered",
    "rejected": "call.rejected",
    "missed": "call.missed",
    "ended": "call.ended",
}
# Who acts on a picked call: mostly the receiver (answers, declines), sometimes an outsider.
ROLES = st.sampled_from(["receiver", "receiver", "caller", "other"])
T = TypeVar("T")
Frame = dict[str, Any]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _until(condition: Callable[[], bool], seconds: float = 5) -> None:
    """Polls a condition of this process (the server's state, frames read so far)."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - state of other tasks, no event to wait on
            await asyncio.sleep(0.005)


class Server:
    """Uvicorn in-process on its own event loop thread; `run()` submits a coroutine to it."""

    def __init__(self, tmp_path: Path, sqlite_template: Path) -> None:
        database = tmp_path / "switchboard.db"
        shutil.copy(sqlite_template, database)
        self.clock = ManualClock()
        settings = make_settings(
            f"sqlite+aiosqlite:///{database}",
            tmp_path,
            ring_timeout_seconds=RING_TIMEOUT,
            call_grace_seconds=GRACE,
            max_call_seconds=MAX_CALL,
            # The test sweeps by itself, after moving the clock: the background sweeper sleeps.
            sweep_interval_seconds=3600,
            ws_heartbeat_seconds=3600,
        )
        self.app: FastAPI = create_app(settings, clock=self.clock)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host="127.0.0.1",
                port=self.port,
                ws="websockets-sansio",
                log_level="warning",
                lifespan="on",
            )
        )
        self.serving: Future[None] | None = None
        self.http: httpx.AsyncClient | None = None

    def start(self) -> None:
        self.thread.start()
        self.serving = asyncio.run_coroutine_threadsafe(self.server.serve(), self.loop)
        self.run(self._wait_started())

    async def _wait_started(self) -> None:
        await _until(lambda: self.server.started, 20)
        self.http = httpx.AsyncClient(base_url=self.url, timeout=10)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        async def close() -> None:
            if self.http is not None:
                await self.http.aclose()
            self.server.should_exit = True

        self.run(close())
        if self.serving is not None:
            self.serving.result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    @property
    def registry(self) -> Registry:
        registry: Registry = self.app.state.registry
        return registry

    async def sweep(self) -> None:
        await self.app.state.services.sweeper.sweep_once()


@dataclass
class Device:
    user: int
    slot: int
    device_id: str
    ws: ClientConnection
    hello: Frame
    frames: list[Frame] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None
    barrier: int = 0

    async def read(self) -> None:
        try:
            async for message in self.ws:
                self.frames.append(json.loads(message))
        except websockets.ConnectionClosed:
            pass

    async def step_frames(self) -> list[Frame]:
        """Every frame since the last call, up to a pong that closes them (per-connection order
        is kept, so every event published before the ping arrived before the pong)."""
        self.barrier += 1
        ping_id = f"barrier-{self.barrier}"
        await self.ws.send(json.dumps({"type": "ping", "id": ping_id, "data": {}}))
        await _until(
            lambda: any(f.get("type") == "pong" and f.get("id") == ping_id for f in self.frames)
        )
        index = next(
            i
            for i, f in enumerate(self.frames)
            if f.get("type") == "pong" and f.get("id") == ping_id
        )
        taken, self.frames = self.frames[:index], self.frames[index + 1 :]
        return taken


@dataclass
class ModelCall:
    id: str
    caller: int
    receiver: int
    call_type: str
    started: float
    caller_device: str | None
    caller_watched: bool
    receiver_watched: bool
    status: str = "initiated"
    version: int = 1
    end_reason: str | None = None
    ended_by: int | None = None
    answered: float | None = None
    ended: float | None = None
    receiver_device: str | None = None
    caller_lost: float | None = None
    receiver_lost: float | None = None
    deleted_by: set[int] = field(default_factory=set)
    snapshot: Frame | None = None  # the call as it became terminal

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def duration(self) -> int:
        if self.answered is None or self.ended is None:
            return 0
        return math.floor(self.ended - self.answered)

    def of(self, user: int) -> bool:
        return user in (self.caller, self.receiver)


def _stable(call: Frame) -> Frame:
    """A call without what may change as the participants come and go (their `online`)."""
    return {
        **{k: v for k, v in call.items() if k not in {"caller", "receiver", "direction"}},
        "caller": call["caller"]["id"],
        "receiver": call["receiver"]["id"],
    }


class CallMachine(RuleBasedStateMachine):
    server: ClassVar[Server]

    def __init__(self) -> None:
        super().__init__()
        # Each example starts at the real time again: tokens carry the clock's `iat`, which
        # PyJWT checks against the real time (calls of earlier examples, of other users, stay).
        clock = self.server.clock
        clock.advance((datetime.now(UTC) - clock.now()).total_seconds())
        self.now = 0.0  # seconds of the manual clock since this example started
        self.users: list[tuple[str, str]] = [self._register() for _ in range(USERS)]
        self.devices: dict[tuple[int, int], Device] = {}
        self.calls: list[ModelCall] = []
        self.expected: dict[tuple[int, int], list[tuple[str, str, str, int, Any]]] = {}

    # -- plumbing -----------------------------------------------------------------------------

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.server.run(coroutine)

    def _register(self) -> tuple[str, str]:
        async def register() -> tuple[str, str]:
            assert self.server.http is not None
            response = await self.server.http.post(
                "/auth/register",
                json={"username": f"sm{uuid.uuid4().hex[:12]}", "password": "password123"},
            )
            assert response.status_code == 201, response.text
            body = response.json()
            return body["user"]["id"], body["accessToken"]

        return self._run(register())

    def _request(
        self, user: int, method: str, path: str, body: Frame | None = None, **params: Any
    ) -> httpx.Response:
        async def send() -> httpx.Response:
            assert self.server.http is not None
            return await self.server.http.request(
                method,
                path,
                json=body,
                params=params or None,
                headers={"Authorization": f"Bearer {self.users[user][1]}"},
            )

        return self._run(send())

    def _uid(self, user: int) -> str:
        return self.users[user][0]

    def _active(self, user: int) -> ModelCall | None:
        active = [c for c in self.calls if c.of(user) and not c.terminal]
        assert len(active) <= 1, "the model put someone in two calls"
        return active[0] if active else None

    def _find(self, call_id: str) -> ModelCall:
        return next(c for c in self.calls if c.id == call_id)

    def _expect_event(self, call: ModelCall, connection_id: str | None = None) -> None:
        """Queues the frames the contract lists for this status change, on every device."""
        for user in (call.caller, call.receiver):
            if call.status == "initiated":
                kind = "call.initiated" if user == call.caller else "call.incoming"
            else:
                kind = EVENT_OF_STATUS[call.status]
            for (owner, slot), _ in self.devices.items():
                if owner == user:
                    item = (kind, call.id, call.status, call.version, connection_id)
                    self.expected.setdefault((owner, slot), []).append(item)

    def _change(
        self,
        call: ModelCall,
        status: str,
        *,
        reason: str | None = None,
        by: int | None = None,
        connection_id: str | None = None,
    ) -> None:
        call.status = status
        call.version += 1
        if status == "answered":
            call.answered = self.now
            call.receiver_device = connection_id
        else:
            call.end_reason = reason
            call.ended_by = by
            call.ended = self.now
        self._expect_event(call, connection_id)

    def _check_call(self, user: int, call: ModelCall, wire: Frame) -> None:
        assert wire["id"] == call.id and wire["_id"] == call.id
        assert wire["status"] == call.status, (wire, call)
        assert wire["version"] == call.version, (wire, call)
        assert wire["endReason"] == call.end_reason, (wire, call)
        assert wire["endedBy"] == (None if call.ended_by is None else self._uid(call.ended_by))
        assert wire["direction"] == ("outgoing" if user == call.caller else "incoming")
        assert isinstance(wire["duration"], int) and wire["duration"] >= 0
        assert wire["duration"] == call.duration, (wire, call)
        if call.terminal:
            if call.snapshot is None:
                call.snapshot = _stable(wire)
            assert _stable(wire) == call.snapshot, "a terminal call changed"

    # -- rules --------------------------------------------------------------------------------

    @rule(
        caller=st.integers(0, USERS - 1),
        offset=st.integers(1, USERS - 1),
        call_type=st.sampled_from(["audio", "video"]),
        slot=st.sampled_from([None, *range(DEVICES)]),
    )
    def initiate(self, caller: int, offset: int, call_type: str, slot: int | None) -> None:
        receiver = (caller + offset) % USERS
        device = self.devices.get((caller, slot)) if slot is not None else None
        body: Frame = {"receiverId": self._uid(receiver), "callType": call_type}
        if device is not None:
            body["connectionId"] = device.device_id
        response = self._request(caller, "POST", "/calls/initiate", body)
        if self._active(caller) is not None:
            assert response.status_code == 409 and response.json()["code"] == "caller_busy"
            return
        if self._active(receiver) is not None:
            assert response.status_code == 409 and response.json()["code"] == "user_busy"
            return
        assert response.status_code == 201, response.text
        wire = response.json()["call"]
        online = {user for user, _ in self.devices}
        call = ModelCall(
            id=wire["id"],
            caller=caller,
            receiver=receiver,
            call_type=call_type,
            started=self.now,
            caller_device=device.device_id if device else None,
            caller_watched=caller in online,
            receiver_watched=receiver in online,
        )
        self.calls.append(call)
        self._expect_event(call)
        self._check_call(caller, call, wire)

    def _pick(self, pick: int, role: str) -> tuple[ModelCall, int]:
        """A call (mostly a live one) and who acts on it: a participant, mostly."""
        live = [c for c in self.calls if not c.terminal]
        pool = live if live and pick % 4 else self.calls
        call = pool[pick % len(pool)]
        if role == "caller":
            return call, call.caller
        if role == "receiver":
            return call, call.receiver
        return call, next(u for u in range(USERS) if not call.of(u))

    @precondition(lambda self: self.calls)
    @rule(
        pick=st.integers(0, 100),
        role=ROLES,
        accept=st.booleans(),
        slot=st.sampled_from([None, *range(DEVICES)]),
    )
    def answer(self, pick: int, role: str, accept: bool, slot: int | None) -> None:
        call, user = self._pick(pick, role)
        device = self.devices.get((user, slot)) if slot is not None else None
        body: Frame = {"accept": accept}
        if device is not None:
            body["connectionId"] = device.device_id
        response = self._request(user, "PATCH", f"/calls/{call.id}/answer", body)
        if not call.of(user) or (call.terminal and user in call.deleted_by):
            assert response.status_code == 404, response.text
            assert response.json()["code"] == "call_not_found"
        elif call.status != "initiated":
            assert response.status_code == 409, response.text
        elif user == call.caller:
            assert response.status_code == 403, response.text
        else:
            assert response.status_code == 200, response.text
            if accept:
                self._change(call, "answered", connection_id=body.get("connectionId"))
            else:
                self._change(call, "rejected", reason="rejected", by=user)
            self._check_call(user, call, response.json()["call"])

    @precondition(lambda self: self.calls)
    @rule(
        pick=st.integers(0, 100), role=st.sampled_from(["receiver", "receiver", "caller", "other"])
    )
    def end(self, pick: int, role: str) -> None:
        """Cancel (the caller, ringing), reject (the receiver, ringing) or hang up."""
        call, user = self._pick(pick, role)
        response = self._request(user, "PATCH", f"/calls/{call.id}/end")
        if not call.of(user) or (call.terminal and user in call.deleted_by):
            assert response.status_code == 404, response.text
            return
        assert response.status_code == 200, response.text
        if call.status == "initiated" and user == call.caller:
            self._change(call, "missed", reason="cancelled", by=user)
        elif call.status == "initiated":
            self._change(call, "rejected", reason="rejected", by=user)
        elif call.status == "answered":
            self._change(call, "ended", reason="hangup", by=user)
        self._check_call(user, call, response.json()["call"])

    @precondition(lambda self: self.calls)
    @rule(
        pick=st.integers(0, 100), role=st.sampled_from(["receiver", "receiver", "caller", "other"])
    )
    def delete(self, pick: int, role: str) -> None:
        call, user = self._pick(pick, role)
        response = self._request(user, "DELETE", f"/calls/{call.id}")
        if not call.of(user) or user in call.deleted_by:
            assert response.status_code == 404, response.text
        elif not call.terminal:
            assert response.status_code == 409 and response.json()["code"] == "call_active"
        else:
            assert response.status_code == 200, response.text
            call.deleted_by.add(user)

    @rule(user=st.integers(0, USERS - 1), slot=st.integers(0, DEVICES - 1))
    def connect(self, user: int, slot: int) -> None:
        """Connects the device, or reconnects it (the same deviceId replaces the live one)."""
        key = (user, slot)
        device_id = f"dev-{self.users[user][0][-8:]}-{slot}"
        old = self.devices.pop(key, None)
        url = f"ws://127.0.0.1:{self.server.port}/ws?token={self.users[user][1]}"

        async def open_device() -> Device:
            ws = await websockets.connect(f"{url}&deviceId={device_id}", compression=None)
            hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
            device = Device(user=user, slot=slot, device_id=device_id, ws=ws, hello=hello)
            device.reader = asyncio.create_task(device.read())
            if old is not None:
                assert old.reader is not None
                await asyncio.wait_for(old.reader, 5)
                assert old.ws.close_code == 4409, old.ws.close_code
            return device

        device = self._run(open_device())
        if old is not None:
            leftover = [f for f in old.frames if f["type"] != "presence"]
            assert not leftover, f"frames after the last step: {leftover}"
        assert device.hello["type"] == "hello", device.hello
        assert device.hello["data"]["connectionId"] == device_id
        active = self._active(user)
        hello_call = device.hello["data"]["activeCall"]
        if active is None:
            assert hello_call is None, hello_call
        else:
            self._check_call(user, active, hello_call)
        self.devices[key] = device

    @precondition(lambda self: self.devices)
    @rule(pick=st.integers(0, 100))
    def disconnect(self, pick: int) -> None:
        keys = sorted(self.devices)
        device = self.devices.pop(keys[pick % len(keys)])

        async def close() -> None:
            await device.ws.close()
            if device.reader is not None:
                await device.reader
            # Gone from the server too, before the next sweep looks.
            await _until(
                lambda: self.server.registry.get(self._uid(device.user), device.device_id) is None
            )

        self._run(close())
        self.expected.pop((device.user, device.slot), None)

    @rule(seconds=st.sampled_from([1, 5, 16, 29, 31, 46, MAX_CALL + 1]))
    def time_passes(self, seconds: int) -> None:
        self.server.clock.advance(seconds)
        self.now += seconds
        self._run(self.server.sweep())
        self._model_sweep()

    def _live(self, user: int, device_id: str | None) -> bool:
        if device_id is None:
            return any(owner == user for owner, _ in self.devices)
        return any(d.user == user and d.device_id == device_id for d in self.devices.values())

    def _model_sweep(self) -> None:
        """The sweeper's rules: ring timeout, maximum length, then grace from lost connections
        (a side is watched once it has been seen live; its loss is noted by a sweep)."""
        for call in [c for c in self.calls if not c.terminal]:
            if call.status == "initiated" and call.started + RING_TIMEOUT <= self.now:
                self._change(call, "missed", reason="timeout")
                continue
            if call.answered is not None and self.now - call.answered >= MAX_CALL:
                self._change(call, "ended", reason="max_duration")
                continue
            sides: list[tuple[bool, float | None]] = []
            for user, device, watched, lost in (
                (call.caller, call.caller_device, call.caller_watched, call.caller_lost),
                (call.receiver, call.receiver_device, call.receiver_watched, call.receiver_lost),
            ):
                if self._live(user, device):
                    sides.append((True, None))
                elif not watched:
                    sides.append((False, None))
                else:
                    sides.append((True, lost if lost is not None else self.now))
            (call.caller_watched, call.caller_lost), (call.receiver_watched, call.receiver_lost) = (
                sides
            )
            watched_sides = sides if call.status == "answered" else sides[:1]
            if any(lost is not None and self.now - lost >= GRACE for _, lost in watched_sides):
                status = "missed" if call.status == "initiated" else "ended"
                self._change(call, status, reason="connection_lost")

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def events_reached_exactly_the_right_connections(self) -> None:
        devices = list(self.devices.values())

        async def collect() -> list[list[Frame]]:
            return list(await asyncio.gather(*(d.step_frames() for d in devices)))

        for device, frames in zip(devices, self._run(collect()), strict=True):
            got = [f for f in frames if f["type"] != "presence"]
            expected = self.expected.pop((device.user, device.slot), [])
            assert len(got) == len(expected), (device.device_id, got, expected)
            for frame, (kind, call_id, status, version, connection_id) in zip(
                got, expected, strict=True
            ):
                assert frame["type"] == kind, (frame, kind)
                call = frame["data"]["call"]
                assert (call["id"], call["status"], call["version"]) == (
                    call_id,
                    status,
                    version,
                ), frame
                self._check_call(device.user, self._find(call_id), call)
                if kind == "call.answered":
                    assert frame["data"]["connectionId"] == connection_id, frame
        assert not self.expected, f"events for devices that are gone: {self.expected}"

    @invariant()
    def rest_agrees_with_the_model(self) -> None:
        for user in range(USERS):
            active = self._active(user)
            response = self._request(user, "GET", "/calls/active")
            assert response.status_code == 200, response.text
            got = response.json()["call"]
            if active is None:
                assert got is None, got
            else:
                self._check_call(user, active, got)
            history = self._request(user, "GET", "/calls/history", limit=100).json()
            mine = [c for c in self.calls if c.of(user) and user not in c.deleted_by]
            calls = history["calls"]
            assert history["pagination"]["total"] == len(mine)
            assert {c["id"] for c in calls} == {c.id for c in mine}
            assert [c["startedAt"] for c in calls] == sorted(
                (c["startedAt"] for c in calls), reverse=True
            ), "history is newest first"
            assert sum(1 for c in calls if c["status"] not in TERMINAL) <= 1, "two calls at once"
            for wire in calls:
                self._check_call(user, self._find(wire["id"]), wire)
            missed = self._request(user, "GET", "/calls/missed/count").json()["count"]
            assert missed == sum(1 for c in mine if c.status == "missed" and c.receiver == user)
            self._check_stats(user, mine)

    def _check_stats(self, user: int, mine: list[ModelCall]) -> None:
        stats = self._request(user, "GET", "/calls/stats/summary").json()["stats"]
        answered = [c for c in mine if c.answered is not None]
        total_duration = sum(c.duration for c in mine)
        expected = {
            "total": len(mine),
            "outgoing": sum(1 for c in mine if c.caller == user),
            "incoming": sum(1 for c in mine if c.receiver == user),
            "answered": len(answered),
            "missed": sum(1 for c in mine if c.status == "missed" and c.receiver == user),
            "rejected": sum(1 for c in mine if c.status == "rejected"),
            "totalDuration": total_duration,
            "byType": {
                kind: sum(1 for c in mine if c.call_type == kind) for kind in ("audio", "video")
            },
        }
        average = stats.pop("averageDuration")
        assert stats == expected, (stats, expected)
        assert average == pytest.approx(total_duration / len(answered) if answered else 0)

    def teardown(self) -> None:
        async def close_all() -> None:
            for device in self.devices.values():
                await device.ws.close()
                if device.reader is not None:
                    await device.reader

        self._run(close_all())


@pytest.fixture
def server(tmp_path: Path, sqlite_template: Path) -> Iterator[Server]:
    running = Server(tmp_path, sqlite_template)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_calls_through_the_real_api(server: Server) -> None:
    CallMachine.server = server
    run_state_machine_as_test(  # type: ignore[no-untyped-call]
        CallMachine,
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=os.environ.get("FUZZ_RANDOM") is None,
        ),
    )
