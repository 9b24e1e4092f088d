"""/calls: the call lifecycle, history, counts and statistics."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query, status
from pydantic import AfterValidator, BeforeValidator

from switchboard.api.deps import CurrentUserId, RateLimitsDep, ServicesDep
from switchboard.api.openapi import AUTHENTICATED, errors
from switchboard.api.responses import WireResponse
from switchboard.api.schemas import (
    ActiveCallEnvelope,
    AnswerIn,
    ByType,
    CallEnvelope,
    CountOut,
    EndIn,
    HistoryOut,
    IceServerOut,
    IceServersOut,
    InitiateIn,
    SeenOut,
    StatsEnvelope,
    StatsOut,
    StatusIn,
    SuccessOut,
)
from switchboard.domain.calls import CallStatus, CallType, Direction, EndReason
from switchboard.services.ice import ice_servers_for
from switchboard.services.views import CallView
from switchboard.store.calls import HistoryFilter
from switchboard.wire import call_wire

router = APIRouter(prefix="/calls", tags=["calls"], responses=AUTHENTICATED)


def _utc(moment: datetime) -> datetime:
    """Naive means UTC; an offset that moves the moment out of range is a validation error."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("date is out of range") from error


_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _iso_8601(value: object) -> object:
    """Dates are ISO 8601 (the document says `date-time`): pydantic would read a number as Unix
    time."""
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        raise ValueError("expected an ISO 8601 date-time")
    return value


UtcDatetime = Annotated[datetime, BeforeValidator(_iso_8601), AfterValidator(_utc)]


def _envelope(call: CallView, viewer_id: str, status_code: int = 200) -> WireResponse:
    return WireResponse({"call": call_wire(call, viewer_id=viewer_id)}, status_code)


@router.post(
    "/initiate",
    status_code=status.HTTP_201_CREATED,
    response_model=CallEnvelope,
    responses=errors(403, 404, 409, 415, 422, 429),
)
async def initiate(
    body: InitiateIn, user_id: CurrentUserId, services: ServicesDep, rate: RateLimitsDep
) -> WireResponse:
    await rate.limiter.hit(rate.limits.call_initiate, user_id)
    call = await services.calls.initiate(
        caller_id=user_id,
        receiver_id=body.receiver_id,
        call_type=body.call_type,
        conversation_id=body.conversation_id,
        connection_id=body.connection_id,
    )
    return _envelope(call, user_id, status.HTTP_201_CREATED)


@router.get("/history", response_model=HistoryOut, responses=errors(422))
async def history(
    user_id: CurrentUserId,
    services: ServicesDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    call_type: Annotated[CallType | None, Query(alias="callType")] = None,
    status_: Annotated[CallStatus | None, Query(alias="status")] = None,
    direction: Direction | None = None,
    with_user_id: Annotated[UUID | None, Query(alias="withUserId")] = None,
    conversation_id: Annotated[UUID | None, Query(alias="conversationId")] = None,
    from_: Annotated[UtcDatetime | None, Query(alias="from")] = None,
    to: UtcDatetime | None = None,
) -> WireResponse:
    filters = HistoryFilter(
        call_type=call_type.value if call_type else None,
        status=status_.value if status_ else None,
        direction=direction.value if direction else None,
        with_user_id=str(with_user_id) if with_user_id else None,
        conversation_id=str(conversation_id) if conversation_id else None,
        start=from_,
        end=to,
    )
    result = await services.calls.history(user_id=user_id, filters=filters, page=page, limit=limit)
    return WireResponse(
        {
            "calls": [call_wire(call, viewer_id=user_id) for call in result.calls],
            "pagination": {
                "page": result.page,
                "limit": result.limit,
                "total": result.total,
                "totalPages": result.total_pages,
                "hasNext": result.has_next,
            },
        }
    )


@router.get("/active", response_model=ActiveCallEnvelope)
async def active(user_id: CurrentUserId, services: ServicesDep) -> WireResponse:
    call = await services.calls.active(user_id=user_id)
    return WireResponse({"call": call_wire(call, viewer_id=user_id) if call else None})


@router.get("/missed/count", responses=errors(422))
async def missed_count(
    user_id: CurrentUserId,
    services: ServicesDep,
    since: UtcDatetime | None = None,
    unseen: bool = False,
) -> CountOut:
    count = await services.calls.missed_count(user_id=user_id, since=since, unseen=unseen)
    return CountOut(count=count)


@router.post("/missed/seen")
async def missed_seen(user_id: CurrentUserId, services: ServicesDep) -> SeenOut:
    return SeenOut(seen_at=await services.calls.mark_missed_seen(user_id=user_id))


@router.get("/stats/summary", responses=errors(422))
async def stats(
    user_id: CurrentUserId,
    services: ServicesDep,
    from_: Annotated[UtcDatetime | None, Query(alias="from")] = None,
    to: UtcDatetime | None = None,
) -> StatsEnvelope:
    result = await services.calls.stats(user_id=user_id, start=from_, end=to)
    return StatsEnvelope(
        stats=StatsOut(
            total=result.total,
            outgoing=result.outgoing,
            incoming=result.incoming,
            answered=result.answered,
            missed=result.missed,
            rejected=result.rejected,
            total_duration=result.total_duration,
            average_duration=result.average_duration,
            by_type=ByType(**result.by_type),
        )
    )


@router.get("/ice-servers", response_model_exclude_none=True)
async def ice_servers(user_id: CurrentUserId, services: ServicesDep) -> IceServersOut:
    result = ice_servers_for(user_id=user_id, settings=services.settings, clock=services.clock)
    return IceServersOut(
        ice_servers=[IceServerOut(**server) for server in result.servers], ttl=result.ttl
    )


@router.get("/{call_id}", response_model=CallEnvelope, responses=errors(404, 422))
async def get_call(call_id: str, user_id: CurrentUserId, services: ServicesDep) -> WireResponse:
    return _envelope(await services.calls.get(user_id=user_id, call_id=call_id), user_id)


@router.patch(
    "/{call_id}/answer", response_model=CallEnvelope, responses=errors(403, 404, 409, 415, 422)
)
async def answer(
    call_id: str, body: AnswerIn, user_id: CurrentUserId, services: ServicesDep
) -> WireResponse:
    call = await services.calls.answer(
        user_id=user_id, call_id=call_id, accept=body.accept, connection_id=body.connection_id
    )
    return _envelope(call, user_id)


@router.patch(
    "/{call_id}/end", response_model=CallEnvelope, responses=errors(403, 404, 409, 415, 422)
)
async def end(
    call_id: str,
    user_id: CurrentUserId,
    services: ServicesDep,
    body: Annotated[EndIn | None, Body()] = None,
) -> WireResponse:
    reason = EndReason(body.reason) if body and body.reason else None
    return _envelope(
        await services.calls.end(user_id=user_id, call_id=call_id, reason=reason), user_id
    )


@router.patch(
    "/{call_id}/status", response_model=CallEnvelope, responses=errors(403, 404, 409, 415, 422)
)
async def set_status(
    call_id: str, body: StatusIn, user_id: CurrentUserId, services: ServicesDep
) -> WireResponse:
    call = await services.calls.set_status(user_id=user_id, call_id=call_id, status=body.status)
    return _envelope(call, user_id)


@router.delete("/{call_id}", responses=errors(404, 409, 422))
async def delete(call_id: str, user_id: CurrentUserId, services: ServicesDep) -> SuccessOut:
    await services.calls.delete(user_id=user_id, call_id=call_id)
    return SuccessOut()
