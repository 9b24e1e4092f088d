"""Shared fixtures: a database per test on SQLite and PostgreSQL, the app, HTTP clients."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from switchboard.app import create_app
from switchboard.clock import ManualClock, SystemClock
from switchboard.config import Settings
from switchboard.store.migrate import migrate
from switchboard.store.models import Base
from tests.services_available import (
    POSTGRES_URL,
    require_postgres,
    require_redis_server_binary,
)

if TYPE_CHECKING:  # tests.redis_server imports this module (through tests.server_process)
    from tests.redis_server import RedisServer


def run_in_thread(coroutine: Coroutine[Any, Any, None]) -> None:
    """Runs a coroutine to completion on its own loop (fixtures may be set up inside one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"

# The suites register and call from 127.0.0.1 far more than a person would: the rate limits
# are raised through settings (tests/security/ checks them with their real, small values).
RAISED_RATE_LIMITS: dict[str, int] = {
    "login_attempts_per_username": 100_000,
    "login_attempts_per_address": 100_000,
    "registrations_per_address": 100_000,
    "call_initiations_per_user": 100_000,
    "ws_connections_per_user": 100_000,
    "ws_max_connections_per_user": 1_000,
}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database that each test copies (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    run_in_thread(migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated, dropped at the end."""
    require_postgres()
    name = f"switchboard_test_{uuid.uuid4().hex[:12]}"
    admin_url = POSTGRES_URL

    async def admin(statement: str) -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    run_in_thread(admin(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    run_in_thread(migrate(url))
    yield url
    run_in_thread(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate_postgres(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {tables} CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> str:
    if request.param == "sqlite":
        path = tmp_path / "switchboard.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    await _truncate_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "switchboard.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "jwt_secret": TEST_SECRET,
        "jwt_secret_file": tmp_path / "secret",
        "sweep_interval_seconds": 0.05,
        **RAISED_RATE_LIMITS,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def clock() -> SystemClock | ManualClock:
    return SystemClock()


@pytest.fixture
async def app(settings: Settings, clock: SystemClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@dataclass
class Account:
    id: str
    username: str
    token: str
    client: httpx.AsyncClient

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


Register = Callable[..., Awaitable[Account]]


@pytest.fixture
async def register(app: FastAPI) -> AsyncIterator[Register]:
    """Registers a user and returns an authenticated client for them."""
    clients: list[httpx.AsyncClient] = []

    async def make(username: str | None = None, password: str = "password123") -> Account:
        name = username or f"user{uuid.uuid4().hex[:8]}"
        transport = httpx.ASGITransport(app=app)
        http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        clients.append(http)
        response = await http.post("/auth/register", json={"username": name, "password": password})
        assert response.status_code == 201, response.text
        body = response.json()
        http.headers["Authorization"] = f"Bearer {body['accessToken']}"
        return Account(
            id=body["user"]["id"],
            username=body["user"]["username"],
            token=body["accessToken"],
            client=http,
        )

    yield make
    for http in clients:
        await http.aclose()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, which it may kill and start again."""
    from tests.redis_server import RedisServer

    require_redis_server_binary()
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()
