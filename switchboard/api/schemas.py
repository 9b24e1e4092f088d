"""Request and response bodies of the REST API (camelCase on the wire)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints
from pydantic.alias_generators import to_camel

from switchboard.domain.calls import CallStatus, CallType, EndReason
from switchboard.services.auth import (
    DISPLAY_NAME_PATTERN,
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_PATTERN,
)
from switchboard.wire import CallOut, ConversationOut, UserOut, WireDatetime, WireModel

ConnectionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class RequestBody(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True)


class RegisterIn(RequestBody):
    username: Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]
    password: Annotated[str, StringConstraints(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
    display_name: Annotated[str, StringConstraints(pattern=DISPLAY_NAME_PATTERN)] | None = None


class LoginIn(RequestBody):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class ConversationIn(RequestBody):
    # The other user: exactly one for now (the requester is added).
    participant_ids: Annotated[list[Id], Field(min_length=1, max_length=1)]


class InitiateIn(RequestBody):
    receiver_id: Id
    call_type: CallType
    conversation_id: Id | None = None
    connection_id: ConnectionId | None = None


class AnswerIn(RequestBody):
    accept: StrictBool
    connection_id: ConnectionId | None = None


class EndIn(RequestBody):
    reason: Literal[EndReason.HANGUP, EndReason.ICE_FAILED, EndReason.MEDIA_FAILED] | None = None


class StatusIn(RequestBody):
    status: CallStatus


class SessionOut(WireModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    user: UserOut


class UserEnvelope(WireModel):
    user: UserOut


class UsersEnvelope(WireModel):
    users: list[UserOut]


class ConversationEnvelope(WireModel):
    conversation: ConversationOut


class ConversationsEnvelope(WireModel):
    conversations: list[ConversationOut]


class CallEnvelope(WireModel):
    call: CallOut


class ActiveCallEnvelope(WireModel):
    call: CallOut | None


class Pagination(WireModel):
    page: int
    limit: int
    total: int
    total_pages: int
    has_next: bool


class HistoryOut(WireModel):
    calls: list[CallOut]
    pagination: Pagination


class CountOut(WireModel):
    count: int


class SeenOut(WireModel):
    seen_at: WireDatetime


class ByType(WireModel):
    audio: int
    video: int


class StatsOut(WireModel):
    total: int
    outgoing: int
    incoming: int
    answered: int
    missed: int
    rejected: int
    total_duration: int
    average_duration: float
    by_type: ByType


class StatsEnvelope(WireModel):
    stats: StatsOut


class IceServerOut(BaseModel):
    urls: list[str]
    username: str | None = Field(default=None)
    credential: str | None = Field(default=None)


class IceServersOut(WireModel):
    ice_servers: list[IceServerOut]
    ttl: int


class SuccessOut(WireModel):
    success: bool = True
