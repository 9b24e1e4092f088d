"""/users: me, search, lookup."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from switchboard.api.deps import CurrentUserId, ServicesDep
from switchboard.api.openapi import AUTHENTICATED, errors
from switchboard.api.responses import WireResponse
from switchboard.api.schemas import UserEnvelope, UsersEnvelope
from switchboard.wire import user_wire

router = APIRouter(prefix="/users", tags=["users"], responses=AUTHENTICATED)


@router.get("/me", response_model=UserEnvelope)
async def me(user_id: CurrentUserId, services: ServicesDep) -> WireResponse:
    return WireResponse({"user": user_wire(await services.users.get(user_id=user_id))})


@router.get("", response_model=UsersEnvelope, responses=errors(422))
async def search(
    user_id: CurrentUserId,
    services: ServicesDep,
    q: Annotated[str, Query(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")] = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> WireResponse:
    found = await services.users.search(user_id=user_id, query=q, limit=limit)
    return WireResponse({"users": [user_wire(user) for user in found]})


@router.get("/{user_id}", response_model=UserEnvelope, responses=errors(404, 422))
async def get_user(user_id: str, _viewer_id: CurrentUserId, services: ServicesDep) -> WireResponse:
    return WireResponse({"user": user_wire(await services.users.get(user_id=user_id))})
