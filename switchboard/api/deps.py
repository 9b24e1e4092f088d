"""Dependencies: the services of the running app and the current user's id."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from switchboard.services.container import Services
from switchboard.services.errors import unauthorized
from switchboard.services.ratelimit import RateLimits

_bearer = HTTPBearer(auto_error=False)

# Dependencies are `async def`: FastAPI runs a plain `def` in a worker thread, a thread hop
# per dependency per request.


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


RateLimitsDep = Annotated[RateLimits, Depends(get_rate_limits)]


async def client_address(request: Request) -> str:
    """The ASGI client host: the peer, or the X-Forwarded-For address a trusted proxy gave
    (uvicorn's proxy headers, trusted from FORWARDED_ALLOW_IPS)."""
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]


async def current_user_id(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized()
    return await services.auth.authenticate(credentials.credentials)


# The authenticated user's id (routes that show the user load it: `/users/me`).
CurrentUserId = Annotated[str, Depends(current_user_id)]
