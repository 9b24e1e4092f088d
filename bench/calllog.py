"""(4) The call log at scale: calls bulk-loaded straight into the database (COPY on
PostgreSQL, one executemany transaction on SQLite), then the latency of history pages,
filters, the missed count and stats of a heavy user over HTTP, and the query plans."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event, text
from sqlalchemy.engine import Connection

from bench import floor
from bench.client import Http
from bench.procinfo import CpuMeter
from bench.servers import SECRET, Cluster, password_hash
from bench.stats import summary_ms
from switchboard.clock import SystemClock
from switchboard.services.auth import TokenCodec
from switchboard.store import calls as call_store
from switchboard.store import users as user_store
from switchboard.store.calls import HistoryFilter
from switchboard.store.db import Database
from switchboard.store.migrate import migrate

PEERS_PER_USER = 10  # normal users call among a few contacts
HEAVY_PEERS = 100
CHUNK = 50_000
NOW = datetime(2026, 11, 1, tzinfo=UTC)
SPAN = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Shape:
    calls: int
    users: int
    heavy_calls: int


def _uuid7(ms: int, rng: random.Random) -> str:
    value = (ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62)
    return str(uuid.UUID(int=value | rng.getrandbits(62)))


def _pair_key(a: str, b: str) -> str:
    low, high = sorted((a, b))
    return f"{low}:{high}"


@dataclass
class Dataset:
    """Deterministic rows, produced chunk by chunk (never all in memory)."""

    shape: Shape
    seed: int = 8

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        base_ms = int((NOW - SPAN).timestamp() * 1000)
        self.user_ids = [_uuid7(base_ms - 10_000 + i, rng) for i in range(self.shape.users)]
        self.conversations: dict[str, str] = {}
        self.heavy_peers = min(HEAVY_PEERS, self.shape.users - 1)
        for i, uid in enumerate(self.user_ids):
            peers = range(1, PEERS_PER_USER + 1) if i else range(1, self.heavy_peers + 1)
            for k in peers:
                other = self.user_ids[(i + k) % self.shape.users]
                if other == uid:
                    continue
                key = _pair_key(uid, other)
                if key not in self.conversations:
                    self.conversations[key] = _uuid7(base_ms - 5_000, rng)

    def users(self, hashed: str) -> list[tuple[Any, ...]]:
        created = (NOW - SPAN - timedelta(days=1)).replace(tzinfo=None)
        return [
            (uid, ("h" if i == 0 else "u") + f"{i:06d}", f"User {i}", hashed, created, None)
            for i, uid in enumerate(self.user_ids)
        ]

    def conversation_rows(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        created = (NOW - SPAN).replace(tzinfo=None)
        conversations = [
            (cid, key, created, NOW.replace(tzinfo=None)) for key, cid in self.conversations.items()
        ]
        members = [(cid, uid) for key, cid in self.conversations.items() for uid in key.split(":")]
        return conversations, members

    def chunks(self) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
        """(calls rows, call_entries rows), CHUNK calls at a time; naive UTC datetimes."""
        rng = random.Random(self.seed + 1)
        users, heavy_peers = self.user_ids, self.heavy_peers
        span_ms = int(SPAN.total_seconds() * 1000)
        start_ms = int((NOW - SPAN).timestamp() * 1000)
        calls: list[tuple[Any, ...]] = []
        entries: list[tuple[Any, ...]] = []
        for n in range(self.shape.calls):
            if n < self.shape.heavy_calls:
                a, b = 0, 1 + n % heavy_peers
            else:
                a = rng.randrange(1, len(users))
                b = 0
                while b == 0:  # the heavy user's calls are counted apart; a has 9+ others
                    b = (a + rng.randrange(1, PEERS_PER_USER + 1)) % len(users)
            if rng.random() < 0.5:
                a, b = b, a
            caller, receiver = users[a], users[b]
            conversation = self.conversations[_pair_key(caller, receiver)]
            ms = start_ms + rng.randrange(span_ms)
            started = datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)
            roll = rng.random()
            call_type = "video" if rng.random() < 0.3 else "audio"
            answered_at = None
            ended_by: str | None
            duration = 0
            if roll < 0.6:
                status, reason, ended_by = "ended", "hangup", caller
                answered_at = started + timedelta(seconds=rng.randrange(1, 30))
                duration = rng.randrange(1, 3600)
                ended = answered_at + timedelta(seconds=duration)
            elif roll < 0.85:
                status = "missed"
                reason, ended_by = (
                    ("timeout", None) if rng.random() < 0.7 else ("cancelled", caller)
                )
                ended = started + timedelta(seconds=45)
            else:
                status, reason, ended_by = "rejected", "rejected", receiver
                ended = started + timedelta(seconds=rng.randrange(1, 20))
            call_id = _uuid7(ms, rng)
            calls.append(
                (
                    call_id, caller, receiver, conversation, call_type, status, reason, ended_by,
                    started, answered_at, ended, duration, 3, started, ended,
                    started + timedelta(seconds=45), None, None, True, True, None, None,
                )
            )  # fmt: skip
            answered = answered_at is not None
            for user, peer, direction in (
                (caller, receiver, "outgoing"),
                (receiver, caller, "incoming"),
            ):
                deleted = ended if rng.random() < 0.02 else None
                entries.append(
                    (call_id, user, peer, conversation, direction, call_type, status, answered,
                     duration, started, deleted)
                )  # fmt: skip
            if len(calls) >= CHUNK:
                yield calls, entries
                calls, entries = [], []
        if calls:
            yield calls, entries


CALL_COLUMNS = [
    "id",
    "caller_id",
    "receiver_id",
    "conversation_id",
    "call_type",
    "status",
    "end_reason",
    "ended_by",
    "started_at",
    "answered_at",
    "ended_at",
    "duration",
    "version",
    "created_at",
    "updated_at",
    "ring_deadline",
    "caller_connection_id",
    "receiver_connection_id",
    "caller_watched",
    "receiver_watched",
    "caller_lost_at",
    "receiver_lost_at",
]
ENTRY_COLUMNS = [
    "call_id",
    "user_id",
    "peer_id",
    "conversation_id",
    "direction",
    "call_type",
    "status",
    "answered",
    "duration",
    "started_at",
    "deleted_at",
]
USER_COLUMNS = ["id", "username", "display_name", "password_hash", "created_at", "missed_seen_at"]


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite storage format
    if isinstance(value, bool):
        return int(value)
    return value


def _sqlite_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(_sqlite_value(v) for v in row) for row in rows]


def _insert_sql(table: str, columns: list[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def load_sqlite(path: Path, data: Dataset) -> None:
    """Everything in one transaction of executemany batches."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-1000000")
        connection.execute("BEGIN")
        connection.executemany(
            _insert_sql("users", USER_COLUMNS), _sqlite_rows(data.users(password_hash()))
        )
        conversations, members = data.conversation_rows()
        connection.executemany(
            _insert_sql("conversations", ["id", "pair_key", "created_at", "last_call_at"]),
            _sqlite_rows(conversations),
        )
        connection.executemany(
            _insert_sql("conversation_participants", ["conversation_id", "user_id"]), members
        )
        for calls, entries in data.chunks():
            connection.executemany(_insert_sql("calls", CALL_COLUMNS), _sqlite_rows(calls))
            connection.executemany(
                _insert_sql("call_entries", ENTRY_COLUMNS), _sqlite_rows(entries)
            )
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def load_postgres(url: str, data: Dataset) -> None:
    """COPY in one transaction, then VACUUM ANALYZE (statistics and the visibility map)."""
    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        async with connection.transaction():
            await connection.execute("SET LOCAL synchronous_commit = off")
            await connection.copy_records_to_table(
                "users", records=data.users(password_hash()), columns=USER_COLUMNS
            )
            conversations, members = data.conversation_rows()
            await connection.copy_records_to_table(
                "conversations", records=conversations,
                columns=["id", "pair_key", "created_at", "last_call_at"],
            )  # fmt: skip
            await connection.copy_records_to_table(
                "conversation_participants", records=members, columns=["conversation_id", "user_id"]
            )
            for calls, entries in data.chunks():
                await connection.copy_records_to_table("calls", records=calls, columns=CALL_COLUMNS)
                await connection.copy_records_to_table(
                    "call_entries", records=entries, columns=ENTRY_COLUMNS
                )
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def _count_calls(url: str) -> int:
    db = Database(url)
    try:
        async with db.read() as session:
            return int(await session.scalar(text("SELECT count(*) FROM calls")) or 0)
    except Exception:
        return -1
    finally:
        await db.dispose()


