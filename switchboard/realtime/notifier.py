"""Turns committed call changes and presence changes into envelopes on the bus."""

from __future__ import annotations

from typing import Any

from switchboard.domain.calls import CallStatus
from switchboard.metrics import Metrics
from switchboard.realtime.bus import Bus, Envelope
from switchboard.realtime.codec import frame
from switchboard.realtime.signaling import CallState
from switchboard.services.views import STATUS_EVENTS, CallEvent, CallEventType, CallView
from switchboard.wire import call_wire


def call_state(call: CallView) -> CallState:
    return CallState(
        id=call.id,
        caller_id=call.caller.id,
        receiver_id=call.receiver.id,
        status=call.status.value,
        version=call.version,
        caller_connection_id=call.caller_connection_id,
        receiver_connection_id=call.receiver_connection_id,
    )


def state_dict(call: CallView) -> dict[str, Any]:
    state = call_state(call)
    return {slot: getattr(state, slot) for slot in CallState.__slots__}


def call_envelopes(event: CallEvent) -> list[Envelope]:
    call = event.call
    state = state_dict(call)
    envelopes = []
    for user_id in (call.caller.id, call.receiver.id):
        data: dict[str, Any] = {"call": call_wire(call, viewer_id=user_id)}
        if call.status is CallStatus.INITIATED:
            is_caller = user_id == call.caller.id
            event_type = CallEventType.INITIATED if is_caller else CallEventType.INCOMING
        else:
            event_type = STATUS_EVENTS[call.status]
        if event_type is CallEventType.ANSWERED:
            data["connectionId"] = event.connection_id
        envelopes.append(Envelope(user_id=user_id, frame=frame(event_type, data), call=state))
    return envelopes


class Notifier:
    """The services' `EventPublisher`, speaking through the bus."""

    def __init__(self, bus: Bus, metrics: Metrics) -> None:
        self._bus = bus
        self._metrics = metrics

    async def publish(self, envelopes: list[Envelope]) -> None:
        """Every envelope this instance sends goes through here (and is counted)."""
        await self._bus.publish(envelopes)
        published = self._metrics.published
        for envelope in envelopes:
            published.inc(envelope.frame["type"])

    async def publish_call_event(self, event: CallEvent) -> None:
        await self.publish(call_envelopes(event))
        self._metrics.call_changes.labels(event.call.status.value).inc()

    async def publish_presence(self, *, user_id: str, online: bool, to: set[str]) -> None:
        presence = frame("presence", {"userId": user_id, "online": online})
        await self.publish([Envelope(user_id=uid, frame=presence) for uid in sorted(to)])
