"""The call state machine: statuses, moves, who may make them, durations.

Pure: no I/O, no asyncio, no database. Services ask `transition()` what a move does and
persist the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class CallStatus(StrEnum):
    INITIATED = "initiated"
    ANSWERED = "answered"
    REJECTED = "rejected"
    MISSED = "missed"
    ENDED = "ended"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({CallStatus.REJECTED, CallStatus.MISSED, CallStatus.ENDED})
ACTIVE_STATUSES = frozenset({CallStatus.INITIATED, CallStatus.ANSWERED})


class CallType(StrEnum):
    AUDIO = "audio"
    VIDEO = "video"


class EndReason(StrEnum):
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    HANGUP = "hangup"
    ICE_FAILED = "ice_failed"
    MEDIA_FAILED = "media_failed"
    CONNECTION_LOST = "connection_lost"
    MAX_DURATION = "max_duration"


# Reasons a participant may give when ending an answered call.
HANGUP_REASONS = frozenset({EndReason.HANGUP, EndReason.ICE_FAILED, EndReason.MEDIA_FAILED})


class Actor(StrEnum):
    CALLER = "caller"
    RECEIVER = "receiver"
    SERVER = "server"


class Action(StrEnum):
    ACCEPT = "accept"  # answer {accept: true}
    DECLINE = "decline"  # answer {accept: false}
    END = "end"
    SET_ANSWERED = "set_answered"  # PATCH /status {status}
    SET_REJECTED = "set_rejected"
    SET_MISSED = "set_missed"
    SET_ENDED = "set_ended"
    SET_INITIATED = "set_initiated"
    RING_TIMEOUT = "ring_timeout"
    CONNECTION_LOST = "connection_lost"
    MAX_DURATION = "max_duration"


SET_STATUS_ACTIONS: dict[CallStatus, Action] = {
    CallStatus.INITIATED: Action.SET_INITIATED,
    CallStatus.ANSWERED: Action.SET_ANSWERED,
    CallStatus.REJECTED: Action.SET_REJECTED,
    CallStatus.MISSED: Action.SET_MISSED,
    CallStatus.ENDED: Action.SET_ENDED,
}

# Answering a call that is not ringing is a conflict whoever asks.
ANSWER_ACTIONS = frozenset({Action.ACCEPT, Action.DECLINE})

_CALLER = frozenset({Actor.CALLER})
_RECEIVER = frozenset({Actor.RECEIVER})
_EITHER = frozenset({Actor.CALLER, Actor.RECEIVER})
_SERVER = frozenset({Actor.SERVER})

# Who may make each move at all; checked before whether the status allows it.
ALLOWED_ACTORS: dict[Action, frozenset[Actor]] = {
    Action.ACCEPT: _RECEIVER,
    Action.DECLINE: _RECEIVER,
    Action.END: _EITHER,
    Action.SET_ANSWERED: _RECEIVER,
    Action.SET_REJECTED: _RECEIVER,
    Action.SET_MISSED: _CALLER,
    Action.SET_ENDED: _EITHER,
    Action.SET_INITIATED: frozenset(),
    Action.RING_TIMEOUT: _SERVER,
    Action.CONNECTION_LOST: _SERVER,
    Action.MAX_DURATION: _SERVER,
}

# (from status, action, actor) -> (to status, end reason). Anything absent is not allowed.
_TABLE: dict[tuple[CallStatus, Action, Actor], tuple[CallStatus, EndReason | None]] = {
    (CallStatus.INITIATED, Action.ACCEPT, Actor.RECEIVER): (CallStatus.ANSWERED, None),
    (CallStatus.INITIATED, Action.SET_ANSWERED, Actor.RECEIVER): (CallStatus.ANSWERED, None),
    (CallStatus.INITIATED, Action.DECLINE, Actor.RECEIVER): (
        CallStatus.REJECTED,
        EndReason.REJECTED,
    ),
    (CallStatus.INITIATED, Action.END, Actor.RECEIVER): (CallStatus.REJECTED, EndReason.REJECTED),
    (CallStatus.INITIATED, Action.SET_REJECTED, Actor.RECEIVER): (
        CallStatus.REJECTED,
        EndReason.REJECTED,
    ),
    (CallStatus.INITIATED, Action.END, Actor.CALLER): (CallStatus.MISSED, EndReason.CANCELLED),
    (CallStatus.INITIATED, Action.SET_MISSED, Actor.CALLER): (
        CallStatus.MISSED,
        EndReason.CANCELLED,
    ),
    (CallStatus.INITIATED, Action.RING_TIMEOUT, Actor.SERVER): (
        CallStatus.MISSED,
        EndReason.TIMEOUT,
    ),
    (CallStatus.INITIATED, Action.CONNECTION_LOST, Actor.SERVER): (
        CallStatus.MISSED,
        EndReason.CONNECTION_LOST,
    ),
    (CallStatus.ANSWERED, Action.END, Actor.CALLER): (CallStatus.ENDED, EndReason.HANGUP),
    (CallStatus.ANSWERED, Action.END, Actor.RECEIVER): (CallStatus.ENDED, EndReason.HANGUP),
    (CallStatus.ANSWERED, Action.SET_ENDED, Actor.CALLER): (CallStatus.ENDED, EndReason.HANGUP),
    (CallStatus.ANSWERED, Action.SET_ENDED, Actor.RECEIVER): (CallStatus.ENDED, EndReason.HANGUP),
    (CallStatus.ANSWERED, Action.CONNECTION_LOST, Actor.SERVER): (
        CallStatus.ENDED,
        EndReason.CONNECTION_LOST,
    ),
    (CallStatus.ANSWERED, Action.MAX_DURATION, Actor.SERVER): (
        CallStatus.ENDED,
        EndReason.MAX_DURATION,
    ),
}


class TransitionError(Exception):
    """A move that cannot be made."""


class ForbiddenMove(TransitionError):
    """The actor may never make this move (the caller answering, the receiver cancelling)."""


class InvalidTransition(TransitionError):
    """The actor may make this move, but not from the call's current status."""


