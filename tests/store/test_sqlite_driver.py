"""The one-trip SQLite cursor behind SQLAlchemy: rows, counts, ids and errors as the driver's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.store import sqlite_driver as driver
from switchboard.store.db import Database


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with db.write() as session:
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield db
    await db.dispose()


async def test_rows_counts_and_ids_come_back_from_one_trip(database: Database) -> None:
    async with database.write() as session:
        connection = await session.connection()
        inserted = await connection.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        await connection.execute(
            text("INSERT INTO t (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}]
        )
        updated = await connection.execute(text("UPDATE t SET name = name || '!' WHERE id > 1"))
        assert updated.rowcount == 2
    async with database.read() as session:
        result = await session.execute(text("SELECT id, name FROM t ORDER BY id"))
        assert list(result.keys()) == ["id", "name"]
        assert [tuple(row) for row in result] == [(1, "a"), (2, "b!"), (3, "c!")]
        assert await session.scalar(text("SELECT count(*) FROM t WHERE id > 5")) == 0
        many = await session.execute(text("SELECT id FROM t ORDER BY id"))
        assert many.fetchmany(2) == [(1,), (2,)]
        assert many.fetchone() == (3,)
        assert many.fetchone() is None


async def test_driver_errors_surface_as_sqlalchemy_errors_and_roll_back(database: Database) -> None:
    async def insert_twice() -> None:
        async with database.write() as session:
            await session.execute(text("INSERT INTO t (name) VALUES ('x')"))
            await session.execute(text("INSERT INTO t (name) VALUES ('x')"))

    async def select_missing_column() -> None:
        async with database.read() as session:
            await session.execute(text("SELECT nope FROM t"))

    with pytest.raises(IntegrityError):
        await insert_twice()
    with pytest.raises(OperationalError):
        await select_missing_column()
    async with database.read() as session:
        assert await session.scalar(text("SELECT count(*) FROM t")) == 0


async def test_a_connection_returned_inside_a_transaction_is_rolled_back(
    database: Database,
) -> None:
    """Committed connections go back to the pool without a rollback; open ones still get one."""

    def leave_open(connection: Connection) -> None:
        cursor = connection.connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("INSERT INTO t (name) VALUES ('left open')")

    async with database.engine.connect() as connection:
        await connection.run_sync(leave_open)
    async with database.write() as session:  # the same pooled connection: BEGIN works again
        await session.execute(text("INSERT INTO t (name) VALUES ('next')"))
    async with database.read() as session:
        names = (await session.scalars(text("SELECT name FROM t"))).all()
    assert names == ["next"]


async def test_a_snapshot_read_is_one_trip_to_the_driver_thread(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No BEGIN, and no COMMIT or ROLLBACK of a transaction that was never opened."""

    async def count(connection: AsyncConnection) -> Any:
        return await connection.scalar(text("SELECT count(*) FROM t"))

    assert await database.snapshot(count) == 0  # the pooled connection now exists
    trips: list[Any] = []
    to_thread: Any = driver.Connection._execute

    async def counted(self: driver.Connection, function: Any) -> Any:
        trips.append(function)
        return await to_thread(self, function)

    monkeypatch.setattr(driver.Connection, "_execute", counted)
    assert await database.snapshot(count) == 0
    assert len(trips) == 1
