"""`call_tallies` always equals a recount of the call log (`tallies.RECOUNT`).

On SQLite and PostgreSQL: through every move of the services one at a time, under many moves
and deletes at once, and after the migration that fills the table from an existing log.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from switchboard.domain.calls import Action, CallStatus, CallType
from switchboard.services.errors import ErrorKind, ServiceError
from switchboard.services.views import CallView
from switchboard.store import calls as store
from switchboard.store import tallies
from switchboard.store.db import Database
from switchboard.store.migrate import migrate
from tests.services import conftest as services_conftest
from tests.services.conftest import World
from tests.services_available import POSTGRES_URL, require_postgres

# The services on this test's database (the fixture of tests/services/, shared here).
world = services_conftest.world

Key = tuple[str, str, str, str, bool]  # user_id, direction, call_type, status, answered
Tallies = dict[Key, tuple[int, int]]  # calls, seconds


def _normalised(rows: Iterable[Any]) -> Tallies:
    table: Tallies = {}
    for user_id, direction, call_type, status, answered, calls, seconds in rows:
        key = (str(user_id), str(direction), str(call_type), str(status), bool(answered))
        assert key not in table, f"two rows for {key}"
        table[key] = (int(calls), int(seconds))
    return table


async def stored_tallies(db: Database) -> Tallies:
    """The `call_tallies` rows that count something (a row may fall back to zero)."""
    async with db.read() as session:
        result = await session.execute(
            sa.text(
                "SELECT user_id, direction, call_type, status, answered, calls, duration"
                " FROM call_tallies WHERE calls <> 0 OR duration <> 0"
            )
        )
        return _normalised(result)


async def recount(db: Database) -> Tallies:
    async with db.read() as session:
        return _normalised(await session.execute(sa.text(tallies.RECOUNT)))


async def checked(db: Database) -> Tallies:
    """The tallies, after asserting that they equal a recount of the entries."""
    kept, counted = await stored_tallies(db), await recount(db)
    assert kept == counted, {
        "only kept": {k: v for k, v in kept.items() if counted.get(k) != v},
        "only counted": {k: v for k, v in counted.items() if kept.get(k) != v},
    }
    return kept


def out(user: str, call_type: str, status: str, answered: bool) -> Key:
    return (user, "outgoing", call_type, status, answered)


def inc(user: str, call_type: str, status: str, answered: bool) -> Key:
    return (user, "incoming", call_type, status, answered)


async def fails(call: Awaitable[object], kind: ErrorKind, code: str | None = None) -> None:
    with pytest.raises(ServiceError) as raised:
        await call
    assert raised.value.kind is kind, (raised.value.kind, raised.value.code)
    if code is not None:
        assert raised.value.code == code


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A Database of the test's own on the world's database, to read the tables with."""
    database = Database(database_url)
    yield database
    await database.dispose()


# -- every move, one at a time -----------------------------------------------------------------


