"""Each user's call log in totals (`call_tallies`): calls and seconds per (direction, type,
status, answered) over the entries not deleted.

The database keeps them: triggers on `call_entries` change the tallies in the statement that
inserts, moves or deletes an entry. The triggers come with migration 0004 (`create_all` makes
none: the service always migrates its databases). Here are the reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, Table, bindparam, func, select

from switchboard.store.models import CallTally

TABLE: Table = CallTally.__table__  # type: ignore[assignment]
# The history filters that the tallies can answer (a page's total) on their own.
TALLIED_FILTERS = frozenset({"call_type", "status", "direction"})


def total_statement(names: Iterable[str]) -> Select[Any]:
    """The number of the user's calls that match these (tallied) filters."""
    where = [TABLE.c.user_id == bindparam("user_id")]
    where += [TABLE.c[name] == bindparam(name) for name in names]
    return select(func.coalesce(func.sum(TABLE.c.calls), 0).label("total")).where(*where)


MISSED_TOTAL = total_statement(()).where(
    TABLE.c.direction == "incoming", TABLE.c.status == "missed"
)

# The tallies computed afresh from the entries (the tests compare).
RECOUNT = (
    "SELECT user_id, direction, call_type, status, answered, count(*), sum(duration)"
    " FROM call_entries WHERE deleted_at IS NULL"
    " GROUP BY user_id, direction, call_type, status, answered"
)
