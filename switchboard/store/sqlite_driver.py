"""aiosqlite connections that take one trip to their worker thread per statement.

aiosqlite's cursor goes to its thread for every step: create, execute, fetch, close. Through
SQLAlchemy's adapter that is four round trips per statement, and each one resumes the
request's whole coroutine stack (middleware, routing, the use case). This cursor runs the steps
together in one trip and keeps the rows, which SQLAlchemy's adapter then reads from memory.
Handed to SQLAlchemy through `create_async_engine(async_creator=...)`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import Any, TypeAlias

import aiosqlite

Row: TypeAlias = tuple[Any, ...]
Description: TypeAlias = tuple[tuple[Any, ...], ...] | None
Outcome: TypeAlias = tuple[Description, list[Row], int, int | None]


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> Outcome:
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor:
    """The async cursor SQLAlchemy's aiosqlite adapter expects, buffered."""

    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._rows: list[Row] = []
        self.description: Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> OneTripCursor:
        return await self._execute(sql, () if parameters is None else parameters, many=False)

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> OneTripCursor:
        return await self._execute(sql, parameters, many=True)

    async def _execute(self, sql: str, parameters: Any, *, many: bool) -> OneTripCursor:
        run = partial(_run, sql=sql, parameters=parameters, many=many)
        outcome = await self._connection.run(run)
        self.description, self._rows, self.rowcount, self.lastrowid = outcome
        return self

    async def fetchone(self) -> Row | None:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Row]:
        count = self.arraysize if size is None else size
        rows, self._rows = self._rows[:count], self._rows[count:]
        return rows

    async def fetchall(self) -> list[Row]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []

    async def nextset(self) -> None:
        return None


class Connection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors are `OneTripCursor`s."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._thread.daemon = True  # as SQLAlchemy sets it for the connections it opens

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open, read without a trip (a flag of the sqlite3 handle)."""
        return self._connection is not None and self._connection.in_transaction

    async def commit(self) -> None:
        if self.in_transaction:  # else nothing to do: save the trip
            await super().commit()

    async def rollback(self) -> None:
        if self.in_transaction:
            await super().rollback()

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    def run(self, function: Callable[[sqlite3.Connection], Outcome]) -> Awaitable[Outcome]:
        """Runs `function(sqlite3_connection)` on the connection's thread."""
        return self._execute(lambda: function(self._conn))  # type: ignore[no-untyped-call]


def creator(database: str, *, timeout_seconds: float) -> Callable[[], Awaitable[Connection]]:
    """The `async_creator` for a SQLite file (or ":memory:")."""

    async def connect() -> Connection:
        uri = database.startswith("file:")
        connection = Connection(
            partial(sqlite3.connect, database, timeout=timeout_seconds, uri=uri)
        )
        await connection
        return connection

    return connect