async def test_each_move_keeps_the_tallies_equal_to_a_recount(world: World, db: Database) -> None:
    """New calls, answers, rejections, cancels, timeouts, status changes and deletes each move
    both entries in the tallies; refused moves (busy, active, repeated, foreign) move nothing."""
    calls, clock = world.services.calls, world.clock
    alice, bob = world.alice, world.bob
    carol = await world.services.auth.create_user(
        username="carol", password="password123", display_name=None
    )
    audio, video = CallType.AUDIO, CallType.VIDEO
    assert await checked(db) == {}

    # An audio call the receiver rejects.
    rejected = await calls.initiate(caller_id=alice, receiver_id=bob, call_type=audio)
    ringing = await checked(db)
    assert ringing == {
        out(alice, "audio", "initiated", False): (1, 0),
        inc(bob, "audio", "initiated", False): (1, 0),
    }
    await calls.answer(user_id=bob, call_id=rejected.id, accept=False)
    assert await checked(db) == {
        out(alice, "audio", "rejected", False): (1, 0),
        inc(bob, "audio", "rejected", False): (1, 0),
    }

    # A video call answered, then ended by the caller 75 seconds later.
    talked = await calls.initiate(caller_id=alice, receiver_id=bob, call_type=video)
    await calls.answer(user_id=bob, call_id=talked.id, accept=True)
    answered = await checked(db)
    assert answered[out(alice, "video", "answered", True)] == (1, 0)
    assert out(alice, "video", "initiated", False) not in answered
    clock.advance(75)
    ended = await calls.end(user_id=alice, call_id=talked.id)
    assert ended.duration == 75
    after_talk = await checked(db)
    assert after_talk[out(alice, "video", "ended", True)] == (1, 75)
    assert after_talk[inc(bob, "video", "ended", True)] == (1, 75)
    assert out(alice, "video", "answered", True) not in after_talk

    # Cancelled by the caller before an answer: missed on both sides.
    cancelled = await calls.initiate(caller_id=carol, receiver_id=alice, call_type=audio)
    await calls.end(user_id=carol, call_id=cancelled.id)
    after_cancel = await checked(db)
    assert after_cancel[inc(alice, "audio", "missed", False)] == (1, 0)

    # A ring timeout: not yet due at 44 s (nothing moves), applied past 45 s.
    timed_out = await calls.initiate(caller_id=alice, receiver_id=carol, call_type=video)
    before = await checked(db)
    clock.advance(44)
    assert await calls.expire(call_id=timed_out.id, action=Action.RING_TIMEOUT) is None
    assert await checked(db) == before
    clock.advance(2)
    expired = await calls.expire(call_id=timed_out.id, action=Action.RING_TIMEOUT)
    assert expired is not None and expired.status is CallStatus.MISSED
    assert (await checked(db))[inc(carol, "video", "missed", False)] == (1, 0)

    # Status changes (the PATCH route): answered then ended 30 s later, and a rejection.
    patched = await calls.initiate(caller_id=bob, receiver_id=carol, call_type=audio)
    await calls.set_status(user_id=carol, call_id=patched.id, status=CallStatus.ANSWERED)
    await checked(db)
    clock.advance(30)
    await calls.set_status(user_id=bob, call_id=patched.id, status=CallStatus.ENDED)
    assert (await checked(db))[inc(carol, "audio", "ended", True)] == (1, 30)
    refused = await calls.initiate(caller_id=carol, receiver_id=bob, call_type=video)
    await calls.set_status(user_id=bob, call_id=refused.id, status=CallStatus.REJECTED)
    assert (await checked(db))[out(carol, "video", "rejected", False)] == (1, 0)

    # Busy: initiates that clash with a ringing call count nothing, nor does deleting it.
    busy = await calls.initiate(caller_id=alice, receiver_id=bob, call_type=audio)
    before = await checked(db)
    await fails(
        calls.initiate(caller_id=carol, receiver_id=bob, call_type=audio),
        ErrorKind.CONFLICT,
        "user_busy",
    )
    await fails(
        calls.initiate(caller_id=carol, receiver_id=alice, call_type=video),
        ErrorKind.CONFLICT,
        "user_busy",
    )
    await fails(
        calls.initiate(caller_id=bob, receiver_id=carol, call_type=audio),
        ErrorKind.CONFLICT,
        "caller_busy",
    )
    assert await checked(db) == before
    await fails(calls.delete(user_id=alice, call_id=busy.id), ErrorKind.CONFLICT, "call_active")
    assert await checked(db) == before
    await calls.answer(user_id=bob, call_id=busy.id, accept=True)
    clock.advance(10)
    await calls.end(user_id=bob, call_id=busy.id)
    await checked(db)

    # Deletes by each side take that side's entry out, and only that one.
    await calls.delete(user_id=alice, call_id=rejected.id)
    after_delete = await checked(db)
    assert out(alice, "audio", "rejected", False) not in after_delete
    assert after_delete[inc(bob, "audio", "rejected", False)] == (1, 0)
    await calls.delete(user_id=bob, call_id=talked.id)
    after_delete = await checked(db)
    assert inc(bob, "video", "ended", True) not in after_delete
    assert after_delete[out(alice, "video", "ended", True)] == (1, 75)
    await calls.delete(user_id=alice, call_id=talked.id)
    await checked(db)
    await calls.delete(user_id=carol, call_id=cancelled.id)
    before = await checked(db)

    # Refused or idempotent moves on finished calls change nothing.
    await fails(calls.delete(user_id=alice, call_id=rejected.id), ErrorKind.NOT_FOUND)
    await fails(calls.delete(user_id=carol, call_id=talked.id), ErrorKind.NOT_FOUND)
    await fails(calls.end(user_id=alice, call_id=talked.id), ErrorKind.NOT_FOUND)
    await calls.end(user_id=bob, call_id=busy.id)  # already ended: no move
    await calls.set_status(user_id=bob, call_id=refused.id, status=CallStatus.REJECTED)
    assert await calls.expire(call_id=timed_out.id, action=Action.RING_TIMEOUT) is None
    assert await checked(db) == before

    assert before == {
        inc(alice, "audio", "missed", False): (1, 0),  # carol's cancelled call
        out(alice, "video", "missed", False): (1, 0),  # the ring timeout
        out(alice, "audio", "ended", True): (1, 10),  # the busy call, answered at last
        inc(bob, "audio", "rejected", False): (1, 0),  # alice deleted her side only
        out(bob, "audio", "ended", True): (1, 30),
        inc(bob, "video", "rejected", False): (1, 0),
        inc(bob, "audio", "ended", True): (1, 10),
        inc(carol, "video", "missed", False): (1, 0),
        inc(carol, "audio", "ended", True): (1, 30),
        out(carol, "video", "rejected", False): (1, 0),
    }


