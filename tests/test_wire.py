"""The wire shapes: moments as ISO 8601 `Z` strings, builders that send exactly what the
models (the OpenAPI document) describe, and a document that types every field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from switchboard.domain.calls import CallStatus, EndReason
from switchboard.services.views import CallView, ConversationView, UserView
from switchboard.wire import (
    CallOut,
    ConversationOut,
    UserOut,
    call_wire,
    conversation_wire,
    iso,
    user_wire,
)

STARTED = datetime(2026, 11, 25, 18, 30, 5, 678_901, tzinfo=UTC)


def test_iso_is_utc_with_z_and_milliseconds() -> None:
    assert iso(STARTED) == "2026-11-25T18:30:05.678Z"
    assert iso(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000Z"
    assert iso(datetime(999, 1, 1, tzinfo=UTC)) == "0999-01-01T00:00:00.000Z"


ALICE = UserView(
    id="a" * 26,
    username="alice",
    display_name="Alice",
    online=True,
    created_at=STARTED - timedelta(days=1),
)
BOB = UserView(id="b" * 26, username="bob", display_name="Bob", online=False, created_at=STARTED)


def _call(status: CallStatus, **changes: Any) -> CallView:
    fields: dict[str, Any] = {
        "id": "c" * 26,
        "caller": ALICE,
        "receiver": BOB,
        "conversation_id": "d" * 26,
        "call_type": "video",
        "status": status,
        "end_reason": None,
        "ended_by": None,
        "started_at": STARTED,
        "answered_at": None,
        "ended_at": None,
        "duration": 0,
        "version": 1,
        "created_at": STARTED,
        "updated_at": STARTED,
        "caller_connection_id": "caller-device",
        "receiver_connection_id": None,
    }
    return CallView(**(fields | changes))


ENDED = _call(
    CallStatus.ENDED,
    call_type="audio",
    end_reason="hangup",
    ended_by=ALICE.id,
    answered_at=STARTED + timedelta(seconds=2),
    ended_at=STARTED + timedelta(seconds=62),
    duration=60,
    version=3,
    updated_at=STARTED + timedelta(seconds=62),
)
CALLS = [
    _call(CallStatus.INITIATED),
    _call(CallStatus.ANSWERED, answered_at=STARTED + timedelta(seconds=1), version=2),
    _call(CallStatus.REJECTED, end_reason="rejected", ended_by=BOB.id, ended_at=STARTED),
    _call(CallStatus.MISSED, end_reason="timeout", ended_at=STARTED + timedelta(seconds=45)),
    ENDED,
    *(_call(CallStatus.ENDED, end_reason=reason.value, ended_at=STARTED) for reason in EndReason),
]


def _as_described(model: type[BaseModel], wire: dict[str, Any]) -> dict[str, Any]:
    """The JSON sent, read strictly by its model and written again: the same only if the
    builder sent every field the model has, nothing else, each in the type and format it
    documents."""
    described = model.model_validate_json(orjson.dumps(wire), strict=True)
    return described.model_dump(mode="json", by_alias=True)


@pytest.mark.parametrize("call", CALLS, ids=lambda call: f"{call.status}-{call.end_reason}")
@pytest.mark.parametrize("viewer", [ALICE, BOB], ids=["caller", "receiver"])
def test_a_call_is_sent_as_its_model_describes_it(call: CallView, viewer: UserView) -> None:
    wire = call_wire(call, viewer_id=viewer.id)
    assert _as_described(CallOut, wire) == wire
    assert wire["direction"] == ("outgoing" if viewer is ALICE else "incoming")


@pytest.mark.parametrize("user", [ALICE, BOB], ids=["online", "offline"])
def test_a_user_is_sent_as_its_model_describes_it(user: UserView) -> None:
    assert _as_described(UserOut, user_wire(user)) == user_wire(user)


@pytest.mark.parametrize("last_call_at", [None, STARTED], ids=["no call", "a call"])
def test_a_conversation_is_sent_as_its_model_describes_it(last_call_at: datetime | None) -> None:
    conversation = ConversationView(
        id="e" * 26, participants=[ALICE, BOB], created_at=STARTED, last_call_at=last_call_at
    )
    wire = conversation_wire(conversation)
    assert _as_described(ConversationOut, wire) == wire


def test_a_call_serializes_its_moments_and_nothing_else_as_strings() -> None:
    wire = call_wire(ENDED, viewer_id=BOB.id)
    assert wire["startedAt"] == "2026-11-25T18:30:05.678Z"
    assert wire["answeredAt"] == "2026-11-25T18:30:07.678Z"
    assert wire["endedAt"] == "2026-11-25T18:31:07.678Z"
    assert wire["caller"]["createdAt"] == "2026-11-24T18:30:05.678Z"
    assert (wire["duration"], wire["version"], wire["direction"]) == (60, 3, "incoming")
    assert wire["_id"] == wire["id"] and wire["caller"]["online"] is True
    assert "callerConnectionId" not in wire  # the server's bookkeeping stays in


def test_the_response_schema_types_every_field() -> None:
    schema = CallOut.model_json_schema(mode="serialization", by_alias=True)
    fields = schema["properties"]
    assert fields["startedAt"] == {"type": "string", "format": "date-time", "title": "Startedat"}
    assert {"type": "string", "format": "date-time"} in fields["endedAt"]["anyOf"]
    assert fields["duration"]["type"] == "integer"
    assert fields["callerId"]["type"] == "string"
    untyped = [
        name for name, field in fields.items() if not {"type", "$ref", "anyOf"} & field.keys()
    ]
    assert untyped == []
