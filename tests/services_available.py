"""Whether the machine's PostgreSQL and Redis answer; in CI a missing one is a failure."""

from __future__ import annotations

import os
import shutil
import socket

import pytest

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(name: str, host: str, port: int) -> None:
    if _listening(host, port):
        return
    _missing(f"{name} is not reachable at {host}:{port}", "start it to run these tests")


def _missing(message: str, remedy: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI needs it)")
    pytest.skip(reason=f"{message}: {remedy}")


def require_postgres() -> None:
    require("PostgreSQL", "127.0.0.1", 5432)


def require_redis() -> None:
    require("Redis", "127.0.0.1", 6379)


def require_redis_server_binary() -> None:
    """Tests that kill and restart Redis run a redis-server of their own."""
    if shutil.which("redis-server") is None:
        _missing("the redis-server program is not installed", "install Redis to run these tests")
