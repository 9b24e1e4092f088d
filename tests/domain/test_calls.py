"""The call state machine, checked over every (status, actor, action)."""

from __future__ import annotations

import ast
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from switchboard.domain import calls
from switchboard.domain.calls import (
    Action,
    Actor,
    CallStatus,
    EndReason,
    ForbiddenMove,
    InvalidTransition,
    duration_seconds,
    transition,
)

S, A, R = CallStatus, Actor, EndReason
INI, ANS, REJ, MIS, END = S.INITIATED, S.ANSWERED, S.REJECTED, S.MISSED, S.ENDED

# Written out from the contract's table, independently of the module's own table.
ALLOWED: dict[tuple[CallStatus, Action, Actor], tuple[CallStatus, EndReason | None]] = {
    (INI, Action.ACCEPT, A.RECEIVER): (ANS, None),
    (INI, Action.SET_ANSWERED, A.RECEIVER): (ANS, None),
    (INI, Action.DECLINE, A.RECEIVER): (REJ, R.REJECTED),
    (INI, Action.SET_REJECTED, A.RECEIVER): (REJ, R.REJECTED),
    (INI, Action.END, A.RECEIVER): (REJ, R.REJECTED),
    (INI, Action.END, A.CALLER): (MIS, R.CANCELLED),
    (INI, Action.SET_MISSED, A.CALLER): (MIS, R.CANCELLED),
    (INI, Action.RING_TIMEOUT, A.SERVER): (MIS, R.TIMEOUT),
    (INI, Action.CONNECTION_LOST, A.SERVER): (MIS, R.CONNECTION_LOST),
    (ANS, Action.END, A.CALLER): (END, R.HANGUP),
    (ANS, Action.END, A.RECEIVER): (END, R.HANGUP),
    (ANS, Action.SET_ENDED, A.CALLER): (END, R.HANGUP),
    (ANS, Action.SET_ENDED, A.RECEIVER): (END, R.HANGUP),
    (ANS, Action.CONNECTION_LOST, A.SERVER): (END, R.CONNECTION_LOST),
    (ANS, Action.MAX_DURATION, A.SERVER): (END, R.MAX_DURATION),
}

MAY = {
    Action.ACCEPT: {A.RECEIVER},
    Action.DECLINE: {A.RECEIVER},
    Action.END: {A.CALLER, A.RECEIVER},
    Action.SET_ANSWERED: {A.RECEIVER},
    Action.SET_REJECTED: {A.RECEIVER},
    Action.SET_MISSED: {A.CALLER},
    Action.SET_ENDED: {A.CALLER, A.RECEIVER},
    Action.SET_INITIATED: set(),
    Action.RING_TIMEOUT: {A.SERVER},
    Action.CONNECTION_LOST: {A.SERVER},
    Action.MAX_DURATION: {A.SERVER},
}

SETS = {
    REJ: Action.SET_REJECTED,
    MIS: Action.SET_MISSED,
    END: Action.SET_ENDED,
}


def expected(status: CallStatus, actor: Actor, action: Action) -> object:
    terminal = status in (REJ, MIS, END)
    if terminal and action is Action.END and actor is not A.SERVER:
        return "unchanged"
    if terminal and SETS.get(status) is action:
        return "unchanged"
    if action in (Action.ACCEPT, Action.DECLINE) and status is not INI:
        return InvalidTransition
    if actor not in MAY[action]:
        return ForbiddenMove
    return ALLOWED.get((status, action, actor), InvalidTransition)


@pytest.mark.parametrize(
    ("status", "actor", "action"), list(itertools.product(CallStatus, Actor, Action))
)
def test_every_move(status: CallStatus, actor: Actor, action: Action) -> None:
    want = expected(status, actor, action)
    if isinstance(want, type):
        with pytest.raises(want):
            transition(status, actor, action)
        return
    got = transition(status, actor, action)
    if want == "unchanged":
        assert (got.status, got.changed) == (status, False)
    else:
        assert (got.status, got.end_reason, got.changed) == (*want, True)  # type: ignore[misc]


def test_terminal_calls_never_change() -> None:
    for status, actor, action in itertools.product((REJ, MIS, END), Actor, Action):
        try:
            outcome = transition(status, actor, action)
        except (ForbiddenMove, InvalidTransition):
            continue
        assert outcome.status is status and not outcome.changed


@pytest.mark.parametrize("reason", [R.HANGUP, R.ICE_FAILED, R.MEDIA_FAILED])
def test_hangup_reason_is_kept_for_answered_calls(reason: EndReason) -> None:
    assert transition(ANS, A.CALLER, Action.END, reason=reason).end_reason is reason


def test_ringing_call_keeps_its_own_reason() -> None:
    assert transition(INI, A.CALLER, Action.END, reason=R.ICE_FAILED).end_reason is R.CANCELLED
    assert transition(INI, A.RECEIVER, Action.END, reason=R.ICE_FAILED).end_reason is R.REJECTED


def test_a_participant_cannot_claim_a_server_reason() -> None:
    with pytest.raises(InvalidTransition):
        transition(ANS, A.CALLER, Action.END, reason=R.TIMEOUT)


def test_duration_is_whole_seconds_and_zero_when_never_answered() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert duration_seconds(start, start + timedelta(seconds=61.9)) == 61
    assert duration_seconds(None, start) == 0
    assert duration_seconds(start, None) == 0
    assert duration_seconds(start, start - timedelta(seconds=3)) == 0


def test_domain_imports_no_io() -> None:
    source = Path(calls.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"asyncio", "sqlalchemy", "fastapi", "starlette", "json", "switchboard"}