@dataclass(frozen=True, slots=True)
class Transition:
    status: CallStatus
    end_reason: EndReason | None
    changed: bool


def transition(
    status: CallStatus,
    actor: Actor,
    action: Action,
    *,
    reason: EndReason | None = None,
) -> Transition:
    """What `action` by `actor` does to a call in `status`.

    Returns `changed=False` for the idempotent cases (ending a terminal call, or setting the
    terminal status it already has). Raises `ForbiddenMove` or `InvalidTransition`.
    `reason` is the participant's reason for ending an answered call (default hangup).
    """
    if status.is_terminal and (
        (action is Action.END and actor is not Actor.SERVER)
        or SET_STATUS_ACTIONS.get(status) is action
    ):
        return Transition(status=status, end_reason=None, changed=False)
    if action in ANSWER_ACTIONS and status is not CallStatus.INITIATED:
        raise InvalidTransition(f"cannot answer a call that is {status}")
    if actor not in ALLOWED_ACTORS[action]:
        raise ForbiddenMove(f"the {actor} may not {action} a call")
    outcome = _TABLE.get((status, action, actor))
    if outcome is None:
        raise InvalidTransition(f"cannot {action} a call that is {status}")
    new_status, end_reason = outcome
    if action is Action.END and status is CallStatus.ANSWERED and reason is not None:
        if reason not in HANGUP_REASONS:
            raise InvalidTransition(f"{reason} is not a reason a participant can give")
        end_reason = reason
    return Transition(status=new_status, end_reason=end_reason, changed=True)


def duration_seconds(answered_at: datetime | None, ended_at: datetime | None) -> int:
    """Whole seconds from answer to end; 0 for a call never answered or still running."""
    if answered_at is None or ended_at is None:
        return 0
    return max(0, int((ended_at - answered_at).total_seconds()))


class Direction(StrEnum):
    OUTGOING = "outgoing"
    INCOMING = "incoming"


def direction_for(*, caller_id: str, viewer_id: str) -> Direction:
    return Direction.OUTGOING if caller_id == viewer_id else Direction.INCOMING
