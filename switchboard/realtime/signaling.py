"""Who may signal whom within a call (pure rules, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.realtime.codec import ErrorCode

ACTIVE = frozenset({"initiated", "answered"})


@dataclass(frozen=True, slots=True)
class CallState:
    """What the relay needs to know of a call."""

    id: str
    caller_id: str
    receiver_id: str
    status: str
    version: int
    caller_connection_id: str | None
    receiver_connection_id: str | None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE


@dataclass(slots=True)  # one per relayed frame: not frozen, whose __init__ costs twice as much
class Route:
    user_id: str
    connection_id: str | None  # None: every connection of the user


class SignalRefused(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def route_signal(call: CallState | None, *, user_id: str, connection_id: str) -> Route:
    """Where a signal from this connection goes, or why it goes nowhere."""
    if call is None or user_id not in (call.caller_id, call.receiver_id):
        raise SignalRefused(ErrorCode.CALL_NOT_FOUND, "Call not found")
    if not call.is_active:
        raise SignalRefused(ErrorCode.CALL_NOT_ACTIVE, f"The call is {call.status}")
    is_caller = user_id == call.caller_id
    own_device = call.caller_connection_id if is_caller else call.receiver_connection_id
    if own_device is not None and own_device != connection_id:
        raise SignalRefused(
            ErrorCode.NOT_ANSWERING_DEVICE, "Another of your devices is in this call"
        )
    if is_caller:
        return Route(call.receiver_id, call.receiver_connection_id)
    return Route(call.caller_id, call.caller_connection_id)