# -- many moves at once ------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the services reported: the entries they made and deleted, and their seconds."""

    entries: int = 0
    seconds: int = 0
    finished: list[CallView] = field(default_factory=list)
    busy: int = 0
    deleted: int = 0
    not_found: int = 0

    def ended(self, view: CallView) -> None:
        assert view.status.is_terminal
        self.seconds += 2 * view.duration
        self.finished.append(view)


def _is_busy(error: ServiceError) -> bool:
    return error.kind is ErrorKind.CONFLICT and error.code in ("user_busy", "caller_busy")


async def test_concurrent_moves_and_deletes_keep_the_tallies_exact(
    world: World, db: Database
) -> None:
    """Three pairs calling each other over and over, calls across pairs, initiates refused as
    busy and deletes by both sides at once (some twice): no deadlock, no lost update, and the
    tallies add up to what the services reported."""
    calls, clock = world.services.calls, world.clock
    users = [
        await world.services.auth.create_user(
            username=f"pair{n}", password="password123", display_name=None
        )
        for n in range(6)
    ]
    pairs = [(users[0], users[1]), (users[2], users[3]), (users[4], users[5])]
    types = (CallType.AUDIO, CallType.VIDEO)
    ledger = Ledger()
    # Rings until the end: alice and bob are busy for everyone, and it cannot be deleted.
    held = await calls.initiate(
        caller_id=world.alice, receiver_id=world.bob, call_type=CallType.AUDIO
    )
    ledger.entries += 2

    async def lifecycles(a: str, b: str, call_type: CallType, rounds: int) -> None:
        """Calls within a pair: each (direction, outcome) again and again, so that the deletes
        below take several entries out of the same tally row at once."""
        for n in range(rounds):
            caller, receiver = (a, b) if n % 6 < 3 else (b, a)
            try:
                call = await calls.initiate(
                    caller_id=caller, receiver_id=receiver, call_type=call_type
                )
            except ServiceError as error:
                if not _is_busy(error):  # one of the pair took a call across pairs
                    raise
                ledger.busy += 1
                continue
            ledger.entries += 2
            if n % 3 == 0:
                await calls.answer(user_id=receiver, call_id=call.id, accept=True)
                clock.advance(2)
                ledger.ended(await calls.end(user_id=(caller, receiver)[n % 2], call_id=call.id))
            elif n % 3 == 1:
                ledger.ended(await calls.answer(user_id=receiver, call_id=call.id, accept=False))
            else:
                ledger.ended(await calls.end(user_id=caller, call_id=call.id))

    async def across(caller: str, receiver: str) -> None:
        try:
            call = await calls.initiate(
                caller_id=caller, receiver_id=receiver, call_type=CallType.VIDEO
            )
        except ServiceError as error:
            if not _is_busy(error):
                raise
            ledger.busy += 1
            return
        ledger.entries += 2
        await calls.answer(user_id=receiver, call_id=call.id, accept=True)
        clock.advance(1)
        ledger.ended(await calls.end(user_id=receiver, call_id=call.id))

    async def knock(caller: str) -> None:
        """Always refused: the receiver is in the held call (or the caller in another)."""
        with pytest.raises(ServiceError) as raised:
            await calls.initiate(
                caller_id=caller, receiver_id=world.alice, call_type=CallType.AUDIO
            )
        assert _is_busy(raised.value), raised.value.code
        ledger.busy += 1

    async def delete(user_id: str, call_id: str) -> None:
        try:
            await calls.delete(user_id=user_id, call_id=call_id)
        except ServiceError as error:
            if error.kind is not ErrorKind.NOT_FOUND:
                raise
            ledger.not_found += 1
            return
        ledger.deleted += 1

    async def refused_delete(user_id: str) -> None:
        await fails(
            calls.delete(user_id=user_id, call_id=held.id), ErrorKind.CONFLICT, "call_active"
        )

    await asyncio.gather(
        *(lifecycles(a, b, types[n % 2], rounds=18) for n, (a, b) in enumerate(pairs)),
        *(across(users[n], users[(n + 3) % 6]) for n in range(6)),
        *(knock(user) for user in users),
    )
    assert ledger.busy >= len(users)
    assert len(ledger.finished) >= 6
    await checked(db)

    # Round two: every finished call deleted by both sides, each twice, while the pairs call
    # again and the held call is refused deletion.
    first_round = list(ledger.finished)
    # In the order of their tally rows: the deletes running together take from the same row.
    entries = sorted(
        (user_id, view.caller.id == user_id, view.status, view.answered_at is None, view.id)
        for view in first_round
        for user_id in (view.caller.id, view.receiver.id)
    )
    deletes = [delete(user_id, call_id) for user_id, *_, call_id in entries for _ in range(2)]
    await asyncio.gather(
        *deletes,
        *(lifecycles(a, b, types[n % 2], rounds=6) for n, (a, b) in enumerate(pairs)),
        *(refused_delete(user_id) for user_id in (world.alice, world.bob, world.bob)),
    )
    assert ledger.deleted == 2 * len(first_round)
    assert ledger.not_found == 2 * len(first_round)

    ledger.ended(await calls.end(user_id=world.alice, call_id=held.id))
    final = await checked(db)
    deleted_seconds = sum(2 * view.duration for view in first_round)
    assert sum(count for count, _ in final.values()) == ledger.entries - ledger.deleted
    assert sum(seconds for _, seconds in final.values()) == ledger.seconds - deleted_seconds
    assert not [key for key in final if key[3] in ("initiated", "answered")]  # none in progress


