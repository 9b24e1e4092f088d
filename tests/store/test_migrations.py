"""The migrations build exactly the models' schema, and the log queries use their indexes.

Both on SQLite and PostgreSQL. The query plans are of the statements the store really
sends: they are captured from the driver while the store's own functions run.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from switchboard.store import calls as store
from switchboard.store.calls import HistoryFilter
from switchboard.store.db import Database
from switchboard.store.migrate import migrate
from switchboard.store.models import Base, Call, Conversation, ConversationParticipant, User


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a database the migrations built (the conftest migrates each one)."""
    created = create_async_engine(database_url)
    yield created
    await created.dispose()


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_leave_no_difference_to_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


def _shape(connection: Connection, schema: str | None = None) -> dict[str, Any]:
    """Every table as the database describes it: columns, keys and indexes with predicates."""
    inspector = inspect(connection)
    shape: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names(schema=schema)):
        if table == "alembic_version":
            continue
        shape[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"])
                for c in inspector.get_columns(table, schema=schema)
            ],
            "primary key": inspector.get_pk_constraint(table, schema=schema)["constrained_columns"],
            "foreign keys": sorted(
                (
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    (fk.get("options") or {}).get("ondelete"),
                )
                for fk in inspector.get_foreign_keys(table, schema=schema)
            ),
            "unique": sorted(
                tuple(u["column_names"])
                for u in inspector.get_unique_constraints(table, schema=schema)
            ),
            "indexes": sorted(
                (
                    index["name"],
                    tuple(index["column_names"]),
                    bool(index["unique"]),
                    " ".join(
                        str(value)
                        for key, value in sorted(index.get("dialect_options", {}).items())
                        if key.endswith("_where")
                    ),
                )
                for index in inspector.get_indexes(table, schema=schema)
            ),
        }
    return shape


async def test_migrated_schema_equals_the_models_created_directly(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """Compares what the database reports for both, partial index predicates included."""
    async with engine.connect() as connection:
        migrated = await connection.run_sync(_shape)
    if engine.dialect.name == "sqlite":
        direct_engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'direct.db'}")
        try:
            async with direct_engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
                direct = await connection.run_sync(_shape)
        finally:
            await direct_engine.dispose()
    else:
        schema = f"direct_{uuid.uuid4().hex[:8]}"
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                translated = await connection.execution_options(schema_translate_map={None: schema})
                await translated.run_sync(Base.metadata.create_all)
                direct = await connection.run_sync(_shape, schema)
            finally:
                await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                await connection.commit()
    assert set(migrated) == {table.name for table in Base.metadata.sorted_tables}
    assert migrated == direct
    indexes = {index[0]: index for index in migrated["call_entries"]["indexes"]}
    # The log index leads with the page order and covers what filters and stats read.
    assert indexes["ix_call_entries_log"][1][:3] == ("user_id", "started_at", "call_id")
    covered = {"deleted_at", "direction", "call_type", "status", "answered", "duration"}
    assert covered | {"peer_id", "conversation_id"} <= set(indexes["ix_call_entries_log"][1])
    assert "deleted_at IS NULL" in indexes["ix_call_entries_log"][3]
    assert indexes["ix_call_entries_missed"][1][:2] == ("user_id", "started_at")
    # The partial condition's columns: SQLite then reads no table row to check it again.
    assert {"deleted_at", "status", "direction"} <= set(indexes["ix_call_entries_missed"][1])
    assert "missed" in indexes["ix_call_entries_missed"][3]


