"""Typed shapes of the wire contract (``docs/API.md``), as ``TypedDict``s.

The client does not re-validate what the server sends: these types describe the JSON objects so
that code using them is type-checked, and they stay plain ``dict``s at run time.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

CallStatus = Literal["initiated", "answered", "rejected", "missed", "ended"]
CallType = Literal["audio", "video"]
Direction = Literal["incoming", "outgoing"]
SignalKind = Literal["offer", "answer", "ice-candidate", "renegotiate", "media-state"]
EndReason = Literal["hangup", "ice_failed", "media_failed"]

TERMINAL_STATUSES: frozenset[str] = frozenset({"rejected", "missed", "ended"})


class User(TypedDict):
    id: str
    username: str
    displayName: str
    online: bool
    createdAt: str


class AuthResult(TypedDict):
    accessToken: str
    tokenType: str
    expiresIn: int
    user: User


class Conversation(TypedDict):
    id: str
    participants: list[User]
    createdAt: str
    lastCallAt: str | None


class CallData(TypedDict):
    id: str
    _id: str
    callerId: str
    receiverId: str
    caller: User
    receiver: User
    conversationId: str
    callType: CallType
    status: CallStatus
    endReason: str | None
    endedBy: str | None
    direction: Direction
    startedAt: str
    answeredAt: str | None
    endedAt: str | None
    duration: int
    version: int
    createdAt: str
    updatedAt: str


class Pagination(TypedDict):
    page: int
    limit: int
    total: int
    totalPages: int
    hasNext: bool


class CallPage(TypedDict):
    calls: list[CallData]
    pagination: Pagination


class CallsByType(TypedDict):
    audio: int
    video: int


class CallStats(TypedDict):
    total: int
    outgoing: int
    incoming: int
    answered: int
    missed: int
    rejected: int
    totalDuration: int
    averageDuration: float
    byType: CallsByType


class IceServer(TypedDict):
    urls: list[str]
    username: NotRequired[str]
    credential: NotRequired[str]


class IceServers(TypedDict):
    iceServers: list[IceServer]
    ttl: int


class SessionDescription(TypedDict):
    """``RTCSessionDescriptionInit``: the payload of ``offer`` and ``answer`` signals."""

    type: str
    sdp: str


class IceCandidateInit(TypedDict):
    """``RTCIceCandidateInit``: the payload of ``ice-candidate`` signals (browser form)."""

    candidate: str
    sdpMid: NotRequired[str | None]
    sdpMLineIndex: NotRequired[int | None]
    usernameFragment: NotRequired[str | None]


class MediaState(TypedDict):
    audio: bool
    video: bool


class Hello(TypedDict):
    user: User
    connectionId: str
    activeCall: CallData | None


Signal = TypedDict(
    "Signal",
    {
        "callId": str,
        "from": str,
        "fromConnectionId": str | None,
        "kind": SignalKind,
        "payload": dict[str, Any],
    },
)


JsonObject = dict[str, Any]