# -- the migration that fills the table --------------------------------------------------------

# The tables as revision 0003 left them (the columns this test fills).
_users = sa.table(
    "users",
    sa.column("id", sa.String),
    sa.column("username", sa.String),
    sa.column("display_name", sa.String),
    sa.column("password_hash", sa.String),
    sa.column("created_at", sa.DateTime),
)
_conversations = sa.table(
    "conversations",
    sa.column("id", sa.String),
    sa.column("pair_key", sa.String),
    sa.column("created_at", sa.DateTime),
)
_calls = sa.table(
    "calls",
    *(sa.column(name, sa.String) for name in ("id", "caller_id", "receiver_id")),
    *(sa.column(name, sa.String) for name in ("conversation_id", "call_type", "status")),
    sa.column("duration", sa.Integer),
    sa.column("version", sa.Integer),
    *(sa.column(name, sa.DateTime) for name in ("started_at", "created_at", "updated_at")),
    sa.column("ring_deadline", sa.DateTime),
    sa.column("caller_watched", sa.Boolean),
    sa.column("receiver_watched", sa.Boolean),
)
_entries = sa.table(
    "call_entries",
    *(sa.column(name, sa.String) for name in ("call_id", "user_id", "peer_id")),
    *(sa.column(name, sa.String) for name in ("conversation_id", "direction", "call_type")),
    sa.column("status", sa.String),
    sa.column("answered", sa.Boolean),
    sa.column("duration", sa.Integer),
    sa.column("started_at", sa.DateTime),
    sa.column("deleted_at", sa.DateTime),
)

ALICE, BOB, CAROL = (f"01890000-0000-7000-8000-00000000000{n}" for n in (1, 2, 3))
CONVERSATION = "01890000-0000-7000-9000-000000000001"
# (caller, receiver, type, status, duration, the receiver deleted it)
_OLD_CALLS = [
    (ALICE, BOB, "audio", "ended", 60, False),
    (ALICE, BOB, "audio", "ended", 40, False),
    (BOB, ALICE, "video", "missed", 0, False),
    (CAROL, ALICE, "audio", "rejected", 0, False),
    (ALICE, CAROL, "video", "ended", 25, True),
    (BOB, CAROL, "audio", "initiated", 0, False),
]


