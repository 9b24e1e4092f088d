"""The wire shapes: moments as ISO 8601 `Z` strings, and a document that says what is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from switchboard.domain.calls import CallStatus
from switchboard.services.views import CallView, UserView
from switchboard.wire import CallOut, iso

STARTED = datetime(2026, 11, 25, 18, 30, 5, 678_901, tzinfo=UTC)


def test_iso_is_utc_with_z_and_milliseconds() -> None:
    assert iso(STARTED) == "2026-11-25T18:30:05.678Z"
    assert iso(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000Z"
    assert iso(datetime(999, 1, 1, tzinfo=UTC)) == "0999-01-01T00:00:00.000Z"


def test_a_call_serializes_its_moments_and_nothing_else_as_strings() -> None:
    alice = UserView(
        id="a" * 26,
        username="alice",
        display_name="Alice",
        online=True,
        created_at=STARTED - timedelta(days=1),
    )
    bob = UserView(
        id="b" * 26, username="bob", display_name="Bob", online=False, created_at=STARTED
    )
    view = CallView(
        id="c" * 26,
        caller=alice,
        receiver=bob,
        conversation_id="d" * 26,
        call_type="video",
        status=CallStatus.ENDED,
        end_reason="hangup",
        ended_by=alice.id,
        started_at=STARTED,
        answered_at=STARTED + timedelta(seconds=2),
        ended_at=STARTED + timedelta(seconds=62),
        duration=60,
        version=3,
        created_at=STARTED,
        updated_at=STARTED + timedelta(seconds=62),
        caller_connection_id=None,
        receiver_connection_id=None,
    )
    wire = CallOut.of(view, viewer_id=bob.id).wire()
    assert wire["startedAt"] == "2026-11-25T18:30:05.678Z"
    assert wire["answeredAt"] == "2026-11-25T18:30:07.678Z"
    assert wire["endedAt"] == "2026-11-25T18:31:07.678Z"
    assert wire["caller"]["createdAt"] == "2026-11-24T18:30:05.678Z"
    assert (wire["duration"], wire["version"], wire["direction"]) == (60, 3, "incoming")
    assert wire["_id"] == wire["id"] and wire["caller"]["online"] is True


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