async def ensure_loaded(url: str, shape: Shape, *, sqlite_path: Path | None) -> dict[str, Any]:
    """Loads the dataset unless this database already holds it; returns what it took."""
    await migrate(url)
    if await _count_calls(url) == shape.calls:
        return {"reused": True}
    if await _count_calls(url) != 0:
        raise RuntimeError(f"{url} holds another dataset: remove it first")
    started = time.perf_counter()
    data = Dataset(shape)
    if sqlite_path is not None:
        await asyncio.to_thread(load_sqlite, sqlite_path, data)
    else:
        await load_postgres(url, data)
    return {"reused": False, "load_s": round(time.perf_counter() - started, 1)}


@dataclass(frozen=True, slots=True)
class Subject:
    user_id: str
    peer_id: str
    conversation_id: str


async def heavy_subject(url: str) -> Subject:
    db = Database(url)
    try:
        async with db.read() as session:
            user_id = await session.scalar(text("SELECT id FROM users WHERE username = 'h000000'"))
            row = (
                await session.execute(
                    text(
                        "SELECT peer_id, conversation_id FROM call_entries"
                        " WHERE user_id = :u LIMIT 1"
                    ),
                    {"u": user_id},
                )
            ).one()
        return Subject(str(user_id), str(row[0]), str(row[1]))
    finally:
        await db.dispose()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def queries(subject: Subject) -> dict[str, str]:
    month = {"from": _iso(NOW - timedelta(days=30)), "to": _iso(NOW)}
    return {
        "history page 1": "/calls/history?page=1&limit=20",
        "history page 50": "/calls/history?page=50&limit=20",
        "filter callType=video": "/calls/history?callType=video",
        "filter status=missed": "/calls/history?status=missed",
        "filter direction=incoming": "/calls/history?direction=incoming",
        "filter missed+incoming": "/calls/history?status=missed&direction=incoming",
        "filter withUserId": f"/calls/history?withUserId={subject.peer_id}",
        "filter conversationId": f"/calls/history?conversationId={subject.conversation_id}",
        "filter from/to (30 days)": "/calls/history?" + urlencode(month),
        "missed count": "/calls/missed/count",
        "missed count since": "/calls/missed/count?" + urlencode({"since": month["from"]}),
        "missed count unseen": "/calls/missed/count?unseen=true",
        "stats": "/calls/stats/summary",
        "stats 30 days": "/calls/stats/summary?" + urlencode(month),
    }


