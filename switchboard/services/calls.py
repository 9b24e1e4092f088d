"""Call use cases: initiate, answer, end, status, history, counts, stats, delete, expiry."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from switchboard.clock import Clock
from switchboard.config import Settings
from switchboard.domain.calls import (
    SET_STATUS_ACTIONS,
    Action,
    Actor,
    CallStatus,
    CallType,
    EndReason,
    ForbiddenMove,
    InvalidTransition,
    duration_seconds,
    transition,
)
from switchboard.ids import is_id, new_id
from switchboard.services.errors import (
    CALL_NOT_FOUND,
    CONVERSATION_NOT_FOUND,
    USER_NOT_FOUND,
    ServiceError,
    conflict,
    forbidden,
    invalid,
    not_found,
)
from switchboard.services.ports import EventPublisher, Presence
from switchboard.services.users import UserService
from switchboard.services.views import CallEvent, CallView
from switchboard.store import calls as store
from switchboard.store import conversations as conversation_store
from switchboard.store import users as user_store
from switchboard.store.calls import CallRow, HistoryFilter
from switchboard.store.db import Database
from switchboard.store.models import Call

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HistoryPage:
    calls: list[CallView]
    page: int
    limit: int
    total: int

    @property
    def total_pages(self) -> int:
        return -(-self.total // self.limit)

    @property
    def has_next(self) -> bool:
        return self.page < self.total_pages


@dataclass(frozen=True, slots=True)
class CallStats:
    total: int
    outgoing: int
    incoming: int
    answered: int
    missed: int
    rejected: int
    total_duration: int
    average_duration: float
    by_type: dict[str, int]


def _call_not_found() -> ServiceError:
    return not_found(CALL_NOT_FOUND, "Call not found")


class CallService:
    def __init__(
        self,
        *,
        db: Database,
        users: UserService,
        presence: Presence,
        events: EventPublisher,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._db = db
        self._users = users
        self._presence = presence
        self._events = events
        self._clock = clock
        self._settings = settings

    # -- moves --------------------------------------------------------------------------------

    async def initiate(
        self,
        *,
        caller_id: str,
        receiver_id: str,
        call_type: CallType,
        conversation_id: str | None = None,
        connection_id: str | None = None,
    ) -> CallView:
        now = self._clock.now()
        call_id = new_id()
        async with self._db.write() as session:
            if not is_id(receiver_id) or not await self._users.exists(receiver_id, session):
                raise not_found(USER_NOT_FOUND, "User not found")
            if receiver_id == caller_id:
                raise invalid("cannot_call_self", "You cannot call yourself")
            conversation_id = await self._conversation_for(
                session, caller_id=caller_id, receiver_id=receiver_id, requested=conversation_id
            )
            await self._check_connection(caller_id, connection_id)
            online = await self._presence.online_users((caller_id, receiver_id))
            call = Call(
                id=call_id,
                caller_id=caller_id,
                receiver_id=receiver_id,
                conversation_id=conversation_id,
                call_type=call_type.value,
                status=CallStatus.INITIATED.value,
                duration=0,
                version=1,
                started_at=now,
                created_at=now,
                updated_at=now,
                ring_deadline=now + timedelta(seconds=self._settings.ring_timeout_seconds),
                caller_connection_id=connection_id,
                caller_watched=caller_id in online,
                receiver_watched=receiver_id in online,
            )
            await store.insert_call(session, call)
            # After the call row exists (the booking refers to it); a clash rolls both back.
            booked = await store.book_busy(
                session, call_id=call_id, user_ids=[caller_id, receiver_id]
            )
            if caller_id not in booked:
                raise conflict("caller_busy", "You are already in a call")
            if receiver_id not in booked:
                raise conflict("user_busy", "User is busy")
            await conversation_store.touch_last_call(
                session, conversation_id=conversation_id, started_at=now
            )
            # Last: after the booking, which may wait for the end of another call of these
            # users, whose tallies the log's triggers would lock first (a deadlock).
            await store.log_call(session, call)
            view = await self._view(session, call)
        await self._publish(CallEvent(call=view))
        return view

    async def _conversation_for(
        self, session: AsyncSession, *, caller_id: str, receiver_id: str, requested: str | None
    ) -> str:
        if requested is None:
            return await conversation_store.pair_conversation_id(
                session, user_a=caller_id, user_b=receiver_id, now=self._clock.now()
            )
        if (
            not is_id(requested)
            or await conversation_store.get_conversation(session, requested) is None
        ):
            raise not_found(CONVERSATION_NOT_FOUND, "Conversation not found")
        members = await conversation_store.participant_ids(session, requested)
        if caller_id not in members or receiver_id not in members:
            raise forbidden("not_a_participant", "Both parties must be in the conversation")
        return requested

    async def _check_connection(self, user_id: str, connection_id: str | None) -> None:
        if connection_id is not None and not await self._presence.has_connection(
            user_id, connection_id
        ):
            raise invalid("unknown_connection", "connectionId is not one of your live connections")

    async def answer(
        self, *, user_id: str, call_id: str, accept: bool, connection_id: str | None = None
    ) -> CallView:
        action = Action.ACCEPT if accept else Action.DECLINE
        return await self._move(
            user_id=user_id, call_id=call_id, action=action, connection_id=connection_id
        )

    async def end(self, *, user_id: str, call_id: str, reason: EndReason | None = None) -> CallView:
        return await self._move(user_id=user_id, call_id=call_id, action=Action.END, reason=reason)

    async def set_status(self, *, user_id: str, call_id: str, status: CallStatus) -> CallView:
        return await self._move(user_id=user_id, call_id=call_id, action=SET_STATUS_ACTIONS[status])

    async def _move(
        self,
        *,
        user_id: str,
        call_id: str,
        action: Action,
        reason: EndReason | None = None,
        connection_id: str | None = None,
    ) -> CallView:
        if not is_id(call_id):
            raise _call_not_found()
        async with self._db.write() as session:
            call = await store.get_call(session, call_id, lock=True)
            if call is None or user_id not in (call.caller_id, call.receiver_id):
                raise _call_not_found()
            if CallStatus(call.status).is_terminal and await self._deleted_by(
                session, call_id=call_id, user_id=user_id
            ):
                raise _call_not_found()
            actor = Actor.CALLER if user_id == call.caller_id else Actor.RECEIVER
            try:
                outcome = transition(CallStatus(call.status), actor, action, reason=reason)
            except ForbiddenMove as error:
                raise forbidden("forbidden", str(error).capitalize()) from error
            except InvalidTransition as error:
                raise conflict("invalid_transition", str(error).capitalize()) from error
            if not outcome.changed:
                return await self._view(session, call)
            if action is Action.ACCEPT:
                # After the call's own checks (404, 403, 409), as the contract orders them.
                await self._check_connection(user_id, connection_id)
            await self._apply(
                session,
                call,
                status=outcome.status,
                end_reason=outcome.end_reason,
                ended_by=user_id,
                connection_id=connection_id,
            )
            view = await self._view(session, call)
        await self._publish(CallEvent(call=view, connection_id=connection_id))
        return view

    async def _apply(
        self,
        session: AsyncSession,
        call: Call,
        *,
        status: CallStatus,
        end_reason: EndReason | None,
        ended_by: str | None,
        connection_id: str | None = None,
    ) -> None:
        now = self._clock.now()
        changes: dict[str, Any] = {
            "status": status.value,
            "version": call.version + 1,
            "updated_at": now,
        }
        if status is CallStatus.ANSWERED:
            changes |= {"answered_at": now, "receiver_connection_id": connection_id}
        else:
            changes |= {
                "end_reason": end_reason.value if end_reason else None,
                "ended_by": ended_by,
                "ended_at": now,
                "duration": duration_seconds(call.answered_at, now),
            }
            await store.release_busy(session, call_id=call.id)
        await store.update_call(session, call, changes)
        await store.sync_entries(session, call)

    async def _deleted_by(self, session: AsyncSession, *, call_id: str, user_id: str) -> bool:
        entry = await store.entry_of(session, call_id=call_id, user_id=user_id)
        return entry is None or entry.deleted_at is not None

    # -- server moves (ring timeout, lost connections, maximum duration) ----------------------

    async def expire(self, *, call_id: str, action: Action) -> CallView | None:
        """Applies a server move if it is still due; at most once, whichever instance asks."""
        now = self._clock.now()
        async with self._db.write() as session:
            call = await store.get_call(session, call_id, lock=True)
            if call is None or not self._is_due(call, action, now):
                return None
            try:
                outcome = transition(CallStatus(call.status), Actor.SERVER, action)
            except InvalidTransition:
                return None
            await self._apply(
                session, call, status=outcome.status, end_reason=outcome.end_reason, ended_by=None
            )
            view = await self._view(session, call)
        await self._publish(CallEvent(call=view))
        return view

    def _is_due(self, call: Call, action: Action, now: datetime) -> bool:
        settings = self._settings
        if action is Action.RING_TIMEOUT:
            return call.status == CallStatus.INITIATED and call.ring_deadline <= now
        if action is Action.MAX_DURATION:
            return call.answered_at is not None and now - call.answered_at >= timedelta(
                seconds=settings.max_call_seconds
            )
        grace = timedelta(seconds=settings.call_grace_seconds)
        lost = [call.caller_lost_at]
        if call.status == CallStatus.ANSWERED:
            lost.append(call.receiver_lost_at)
        return any(at is not None and now - at >= grace for at in lost)

    async def active_calls(self) -> list[Call]:
        async with self._db.read() as session:
            return await store.active_calls(session)

    async def active_counts(self) -> dict[str, int]:
        """Calls ringing and in progress, by status."""
        async with self._db.read() as session:
            return await store.active_counts(session)

    async def record_watch(
        self,
        *,
        call_id: str,
        caller: tuple[bool, datetime | None],
        receiver: tuple[bool, datetime | None],
    ) -> None:
        """Stores grace bookkeeping: (watched, lost since) per side. Not a visible change."""
        async with self._db.write() as session:
            call = await store.get_call(session, call_id, lock=True)
            if call is None or CallStatus(call.status).is_terminal:
                return
            call.caller_watched, call.caller_lost_at = caller
            call.receiver_watched, call.receiver_lost_at = receiver

    # -- reads --------------------------------------------------------------------------------

    async def get(self, *, user_id: str, call_id: str) -> CallView:
        if not is_id(call_id):
            raise _call_not_found()
        async with self._db.read() as session:
            entry = await store.entry_of(session, call_id=call_id, user_id=user_id)
            if entry is None or entry.deleted_at is not None:
                raise _call_not_found()
            call = await store.get_call(session, call_id)
            assert call is not None
            return await self._view(session, call)

    async def peek(self, *, call_id: str) -> CallView | None:
        """The call as it is, for internal checks (no participant check: callers do it)."""
        if not is_id(call_id):
            return None
        async with self._db.read() as session:
            call = await store.get_call(session, call_id)
            return await self._view(session, call) if call else None

    async def active(self, *, user_id: str) -> CallView | None:
        call = await self._db.snapshot(lambda connection: store.active_call(connection, user_id))
        return await self._view(None, call) if call else None

    async def history(
        self, *, user_id: str, filters: HistoryFilter, page: int, limit: int
    ) -> HistoryPage:
        calls, total = await self._db.snapshot(
            lambda connection: store.history(
                connection, user_id=user_id, filters=filters, offset=(page - 1) * limit, limit=limit
            )
        )
        views = await self._views(None, calls)
        return HistoryPage(calls=views, page=page, limit=limit, total=total)

    async def missed_count(
        self, *, user_id: str, since: datetime | None = None, unseen: bool = False
    ) -> int:
        async def read(connection: AsyncConnection) -> int:
            start = since
            if unseen:
                # Not one snapshot with the count: a mark set in between counts a few more.
                seen_at = await user_store.missed_seen_at(connection, user_id)
                if seen_at is not None and (start is None or seen_at > start):
                    start = seen_at
            return await store.missed_count(connection, user_id=user_id, since=start)

        return await self._db.snapshot(read)

    async def mark_missed_seen(self, *, user_id: str) -> datetime:
        now = self._clock.now()
        async with self._db.write() as session:
            await user_store.set_missed_seen(session, user_id=user_id, seen_at=now)
        return now

    async def stats(
        self, *, user_id: str, start: datetime | None = None, end: datetime | None = None
    ) -> CallStats:
        totals = await self._db.snapshot(
            lambda connection: store.stats_totals(connection, user_id=user_id, start=start, end=end)
        )
        return CallStats(
            total=totals.total,
            outgoing=totals.outgoing,
            incoming=totals.total - totals.outgoing,
            answered=totals.answered,
            missed=totals.missed,
            rejected=totals.rejected,
            total_duration=totals.duration,
            average_duration=totals.duration / totals.answered if totals.answered else 0.0,
            by_type=totals.by_type,
        )

    async def delete(self, *, user_id: str, call_id: str) -> None:
        if not is_id(call_id):
            raise _call_not_found()
        async with self._db.write() as session:
            call = await store.get_call(session, call_id)
            if call is None or user_id not in (call.caller_id, call.receiver_id):
                raise _call_not_found()
            if not CallStatus(call.status).is_terminal:
                raise conflict("call_active", "A call in progress cannot be deleted")
            if not await store.soft_delete(
                session, call_id=call_id, user_id=user_id, now=self._clock.now()
            ):
                raise _call_not_found()

    # -- helpers ------------------------------------------------------------------------------

    async def _view(self, session: AsyncSession | None, call: Call | CallRow) -> CallView:
        return (await self._views(session, [call]))[0]

    async def _views(
        self, session: AsyncSession | None, calls: Sequence[Call | CallRow]
    ) -> list[CallView]:
        users = await self._users.load_views(
            session, {uid for call in calls for uid in (call.caller_id, call.receiver_id)}
        )
        return [
            CallView.of(call, caller=users[call.caller_id], receiver=users[call.receiver_id])
            for call in calls
        ]

    async def _publish(self, event: CallEvent) -> None:
        try:
            await self._events.publish_call_event(event)
        except Exception:
            # The change is committed; clients recover the truth from hello/sync/REST.
            log.exception("could not publish %s for call %s", event.call.status, event.call.id)
