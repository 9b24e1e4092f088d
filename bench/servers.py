"""The servers under test: `switchboard serve` processes on SQLite, or on PostgreSQL and Redis
(one or two instances), with a fresh database, users seeded directly and their tokens minted
with the server's secret."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import redis
from argon2 import PasswordHasher
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.procinfo import raise_open_file_limit
from switchboard.clock import SystemClock
from switchboard.ids import new_id
from switchboard.services.auth import TokenCodec
from switchboard.store.db import Database
from switchboard.store.migrate import migrate
from switchboard.store.models import User

SWITCHBOARD = Path(sys.executable).with_name("switchboard")
# Another way to start `switchboard` (e.g. under a profiler): a command line, split on spaces.
SERVER_COMMAND = os.environ.get("BENCH_SERVER_COMMAND", str(SWITCHBOARD)).split()
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_HOST_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379")
CLAIM_KEY = "switchboard-test:cluster-claim"  # the claim the cluster tests honour too
SECRET = "bench-secret-that-is-long-enough-for-hs256-0123456789abcdef"
PASSWORD = "bench-password-123"

# Limits raised through settings (never code paths) so that the load is not refused; the
# access log off (LOG_LEVEL=warning), as an operator would under load.
SERVER_ENV = {
    "JWT_SECRET": SECRET,
    "LOG_LEVEL": "warning",
    "CALL_INITIATIONS_PER_USER": "1000000000",
    "WS_FRAME_RATE_PER_SECOND": "1000000000",
    "WS_FRAME_BURST": "1000000000",
    "WS_CONNECTIONS_PER_USER": "1000000000",
    "WS_MAX_CONNECTIONS_PER_USER": "1000",
    "LOGIN_ATTEMPTS_PER_USERNAME": "1000000000",
    "LOGIN_ATTEMPTS_PER_ADDRESS": "1000000000",
    "REGISTRATIONS_PER_ADDRESS": "1000000000",
}

BACKENDS = {
    # name: (database, instances)
    "sqlite": ("sqlite", 1),
    "pg-redis-1": ("postgres", 1),
    "pg-redis-2": ("postgres", 2),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reachable(url: str, default_port: int) -> bool:
    rest = url.split("@")[-1].split("//")[-1]
    host, _, port = rest.split("/")[0].partition(":")
    try:
        with socket.create_connection((host, int(port or default_port)), timeout=1):
            return True
    except OSError:
        return False


def postgres_available() -> bool:
    return reachable(POSTGRES_URL, 5432) and reachable(REDIS_HOST_URL, 6379)


@dataclass(frozen=True, slots=True)
class BenchUser:
    id: str
    username: str
    token: str


async def _admin(statement: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def create_postgres_database(name: str) -> str:
    await _admin(f'CREATE DATABASE "{name}"')
    return POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"


async def drop_postgres_database(name: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def password_hash() -> str:
    """One argon2 hash, computed once, shared by every seeded user."""
    return PasswordHasher().hash(PASSWORD)


async def seed_users(database_url: str, count: int, *, prefix: str = "b") -> list[BenchUser]:
    """Inserts users directly (one statement, executemany) and mints their tokens."""
    now = SystemClock().now()
    hashed = password_hash()
    rows = [
        {
            "id": new_id(),
            "username": f"{prefix}{i:06d}",
            "display_name": f"Bench {prefix}{i}",
            "password_hash": hashed,
            "created_at": now,
        }
        for i in range(count)
    ]
    db = Database(database_url)
    try:
        async with db.write() as session:
            for start in range(0, len(rows), 5000):
                await session.execute(insert(User), rows[start : start + 5000])
    finally:
        await db.dispose()
    codec = TokenCodec(secret=SECRET, ttl_seconds=86400, clock=SystemClock())
    return [BenchUser(str(r["id"]), str(r["username"]), codec.issue(str(r["id"]))) for r in rows]


class RedisClaim:
    """A Redis logical database (1-14) claimed for this run and flushed."""

    def __init__(self) -> None:
        self.url: str | None = None
        self._client: redis.Redis | None = None
        self._token = uuid.uuid4().hex

    def acquire(self) -> str:
        for number in random.sample(range(1, 15), 14):
            client = redis.Redis.from_url(f"{REDIS_HOST_URL}/{number}")
            if client.set(CLAIM_KEY, self._token, nx=True, ex=1800):
                client.flushdb()
                client.set(CLAIM_KEY, self._token, ex=1800)
                self._client, self.url = client, f"{REDIS_HOST_URL}/{number}"
                return self.url
            client.close()
        raise RuntimeError("no free Redis database (1-14)")

    def release(self) -> None:
        if self._client is not None:
            self._client.flushdb()
            self._client.close()
            self._client = None


@dataclass
class Instance:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass
class Cluster:
    """One backend: its database, Redis (if any) and server instances."""

    backend: str
    workdir: Path
    database_url: str = ""
    redis_url: str | None = None
    instances: list[Instance] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    _pg_name: str | None = None
    _claim: RedisClaim | None = None

    @property
    def kind(self) -> str:
        return BACKENDS[self.backend][0]

    @property
    def pids(self) -> list[int]:
        return [instance.pid for instance in self.instances]

    def ws_url(self, index: int = 0) -> str:
        return f"ws://127.0.0.1:{self.instances[index % len(self.instances)].port}/ws"

    def port(self, index: int = 0) -> int:
        return self.instances[index % len(self.instances)].port

    async def prepare(self, database_url: str | None = None) -> None:
        """A fresh migrated database (or the given one) and, on PostgreSQL, a Redis db."""
        if database_url is not None:
            self.database_url = database_url
        elif self.kind == "sqlite":
            self.database_url = f"sqlite+aiosqlite:///{self.workdir / 'switchboard.db'}"
        else:
            self._pg_name = f"switchboard_bench_{uuid.uuid4().hex[:10]}"
            self.database_url = await create_postgres_database(self._pg_name)
        if self.kind == "postgres":
            self._claim = RedisClaim()
            self.redis_url = await asyncio.to_thread(self._claim.acquire)
        await migrate(self.database_url)

    def start(self) -> None:
        count = BACKENDS[self.backend][1]
        env = {**os.environ, **SERVER_ENV, "DATABASE_URL": self.database_url, **self.extra_env}
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        for _ in range(count):
            port = free_port()
            log = (self.workdir / f"server-{port}.log").open("ab")
            process = subprocess.Popen(
                [*SERVER_COMMAND, "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                cwd=self.workdir,  # no stray .env
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            self.instances.append(Instance(port, process))
        for instance in self.instances:
            self._wait_ready(instance)

    def _wait_ready(self, instance: Instance) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if instance.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", instance.port), timeout=1) as sock:
                    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if sock.recv(64).startswith(b"HTTP/1.1 200"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log_tail()}")

    def log_tail(self) -> str:
        parts = []
        for path in sorted(self.workdir.glob("server-*.log")):
            parts.append(path.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def stop(self) -> None:
        for instance in self.instances:
            instance.process.terminate()
        for instance in self.instances:
            try:
                instance.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                instance.process.kill()
                instance.process.wait()
        self.instances = []

    async def cleanup(self) -> None:
        self.stop()
        if self._claim is not None:
            await asyncio.to_thread(self._claim.release)
        if self._pg_name is not None:
            await drop_postgres_database(self._pg_name)


async def new_cluster(backend: str, **extra_env: str) -> Cluster:
    raise_open_file_limit()
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{backend}-"))
    cluster = Cluster(backend=backend, workdir=workdir, extra_env=dict(extra_env))
    await cluster.prepare()
    return cluster
