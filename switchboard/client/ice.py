"""ICE helpers for aiortc: host-address restriction, browser candidates, ICE server config.

Host addresses
    aioice gathers a host candidate on every interface address except loopback. A test (or a
    bot on a machine with many interfaces) can restrict it::

        with restrict_host_addresses(["127.0.0.1"]):
            await pc.setLocalDescription(offer)   # gathers 127.0.0.1 only

    The restriction is held in a context variable, so it applies to the task that sets it (and
    the tasks it starts) only: two peers in one process may use different settings.
    :class:`~switchboard.client.media.MediaOptions` ``host_addresses`` does this for you.

Candidates
    aiortc puts its own candidates in the SDP; a browser trickles ``RTCIceCandidateInit``
    objects (``{candidate, sdpMid, sdpMLineIndex}``), and ``{candidate: ""}`` at the end.
    :func:`candidate_from_init` turns one into what ``RTCPeerConnection.addIceCandidate`` takes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import aioice.ice
from aiortc import RTCConfiguration, RTCIceCandidate, RTCIceServer
from aiortc.sdp import candidate_from_sdp, candidate_to_sdp

from .models import IceCandidateInit, IceServer

_host_addresses: ContextVar[tuple[str, ...] | None] = ContextVar(
    "switchboard_host_addresses", default=None
)
_original_get_host_addresses = aioice.ice.get_host_addresses


def _get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    restricted = _host_addresses.get()
    if restricted is None:
        return _original_get_host_addresses(use_ipv4, use_ipv6)
    return [a for a in restricted if (use_ipv6 if ":" in a else use_ipv4)]


def install_host_address_hook() -> None:
    """Route aioice's address lookup through :func:`restrict_host_addresses` (idempotent).

    Without a restriction in effect the hook calls aioice's own lookup, unchanged.
    """
    aioice.ice.get_host_addresses = _get_host_addresses


@contextlib.contextmanager
def restrict_host_addresses(addresses: Sequence[str] | None) -> Iterator[None]:
    """Within this block (this task), gather host candidates on ``addresses`` only.

    ``None`` leaves aioice's default (every non-loopback address).
    """
    if addresses is None:
        yield
        return
    install_host_address_hook()
    token = _host_addresses.set(tuple(addresses))
    try:
        yield
    finally:
        _host_addresses.reset(token)


class InvalidCandidate(ValueError):
    """An ``ice-candidate`` payload that is not a usable ``RTCIceCandidateInit``."""


def candidate_from_init(init: Mapping[str, Any]) -> RTCIceCandidate | None:
    """An aiortc candidate from a browser's ``RTCIceCandidateInit``; ``None`` = end of candidates.

    Accepts the ``candidate:`` prefix browsers send, and either ``sdpMid`` or ``sdpMLineIndex``.
    """
    text = init.get("candidate")
    if not isinstance(text, str):
        raise InvalidCandidate("candidate must be a string")
    text = text.strip()
    if text == "":
        return None
    text = text.removeprefix("a=").removeprefix("candidate:")
    mid = init.get("sdpMid")
    index = init.get("sdpMLineIndex")
    if mid is None and index is None:
        raise InvalidCandidate("one of sdpMid and sdpMLineIndex is required")
    try:
        candidate = candidate_from_sdp(text)
    except (AssertionError, ValueError, IndexError) as exc:
        raise InvalidCandidate(f"cannot parse candidate {text!r}") from exc
    candidate.sdpMid = str(mid) if mid is not None else None
    candidate.sdpMLineIndex = int(index) if index is not None else None
    return candidate


def candidate_to_init(candidate: RTCIceCandidate) -> IceCandidateInit:
    """The browser form of an aiortc candidate (for trickling to a browser)."""
    return {
        "candidate": "candidate:" + candidate_to_sdp(candidate),
        "sdpMid": candidate.sdpMid,
        "sdpMLineIndex": candidate.sdpMLineIndex,
    }


END_OF_CANDIDATES: IceCandidateInit = {"candidate": ""}


def rtc_configuration(ice_servers: Sequence[IceServer]) -> RTCConfiguration:
    """An aiortc configuration from the server's ``iceServers``.

    An empty list means no STUN/TURN at all (aiortc would otherwise fall back to a public STUN
    server, which tests on loopback must never contact).
    """
    servers = [
        RTCIceServer(
            urls=list(server["urls"]),
            username=server.get("username"),
            credential=server.get("credential"),
        )
        for server in ice_servers
    ]
    return RTCConfiguration(iceServers=servers)
