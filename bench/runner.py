"""Runs the scenarios with the full or the quick numbers and collects one result document."""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import calllog, echo, floor, realtime
from bench.procinfo import load_average, raise_open_file_limit
from bench.servers import (
    BACKENDS,
    Cluster,
    create_postgres_database,
    drop_postgres_database,
    new_cluster,
    postgres_available,
    seed_users,
)

SCENARIOS = ("ring", "lifecycle", "relay", "idle", "calllog", "floor")
RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Plan:
    ring: dict[int, int]  # pairs -> rounds per pair
    lifecycle: dict[int, int]
    relay: dict[int, int]  # calls -> frames per direction
    relay_window: int
    idle_connections: int
    idle_ring_rounds: int
    calllog: calllog.Shape
    calllog_repeat: int
    echo_rounds: int
    floor_requests: int  # per route, and transactions per kind
    limit_s: float  # any one measurement
    cache: bool  # keep the bulk-loaded call logs between runs


FULL = Plan(
    ring={1: 300, 10: 60, 50: 20, 200: 8},
    lifecycle={1: 100, 10: 30, 50: 10},
    relay={1: 2000, 10: 400, 50: 160},
    relay_window=16,
    idle_connections=10_000,
    idle_ring_rounds=200,
    calllog=calllog.Shape(calls=1_000_000, users=10_000, heavy_calls=10_000),
    calllog_repeat=200,
    echo_rounds=2000,
    floor_requests=2000,
    limit_s=600,
    cache=True,
)
QUICK = Plan(
    ring={1: 3, 4: 2},
    lifecycle={1: 2, 3: 1},
    relay={1: 20, 2: 8},
    relay_window=4,
    idle_connections=40,
    idle_ring_rounds=3,
    calllog=calllog.Shape(calls=2_000, users=50, heavy_calls=300),
    calllog_repeat=3,
    echo_rounds=50,
    floor_requests=20,
    limit_s=60,
    cache=False,
)


