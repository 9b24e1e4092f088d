"""The frame codec: what is accepted and which error code everything else gets."""

from __future__ import annotations

import json

import pytest

from switchboard.realtime import codec
from switchboard.realtime.codec import ErrorCode, FrameError, Ping, SignalIn, SignalKind


def test_ping_and_signal_are_decoded() -> None:
    assert codec.decode('{"type": "ping", "id": "1"}') == Ping("1")
    assert codec.decode('{"type": "ping", "id": 5}') == Ping("5")
    frame = codec.decode(
        json.dumps(
            {
                "type": "signal",
                "data": {"callId": "c1", "kind": "ice-candidate", "payload": {"candidate": ""}},
            }
        )
    )
    assert frame == SignalIn(None, "c1", SignalKind.ICE_CANDIDATE, {"candidate": ""})


@pytest.mark.parametrize(
    ("text", "code", "frame_id"),
    [
        ("{", ErrorCode.INVALID_FRAME, None),
        ('"text"', ErrorCode.INVALID_FRAME, None),
        ('{"type": 3}', ErrorCode.INVALID_FRAME, None),
        ('{"type": "ping", "id": {"a": 1}}', ErrorCode.INVALID_FRAME, None),
        ('{"type": "ping", "id": "x", "data": 1}', ErrorCode.INVALID_FRAME, "x"),
        ('{"type": "hello", "id": "y"}', ErrorCode.UNKNOWN_TYPE, "y"),
        (
            '{"type": "signal", "data": {"callId": "", "kind": "offer", "payload": 1}}',
            ErrorCode.INVALID_FRAME,
            None,
        ),
        (
            '{"type": "signal", "data": {"callId": "c", "kind": null, "payload": 1}}',
            ErrorCode.INVALID_FRAME,
            None,
        ),
        (
            '{"type": "signal", "data": {"callId": "c", "kind": "offer"}}',
            ErrorCode.INVALID_FRAME,
            None,
        ),
    ],
)
def test_bad_frames(text: str, code: ErrorCode, frame_id: str | None) -> None:
    with pytest.raises(FrameError) as error:
        codec.decode(text)
    assert error.value.code is code
    assert error.value.frame_id == frame_id


def test_the_limit_is_in_bytes_of_the_whole_frame() -> None:
    at_limit = '{"type":"ping","data":{"p":"' + "x" * (64 * 1024 - 31) + '"}}'
    assert len(at_limit.encode()) == 64 * 1024
    assert codec.decode(at_limit) == Ping(None)
    with pytest.raises(FrameError):
        codec.decode(at_limit.replace('"p":"', '"p":"x'))
    multibyte = '{"type":"ping","data":{"p":"' + "é" * (33 * 1024) + '"}}'
    with pytest.raises(FrameError) as error:
        codec.decode(multibyte)
    assert error.value.code is ErrorCode.PAYLOAD_TOO_LARGE


def test_encoded_frames() -> None:
    assert json.loads(codec.encode("pong", {}, "7")) == {"type": "pong", "data": {}, "id": "7"}
    assert json.loads(codec.ack("9")) == {"type": "ack", "id": "9"}
    assert json.loads(codec.error(ErrorCode.RATE_LIMITED, "slow down")) == {
        "type": "error",
        "data": {"code": "rate_limited", "message": "slow down"},
    }
