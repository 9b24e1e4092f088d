"""Whether the machine's PostgreSQL and Redis answer; in CI a missing one is a failure."""

from __future__ import annotations

import os
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
    message = f"{name} is not reachable at {host}:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI needs it)")
    pytest.skip(reason=f"{message}: start it to run these tests")


def require_postgres() -> None:
    require("PostgreSQL", "127.0.0.1", 5432)


def require_redis() -> None:
    require("Redis", "127.0.0.1", 6379)
