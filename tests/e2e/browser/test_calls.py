"""Real calls between browser contexts: Debian's Chromium, fake camera and microphone.

Run with scripts/browser-tests (a loopback-only network namespace); skipped elsewhere.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import expect

from tests.e2e.browser.conftest import RING_TIMEOUT_SECONDS, Harness, Person

pytestmark = pytest.mark.browser

PASSWORD = "browser-pass-123"
# A ringing call or a media connection may take a few seconds on a busy 2-core machine.
TIMEOUT_MS = 20_000

INBOUND_BYTES_JS = """
async (kind) => {
  const report = await window.switchboard.getStats();
  if (!report) return 0;
  let bytes = 0;
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === kind) bytes += s.bytesReceived || 0;
  });
  return bytes;
}
"""


async def sign_up(person: Person) -> None:
    page = person.page
    await expect(page.get_by_role("heading", name="Switchboard")).to_be_visible()
    await page.get_by_role("tab", name="Create account").click()
    await page.get_by_label("Display name").fill(person.display_name)
    await page.get_by_label("Username").fill(person.username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()
    await expect(page.locator("#conn-status")).to_have_attribute("data-state", "open")


async def sign_in(person: Person) -> None:
    page = person.page
    await page.get_by_label("Username").fill(person.username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()
    await expect(page.locator("#conn-status")).to_have_attribute("data-state", "open")


async def call(caller: Person, callee: Person, kind: str = "Video call") -> None:
    page = caller.page
    await page.get_by_label("Search people").fill(callee.username)
    button = page.get_by_role("button", name=f"{kind} {callee.display_name}")
    await expect(button).to_be_visible()
    await button.click()


async def expect_ringing(callee: Person, caller: Person, kind: str = "video") -> None:
    dialog = callee.page.get_by_role("alertdialog")
    await expect(dialog).to_be_visible(timeout=TIMEOUT_MS)
    await expect(dialog).to_contain_text(caller.display_name)
    await expect(dialog).to_contain_text(f"Incoming {kind} call")


async def expect_remote_video(person: Person) -> None:
    """The remote <video> shows frames and inbound video bytes keep growing."""
    page = person.page
    await page.wait_for_function(
        "() => document.getElementById('remote-video').videoWidth > 0", timeout=TIMEOUT_MS
    )
    first = await page.evaluate(INBOUND_BYTES_JS, "video")
    await asyncio.sleep(1.5)
    second = await page.evaluate(INBOUND_BYTES_JS, "video")
    assert second > first > 0, f"{person.label}: video bytesReceived {first} -> {second}"


async def expect_call_active(person: Person) -> None:
    screen = person.page.locator("#call-screen")
    await expect(screen).to_have_attribute("data-phase", "active", timeout=TIMEOUT_MS)
    await expect(person.page.locator("#call-quality")).to_have_text("Connected")


async def test_video_call_with_mute_reconnect_and_hang_up(harness: Harness) -> None:
    alice = await harness.open("alice", "Alice Liddell")
    bob = await harness.open("bob", "Bob Builder")
    await harness.shot(alice, "sign-in")
    await sign_up(alice)
    await sign_up(bob)

    await call(alice, bob)
    await expect(alice.page.locator("#call-screen")).to_have_attribute("data-phase", "outgoing")
    await expect(alice.page.get_by_role("button", name="Cancel", exact=True)).to_be_visible()
    await expect_ringing(bob, alice)
    await harness.shot(alice, "calling")
    await harness.shot(bob, "incoming")

    await bob.page.get_by_role("button", name="Accept", exact=True).click()
    await expect_call_active(alice)
    await expect_call_active(bob)
    await expect_remote_video(alice)
    await expect_remote_video(bob)
    await expect(alice.page.locator("#call-timer")).to_be_visible()
    await harness.shot(alice, "in-call")

    # Mute and camera off are shown on the other side (media-state).
    await alice.page.get_by_role("button", name="Mute", exact=True).click()
    await expect(alice.page.get_by_role("button", name="Unmute", exact=True)).to_be_visible()
    await expect(bob.page.get_by_text("Alice Liddell is muted")).to_be_visible()
    await harness.shot(bob, "in-call-remote-muted")
    await alice.page.get_by_role("button", name="Unmute", exact=True).click()
    await expect(bob.page.get_by_text("Alice Liddell is muted")).to_be_hidden()
    await bob.page.get_by_role("button", name="Turn camera off", exact=True).click()
    await expect(alice.page.get_by_text("Bob Builder turned their camera off")).to_be_visible()
    await bob.page.get_by_role("button", name="Turn camera on", exact=True).click()
    await expect(alice.page.get_by_text("Bob Builder turned their camera off")).to_be_hidden()

    # A WebSocket reconnect during the call keeps the call and its media.
    await bob.page.evaluate("() => window.switchboard.reconnect()")
    await expect(bob.page.locator("#conn-status")).to_have_attribute("data-state", "open")
    await expect(bob.page.locator("#call-screen")).to_have_attribute("data-phase", "active")
    await expect_remote_video(bob)
    await alice.page.get_by_role("button", name="Mute", exact=True).click()
    await expect(bob.page.get_by_text("Alice Liddell is muted")).to_be_visible()

    await alice.page.get_by_role("button", name="Hang up", exact=True).click()
    await expect(alice.page.locator("#call-subtitle")).to_contain_text("You ended the call")
    await expect(bob.page.locator("#call-subtitle")).to_contain_text("Alice Liddell ended the call")
    await harness.shot(bob, "ended")
    await bob.page.get_by_role("button", name="Close", exact=True).click()
    await expect(bob.page.locator("#call-screen")).to_be_hidden()
    await harness.shot(bob, "people")


async def test_audio_call_has_no_video(harness: Harness) -> None:
    alice = await harness.open("alice", "Alice Audio")
    bob = await harness.open("bob", "Bob Audio")
    await sign_up(alice)
    await sign_up(bob)
    await call(alice, bob, "Audio call")
    await expect_ringing(bob, alice, "audio")
    await bob.page.get_by_role("button", name="Accept", exact=True).click()
    await expect_call_active(alice)
    await expect_call_active(bob)
    await expect(alice.page.locator("#remote-video")).to_be_hidden()
    await expect(
        alice.page.get_by_role("button", name="Turn camera off", exact=True)
    ).to_be_hidden()
    first = await bob.page.evaluate(INBOUND_BYTES_JS, "audio")
    await asyncio.sleep(1.5)
    second = await bob.page.evaluate(INBOUND_BYTES_JS, "audio")
    assert second > first > 0
    assert await bob.page.evaluate(INBOUND_BYTES_JS, "video") == 0
    await harness.shot(bob, "audio-call")
    await bob.page.get_by_role("button", name="Hang up", exact=True).click()
    await expect(alice.page.locator("#call-subtitle")).to_contain_text("Bob Audio ended the call")


async def test_decline(harness: Harness) -> None:
    alice = await harness.open("alice", "Alice Decline")
    bob = await harness.open("bob", "Bob Decline")
    await sign_up(alice)
    await sign_up(bob)
    await call(alice, bob)
    await expect_ringing(bob, alice)
    await bob.page.get_by_role("button", name="Decline", exact=True).click()
    await expect(bob.page.get_by_role("alertdialog")).to_be_hidden()
    await expect(alice.page.locator("#call-subtitle")).to_contain_text(
        "Bob Decline declined the call"
    )
    await harness.shot(alice, "declined")


async def test_busy(harness: Harness) -> None:
    alice = await harness.open("alice", "Alice Busy")
    bob = await harness.open("bob", "Bob Busy")
    carol = await harness.open("carol", "Carol Busy")
    for person in (alice, bob, carol):
        await sign_up(person)
    await call(alice, bob)
    await expect_ringing(bob, alice)
    # Bob is in a (ringing) call: Carol's call is refused with 409 user_busy.
    harness.allowed_errors.append("409 (Conflict)")
    await call(carol, bob)
    await expect(carol.page.locator("#call-subtitle")).to_contain_text("Bob Busy is busy")
    await harness.shot(carol, "busy")
    # Alice cancels: Bob stops ringing.
    await alice.page.get_by_role("button", name="Cancel", exact=True).click()
    await expect(bob.page.get_by_role("alertdialog")).to_be_hidden()
    await expect(bob.page.get_by_text("Missed call from Alice Busy")).to_be_visible()


async def test_no_answer(harness: Harness) -> None:
    alice = await harness.open("alice", "Alice Timeout")
    bob = await harness.open("bob", "Bob Timeout")
    await sign_up(alice)
    await sign_up(bob)
    await call(alice, bob)
    await expect_ringing(bob, alice)
    timeout = (RING_TIMEOUT_SECONDS + 10) * 1000
    await expect(alice.page.locator("#call-subtitle")).to_contain_text("No answer", timeout=timeout)
    await expect(bob.page.get_by_role("alertdialog")).to_be_hidden()
    await expect(bob.page.get_by_text("Missed call from Alice Timeout")).to_be_visible()
    await harness.shot(alice, "no-answer")


async def test_second_device_stops_ringing_when_first_answers(harness: Harness) -> None:
    alice = await harness.open("alice", "Alice Devices")
    bob = await harness.open("bob", "Bob Devices")
    await sign_up(alice)
    await sign_up(bob)
    bob2 = await harness.open("bob-tablet", bob.display_name, username=bob.username)
    await sign_in(bob2)

    await call(alice, bob)
    await expect_ringing(bob, alice)
    await expect_ringing(bob2, alice)
    await harness.shot(bob2, "ringing-second-device")

    await bob.page.get_by_role("button", name="Accept", exact=True).click()
    await expect(bob2.page.get_by_role("alertdialog")).to_be_hidden(timeout=TIMEOUT_MS)
    await expect(bob2.page.get_by_text("Answered on another of your devices")).to_be_visible()
    await expect(bob2.page.locator("#call-screen")).to_be_hidden()
    await expect_call_active(alice)
    await expect_call_active(bob)
    await expect_remote_video(alice)
    await expect_remote_video(bob)
    await harness.shot(bob2, "answered-elsewhere")
    await bob.page.get_by_role("button", name="Hang up", exact=True).click()
    await expect(alice.page.locator("#call-subtitle")).to_contain_text(
        re.compile("Bob Devices ended the call")
    )


async def test_ice_failure_ends_the_call_with_ice_failed(harness: Harness) -> None:
    alice = await harness.open("alice", "Alice Ice")
    bob = await harness.open("bob", "Bob Ice")
    await sign_up(alice)
    await sign_up(bob)
    # Relay-only ICE with no TURN server configured: no candidate pair can ever work.
    for person in (alice, bob):
        await person.page.evaluate(
            "() => { window.switchboard.iceTransportPolicy = 'relay';"
            " window.switchboard.connectTimeoutMs = 6000; }"
        )
    await call(alice, bob)
    await expect_ringing(bob, alice)
    await bob.page.get_by_role("button", name="Accept", exact=True).click()
    for person in (alice, bob):
        await expect(person.page.locator("#call-subtitle")).to_contain_text(
            "Call failed: no media connection", timeout=TIMEOUT_MS
        )
    await harness.shot(alice, "ice-failed")
    history = await alice.page.evaluate("() => window.switchboard.callHistory({limit: 1})")
    assert history["calls"][0]["status"] == "ended"
    assert history["calls"][0]["endReason"] == "ice_failed"


async def test_reload_during_a_call_rejoins_it(harness: Harness) -> None:
    alice = await harness.open("alice", "Alice Reload")
    bob = await harness.open("bob", "Bob Reload")
    await sign_up(alice)
    await sign_up(bob)
    await call(alice, bob)
    await expect_ringing(bob, alice)
    await bob.page.get_by_role("button", name="Accept", exact=True).click()
    await expect_call_active(alice)
    await expect_call_active(bob)
    # The page comes back signed in, finds its call in `hello` and reconnects the media.
    await bob.page.reload()
    await expect_call_active(bob)
    await expect_remote_video(bob)
    await expect_remote_video(alice)
    await bob.page.get_by_role("button", name="Hang up", exact=True).click()
    await expect(alice.page.locator("#call-subtitle")).to_contain_text("Bob Reload ended the call")
