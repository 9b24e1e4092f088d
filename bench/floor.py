"""Floors: what the stack costs before any call logic, so that a missed target can be weighed
against what is left to optimise.

- HTTP: the server's CPU per request, one at a time on a keep-alive connection, for routes that
  do ever less: `/healthz` (the middleware stack and routing, no auth, no database),
  `/users/me` (plus the bearer-token dependency; the profile comes from a cache) and
  `/calls/active` (plus one read of one indexed statement, outside a transaction).
- Database: this process's own CPU per transaction through `switchboard.store.db.Database` (the
  service's engines, pragmas and SQLite driver), for an empty read (`SELECT 1`) and for a
  write of one, then five, `UPDATE`s that match no row (the difference: a statement's cost).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text

from bench.client import Http
from bench.procinfo import cpu_seconds
from bench.servers import BenchUser, Cluster
from switchboard.store.db import Database

HTTP_ROUTES = ("/healthz", "/users/me", "/calls/active")
WARM_UP = 50


async def http_floor(cluster: Cluster, user: BenchUser, *, requests: int) -> dict[str, Any]:
    http = Http("127.0.0.1", cluster.port(), user.token)
    pid = cluster.pids[0]
    out: dict[str, Any] = {}
    try:
        for path in HTTP_ROUTES:
            for _ in range(WARM_UP):
                await http.request("GET", path)
            cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
            for _ in range(requests):
                await http.request("GET", path)
            out[path] = {
                "requests": requests,
                "server_cpu_us": round((cpu_seconds(pid) - cpu0) / requests * 1e6),
                "wall_us": round((time.perf_counter() - wall0) / requests * 1e6),
            }
    finally:
        await http.close()
    return out


async def _per_call(work: Callable[[], Awaitable[None]], count: int) -> dict[str, Any]:
    for _ in range(WARM_UP):
        await work()
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    for _ in range(count):
        await work()
    return {
        "transactions": count,
        "cpu_us": round((time.thread_time() - cpu0) / count * 1e6),
        "wall_us": round((time.perf_counter() - wall0) / count * 1e6),
    }


async def database_floor(database_url: str, *, transactions: int) -> dict[str, Any]:
    """CPU of the event loop's thread per transaction (a driver's worker thread, where SQLite
    runs, is not counted: it does not hold the loop)."""
    db = Database(database_url)
    select_one = text("SELECT 1")
    no_row = text("UPDATE users SET display_name = display_name WHERE id = 'none'")

    async def read() -> None:
        async with db.read() as session:
            await session.execute(select_one)

    async def write() -> None:
        async with db.write() as session:
            await session.execute(no_row)

    async def write_five() -> None:
        async with db.write() as session:
            for _ in range(5):
                await session.execute(no_row)

    try:
        return {
            "read SELECT 1": await _per_call(read, transactions),
            "write UPDATE (no row)": await _per_call(write, transactions),
            "write 5 x UPDATE (no row)": await _per_call(write_five, transactions),
        }
    finally:
        await db.dispose()
