"""Engines and sessions for SQLite (WAL) and PostgreSQL.

On SQLite every write transaction starts with `BEGIN IMMEDIATE`, so two writers queue on the
database lock (with `busy_timeout`) instead of failing with "database is locked" halfway
through; reads use a second engine with ordinary deferred transactions, which WAL lets run
beside the writer.

A read that is one statement needs no transaction at all: `snapshot` runs it on its own (a
statement sees one consistent snapshot on both databases), without the BEGIN and COMMIT that
cost two trips to SQLite's thread or two round trips to PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolResetState

from switchboard.store.sqlite_driver import creator

SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_MMAP_BYTES = 1 << 30
SQLITE_CACHE_KIB = 16 * 1024
PG_CONNECT_TIMEOUT_SECONDS = 5
SNAPSHOT = "switchboard_snapshot"  # the execution option of statements run without BEGIN

T = TypeVar("T")

# What the store's reads run on: a session's transaction, or a `snapshot`'s connection.
Reader = AsyncSession | AsyncConnection


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    database = make_url(url).database or ":memory:"
    engine = create_async_engine(
        url,
        async_creator=creator(database, timeout_seconds=SQLITE_BUSY_TIMEOUT_MS / 1000),
        pool_reset_on_return=None,  # _on_reset below rolls back only what is still open
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook below emit BEGIN instead of the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # Reads of a large call log: pages come straight from the OS page cache (shared by
        # every connection) instead of being copied into each connection's small cache.
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.execute("PRAGMA temp_store=MEMORY")  # a history page's ORDER BY sorts here
        cursor.close()

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, record: Any, state: PoolResetState) -> None:
        # SQLAlchemy rolls back every returned connection, even one whose transaction was
        # committed: a trip to the driver's thread per use case for nothing.
        if state.asyncio_safe and record.driver_connection.in_transaction:
            dbapi_connection.rollback()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(SNAPSHOT):
            return  # autocommit: the statement is its own transaction
        # Straight to the driver: exec_driver_sql would build a result for "BEGIN".
        connection.connection.cursor().execute(begin)

    return engine


def _postgres_engine(url: str, *, snapshots: bool = False) -> AsyncEngine:
    if snapshots:
        # Not pinged before each use (the ping costs as much as the read): `snapshot` tries
        # a read again on a fresh connection when the pooled one turns out dead.
        options: dict[str, Any] = {
            "isolation_level": "AUTOCOMMIT",
            "pool_size": 5,
            "max_overflow": 5,
        }
    else:
        options = {"pool_size": 10, "max_overflow": 20, "pool_pre_ping": True}
    return create_async_engine(
        url,
        pool_timeout=10,
        connect_args={"timeout": PG_CONNECT_TIMEOUT_SECONDS, "command_timeout": 30},
        **options,
    )


class Database:
    """Owns the engines; hands out one session per use case."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, immediate=True)
            self._read_engine = _sqlite_engine(url, immediate=False)
            self._snapshot_engine = self._read_engine.execution_options(**{SNAPSHOT: True})
        else:
            self.engine = _postgres_engine(url)
            self._read_engine = self.engine
            self._snapshot_engine = _postgres_engine(url, snapshots=True)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reader = async_sessionmaker(self._read_engine, expire_on_commit=False)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in one write transaction, committed when the block succeeds.

        SQLite has one writer at a time: this process's writers queue on an asyncio lock, in
        order, instead of each holding a pooled connection in a thread that polls the file
        lock (unfair: under load one could wait past `busy_timeout` and fail with "database
        is locked"). `busy_timeout` still arbitrates with other processes.
        """
        if self._write_lock is None:
            async with self._writer() as session, session.begin():
                yield session
            return
        async with self._write_lock, self._writer() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._reader() as session, session.begin():
            yield session

    async def snapshot(self, read: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`read(connection)` where each statement runs on its own, outside a transaction.

        For reads of one statement (or of several that need not agree with each other). A
        read is safe to repeat: one whose connection turns out dead runs again on another.
        """
        try:
            async with self._snapshot_engine.connect() as connection:
                return await read(connection)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        async with self._snapshot_engine.connect() as connection:
            return await read(connection)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._read_engine is not self.engine:
            await self._read_engine.dispose()
        if self._snapshot_engine.pool is not self._read_engine.pool:
            await self._snapshot_engine.dispose()
