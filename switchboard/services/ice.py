"""ICE servers for clients: STUN, and TURN with time-limited REST credentials (coturn's
`use-auth-secret`): username = "<unix expiry>:<userId>", credential = base64(HMAC-SHA1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from switchboard.clock import Clock
from switchboard.config import Settings


@dataclass(frozen=True, slots=True)
class IceServers:
    servers: list[dict[str, Any]]
    ttl: int


def turn_credential(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def ice_servers_for(*, user_id: str, settings: Settings, clock: Clock) -> IceServers:
    servers: list[dict[str, Any]] = []
    if settings.stun_uris:
        servers.append({"urls": list(settings.stun_uris)})
    if settings.turn_secret and settings.turn_uris:
        expiry = int(clock.now().timestamp()) + settings.turn_ttl_seconds
        username = f"{expiry}:{user_id}"
        servers.append(
            {
                "urls": list(settings.turn_uris),
                "username": username,
                "credential": turn_credential(settings.turn_secret, username),
            }
        )
    return IceServers(servers=servers, ttl=settings.turn_ttl_seconds)
