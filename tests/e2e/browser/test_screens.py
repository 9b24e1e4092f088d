"""Every screen of the web client at desktop and phone size (375x812), with no sideways scrolling.

Saves test-artifacts/screenshots/<screen>-desktop.png and <screen>-phone.png; the good ones are
copied to docs/screenshots/ and shown in docs/web-client.md ("Screens").
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.e2e.browser.conftest import DESKTOP, PHONE, Harness, Person
from tests.e2e.browser.test_call_log import Rest, open_tab, rows
from tests.e2e.browser.test_calls import (
    call,
    expect_call_active,
    expect_remote_video,
    expect_ringing,
    sign_in,
    sign_up,
)

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL_JS = """
() => {
  const root = document.documentElement;
  const wide = [...document.querySelectorAll("body *")]
    .filter((el) => el.getClientRects().length && el.getBoundingClientRect().right > innerWidth + 1)
    .filter((el) => !el.closest(".sr-only, .skip-link, [hidden]"))
    .map((el) => el.id || el.className || el.tagName);
  return { scrollWidth: root.scrollWidth, width: innerWidth, wide: wide.slice(0, 5) };
}
"""


async def both_sizes(harness: Harness, person: Person, screen: str) -> None:
    """Screenshots at desktop and phone size; at phone size nothing may scroll sideways."""
    page = person.page
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(viewport)
        # Let layout and transitions settle (two frames).
        await page.evaluate(
            "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        if size == "phone":
            result = await page.evaluate(NO_SIDEWAYS_SCROLL_JS)
            assert result["scrollWidth"] <= result["width"], f"{screen}: {result}"
            assert not result["wide"], f"{screen}: wider than the screen: {result['wide']}"
        await harness.shot(person, f"{screen}-{size}", exact_name=True)
    await page.set_viewport_size(DESKTOP)


async def test_every_screen_at_desktop_and_phone_size(slow_ring_harness: Harness) -> None:
    harness = slow_ring_harness
    alice = await harness.open("alice", "Alice Liddell")
    bob = await harness.open("bob", "Bob Builder")
    await expect(alice.page.get_by_role("heading", name="Switchboard")).to_be_visible()
    await both_sizes(harness, alice, "sign-in")
    await sign_up(alice)
    await sign_up(bob)

    await open_tab(alice, "Calls")
    await expect(alice.page.locator("#calls-state")).to_have_attribute("data-state", "empty")
    await both_sizes(harness, alice, "calls-empty")

    # A video call: incoming, in call (with the device picker), ended.
    await open_tab(alice, "People")
    await call(alice, bob)
    await expect_ringing(bob, alice)
    await expect(alice.page.locator("#call-screen")).to_have_attribute("data-phase", "outgoing")
    await both_sizes(harness, alice, "calling")
    await both_sizes(harness, bob, "incoming-call")
    await bob.page.get_by_role("button", name="Accept", exact=True).click()
    await expect_call_active(alice)
    await expect_remote_video(alice)
    await expect_remote_video(bob)
    await both_sizes(harness, alice, "in-call")
    await alice.page.get_by_role("button", name="Devices").click()
    await expect(alice.page.locator("#call-devices")).to_be_visible()
    await both_sizes(harness, alice, "in-call-devices")
    await alice.page.get_by_role("button", name="Devices").click()
    await alice.page.get_by_role("button", name="Hang up", exact=True).click()
    await expect(bob.page.locator("#call-subtitle")).to_contain_text("Alice Liddell ended the call")
    await both_sizes(harness, bob, "call-ended")
    await bob.page.get_by_role("button", name="Close", exact=True).click()
    await alice.page.get_by_role("button", name="Close", exact=True).click()

    # More history: a declined audio call and two missed calls from Bob.
    rest_alice = await Rest.of(harness, alice)
    rest_bob = await Rest.of(harness, bob)
    declined = await rest_alice.initiate(rest_bob, "audio")
    await expect_ringing(bob, alice, "audio")
    await rest_bob.request("PATCH", f"/calls/{declined['id']}/answer", json={"accept": False})
    for call_type in ("audio", "video"):
        missed = await rest_bob.initiate(rest_alice, call_type)
        await expect_ringing(alice, bob, call_type)
        await rest_bob.request("PATCH", f"/calls/{missed['id']}/end")
        await expect(alice.page.get_by_role("alertdialog")).to_be_hidden()
    await expect(alice.page.locator("#missed-badge")).to_have_attribute("data-count", "2")
    await expect(alice.page.locator("#toasts .toast")).to_have_count(0, timeout=10_000)
    await both_sizes(harness, alice, "people")

    await open_tab(alice, "Calls")
    await expect(rows(alice.page)).to_have_count(4)
    await both_sizes(harness, alice, "calls")
    await rows(alice.page).first.get_by_role("button", name=re.compile("^Delete")).click()
    await expect(alice.page.get_by_role("dialog")).to_be_visible()
    await both_sizes(harness, alice, "delete-confirm")
    await alice.page.keyboard.press("Escape")
    await expect(alice.page.get_by_role("dialog")).to_be_hidden()

    await open_tab(alice, "Statistics")
    await expect(alice.page.locator("#stat-total")).to_have_text("4")
    await both_sizes(harness, alice, "statistics")

    await open_tab(alice, "Settings")
    await expect(alice.page.locator("#settings-camera option")).to_have_count(3)
    await both_sizes(harness, alice, "settings")

    # Bob's other device while Bob is in a call elsewhere.
    await open_tab(bob, "People")
    bob_tablet = await harness.open("bob-tablet", bob.display_name, username=bob.username)
    await sign_in(bob_tablet)
    await call(bob, alice, "Audio call")
    await expect_ringing(alice, bob, "audio")
    await expect(bob_tablet.page.locator("#elsewhere-banner")).to_be_visible()
    await both_sizes(harness, bob_tablet, "other-device")
    await bob.page.get_by_role("button", name="Cancel", exact=True).click()
    await expect(bob_tablet.page.locator("#elsewhere-banner")).to_be_hidden()
