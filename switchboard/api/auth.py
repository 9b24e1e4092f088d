"""/auth: register and log in."""

from __future__ import annotations

from fastapi import APIRouter, status

from switchboard.api.deps import ServicesDep
from switchboard.api.schemas import LoginIn, RegisterIn, SessionOut
from switchboard.services.auth import Session
from switchboard.wire import UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


def _session_out(session: Session) -> SessionOut:
    return SessionOut(
        access_token=session.access_token,
        expires_in=session.expires_in,
        user=UserOut.of(session.user),
    )


@router.post("/register", status_code=status.HTTP_201_CREATED)
async def register(body: RegisterIn, services: ServicesDep) -> SessionOut:
    session = await services.auth.register(
        username=body.username, password=body.password, display_name=body.display_name
    )
    return _session_out(session)


@router.post("/login")
async def login(body: LoginIn, services: ServicesDep) -> SessionOut:
    return _session_out(await services.auth.login(username=body.username, password=body.password))
