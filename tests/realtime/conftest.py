"""Gateway tests run against a real server process over real sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from tests.realtime.peer import Device, User, new_user
from tests.server_process import ServerProcess

# Short timers so that timeouts and grace can be seen within a test.
FAST_TIMERS = {
    "RING_TIMEOUT_SECONDS": "2",
    "CALL_GRACE_SECONDS": "1",
    "WS_HEARTBEAT_SECONDS": "1",
    "WS_FRAME_RATE_PER_SECOND": "20",
    "WS_FRAME_BURST": "40",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("server"), **FAST_TIMERS) as process:
        yield process


NewUser = Callable[..., Awaitable[User]]
Connect = Callable[..., Awaitable[Device]]


@pytest.fixture
async def user(server: ServerProcess) -> AsyncIterator[NewUser]:
    made: list[User] = []

    async def make(name: str | None = None, on: ServerProcess | None = None) -> User:
        made.append(await new_user(on or server, name))
        return made[-1]

    yield make
    for one in made:
        await one.http.aclose()


@pytest.fixture
async def connect(server: ServerProcess) -> AsyncIterator[Connect]:
    devices: list[Device] = []

    async def make(
        who: User, device_id: str | None = None, on: ServerProcess | None = None
    ) -> Device:
        devices.append(await Device.connect(on or server, who, device_id))
        return devices[-1]

    yield make
    for device in devices:
        await device.close()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """A server of the test's own (for restarts, or other settings)."""
    started: list[ServerProcess] = []

    def make(**env: str) -> ServerProcess:
        started.append(ServerProcess(tmp_path, **{**FAST_TIMERS, **env}).start())
        return started[-1]

    yield make
    for process in started:
        process.stop()
