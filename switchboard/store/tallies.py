"""Each user's call log in totals (`call_tallies`): calls and seconds per (direction, type,
status, answered) over the entries not deleted.

A transaction that adds, moves or deletes log entries changes the tallies in step, as its last
statement and with the rows in key order: two transactions that touch the same users then
lock their tally rows in the same order and cannot deadlock on them, and a call's set-up
changes them only once its booking (which may wait for another call's end) has succeeded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Insert, Select, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.store.models import Call, CallTally

_tallies: Table = CallTally.__table__  # type: ignore[assignment]
KEY = ("user_id", "direction", "call_type", "status", "answered")
# The history filters that the tallies can answer (a page's total) on their own.
TALLIED_FILTERS = frozenset({"call_type", "status", "direction"})


@dataclass(frozen=True, slots=True)
class LogState:
    """What a call's log entries say about it: their status, whether answered, seconds."""

    status: str
    answered: bool
    duration: int

    @classmethod
    def of(cls, call: Call) -> LogState:
        return cls(call.status, call.answered_at is not None, call.duration)


Key = tuple[str, str, str, str, bool]


def _keys(call: Call, state: LogState) -> tuple[Key, Key]:
    """The tally rows of the caller's and the receiver's entries of the call in this state."""
    return (
        (call.caller_id, "outgoing", call.call_type, state.status, state.answered),
        (call.receiver_id, "incoming", call.call_type, state.status, state.answered),
    )


async def count_new_call(session: AsyncSession, call: Call) -> None:
    calls: Counter[Key] = Counter()
    for key in _keys(call, LogState.of(call)):
        calls[key] += 1
    await _add(session, calls, Counter())


async def count_move(session: AsyncSession, call: Call, *, was: LogState) -> None:
    """Moves both entries from the tallies of their old state to those of the call's own."""
    now = LogState.of(call)
    calls: Counter[Key] = Counter()
    seconds: Counter[Key] = Counter()
    for old, new in zip(_keys(call, was), _keys(call, now), strict=True):
        calls[old] -= 1
        seconds[old] -= was.duration
        calls[new] += 1
        seconds[new] += now.duration
    await _add(session, calls, seconds)


async def count_deleted(session: AsyncSession, key: Key, duration: int) -> None:
    await _add(session, Counter({key: -1}), Counter({key: -duration}))


@cache
def _upsert(dialect: str) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(_tallies)
    return statement.on_conflict_do_update(
        index_elements=list(KEY),
        set_={
            "calls": _tallies.c.calls + statement.excluded.calls,
            "duration": _tallies.c.duration + statement.excluded.duration,
        },
    )


async def _add(session: AsyncSession, calls: Counter[Key], seconds: Counter[Key]) -> None:
    rows = [
        {**dict(zip(KEY, key, strict=True)), "calls": calls[key], "duration": seconds[key]}
        for key in sorted(calls.keys() | seconds.keys())
        if calls[key] or seconds[key]
    ]
    if rows:
        dialect = session.get_bind().dialect.name
        await session.execute(_upsert(dialect), rows[0] if len(rows) == 1 else rows)


def total_statement(names: Iterable[str]) -> Select[Any]:
    """The number of the user's calls that match these (tallied) filters."""
    where = [_tallies.c.user_id == bindparam("user_id")]
    where += [_tallies.c[name] == bindparam(name) for name in names]
    return select(func.coalesce(func.sum(_tallies.c.calls), 0).label("total")).where(*where)


MISSED_TOTAL = total_statement(()).where(
    _tallies.c.direction == "incoming", _tallies.c.status == "missed"
)
USER_TALLIES = select(
    _tallies.c.direction,
    _tallies.c.call_type,
    _tallies.c.status,
    _tallies.c.answered,
    _tallies.c.calls,
    _tallies.c.duration,
).where(_tallies.c.user_id == bindparam("user_id"))

# The tallies computed afresh from the entries (a bulk load's last step; tests compare).
RECOUNT = (
    "SELECT user_id, direction, call_type, status, answered, count(*), sum(duration)"
    " FROM call_entries WHERE deleted_at IS NULL"
    " GROUP BY user_id, direction, call_type, status, answered"
)
