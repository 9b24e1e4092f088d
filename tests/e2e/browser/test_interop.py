"""Interop: the browser SDK calls a Python aiortc peer built on `switchboard.client`, and back.

The Python peer runs in the test process, so inside the same loopback-only namespace as the
browser and the server; its ICE gathers on 127.0.0.1 only (`MediaOptions.host_addresses`).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from playwright.async_api import expect

from switchboard.client import (
    AudioCapture,
    Call,
    FrameCounterTrack,
    MediaOptions,
    MediaPeer,
    Phone,
    ToneTrack,
    VideoCapture,
    start_media,
)
from tests.e2e.browser.conftest import Harness, Person
from tests.e2e.browser.test_calls import (
    INBOUND_BYTES_JS,
    PASSWORD,
    TIMEOUT_MS,
    call,
    expect_call_active,
    expect_remote_video,
    expect_ringing,
    sign_up,
)

pytestmark = pytest.mark.browser

LOOPBACK_MEDIA = MediaOptions(host_addresses=["127.0.0.1"])
TIMEOUT_S = TIMEOUT_MS / 1000


async def python_phone(harness: Harness, display_name: str) -> Phone:
    """A registered user with a Phone (its gateway session open), closed when the test ends."""
    username = f"bot{uuid.uuid4().hex[:8]}"
    phone = await Phone.login(
        harness.base_url,
        username,
        PASSWORD,
        register=True,
        display_name=display_name,
        device_id=f"py-{uuid.uuid4().hex[:12]}",
    )
    harness.cleanups.append(phone.close)
    return phone


async def expect_media_both_ways(person: Person, peer: MediaPeer) -> None:
    """The browser shows the Python peer's video and receives its audio; the Python peer gets
    the browser's video and audio frames."""
    await expect_call_active(person)
    await expect_remote_video(person)  # videoWidth > 0 and inbound video bytes grow
    first = await person.page.evaluate(INBOUND_BYTES_JS, "audio")
    video = VideoCapture(await peer.remote_track("video", timeout=TIMEOUT_S), decode_counter=False)
    audio = AudioCapture(await peer.remote_track("audio", timeout=TIMEOUT_S))
    video.start()
    audio.start()
    try:
        await asyncio.gather(
            video.wait_frames(20, timeout=TIMEOUT_S), audio.wait_frames(50, timeout=TIMEOUT_S)
        )
    finally:
        await video.stop()
        await audio.stop()
    assert first > 0, "the browser received no audio"
    await wait_for_growth(person, "audio", first)


async def wait_for_growth(person: Person, kind: str, since: int) -> None:
    """Waits until the browser's inbound bytes of `kind` exceed `since` (polls getStats)."""
    await person.page.wait_for_function(
        f"async ([kind, since]) => ({INBOUND_BYTES_JS})(kind).then((now) => now > since)",
        arg=[kind, since],
        polling=200,
        timeout=TIMEOUT_MS,
    )


async def test_browser_calls_a_python_peer(harness: Harness) -> None:
    bot = await python_phone(harness, "Py Answerer")
    alice = await harness.open("alice", "Alice Interop")
    await sign_up(alice)
    callee = Person("bot", bot.user["username"], "Py Answerer", alice.context, alice.page)
    await call(alice, callee)

    incoming: Call = await bot.next_incoming(timeout=TIMEOUT_S)
    assert incoming.data["callType"] == "video"
    assert incoming.peer["displayName"] == "Alice Interop"
    peer = await start_media(
        bot, incoming, audio=ToneTrack(440), video=FrameCounterTrack(), options=LOOPBACK_MEDIA
    )
    await incoming.answer()
    await asyncio.wait_for(peer.wait_connected(), TIMEOUT_S)
    await expect_media_both_ways(alice, peer)

    await alice.page.get_by_role("button", name="Hang up", exact=True).click()
    ended = await incoming.wait_ended(timeout=TIMEOUT_S)
    assert ended["status"] == "ended" and ended["endReason"] == "hangup"
    await expect(alice.page.locator("#call-subtitle")).to_contain_text("You ended the call")


async def test_python_peer_calls_the_browser(harness: Harness) -> None:
    bot = await python_phone(harness, "Py Caller")
    bob = await harness.open("bob", "Bob Interop")
    await sign_up(bob)
    outgoing = await bot.call(bob.username, call_type="video")
    peer = await start_media(
        bot, outgoing, audio=ToneTrack(880), video=FrameCounterTrack(), options=LOOPBACK_MEDIA
    )
    caller = Person("bot", bot.user["username"], "Py Caller", bob.context, bob.page)
    await expect_ringing(bob, caller)
    await bob.page.get_by_role("button", name="Accept", exact=True).click()
    await outgoing.wait_answered(timeout=TIMEOUT_S)
    await asyncio.wait_for(peer.wait_connected(), TIMEOUT_S)
    await expect_media_both_ways(bob, peer)

    await peer.hang_up()
    await expect(bob.page.locator("#call-subtitle")).to_contain_text("Py Caller ended the call")
    assert outgoing.status == "ended"
