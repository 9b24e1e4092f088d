"""A service world: the services on a real database, an in-process bus whose envelopes are kept,
a registry of connections, and a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from switchboard.clock import ManualClock
from switchboard.metrics import Metrics
from switchboard.realtime.bus import Envelope, LocalBus
from switchboard.realtime.connections import Connection, Registry
from switchboard.realtime.notifier import Notifier
from switchboard.realtime.presence import LocalPresence
from switchboard.services.container import Services
from switchboard.store.db import Database
from tests.conftest import make_settings


@dataclass
class World:
    services: Services
    clock: ManualClock
    registry: Registry
    frames: list[Envelope]
    alice: str
    bob: str

    def connect(self, user_id: str, device: str) -> Connection:
        connection = Connection(user_id, device)
        self.registry.add(connection)
        return connection

    def events(self, frame_type: str) -> list[Envelope]:
        return [e for e in self.frames if e.frame["type"] == frame_type]


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    settings = make_settings(
        database_url,
        tmp_path,
        ring_timeout_seconds=45,
        call_grace_seconds=30,
        max_call_seconds=3600,
    )
    clock = ManualClock()
    db = Database(database_url)
    registry = Registry()
    bus = LocalBus()
    frames: list[Envelope] = []
    bus.attach(frames.append)
    services = Services.build(
        settings=settings,
        clock=clock,
        db=db,
        presence=LocalPresence(registry),
        events=Notifier(bus, Metrics()),
    )
    alice = await services.auth.create_user(
        username="alice", password="password123", display_name=None
    )
    bob = await services.auth.create_user(username="bob", password="password123", display_name=None)
    yield World(services, clock, registry, frames, alice, bob)
    await db.dispose()
