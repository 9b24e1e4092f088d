"""`Database.snapshot`: statements on their own, outside a transaction, and a read that
outlives its connection."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.store.db import Database


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


async def _in_transaction(connection: AsyncConnection) -> bool:
    """Whether the database holds a transaction open on this connection, as the driver
    knows it (PostgreSQL reports it after every statement)."""
    raw = (await connection.get_raw_connection()).driver_connection
    if connection.dialect.name == "sqlite":
        return bool(raw.in_transaction)  # type: ignore[union-attr]
    return bool(raw.is_in_transaction())  # type: ignore[union-attr]


async def test_a_snapshot_read_opens_no_transaction(database: Database) -> None:
    async def read(connection: AsyncConnection) -> tuple[int, bool]:
        value = await connection.scalar(text("SELECT 41 + 1"))
        return int(value), await _in_transaction(connection)

    assert await database.snapshot(read) == (42, False)

    async with database.read() as session:  # while an ordinary read holds one
        await session.execute(text("SELECT 1"))
        assert await _in_transaction(await session.connection())


async def test_a_snapshot_sees_what_was_committed_before_it(database: Database) -> None:
    async def total(connection: AsyncConnection) -> int:
        return int(await connection.scalar(text("SELECT sum(n) FROM snapshot_seen")))

    async with database.write() as session:
        await session.execute(text("CREATE TABLE snapshot_seen (n INTEGER)"))
    try:
        for n, expected in ((1, 1), (2, 3)):
            async with database.write() as session:
                await session.execute(text("INSERT INTO snapshot_seen VALUES (:n)"), {"n": n})
            assert await database.snapshot(total) == expected
    finally:
        async with database.write() as session:  # the PostgreSQL database is shared
            await session.execute(text("DROP TABLE snapshot_seen"))


async def test_a_snapshot_read_whose_connection_died_runs_again(postgres_database: str) -> None:
    """PostgreSQL only: a SQLite file has no server to drop connections."""

    async def backend(connection: AsyncConnection) -> int:
        return int(await connection.scalar(text("SELECT pg_backend_pid()")))

    database = Database(postgres_database)
    try:
        first = await database.snapshot(backend)
        # The server ends every other session on this database (a restart, an idle timeout).
        async with database.write() as session:
            ended = await session.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        assert ended >= 1
        assert await database.snapshot(backend) != first
    finally:
        await database.dispose()


async def test_a_snapshot_read_that_fails_for_itself_is_not_repeated(database: Database) -> None:
    runs = 0

    async def broken(connection: AsyncConnection) -> None:
        nonlocal runs
        runs += 1
        await connection.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises((OperationalError, ProgrammingError), match="no_such_table"):
        await database.snapshot(broken)
    assert runs == 1
