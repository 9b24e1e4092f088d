"""The call moves' statements: each runs only what it needs (the speed work of issue 8 rests on
this: an ORM flush or a lookup that comes back shows here before it shows in a benchmark)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from switchboard.domain.calls import CallType
from tests.services.conftest import World


@contextmanager
def statements(world: World) -> Iterator[list[str]]:
    """The first words of each statement the services send to the database."""
    seen: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()[:3]))

    engine = world.services.calls._db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


async def test_each_move_runs_only_the_statements_it_needs(world: World) -> None:
    calls = world.services.calls
    first = await calls.initiate(
        caller_id=world.alice, receiver_id=world.bob, call_type=CallType.AUDIO
    )
    await calls.end(user_id=world.alice, call_id=first.id)

    with statements(world) as initiate:
        call = await calls.initiate(
            caller_id=world.alice, receiver_id=world.bob, call_type=CallType.VIDEO
        )
    with statements(world) as answer:
        await calls.answer(user_id=world.bob, call_id=call.id, accept=True)
    with statements(world) as end:
        ended = await calls.end(user_id=world.bob, call_id=call.id)

    assert initiate == [
        "SELECT conversations.id FROM",  # the pair's conversation exists: read, not created
        "INSERT INTO calls",
        "INSERT INTO busy_users",
        "UPDATE conversations SET",
        "INSERT INTO call_entries",  # last: after the booking, which may wait
    ]
    assert answer == [
        "SELECT calls.id, calls.caller_id,",
        "UPDATE calls SET",
        "UPDATE call_entries SET",
    ]
    assert end == [
        "SELECT calls.id, calls.caller_id,",
        "DELETE FROM busy_users",
        "UPDATE calls SET",  # once: the changed columns, with no ORM flush after it
        "UPDATE call_entries SET",
    ]
    # ...and what they wrote is what a fresh read finds.
    stored = await calls.get(user_id=world.alice, call_id=call.id)
    assert (stored.status, stored.version, stored.ended_by) == ("ended", 3, world.bob)
    assert stored == ended