async def test_migrating_twice_changes_nothing(database_url: str, engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        before = await connection.run_sync(_shape)
    await migrate(database_url)
    async with engine.connect() as connection:
        assert await connection.run_sync(_shape) == before
        assert await connection.run_sync(_differences) == []


# -- query plans -------------------------------------------------------------------------------

ME = "01890000-0000-7000-8000-000000000001"
LOG_INDEXES = ("log", "peer", "conversation", "missed")
PEER = "01890000-0000-7000-8000-000000000002"  # one of ME's peers, in a conversation of their own


async def _seed(db: Database, *, calls: int = 400) -> None:
    """Users, and calls of ME with several peers (every 7th deleted by ME), mixed statuses."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    peers = [f"01890000-0000-7000-8000-{n:012d}" for n in range(2, 12)]
    async with db.write() as session:
        for user_id in [ME, *peers]:
            session.add(
                User(
                    id=user_id,
                    username=f"u{user_id[-4:]}",
                    display_name="u",
                    password_hash="x",
                    created_at=start,
                )
            )
        for peer in peers:
            session.add(Conversation(id=peer.replace("8000", "9000"), created_at=start))
        await session.flush()
        for peer in peers:
            for member in (ME, peer):
                session.add(
                    ConversationParticipant(
                        conversation_id=peer.replace("8000", "9000"), user_id=member
                    )
                )
        await session.flush()
        # ME's calls, then calls among the peers: everyone has a log and missed calls.
        for n in range(calls + calls // 2):
            peer = peers[n % len(peers)]
            if n < calls:
                caller, receiver = (ME, peer) if n % 2 else (peer, ME)
            else:
                caller, receiver = peer, peers[(n + 1) % len(peers)]
            moment = start + timedelta(minutes=n)
            status = ("missed", "ended", "rejected")[n % 3]
            call = Call(
                id=str(uuid.UUID(int=n + 1)),
                caller_id=caller,
                receiver_id=receiver,
                conversation_id=peer.replace("8000", "9000"),
                call_type=("audio", "video")[n % 2],
                status=status,
                duration=0,
                version=2,
                started_at=moment,
                created_at=moment,
                updated_at=moment,
                ring_deadline=moment,
            )
            await store.insert_call(session, call)
            await store.log_call(session, call)
            if n % 7 == 0 and n < calls:
                await store.soft_delete(
                    session, call_id=str(uuid.UUID(int=n + 1)), user_id=ME, now=moment
                )


@contextmanager
def captured(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL and parameters the driver is given while the block runs."""
    statements: list[tuple[str, Any]] = []

    def capture(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)


async def _plan(engine: AsyncEngine, statement: str, parameters: Any) -> str:
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            result = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(str(row[-1]) for row in result)
        # Few rows: a sequential scan would win; forbid it to see which index can serve.
        await connection.exec_driver_sql("SET enable_seqscan = off")
        result = await connection.exec_driver_sql("EXPLAIN " + statement, parameters)
        return "\n".join(str(row[0]) for row in result)


async def test_log_queries_use_their_indexes(database_url: str, engine: AsyncEngine) -> None:
    db = Database(database_url)
    try:
        await _seed(db)
    finally:
        await db.dispose()
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            # As autovacuum leaves a table: statistics, and the visibility map that lets the
            # covering log index answer without reading the table (an index-only scan).
            vacuum = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await vacuum.exec_driver_sql("VACUUM ANALYZE call_entries")
        else:
            await connection.exec_driver_sql("ANALYZE")
            await connection.commit()
    since = datetime(2025, 1, 1, 3, tzinfo=UTC)
    until = datetime(2025, 1, 1, 5, tzinfo=UTC)
    async with AsyncSession(engine) as session:
        with captured(engine) as history:
            calls, total = await store.history(
                session, user_id=ME, filters=HistoryFilter(), offset=20, limit=20
            )
        assert len(calls) == 20 and total == 400 - 58  # every 7th call deleted
        with captured(engine) as filtered:
            await store.history(
                session,
                user_id=ME,
                filters=HistoryFilter(status="missed", start=since, end=until),
                offset=0,
                limit=20,
            )
        with captured(engine) as by_peer:
            _, total = await store.history(
                session, user_id=ME, filters=HistoryFilter(with_user_id=PEER), offset=0, limit=20
            )
            assert 0 < total < 100
        with captured(engine) as by_conversation:
            _, total = await store.history(
                session,
                user_id=ME,
                filters=HistoryFilter(conversation_id=PEER.replace("8000", "9000")),
                offset=0,
                limit=20,
            )
            assert 0 < total < 100
        with captured(engine) as missed:
            assert await store.missed_count(session, user_id=ME, since=since) > 0
        with captured(engine) as stats:
            assert (await store.stats_totals(session, user_id=ME, start=since, end=until)).total
        with captured(engine) as all_missed:
            assert await store.missed_count(session, user_id=ME, since=None) > 0
        with captured(engine) as all_stats:
            assert (await store.stats_totals(session, user_id=ME, start=None, end=None)).total
        with captured(engine) as active:
            assert await store.active_calls(session) == []  # the sweeper, every second
        with captured(engine) as counts:
            assert await store.active_counts(session) == {}  # every /metrics scrape
    tallies = (
        "call_tallies_pkey"
        if engine.dialect.name == "postgresql"
        else "sqlite_autoindex_call_tallies_1"
    )
    queries = {
        "history's total": (tallies, history),
        "history page": ("ix_call_entries_log", history),
        "filtered history (count and page)": ("ix_call_entries_log", filtered),
        "history with a user": ("ix_call_entries_peer", by_peer),
        "history of a conversation": ("ix_call_entries_conversation", by_conversation),
        "missed count": ("ix_call_entries_missed", missed),
        "stats": ("ix_call_entries_log", stats),
        "missed count of all time": (tallies, all_missed),
        "stats of all time": (tallies, all_stats),
        "active calls": ("ix_calls_active", active),
        "active counts": ("ix_calls_active", counts),
    }
    tables = {"ix_calls_active": "calls", tallies: "call_tallies"}  # else call_entries
    for name, (index, statements) in queries.items():
        assert len(statements) == 1, (name, statements)
        statement, parameters = statements[0]
        assert tables.get(index, "call_entries") in statement
        plan = await _plan(engine, statement, parameters)
        assert index in plan, f"{name} does not use {index}:\n{statement}\n{plan}"
        if not index.startswith("ix_call_entries"):
            continue
        others = {f"ix_call_entries_{n}" for n in LOG_INDEXES} - {index}
        assert not [other for other in others if other in plan], f"{name}:\n{plan}"
        if engine.dialect.name == "sqlite":
            assert f"COVERING INDEX {index}" in plan, f"{name} reads table rows:\n{plan}"
