"""Applies Alembic migrations, under a lock so that instances starting together take turns."""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
ADVISORY_LOCK_KEY = 0x5B_0A_7D  # any constant shared by every instance


def _upgrade(connection: Connection, revision: str = "head") -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


@asynccontextmanager
async def _file_lock(path: Path) -> AsyncIterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = await asyncio.to_thread(open, path, "a")
    try:
        await asyncio.to_thread(fcntl.flock, handle.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        handle.close()


async def _postgres(connection: AsyncConnection, revision: str) -> None:
    await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    try:
        await connection.run_sync(_upgrade, revision)
        await connection.commit()
    finally:
        await connection.execute(
            text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
        )
        await connection.commit()


async def migrate(database_url: str, revision: str = "head") -> None:
    """Upgrades the database to `revision` (tests stop short of head to test a migration)."""
    db = Database(database_url)
    try:
        if db.is_sqlite:
            database = make_url(database_url).database or ""
            lock = Path(f"{database}.migrate.lock") if database not in ("", ":memory:") else None
            if lock is None:
                async with db.engine.connect() as connection:
                    await connection.run_sync(_upgrade, revision)
                    await connection.commit()
                return
            async with _file_lock(lock), db.engine.connect() as connection:
                await connection.run_sync(_upgrade, revision)
                await connection.commit()
        else:
            async with db.engine.connect() as connection:
                await _postgres(connection, revision)
    finally:
        await db.dispose()
