"""The one place JSON frames are read and written (`{"type", "data", "id"?}`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

MAX_FRAME_BYTES = 64 * 1024


class ErrorCode(StrEnum):
    INVALID_FRAME = "invalid_frame"
    UNKNOWN_TYPE = "unknown_type"
    CALL_NOT_FOUND = "call_not_found"
    CALL_NOT_ACTIVE = "call_not_active"
    NOT_ANSWERING_DEVICE = "not_answering_device"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"


class SignalKind(StrEnum):
    OFFER = "offer"
    ANSWER = "answer"
    ICE_CANDIDATE = "ice-candidate"
    RENEGOTIATE = "renegotiate"
    MEDIA_STATE = "media-state"


class FrameError(Exception):
    def __init__(self, code: ErrorCode, message: str, frame_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.frame_id = frame_id


# Frames are built once per message on the relay path: plain slotted classes (a frozen
# dataclass's __init__ costs twice as much).
@dataclass(slots=True)
class Ping:
    frame_id: str | None


@dataclass(slots=True)
class SignalIn:
    frame_id: str | None
    call_id: str
    kind: SignalKind
    payload: Any


ClientFrame = Ping | SignalIn

_KINDS = {kind.value: kind for kind in SignalKind}


def decode(text: str) -> ClientFrame:
    """Parses one client frame; raises `FrameError` with the code the contract names."""
    # A character is at most 4 bytes in UTF-8: only long texts need encoding to be measured.
    if len(text) * 4 > MAX_FRAME_BYTES and len(text.encode()) > MAX_FRAME_BYTES:
        raise FrameError(ErrorCode.PAYLOAD_TOO_LARGE, "Frames are limited to 64 KiB")
    frame = loads(text)
    if not isinstance(frame, dict):
        raise FrameError(ErrorCode.INVALID_FRAME, "Frame must be a JSON object")
    frame_id = frame.get("id")
    if frame_id is not None and not isinstance(frame_id, str | int):
        raise FrameError(ErrorCode.INVALID_FRAME, "id must be a string")
    frame_id = None if frame_id is None else str(frame_id)
    frame_type = frame.get("type")
    data = frame.get("data", {})
    if not isinstance(frame_type, str):
        raise FrameError(ErrorCode.INVALID_FRAME, "type is missing", frame_id)
    if not isinstance(data, dict):
        raise FrameError(ErrorCode.INVALID_FRAME, "data must be an object", frame_id)
    match frame_type:
        case "ping":
            return Ping(frame_id)
        case "signal":
            return _signal(data, frame_id)
        case _:
            raise FrameError(ErrorCode.UNKNOWN_TYPE, f"Unknown type {frame_type!r}", frame_id)


def _signal(data: dict[str, Any], frame_id: str | None) -> SignalIn:
    call_id, kind = data.get("callId"), data.get("kind")
    if not isinstance(call_id, str) or not call_id:
        raise FrameError(ErrorCode.INVALID_FRAME, "signal needs a callId", frame_id)
    signal_kind = _KINDS.get(kind) if isinstance(kind, str) else None
    if signal_kind is None:
        raise FrameError(ErrorCode.INVALID_FRAME, f"Unknown signal kind {kind!r}", frame_id)
    if "payload" not in data:
        raise FrameError(ErrorCode.INVALID_FRAME, "signal needs a payload", frame_id)
    return SignalIn(frame_id=frame_id, call_id=call_id, kind=signal_kind, payload=data["payload"])


def loads(text: str | bytes) -> Any:
    """JSON text to Python (orjson; the standard library for what orjson declines, such as
    integers past 64 bits, so that every frame valid before stays valid)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:  # deeply nested JSON: RecursionError
        raise FrameError(ErrorCode.INVALID_FRAME, "Frame is not JSON") from error


def dumps(value: Any) -> str:
    """Compact JSON text (orjson, falling back to the standard library as `loads` does)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"))


def encode(frame_type: str, data: dict[str, Any], frame_id: str | None = None) -> str:
    frame: dict[str, Any] = {"type": frame_type, "data": data}
    if frame_id is not None:
        frame["id"] = frame_id
    return dumps(frame)


def frame(frame_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": frame_type, "data": data}


def ack(frame_id: str) -> str:
    return dumps({"type": "ack", "id": frame_id})


def error(code: ErrorCode, message: str, frame_id: str | None = None) -> str:
    return encode("error", {"code": code.value, "message": message}, frame_id)
