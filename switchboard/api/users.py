"""/users: me, search, lookup."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from switchboard.api.deps import CurrentUser, ServicesDep
from switchboard.api.openapi import AUTHENTICATED, errors
from switchboard.api.schemas import UserEnvelope, UsersEnvelope
from switchboard.wire import UserOut

router = APIRouter(prefix="/users", tags=["users"], responses=AUTHENTICATED)


@router.get("/me")
async def me(user: CurrentUser) -> UserEnvelope:
    return UserEnvelope(user=UserOut.of(user))


@router.get("", responses=errors(422))
async def search(
    user: CurrentUser,
    services: ServicesDep,
    q: Annotated[str, Query(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")] = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> UsersEnvelope:
    found = await services.users.search(user_id=user.id, query=q, limit=limit)
    return UsersEnvelope(users=[UserOut.of(u) for u in found])


@router.get("/{user_id}", responses=errors(404, 422))
async def get_user(user_id: str, user: CurrentUser, services: ServicesDep) -> UserEnvelope:
    return UserEnvelope(user=UserOut.of(await services.users.get(user_id=user_id)))
