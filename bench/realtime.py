"""Scenarios over live connections: ring latency (1), full lifecycle (2), idle devices (3)
and signal relay (5). Every loop is bounded in rounds and in time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bench.client import Device, Frame, Http, HttpError
from bench.procinfo import CpuMeter, rss_kib
from bench.servers import BenchUser, Cluster
from bench.stats import summary_ms

CALLER_TYPES = ("call.answered", "call.missed", "call.ended", "signal")
CALLEE_TYPES = ("call.incoming", "call.answered", "call.missed", "call.ended", "signal")
ICE = {
    "candidate": "candidate:842163049 1 udp 1677729535 192.0.2.3 54321 typ srflx raddr 10.0.0.1 "
    "rport 54321 generation 0 ufrag EsAw network-cost 999",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "EsAw",
}


@dataclass
class Pair:
    caller: BenchUser
    callee: BenchUser
    caller_http: Http
    callee_http: Http
    caller_dev: Device
    callee_dev: Device
    call_id: str = ""

    async def close(self) -> None:
        for http in (self.caller_http, self.callee_http):
            await http.close()
        for device in (self.caller_dev, self.callee_dev):
            await device.close()


async def bounded(concurrency: int, jobs: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Runs the jobs, at most `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def run(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    return await asyncio.gather(*(run(job) for job in jobs))


async def open_pairs(cluster: Cluster, users: Sequence[BenchUser], count: int) -> list[Pair]:
    """Pairs (2i calls 2i+1); with two instances the caller is on one, the callee on the other."""

    async def one(i: int) -> Pair:
        caller, callee = users[2 * i], users[2 * i + 1]
        a, b = 0, 1 if len(cluster.instances) > 1 else 0
        caller_dev = await Device.connect(cluster.ws_url(a), caller.token, wanted=CALLER_TYPES)
        callee_dev = await Device.connect(cluster.ws_url(b), callee.token, wanted=CALLEE_TYPES)
        return Pair(
            caller,
            callee,
            Http("127.0.0.1", cluster.port(a), caller.token),
            Http("127.0.0.1", cluster.port(b), callee.token),
            caller_dev,
            callee_dev,
        )

    jobs: list[Callable[[], Awaitable[Pair]]] = [partial(one, i) for i in range(count)]
    return list(await bounded(50, jobs))


async def close_pairs(pairs: Sequence[Pair]) -> None:
    await bounded(100, [pair.close for pair in pairs])


# -- (1) ring latency -------------------------------------------------------------------------


async def _recover(pair: Pair, errors: dict[str, int], error: HttpError) -> None:
    """A refused request (e.g. 503 when the server sheds load): counted, the pair's call (if
    any) ended, and the round given up."""
    errors[str(error.status)] = errors.get(str(error.status), 0) + 1
    await asyncio.sleep(0.05)
    with contextlib.suppress(HttpError):
        active = (await pair.caller_http.request("GET", "/calls/active"))["call"]
        if active is not None:
            await pair.caller_http.request("PATCH", f"/calls/{active['id']}/end")
    await asyncio.sleep(0.2)
    pair.caller_dev.clear()
    pair.callee_dev.clear()


async def _ring_rounds(
    pair: Pair, rounds: int, samples: list[float], errors: dict[str, int]
) -> None:
    for _ in range(rounds):
        try:
            await _ring_round(pair, samples)
        except HttpError as error:
            await _recover(pair, errors, error)


async def _ring_round(pair: Pair, samples: list[float]) -> None:
    started = time.perf_counter()
    body = {"receiverId": pair.callee.id, "callType": "audio"}
    call = (await pair.caller_http.request("POST", "/calls/initiate", body))["call"]
    arrived, frame = await pair.callee_dev.next("call.incoming")
    if frame["data"]["call"]["id"] != call["id"]:
        raise RuntimeError("call.incoming for another call")
    samples.append(arrived - started)
    await pair.caller_http.request("PATCH", f"/calls/{call['id']}/end")
    await pair.caller_dev.next("call.missed")
    await pair.callee_dev.next("call.missed")


async def ring_latency(
    cluster: Cluster, users: Sequence[BenchUser], *, pairs: int, rounds: int, limit_s: float
) -> dict[str, Any]:
    """From sending POST /calls/initiate to the callee's call.incoming, `pairs` at once."""
    opened = await open_pairs(cluster, users, pairs)
    try:
        async with asyncio.timeout(limit_s):
            errors: dict[str, int] = {}
            await asyncio.gather(*(_ring_rounds(p, 1, [], errors) for p in opened))  # warm-up
            errors.clear()
            samples: list[float] = []
            meter = CpuMeter(cluster.pids).start()
            await asyncio.gather(*(_ring_rounds(p, rounds, samples, errors) for p in opened))
            meter.stop()
    finally:
        await close_pairs(opened)
    return {
        "pairs": pairs,
        "rounds": rounds,
        **summary_ms(samples),
        "errors": errors,
        "calls_per_s": round(len(samples) / meter.wall, 1),
        **meter.report(),
    }


