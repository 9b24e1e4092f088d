"""End-to-end fixtures: a real ``switchboard serve`` subprocess and logged-in client phones."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from switchboard.client import ApiClient, Backoff, MediaOptions, Phone

LOOPBACK = "127.0.0.1"
#: Every media test gathers ICE host candidates on loopback only (see WEBRTC-TESTING.md).
LOOPBACK_MEDIA = MediaOptions(host_addresses=[LOOPBACK])
PASSWORD = "e2e-password-123"
RAISED_RATE_LIMITS = {
    "LOGIN_ATTEMPTS_PER_USERNAME": "100000",
    "LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
    "REGISTRATIONS_PER_ADDRESS": "100000",
    "CALL_INITIATIONS_PER_USER": "100000",
    "WS_CONNECTIONS_PER_USER": "100000",
    "WS_MAX_CONNECTIONS_PER_USER": "1000",
}
#: Short, so that tests can outlast it: a device away this long loses its call.
GRACE_SECONDS = 2


@dataclass(frozen=True)
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(tmp: Path, **env: str) -> Server:
    """Start ``switchboard serve`` on a free loopback port with a fresh SQLite DB; wait for it."""
    port = _free_port()
    log_path = tmp / "server.log"
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'switchboard.db'}",
        "JWT_SECRET": "e2e-secret-" + uuid.uuid4().hex + uuid.uuid4().hex,
        "RING_TIMEOUT_SECONDS": "30",
        "CALL_GRACE_SECONDS": str(GRACE_SECONDS),
        "SWEEP_INTERVAL_SECONDS": "1",
        # Tests register, log in and call from 127.0.0.1 far more than people would.
        **RAISED_RATE_LIMITS,
        **env,
    }
    for unset in ("REDIS_URL", "STUN_URIS", "TURN_URIS", "TURN_SECRET", "PYTHONTRACEMALLOC"):
        environment.pop(unset, None)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "switchboard.cli",
                "serve",
                "--host",
                LOOPBACK,
                "--port",
                str(port),
            ],
            env=environment,
            cwd=tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://{LOOPBACK}:{port}", process, log_path)
    deadline = time.monotonic() + 60  # migrations on a busy machine
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"server did not become healthy:\n{server.log()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server for the e2e tests (each test uses its own fresh users)."""
    srv = start_server(tmp_path_factory.mktemp("server"))
    try:
        yield srv
    finally:
        stop_server(srv)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


PhoneFactory = Callable[..., Awaitable[Phone]]


@pytest.fixture
async def make_phone(server: Server) -> AsyncIterator[PhoneFactory]:
    """``await make_phone(username=None, device_id=None, backoff=None)``: a registered phone.

    A second phone with the same ``username`` logs in to the same account (another device).
    """
    phones: list[Phone] = []
    registered: set[str] = set()

    async def make(
        username: str | None = None,
        *,
        device_id: str | None = None,
        backoff: Backoff | None = None,
    ) -> Phone:
        name = username or unique_name("user")
        api = ApiClient(server.url)
        if name in registered:
            await api.login(name, PASSWORD)
        else:
            await api.register(name, PASSWORD)
            registered.add(name)
        phone = await Phone.open(api, device_id=device_id, backoff=backoff)
        phones.append(phone)
        return phone

    yield make
    for phone in phones:
        await phone.close()
