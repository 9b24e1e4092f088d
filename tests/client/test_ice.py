"""Browser candidates, end-of-candidates, and the host-address restriction."""

from __future__ import annotations

import asyncio

import aioice.ice
import pytest
from aiortc import RTCPeerConnection

from switchboard.client import (
    InvalidCandidate,
    candidate_from_init,
    candidate_to_init,
    restrict_host_addresses,
    rtc_configuration,
)

CHROME = (
    "candidate:842163049 1 udp 1677729535 203.0.113.7 61665 typ srflx raddr 192.168.1.20 "
    "rport 61665 generation 0 ufrag EsOa network-cost 999"
)


def test_browser_candidate_is_parsed_with_its_media_line() -> None:
    candidate = candidate_from_init({"candidate": CHROME, "sdpMid": "0", "sdpMLineIndex": 0})
    assert candidate is not None
    assert (candidate.foundation, candidate.component, candidate.protocol) == (
        "842163049",
        1,
        "udp",
    )
    assert (candidate.ip, candidate.port, candidate.type) == ("203.0.113.7", 61665, "srflx")
    assert (candidate.relatedAddress, candidate.relatedPort) == ("192.168.1.20", 61665)
    assert candidate.priority == 1677729535
    assert (candidate.sdpMid, candidate.sdpMLineIndex) == ("0", 0)


def test_only_one_of_mid_and_index_is_needed() -> None:
    by_index = candidate_from_init({"candidate": CHROME, "sdpMLineIndex": 1})
    by_mid = candidate_from_init({"candidate": CHROME, "sdpMid": "audio", "sdpMLineIndex": None})
    assert by_index is not None and by_index.sdpMLineIndex == 1 and by_index.sdpMid is None
    assert by_mid is not None and by_mid.sdpMid == "audio" and by_mid.sdpMLineIndex is None


def test_empty_candidate_is_end_of_candidates() -> None:
    assert candidate_from_init({"candidate": ""}) is None
    assert candidate_from_init({"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0}) is None


@pytest.mark.parametrize(
    "init",
    [
        {},
        {"candidate": None, "sdpMid": "0"},
        {"candidate": CHROME},  # neither sdpMid nor sdpMLineIndex
        {"candidate": "candidate:1 1 udp", "sdpMid": "0"},  # truncated
        {"candidate": "candidate:1 1 udp x 1.2.3.4 5 typ host", "sdpMid": "0"},  # bad priority
    ],
)
def test_invalid_candidates_are_refused(init: dict[str, object]) -> None:
    with pytest.raises(InvalidCandidate):
        candidate_from_init(init)


def test_candidate_round_trips_through_the_browser_form() -> None:
    candidate = candidate_from_init({"candidate": CHROME, "sdpMid": "1", "sdpMLineIndex": 1})
    assert candidate is not None
    init = candidate_to_init(candidate)
    assert init["candidate"].startswith("candidate:842163049 1 udp 1677729535 203.0.113.7 61665")
    assert candidate_from_init(init) == candidate


def test_restriction_applies_inside_the_block_only() -> None:
    with restrict_host_addresses(["127.0.0.1", "::1"]):
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1", "::1"]
    # Outside, aioice's own lookup runs, which never offers loopback.
    assert "127.0.0.1" not in aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)


def test_no_restriction_changes_nothing() -> None:
    with restrict_host_addresses(None):
        assert "127.0.0.1" not in aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)


def _candidate_addresses(sdp: str) -> set[str]:
    return {line.split()[4] for line in sdp.splitlines() if line.startswith("a=candidate:")}


async def test_peer_gathers_loopback_only_and_restrictions_do_not_leak_across_tasks() -> None:
    async def offer_sdp(addresses: list[str] | None) -> str:
        pc = RTCPeerConnection(rtc_configuration([]))
        try:
            pc.addTransceiver("audio")
            with restrict_host_addresses(addresses):
                await pc.setLocalDescription(await pc.createOffer())
            return str(pc.localDescription.sdp)
        finally:
            await pc.close()

    loopback, default = await asyncio.gather(offer_sdp(["127.0.0.1"]), offer_sdp(None))
    assert _candidate_addresses(loopback) == {"127.0.0.1"}
    assert "127.0.0.1" not in _candidate_addresses(default)


def test_empty_ice_servers_means_none_at_all() -> None:
    config = rtc_configuration([])
    assert config.iceServers == []  # not None: aiortc would add a public STUN server
    turn = rtc_configuration(
        [{"urls": ["turn:127.0.0.1:3478"], "username": "1:u", "credential": "c"}]
    )
    assert turn.iceServers is not None
    assert turn.iceServers[0].urls == ["turn:127.0.0.1:3478"]
    assert (turn.iceServers[0].username, turn.iceServers[0].credential) == ("1:u", "c")
