"""Several real `switchboard serve` processes sharing one PostgreSQL database and one Redis.

Every run gets a database of its own and a Redis logical database of its own (flushed at
start). The instances start at the same moment, so that they race on the migration lock and
on the development JWT secret, as a deployment rolling out N instances does.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import run_in_thread
from tests.realtime.peer import Device, User
from tests.server_process import ServerProcess
from tests.services_available import POSTGRES_URL, require_postgres, require_redis

# Short timers so that timeouts, grace and lost liveness can be seen within a test.
FAST_TIMERS = {
    "RING_TIMEOUT_SECONDS": "2",
    "CALL_GRACE_SECONDS": "1",
    "LIVENESS_TTL_SECONDS": "1.5",
    "SWEEP_INTERVAL_SECONDS": "0.1",
    "WS_HEARTBEAT_SECONDS": "1",
    "WS_FRAME_RATE_PER_SECOND": "50",
    "WS_FRAME_BURST": "100",
}
REDIS_HOST_URL = "redis://127.0.0.1:6379"
CLAIM_KEY = "switchboard-test:cluster-claim"


async def _admin(statement: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """An empty PostgreSQL database (not migrated: `serve` does it), dropped at the end."""
    require_postgres()
    name = f"switchboard_cluster_{uuid.uuid4().hex[:12]}"
    run_in_thread(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        run_in_thread(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def fresh_redis_database() -> Iterator[str]:
    """A Redis logical database claimed by this run (1-14: 0 is the default, 15 other tests')
    and flushed; the claim expires by itself if the run dies."""
    require_redis()
    token = uuid.uuid4().hex
    for number in random.sample(range(1, 15), 14):
        client = redis.Redis.from_url(f"{REDIS_HOST_URL}/{number}")
        try:
            if client.set(CLAIM_KEY, token, nx=True, ex=900):
                client.flushdb()
                client.set(CLAIM_KEY, token, ex=900)
                try:
                    yield f"{REDIS_HOST_URL}/{number}"
                finally:
                    client.flushdb()
                return
        finally:
            client.close()
    pytest.fail("every Redis logical database 1-14 is claimed by another test run")


class ClusterProcess(ServerProcess):
    """A server instance that may take longer to start: several start at once, and each
    imports the app and migrates first, which on a busy machine outlasts ServerProcess's wait."""

    EXTRA_START_SECONDS = 60

    def start(self) -> ClusterProcess:
        try:
            super().start()
            return self
        except RuntimeError:
            if self.process is None or self.process.poll() is not None:
                raise
        deadline = time.monotonic() + self.EXTRA_START_SECONDS
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop(kill=True)
        raise RuntimeError(f"server did not start: {self.log()}")


def start_together(instances: list[ServerProcess]) -> None:
    """Starts the instances at the same moment (each migrates first, then serves)."""
    with ThreadPoolExecutor(max_workers=len(instances)) as pool:
        for future in [pool.submit(instance.start) for instance in instances]:
            future.result()


@dataclass
class Cluster:
    tmp_path: Path
    env: dict[str, str]
    instances: list[ServerProcess] = field(default_factory=list)

    def add(self, count: int = 1, **env: str) -> list[ServerProcess]:
        """Starts `count` more instances sharing the cluster's database and Redis."""
        made: list[ServerProcess] = [
            ClusterProcess(self.tmp_path, **{**self.env, **env}) for _ in range(count)
        ]
        self.instances.extend(made)
        start_together(made)
        return made

    def stop(self) -> None:
        for instance in self.instances:
            instance.stop(kill=True)

    def logs(self) -> str:
        return "\n".join(f"--- {i.url}\n{i.log()}" for i in self.instances)


@contextmanager
def running_cluster(
    tmp_path: Path, *, database_url: str, redis_url: str, count: int, **env: str
) -> Iterator[Cluster]:
    cluster = Cluster(
        tmp_path,
        {
            **FAST_TIMERS,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            # No JWT_SECRET: the instances must agree on the development secret they create.
            "JWT_SECRET": "",
            "JWT_SECRET_FILE": str(tmp_path / "jwt-secret"),
            "LOG_LEVEL": "warning",
            **env,
        },
    )
    try:
        cluster.add(count)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Three instances on one fresh PostgreSQL database and one Redis logical database."""
    require_postgres()
    require_redis()
    with (
        fresh_postgres_database() as database_url,
        fresh_redis_database() as redis_url,
        running_cluster(
            tmp_path_factory.mktemp("cluster"),
            database_url=database_url,
            redis_url=redis_url,
            count=3,
        ) as started,
    ):
        yield started


NewUser = Callable[[ServerProcess], Awaitable[User]]

# Generous: several instances share a machine's CPUs, and registering hashes a password.
HTTP_TIMEOUT_SECONDS = 30


async def register(server: ServerProcess) -> User:
    """A new user (as `tests.realtime.peer.new_user`, with a patient HTTP client)."""
    username = f"u{uuid.uuid4().hex[:10]}"
    http = httpx.AsyncClient(base_url=server.url, timeout=HTTP_TIMEOUT_SECONDS)
    response = await http.post(
        "/auth/register", json={"username": username, "password": "password123"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    http.headers["Authorization"] = f"Bearer {body['accessToken']}"
    return User(id=body["user"]["id"], username=username, token=body["accessToken"], http=http)


Connect = Callable[..., Awaitable[Device]]


@pytest.fixture
async def user() -> AsyncIterator[NewUser]:
    made: list[User] = []

    async def make(on: ServerProcess) -> User:
        made.append(await register(on))
        return made[-1]

    yield make
    for one in made:
        await one.http.aclose()


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    devices: list[Device] = []

    async def make(who: User, on: ServerProcess, device_id: str | None = None) -> Device:
        devices.append(await Device.connect(on, who, device_id))
        return devices[-1]

    yield make
    for device in devices:
        await device.close()


Rest = Callable[[User, ServerProcess], User]


@pytest.fixture
async def rest() -> AsyncIterator[Rest]:
    """The same user (and token) speaking REST to another instance."""
    clients: list[httpx.AsyncClient] = []

    def make(who: User, instance: ServerProcess) -> User:
        http = httpx.AsyncClient(
            base_url=instance.url, timeout=HTTP_TIMEOUT_SECONDS, headers=who.http.headers
        )
        clients.append(http)
        return User(id=who.id, username=who.username, token=who.token, http=http)

    yield make
    for http in clients:
        await http.aclose()
