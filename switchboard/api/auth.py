"""/auth: register and log in."""

from __future__ import annotations

from fastapi import APIRouter, status

from switchboard.api.deps import ClientAddress, RateLimitsDep, ServicesDep
from switchboard.api.openapi import errors
from switchboard.api.responses import WireResponse
from switchboard.api.schemas import LoginIn, RegisterIn, SessionOut
from switchboard.services.auth import Session
from switchboard.wire import user_wire

router = APIRouter(prefix="/auth", tags=["auth"])


def _session_out(session: Session, status_code: int = status.HTTP_200_OK) -> WireResponse:
    return WireResponse(
        {
            "accessToken": session.access_token,
            "tokenType": "Bearer",
            "expiresIn": session.expires_in,
            "user": user_wire(session.user),
        },
        status_code,
    )


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionOut,
    responses=errors(409, 415, 422, 429, 503),
)
async def register(
    body: RegisterIn, services: ServicesDep, rate: RateLimitsDep, address: ClientAddress
) -> WireResponse:
    await rate.limiter.hit(rate.limits.register_address, address)
    session = await services.auth.register(
        username=body.username, password=body.password, display_name=body.display_name
    )
    return _session_out(session, status.HTTP_201_CREATED)


@router.post("/login", response_model=SessionOut, responses=errors(401, 415, 422, 429, 503))
async def login(
    body: LoginIn, services: ServicesDep, rate: RateLimitsDep, address: ClientAddress
) -> WireResponse:
    await rate.limiter.hit(rate.limits.login_address, address)
    await rate.limiter.hit(rate.limits.login_username, body.username.lower())
    return _session_out(await services.auth.login(username=body.username, password=body.password))