# -- (2) full lifecycle -----------------------------------------------------------------------

BURST_WAIT_S = 10
STREAM_FACTOR = 5  # the throughput phase relays 5x the latency phase's frames

STEPS = ("initiate", "incoming", "answer", "answered", "ice", "end", "ended", "total")


async def _lifecycle(pair: Pair, steps: dict[str, list[float]]) -> None:
    caller, callee = pair.caller_dev, pair.callee_dev
    t0 = time.perf_counter()
    body = {
        "receiverId": pair.callee.id,
        "callType": "video",
        "connectionId": caller.connection_id,
    }
    call_id = (await pair.caller_http.request("POST", "/calls/initiate", body))["call"]["id"]
    t1 = time.perf_counter()
    incoming, _ = await callee.next("call.incoming")
    t2 = time.perf_counter()
    answer = {"accept": True, "connectionId": callee.connection_id}
    await pair.callee_http.request("PATCH", f"/calls/{call_id}/answer", answer)
    t3 = time.perf_counter()
    answered = max((await caller.next("call.answered"))[0], (await callee.next("call.answered"))[0])
    t4 = time.perf_counter()
    for i in range(5):
        for device in (caller, callee):
            payload = {**ICE, "seq": i}
            data = {"callId": call_id, "kind": "ice-candidate", "payload": payload}
            await device.send({"type": "signal", "data": data})
    for device in (caller, callee):
        for _ in range(5):
            await device.next("signal")
    t5 = time.perf_counter()
    await pair.caller_http.request("PATCH", f"/calls/{call_id}/end")
    t6 = time.perf_counter()
    ended = max((await caller.next("call.ended"))[0], (await callee.next("call.ended"))[0])
    for name, value in (
        ("initiate", t1 - t0),
        ("incoming", incoming - t0),
        ("answer", t3 - t2),
        ("answered", answered - t2),
        ("ice", t5 - t4),
        ("end", t6 - t5),
        ("ended", ended - t5),
        ("total", ended - t0),
    ):
        steps[name].append(value)


async def lifecycles(
    cluster: Cluster, users: Sequence[BenchUser], *, pairs: int, rounds: int, limit_s: float
) -> dict[str, Any]:
    """initiate -> incoming -> answer -> answered -> 5 ICE candidates each way -> end -> ended."""
    opened = await open_pairs(cluster, users, pairs)
    steps: dict[str, list[float]] = {name: [] for name in STEPS}

    errors: dict[str, int] = {}

    async def loop(pair: Pair, count: int, into: dict[str, list[float]]) -> None:
        for _ in range(count):
            try:
                await _lifecycle(pair, into)
            except HttpError as error:
                await _recover(pair, errors, error)

    try:
        async with asyncio.timeout(limit_s):
            warm: dict[str, list[float]] = {name: [] for name in STEPS}
            await asyncio.gather(*(loop(p, 1, warm) for p in opened))
            errors.clear()
            meter = CpuMeter(cluster.pids).start()
            await asyncio.gather(*(loop(p, rounds, steps) for p in opened))
            meter.stop()
    finally:
        await close_pairs(opened)
    done = len(steps["total"])
    return {
        "pairs": pairs,
        "lifecycles": done,
        "lifecycles_per_s": round(done / meter.wall, 1),
        "errors": errors,
        "step_p99_ms": {name: summary_ms(values)["p99_ms"] for name, values in steps.items()},
        "step_p50_ms": {name: summary_ms(values)["p50_ms"] for name, values in steps.items()},
        **meter.report(),
    }


# -- (5) signal relay -------------------------------------------------------------------------


