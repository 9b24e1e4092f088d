"""Who may signal whom: the relay's rules without any I/O."""

from __future__ import annotations

import pytest

from switchboard.realtime.codec import ErrorCode
from switchboard.realtime.signaling import CallState, Route, SignalRefused, route_signal


def call(
    status: str = "initiated", caller_device: str | None = None, receiver_device: str | None = None
) -> CallState:
    return CallState("c1", "alice", "bob", status, 1, caller_device, receiver_device)


def test_ringing_call_reaches_every_receiver_device() -> None:
    assert route_signal(call(), user_id="alice", connection_id="a1") == Route("bob", None)
    assert route_signal(call(), user_id="bob", connection_id="b9") == Route("alice", None)


def test_bound_devices_send_and_receive_for_their_side() -> None:
    answered = call("answered", caller_device="a1", receiver_device="b2")
    assert route_signal(answered, user_id="alice", connection_id="a1") == Route("bob", "b2")
    assert route_signal(answered, user_id="bob", connection_id="b2") == Route("alice", "a1")
    for user_id, device in (("alice", "a2"), ("bob", "b1")):
        with pytest.raises(SignalRefused) as refused:
            route_signal(answered, user_id=user_id, connection_id=device)
        assert refused.value.code is ErrorCode.NOT_ANSWERING_DEVICE


@pytest.mark.parametrize("status", ["rejected", "missed", "ended"])
def test_finished_calls_relay_nothing(status: str) -> None:
    with pytest.raises(SignalRefused) as refused:
        route_signal(call(status), user_id="alice", connection_id="a1")
    assert refused.value.code is ErrorCode.CALL_NOT_ACTIVE


def test_outsiders_and_unknown_calls_are_not_found() -> None:
    for state, user_id in ((call(), "eve"), (None, "alice")):
        with pytest.raises(SignalRefused) as refused:
            route_signal(state, user_id=user_id, connection_id="x")
        assert refused.value.code is ErrorCode.CALL_NOT_FOUND