@dataclass
class Run:
    plan: Plan
    scenarios: tuple[str, ...]
    backends: tuple[str, ...]
    log: Callable[[str], None] = print
    results: dict[str, Any] = field(default_factory=dict)

    async def execute(self) -> dict[str, Any]:
        self.results = {
            "machine": machine(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "load_before": load_average(),
            "open_file_limit": raise_open_file_limit(),
        }
        self.results["echo"] = await echo.measure(self.plan.echo_rounds)
        self.log(f"echo: {self.results['echo']}")
        if {"ring", "lifecycle", "relay"} & set(self.scenarios):
            self.results["backends"] = {}
            for backend in self.backends:
                self.results["backends"][backend] = await self._realtime(backend)
        if "idle" in self.scenarios:
            self.results["idle"] = await self._idle()
        if "calllog" in self.scenarios:
            self.results["calllog"] = {}
            for kind in ("sqlite", "postgres"):
                if kind == "postgres" and not postgres_available():
                    self.log("calllog on postgres: skipped (PostgreSQL not reachable)")
                    continue
                self.results["calllog"][kind] = await self._calllog(kind)
        if "floor" in self.scenarios:
            self.results["floor"] = await self._floor()
        self.results["load_after"] = load_average()
        self.results["loadgen_cpu_s"] = round(time.process_time(), 2)
        return self.results

    async def _realtime(self, backend: str) -> dict[str, Any]:
        plan, out = self.plan, {}
        most = max([*plan.ring, *plan.lifecycle, *plan.relay])
        cluster = await new_cluster(backend)
        try:
            users = await seed_users(cluster.database_url, 2 * most)
            cluster.start()
            if "ring" in self.scenarios:
                out["ring"] = [
                    await realtime.ring_latency(
                        cluster, users, pairs=n, rounds=r, limit_s=plan.limit_s
                    )
                    for n, r in plan.ring.items()
                ]
                self.log(f"{backend} ring: {out['ring']}")
            if "lifecycle" in self.scenarios:
                out["lifecycle"] = [
                    await realtime.lifecycles(
                        cluster, users, pairs=n, rounds=r, limit_s=plan.limit_s
                    )
                    for n, r in plan.lifecycle.items()
                ]
                self.log(f"{backend} lifecycle: {out['lifecycle']}")
            if "relay" in self.scenarios:
                out["relay"] = [
                    await realtime.signal_relay(
                        cluster,
                        users,
                        calls=n,
                        frames=f,
                        window=plan.relay_window,
                        limit_s=plan.limit_s,
                    )
                    for n, f in plan.relay.items()
                ]
                self.log(f"{backend} relay: {out['relay']}")
        finally:
            await _cleanup(cluster)
        return out

    async def _idle(self) -> dict[str, Any]:
        cluster = await new_cluster("sqlite")
        try:
            users = await seed_users(cluster.database_url, self.plan.idle_connections + 4)
            cluster.start()
            result = await realtime.idle_devices(
                cluster,
                users,
                connections=self.plan.idle_connections,
                ring_rounds=self.plan.idle_ring_rounds,
                limit_s=self.plan.limit_s,
            )
        finally:
            await _cleanup(cluster)
        self.log(f"idle: {result}")
        return result

    async def _floor(self) -> dict[str, Any]:
        cluster = await new_cluster("sqlite")
        count = self.plan.floor_requests
        try:
            users = await seed_users(cluster.database_url, 1)
            database = await floor.database_floor(cluster.database_url, transactions=count)
            cluster.start()
            http = await floor.http_floor(cluster, users[0], requests=count)
        finally:
            await _cleanup(cluster)
        result = {"http": http, "database": database}
        self.log(f"floor: {result}")
        return result

    async def _calllog(self, kind: str) -> dict[str, Any]:
        shape = self.plan.calllog
        backend = "sqlite" if kind == "sqlite" else "pg-redis-1"
        workdir = Path(tempfile.mkdtemp(prefix=f"bench-calllog-{kind}-"))
        cluster = Cluster(backend=backend, workdir=workdir)
        pg_name: str | None = None
        sqlite_path: Path | None = None
        if kind == "sqlite":
            cache = RESULTS / "cache" if self.plan.cache else workdir
            cache.mkdir(parents=True, exist_ok=True)
            sqlite_path = cache / f"calllog-{shape.calls}-{shape.users}.db"
            url = f"sqlite+aiosqlite:///{sqlite_path}"
        else:
            pg_name = f"switchboard_bench_calllog_{shape.calls}_{shape.users}"
            if not self.plan.cache:
                pg_name += f"_{os.getpid()}"
            url = await _postgres_database(pg_name)
        try:
            loaded = await calllog.ensure_loaded(url, shape, sqlite_path=sqlite_path)
            self.log(f"calllog {kind}: data {loaded}")
            await cluster.prepare(url)
            cluster.start()
            subject = await calllog.heavy_subject(url)
            measured = await calllog.measure(cluster, subject, repeat=self.plan.calllog_repeat)
            plans = await calllog.query_plans(url, subject)
        finally:
            await _cleanup(cluster)
            if pg_name is not None and not self.plan.cache:
                await drop_postgres_database(pg_name)
        self.log(f"calllog {kind}: {measured}")
        return {"shape": vars_of(shape), "data": loaded, **measured, "plans": plans}


async def _postgres_database(name: str) -> str:
    try:
        return await create_postgres_database(name)
    except Exception as error:  # already there (a cached dataset)
        if "already exists" not in str(error):
            raise
        from bench.servers import POSTGRES_URL

        return POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"


async def _cleanup(cluster: Cluster) -> None:
    """Stops the servers, keeps their logs in bench/results/logs/, removes the rest."""
    await cluster.cleanup()
    logs = RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for path in cluster.workdir.glob("server-*.log"):
        shutil.copy(path, logs / f"{cluster.backend}-{path.name}")
    shutil.rmtree(cluster.workdir, ignore_errors=True)


def vars_of(shape: calllog.Shape) -> dict[str, int]:
    return {"calls": shape.calls, "users": shape.users, "heavy_calls": shape.heavy_calls}


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as handle:
            model = next(
                (line.split(":", 1)[1].strip() for line in handle if "model name" in line), ""
            )
    except OSError:
        pass
    with open("/proc/meminfo") as handle:
        memory_kib = int(handle.readline().split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(memory_kib / 2**20, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def select_backends(requested: Iterable[str]) -> tuple[str, ...]:
    chosen = []
    for backend in requested:
        if backend not in BACKENDS:
            raise SystemExit(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
        if BACKENDS[backend][0] == "postgres" and not postgres_available():
            print(f"{backend}: skipped (PostgreSQL or Redis not reachable)")
            continue
        chosen.append(backend)
    return tuple(chosen)


def run(plan: Plan, scenarios: Iterable[str], backends: Iterable[str]) -> dict[str, Any]:
    import uvloop

    job = Run(plan=plan, scenarios=tuple(scenarios), backends=select_backends(backends))
    return uvloop.run(job.execute())


__all__ = ["FULL", "QUICK", "SCENARIOS", "Plan", "Run", "asyncio", "run"]