async def measure(cluster: Cluster, subject: Subject, *, repeat: int) -> dict[str, Any]:
    """Each query's latency and the server's CPU per request; around them, on the same server,
    the floor routes (`bench/floor.py`) as the run's yardstick: what the machine's minute did
    to requests that no call-log work is in."""
    token = TokenCodec(secret=SECRET, ttl_seconds=3600, clock=SystemClock()).issue(subject.user_id)
    http = Http("127.0.0.1", cluster.port(), token)
    try:
        before = {path: await _timed(http, cluster, path, repeat) for path in floor.HTTP_ROUTES}
        results = {
            name: await _timed(http, cluster, path, repeat)
            for name, path in queries(subject).items()
        }
        after = {path: await _timed(http, cluster, path, repeat) for path in floor.HTTP_ROUTES}
    finally:
        await http.close()
    yardsticks = {
        path: {
            "server_cpu_ms_per_request": [
                before[path]["server_cpu_ms_per_request"],
                after[path]["server_cpu_ms_per_request"],
            ],
            "p99_ms": [before[path]["p99_ms"], after[path]["p99_ms"]],
        }
        for path in floor.HTTP_ROUTES
    }
    return {"queries": results, "yardsticks": yardsticks}


async def _timed(http: Http, cluster: Cluster, path: str, repeat: int) -> dict[str, Any]:
    for _ in range(max(3, repeat // 10)):  # warm-up
        await http.request("GET", path)
    samples = []
    meter = CpuMeter(cluster.pids).start()
    for _ in range(repeat):
        started = time.perf_counter()
        body = await http.request("GET", path)
        samples.append(time.perf_counter() - started)
    meter.stop()
    return {
        **summary_ms(samples),
        "server_cpu_ms_per_request": round(1000 * meter.servers / repeat, 3),
        "total": body.get("pagination", {}).get("total", body.get("count")),
    }


async def query_plans(url: str, subject: Subject) -> dict[str, list[str]]:
    """The statements the store runs for each query, and the database's plan for each."""
    db = Database(url)
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Connection, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("EXPLAIN", "BEGIN", "SELECT PG_")):
            captured.append((statement, parameters))

    engine = db._read_engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    month = (NOW - timedelta(days=30), NOW)
    cases: dict[str, Any] = {
        "history page 1": dict(filters=HistoryFilter(), offset=0),
        "history page 50": dict(filters=HistoryFilter(), offset=980),
        "filter callType=video": dict(filters=HistoryFilter(call_type="video"), offset=0),
        "filter status=missed+incoming": dict(
            filters=HistoryFilter(status="missed", direction="incoming"), offset=0
        ),
        "filter withUserId": dict(filters=HistoryFilter(with_user_id=subject.peer_id), offset=0),
        "filter from/to": dict(filters=HistoryFilter(start=month[0], end=month[1]), offset=0),
    }
    plans: dict[str, list[str]] = {}
    explain = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, COSTS OFF) "
    try:
        async with db.read() as session:
            for name, case in cases.items():
                captured.clear()
                calls, _ = await call_store.history(
                    session, user_id=subject.user_id, limit=20, **case
                )
                await user_store.get_users(
                    session, {c.caller_id for c in calls} | {c.receiver_id for c in calls}
                )
                plans[name] = await _explain(session, explain, list(captured))
            for name, run in (
                (
                    "missed count",
                    call_store.missed_count(session, user_id=subject.user_id, since=None),
                ),
                (
                    "stats",
                    call_store.stats_totals(session, user_id=subject.user_id, start=None, end=None),
                ),
            ):
                captured.clear()
                await run
                plans[name] = await _explain(session, explain, list(captured))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
        await db.dispose()
    return plans


async def _explain(session: Any, explain: str, statements: list[tuple[str, Any]]) -> list[str]:
    lines: list[str] = []
    for statement, parameters in statements:
        params = tuple(parameters) if isinstance(parameters, list | tuple) else parameters
        connection = await session.connection()
        result = await connection.exec_driver_sql(explain + statement, params)
        lines.append("-- " + " ".join(statement.split())[:400])
        lines.extend("   " + " | ".join(str(v) for v in row) for row in result)
    return lines
