"""The sweeper: ring timeouts, lost connections (grace) and the maximum call length.

Deadlines live in the database, so any instance may apply them and a restarted one applies
overdue ones at once; `CallService.expire` re-checks under the row lock, so each is applied
at most once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from switchboard.clock import Clock
from switchboard.config import Settings
from switchboard.domain.calls import Action, CallStatus
from switchboard.services.calls import CallService
from switchboard.services.ports import LivenessUnavailable, Presence
from switchboard.store.models import Call

log = logging.getLogger(__name__)

Side = tuple[bool, datetime | None]  # (has had a live connection, connection lost since)


class Sweeper:
    def __init__(
        self, *, calls: CallService, presence: Presence, clock: Clock, settings: Settings
    ) -> None:
        self._calls = calls
        self._presence = presence
        self._clock = clock
        self._settings = settings

    async def run(self, stop: asyncio.Event) -> None:
        """Sweeps every `sweep_interval_seconds` until `stop` is set. A sweep under way is
        finished rather than cancelled halfway through a database call."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._settings.sweep_interval_seconds)
            if not stop.is_set():
                await self.sweep_logging_errors()

    async def sweep_logging_errors(self) -> None:
        try:
            await self.sweep_once()
        except Exception:
            log.exception("sweep failed; trying again")

    async def sweep_once(self) -> None:
        now = self._clock.now()
        max_call = timedelta(seconds=self._settings.max_call_seconds)
        liveness_readable = True
        for call in await self._calls.active_calls():
            if call.status == CallStatus.INITIATED and call.ring_deadline <= now:
                await self._calls.expire(call_id=call.id, action=Action.RING_TIMEOUT)
            elif call.answered_at is not None and now - call.answered_at >= max_call:
                await self._calls.expire(call_id=call.id, action=Action.MAX_DURATION)
            elif liveness_readable:
                try:
                    await self._watch(call, now)
                except LivenessUnavailable:
                    # Grace sweeps pause; ring timeouts and the maximum length go on.
                    log.warning("connection liveness unreadable: grace sweeps paused")
                    liveness_readable = False

    async def _watch(self, call: Call, now: datetime) -> None:
        caller = await self._side(
            call.caller_id,
            call.caller_connection_id,
            (call.caller_watched, call.caller_lost_at),
            now,
        )
        receiver = await self._side(
            call.receiver_id,
            call.receiver_connection_id,
            (call.receiver_watched, call.receiver_lost_at),
            now,
        )
        if (caller, receiver) != (
            (call.caller_watched, call.caller_lost_at),
            (call.receiver_watched, call.receiver_lost_at),
        ):
            await self._calls.record_watch(call_id=call.id, caller=caller, receiver=receiver)
        # A ringing call ends when its caller vanishes; an answered one when either side does.
        watched = [caller, receiver] if call.status == CallStatus.ANSWERED else [caller]
        grace = timedelta(seconds=self._settings.call_grace_seconds)
        if any(lost is not None and now - lost >= grace for _, lost in watched):
            await self._calls.expire(call_id=call.id, action=Action.CONNECTION_LOST)

    async def _side(self, user_id: str, device: str | None, side: Side, now: datetime) -> Side:
        watched, lost_at = side
        if device is not None:
            live = await self._presence.has_connection(user_id, device, strict=True)
        else:
            live = bool(await self._presence.online_users([user_id], strict=True))
        if live:
            return True, None
        if not watched:
            return False, None
        return True, lost_at or now
