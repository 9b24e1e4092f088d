"""Read-only snapshots that use cases return: what the wire layers serialise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from switchboard.domain.calls import CallStatus, Direction, direction_for
from switchboard.store.calls import CallRow
from switchboard.store.models import Call, User


@dataclass(frozen=True, slots=True)
class UserView:
    id: str
    username: str
    display_name: str
    online: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User, *, online: bool) -> UserView:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            online=online,
            created_at=user.created_at,
        )


@dataclass(frozen=True, slots=True)
class CallView:
    id: str
    caller: UserView
    receiver: UserView
    conversation_id: str
    call_type: str
    status: CallStatus
    end_reason: str | None
    ended_by: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration: int
    version: int
    created_at: datetime
    updated_at: datetime
    caller_connection_id: str | None
    receiver_connection_id: str | None

    @classmethod
    def of(cls, call: Call | CallRow, *, caller: UserView, receiver: UserView) -> CallView:
        return cls(
            id=call.id,
            caller=caller,
            receiver=receiver,
            conversation_id=call.conversation_id,
            call_type=call.call_type,
            status=CallStatus(call.status),
            end_reason=call.end_reason,
            ended_by=call.ended_by,
            started_at=call.started_at,
            answered_at=call.answered_at,
            ended_at=call.ended_at,
            duration=call.duration,
            version=call.version,
            created_at=call.created_at,
            updated_at=call.updated_at,
            caller_connection_id=call.caller_connection_id,
            receiver_connection_id=call.receiver_connection_id,
        )

    def direction_for(self, viewer_id: str) -> Direction:
        return direction_for(caller_id=self.caller.id, viewer_id=viewer_id)

    def other_party(self, user_id: str) -> str:
        return self.receiver.id if user_id == self.caller.id else self.caller.id


@dataclass(frozen=True, slots=True)
class ConversationView:
    id: str
    participants: list[UserView]
    created_at: datetime
    last_call_at: datetime | None


class CallEventType(StrEnum):
    INITIATED = "call.initiated"
    INCOMING = "call.incoming"
    ANSWERED = "call.answered"
    REJECTED = "call.rejected"
    MISSED = "call.missed"
    ENDED = "call.ended"


STATUS_EVENTS: dict[CallStatus, CallEventType] = {
    CallStatus.ANSWERED: CallEventType.ANSWERED,
    CallStatus.REJECTED: CallEventType.REJECTED,
    CallStatus.MISSED: CallEventType.MISSED,
    CallStatus.ENDED: CallEventType.ENDED,
}


@dataclass(frozen=True, slots=True)
class CallEvent:
    """A committed change of a call. `initiated` fans out as call.initiated + call.incoming."""

    call: CallView
    connection_id: str | None = None  # the answering device, for call.answered