@dataclass
class Flow:
    """Signals one way within one call: sent stamps, arrival latencies, a window of frames."""

    sender: Device
    receiver: Device
    call_id: str
    sent: dict[int, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    received: int = 0
    target: int = 0
    lost: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.receiver.on_signal = self.arrived

    def arrived(self, now: float, frame: Frame) -> None:
        seq = frame["data"]["payload"]["seq"]
        self.latencies.append(now - self.sent.pop(seq))
        self.received += 1
        if self.received >= self.target:
            self.done.set()

    async def burst(self, first_seq: int, count: int) -> None:
        """Sends `count` frames back to back and waits until all have arrived (or, after
        BURST_WAIT_S, counts the missing ones as lost)."""
        self.target += count
        self.done.clear()
        for seq in range(first_seq, first_seq + count):
            data = {"callId": self.call_id, "kind": "ice-candidate", "payload": {**ICE, "seq": seq}}
            self.sent[seq] = time.perf_counter()
            await self.sender.send({"type": "signal", "data": data})
        try:
            async with asyncio.timeout(BURST_WAIT_S):
                await self.done.wait()
        except TimeoutError:
            self.lost += self.target - self.received
            self.received = self.target
            self.sent.clear()


async def _answered_call(pair: Pair) -> str:
    body = {
        "receiverId": pair.callee.id,
        "callType": "video",
        "connectionId": pair.caller_dev.connection_id,
    }
    call_id = str((await pair.caller_http.request("POST", "/calls/initiate", body))["call"]["id"])
    await pair.callee_dev.next("call.incoming")
    answer = {"accept": True, "connectionId": pair.callee_dev.connection_id}
    await pair.callee_http.request("PATCH", f"/calls/{call_id}/answer", answer)
    await pair.caller_dev.next("call.answered")
    await pair.callee_dev.next("call.answered")
    return call_id


async def signal_relay(
    cluster: Cluster,
    users: Sequence[BenchUser],
    *,
    calls: int,
    frames: int,
    window: int,
    limit_s: float,
) -> dict[str, Any]:
    """Latency: one frame in flight per direction and call (ping-pong). Throughput and server
    CPU per relayed frame: `window` frames in flight per direction and call."""
    opened = await open_pairs(cluster, users, calls)
    try:
        async with asyncio.timeout(limit_s):
            call_ids = [await _answered_call(pair) for pair in opened]
            flows = [
                (Flow(p.caller_dev, p.callee_dev, cid), Flow(p.callee_dev, p.caller_dev, cid))
                for p, cid in zip(opened, call_ids, strict=True)
            ]

            async def ping_pong(there: Flow, back: Flow, count: int, seq0: int) -> None:
                for i in range(count):
                    await (there if i % 2 == 0 else back).burst(seq0 + i, 1)

            await asyncio.gather(*(ping_pong(a, b, 20, 0) for a, b in flows))  # warm-up
            for a, b in flows:
                a.latencies.clear()
                b.latencies.clear()
            latency_meter = CpuMeter(cluster.pids).start()
            await asyncio.gather(*(ping_pong(a, b, frames, 1000) for a, b in flows))
            latency_meter.stop()
            latency = [x for a, b in flows for x in (*a.latencies, *b.latencies)]
            relayed_pp = len(latency)

            async def stream(flow: Flow) -> None:
                for burst in range(STREAM_FACTOR * frames // window):
                    await flow.burst(10**7 + burst * window, window)

            for a, b in flows:
                a.latencies.clear()
                b.latencies.clear()
            meter = CpuMeter(cluster.pids).start()
            await asyncio.gather(*(stream(flow) for pair in flows for flow in pair))
            meter.stop()
            streamed = [x for a, b in flows for x in (*a.latencies, *b.latencies)]
            for pair, call_id in zip(opened, call_ids, strict=True):
                await pair.caller_http.request("PATCH", f"/calls/{call_id}/end")
    finally:
        await close_pairs(opened)
    return {
        "calls": calls,
        "latency": summary_ms(latency),
        "latency_server_cpu_us_per_frame": round(1e6 * latency_meter.servers / relayed_pp, 1),
        "window": window,
        "frames_per_s": round(len(streamed) / meter.wall, 1),
        "streamed_latency": summary_ms(streamed),
        "server_cpu_us_per_frame": round(1e6 * meter.servers / max(1, len(streamed)), 1),
        "lost_frames": sum(f.lost for pair in flows for f in pair),
        **meter.report(),
    }


# -- (3) idle devices -------------------------------------------------------------------------


async def idle_devices(
    cluster: Cluster,
    users: Sequence[BenchUser],
    *,
    connections: int,
    ring_rounds: int,
    limit_s: float,
) -> dict[str, Any]:
    """`connections` authenticated sockets (one per user) held open: server RSS per
    connection, then ring latency of a pair among them."""
    pid = cluster.pids[0]
    async with asyncio.timeout(limit_s):
        # Warm the server's code paths (one ring) so the baseline holds them already.
        warm = await ring_latency(cluster, users[-2:], pairs=1, rounds=5, limit_s=limit_s)
        del warm
        await asyncio.sleep(0.5)
        before = rss_kib(pid)
        started = time.perf_counter()
        idle_users = users[2 : 2 + connections]
        jobs: list[Callable[[], Awaitable[Device]]] = [
            partial(Device.connect, cluster.ws_url(), u.token) for u in idle_users
        ]
        devices: list[Device] = list(await bounded(100, jobs))
        opened_in = time.perf_counter() - started
        # What the held sockets alone cost (heartbeats: each is pinged every 20 s).
        meter = CpuMeter([pid]).start()
        await asyncio.sleep(2)
        meter.stop()
        after = rss_kib(pid)
        ring = await ring_latency(cluster, users, pairs=1, rounds=ring_rounds, limit_s=limit_s)
        held = sum(1 for d in devices if d.ws.close_code is None)
        await bounded(200, [d.close for d in devices])
    return {
        "connections": len(devices),
        "held_open": held,
        "open_s": round(opened_in, 2),
        "rss_before_kib": before,
        "rss_after_kib": after,
        "kib_per_connection": round((after - before) / max(1, len(devices)), 2),
        "idle_server_cpu_pct": meter.report()["server_cpu_pct"],
        "ring": ring,
    }
