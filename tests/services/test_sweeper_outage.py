"""While connection liveness cannot be read, grace sweeps pause and the other timers go on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from switchboard.clock import ManualClock
from switchboard.domain.calls import CallType
from switchboard.services.container import Services
from switchboard.services.ports import LivenessUnavailable
from switchboard.services.views import CallEvent
from switchboard.store.db import Database
from tests.conftest import make_settings


@dataclass
class Liveness:
    """Everyone is connected until `down`: then strict reads fail, as with Redis down."""

    down: bool = False

    async def online_users(self, user_ids: Iterable[str], *, strict: bool = False) -> set[str]:
        if self.down and strict:
            raise LivenessUnavailable("down")
        return set(user_ids)

    async def has_connection(
        self, user_id: str, connection_id: str, *, strict: bool = False
    ) -> bool:
        if self.down and strict:
            raise LivenessUnavailable("down")
        return True


@dataclass
class Events:
    seen: list[CallEvent] = field(default_factory=list)

    async def publish_call_event(self, event: CallEvent) -> None:
        self.seen.append(event)


@dataclass
class World:
    services: Services
    clock: ManualClock
    liveness: Liveness
    users: list[str]


@pytest.fixture
async def world(sqlite_url: str, tmp_path: Path) -> AsyncIterator[World]:
    settings = make_settings(sqlite_url, tmp_path, ring_timeout_seconds=45, call_grace_seconds=30)
    clock, liveness, db = ManualClock(), Liveness(), Database(sqlite_url)
    services = Services.build(
        settings=settings, clock=clock, db=db, presence=liveness, events=Events()
    )
    users = [
        await services.auth.create_user(
            username=f"user{n}", password="password123", display_name=None
        )
        for n in range(4)
    ]
    yield World(services, clock, liveness, users)
    await db.dispose()


async def test_an_outage_pauses_grace_but_not_ring_timeouts(world: World) -> None:
    calls = world.services.calls
    a, b, c, d = world.users
    # An answered call first (its sides are watched), then a ringing one after it.
    talking = await calls.initiate(caller_id=a, receiver_id=b, call_type=CallType.AUDIO)
    await calls.answer(user_id=b, call_id=talking.id, accept=True)
    await world.services.sweeper.sweep_once()
    world.clock.advance(1)
    ringing = await calls.initiate(caller_id=c, receiver_id=d, call_type=CallType.VIDEO)

    world.liveness.down = True
    world.clock.advance(100)  # past the ring timeout and far past the grace
    await world.services.sweeper.sweep_once()
    assert (await calls.get(user_id=c, call_id=ringing.id)).status.value == "missed"
    assert (await calls.get(user_id=a, call_id=talking.id)).status.value == "answered"