async def _admin(statement: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(sa.text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with no tables at all: a new SQLite file, or a PostgreSQL database of the
    test's own (dropped at the end)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'unmigrated.db'}"
        return
    require_postgres()
    name = f"switchboard_tallies_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _fill_0003(url: str) -> None:
    """Users and calls with their log entries, stored as revision 0003 stores them."""
    start = datetime(2026, 1, 1)  # naive UTC, as the store keeps it
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            tables = await connection.run_sync(lambda c: sa.inspect(c).get_table_names())
            assert "call_entries" in tables and "call_tallies" not in tables
            await connection.execute(
                sa.insert(_users),
                [
                    {
                        "id": uid,
                        "username": name,
                        "display_name": name,
                        "password_hash": "x",
                        "created_at": start,
                    }
                    for uid, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol"))
                ],
            )
            await connection.execute(
                sa.insert(_conversations),
                {"id": CONVERSATION, "pair_key": None, "created_at": start},
            )
            for n, (caller, receiver, call_type, status, duration, deleted) in enumerate(
                _OLD_CALLS
            ):
                call_id = str(uuid.UUID(int=n + 1))
                moment = start + timedelta(minutes=n)
                await connection.execute(
                    sa.insert(_calls),
                    {
                        "id": call_id,
                        "caller_id": caller,
                        "receiver_id": receiver,
                        "conversation_id": CONVERSATION,
                        "call_type": call_type,
                        "status": status,
                        "duration": duration,
                        "version": 1 if status == "initiated" else 3,
                        "started_at": moment,
                        "created_at": moment,
                        "updated_at": moment,
                        "ring_deadline": moment + timedelta(seconds=45),
                        "caller_watched": False,
                        "receiver_watched": False,
                    },
                )
                common = {
                    "call_id": call_id,
                    "conversation_id": CONVERSATION,
                    "call_type": call_type,
                    "status": status,
                    "answered": duration > 0,
                    "duration": duration,
                    "started_at": moment,
                }
                await connection.execute(
                    sa.insert(_entries),
                    [
                        {
                            **common,
                            "user_id": caller,
                            "peer_id": receiver,
                            "direction": "outgoing",
                            "deleted_at": None,
                        },
                        {
                            **common,
                            "user_id": receiver,
                            "peer_id": caller,
                            "direction": "incoming",
                            "deleted_at": moment if deleted else None,
                        },
                    ],
                )
    finally:
        await engine.dispose()


async def test_the_migration_fills_the_tallies_from_the_log(empty_database_url: str) -> None:
    """Upgrading a 0003 database with a call log fills `call_tallies` with the entries not
    deleted; the store then keeps those rows up to date."""
    await migrate(empty_database_url, revision="0003")
    await _fill_0003(empty_database_url)
    await migrate(empty_database_url)
    db = Database(empty_database_url)
    try:
        assert await checked(db) == {
            out(ALICE, "audio", "ended", True): (2, 100),
            inc(BOB, "audio", "ended", True): (2, 100),
            out(BOB, "video", "missed", False): (1, 0),
            inc(ALICE, "video", "missed", False): (1, 0),
            out(CAROL, "audio", "rejected", False): (1, 0),
            inc(ALICE, "audio", "rejected", False): (1, 0),
            out(ALICE, "video", "ended", True): (1, 25),  # carol deleted her entry of it
            out(BOB, "audio", "initiated", False): (1, 0),
            inc(CAROL, "audio", "initiated", False): (1, 0),
        }
        # The filled rows are the ones the store adds to and takes from.
        async with db.write() as session:
            first = str(uuid.UUID(int=1))
            assert await store.soft_delete(
                session, call_id=first, user_id=ALICE, now=datetime(2026, 2, 1, tzinfo=UTC)
            )
        after = await checked(db)
        assert after[out(ALICE, "audio", "ended", True)] == (1, 40)
        assert after[inc(BOB, "audio", "ended", True)] == (2, 100)
    finally:
        await db.dispose()
