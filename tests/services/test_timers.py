"""The sweeper with an injected clock: timeouts, grace and maximum length, applied once."""

from __future__ import annotations

import asyncio

from switchboard.domain.calls import CallType
from tests.services.conftest import World


async def test_ring_timeout_applies_once_even_with_two_sweepers(world: World) -> None:
    call = await world.services.calls.initiate(
        caller_id=world.alice, receiver_id=world.bob, call_type=CallType.AUDIO
    )
    world.clock.advance(44)
    await world.services.sweeper.sweep_once()
    assert world.events("call.missed") == []
    world.clock.advance(1)
    await asyncio.gather(*(world.services.sweeper.sweep_once() for _ in range(4)))
    missed = world.events("call.missed")
    assert len(missed) == 2  # one per participant
    assert {e.user_id for e in missed} == {world.alice, world.bob}
    view = await world.services.calls.get(user_id=world.bob, call_id=call.id)
    assert (view.status, view.end_reason, view.version) == ("missed", "timeout", 2)


async def test_grace_ends_an_answered_call_only_after_the_connection_is_gone_long_enough(
    world: World,
) -> None:
    calls, sweep = world.services.calls, world.services.sweeper.sweep_once
    phone = world.connect(world.bob, "bob-phone")
    world.connect(world.alice, "alice-laptop")
    call = await calls.initiate(
        caller_id=world.alice,
        receiver_id=world.bob,
        call_type=CallType.VIDEO,
        connection_id="alice-laptop",
    )
    await calls.answer(user_id=world.bob, call_id=call.id, accept=True, connection_id="bob-phone")
    await sweep()
    world.registry.remove(phone)
    await sweep()  # the loss is noticed now
    world.clock.advance(29)
    await sweep()
    assert (await calls.peek(call_id=call.id)).status == "answered"  # type: ignore[union-attr]
    world.registry.add(phone)  # back within the grace
    await sweep()
    world.clock.advance(60)
    await sweep()
    assert (await calls.peek(call_id=call.id)).status == "answered"  # type: ignore[union-attr]
    world.registry.remove(phone)
    await sweep()
    world.clock.advance(30)
    await sweep()
    ended = await calls.peek(call_id=call.id)
    assert ended is not None
    assert (ended.status, ended.end_reason, ended.ended_by) == ("ended", "connection_lost", None)


async def test_rest_only_calls_are_left_alone_until_the_maximum_length(world: World) -> None:
    calls, sweep = world.services.calls, world.services.sweeper.sweep_once
    call = await calls.initiate(
        caller_id=world.alice, receiver_id=world.bob, call_type=CallType.AUDIO
    )
    await calls.answer(user_id=world.bob, call_id=call.id, accept=True)
    world.clock.advance(3599)
    await sweep()
    assert (await calls.peek(call_id=call.id)).status == "answered"  # type: ignore[union-attr]
    world.clock.advance(1)
    await sweep()
    ended = await calls.peek(call_id=call.id)
    assert ended is not None
    assert (ended.status, ended.end_reason, ended.duration) == ("ended", "max_duration", 3600)
    assert await calls.active(user_id=world.alice) is None
