"""Apps of the security tests' own, with the settings each test needs (small limits)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from switchboard.app import create_app
from tests.conftest import make_settings


class Apps:
    """Starts apps (each with its lifespan) and clients with a chosen client address."""

    def __init__(self, stack: AsyncExitStack, database_url: str, tmp_path: Path) -> None:
        self._stack = stack
        self._url = database_url
        self._tmp = tmp_path

    async def app(self, **overrides: Any) -> FastAPI:
        application = create_app(make_settings(self._url, self._tmp, **overrides))
        await self._stack.enter_async_context(application.router.lifespan_context(application))
        return application

    async def client(
        self, app: FastAPI, address: str = "127.0.0.1", token: str | None = None
    ) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        if token:
            http.headers["Authorization"] = f"Bearer {token}"
        return await self._stack.enter_async_context(http)


@pytest.fixture
async def apps(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Apps]:
    async with AsyncExitStack() as stack:
        yield Apps(stack, sqlite_url, tmp_path)
    # An app stopped right after it started may leave an aiosqlite call of its cancelled
    # sweeper finishing in its thread: let it land before this test's loop closes.
    await asyncio.sleep(0.2)


def new_name() -> str:
    return f"u{uuid.uuid4().hex[:10]}"


def random_address() -> str:
    """A client address no other test (or run, when counted in Redis) uses."""
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2] or 1}"
