"""The web client as a product (issue 6): call log, missed-call badge, statistics, devices.

Run with scripts/browser-tests (a loopback-only network namespace); skipped elsewhere.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, Route, expect

from tests.e2e.browser.conftest import Harness, Person
from tests.e2e.browser.test_calls import (
    call,
    expect_call_active,
    expect_ringing,
    sign_in,
    sign_up,
)

pytestmark = pytest.mark.browser

# Makes the page's visibility controllable (window.__hidden) and records notifications instead
# of showing them, with the permission granted: what a user who allowed notifications has.
NOTIFICATIONS_INIT = """
(() => {
  window.__hidden = false;
  window.__notes = [];
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true, get() { return window.__hidden ? "hidden" : "visible"; },
  });
  Object.defineProperty(Document.prototype, "hidden", {
    configurable: true, get() { return window.__hidden; },
  });
  class FakeNotification extends EventTarget {
    static permission = "granted";
    static requestPermission() { return Promise.resolve("granted"); }
    constructor(title, options = {}) {
      super();
      window.__notes.push({ title, body: options.body, tag: options.tag });
    }
    close() {}
  }
  window.Notification = FakeNotification;
})();
"""


class Rest:
    """The REST API with a person's token (read from the page's storage)."""

    def __init__(self, base_url: str, token: str, user: dict[str, Any]) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        self.user = user

    @classmethod
    async def of(cls, harness: Harness, person: Person) -> Rest:
        token, user = await person.page.evaluate(
            "() => [localStorage.getItem('switchboard.token'),"
            " JSON.parse(localStorage.getItem('switchboard.user'))]"
        )
        rest = cls(harness.base_url, token, user)
        harness.cleanups.append(rest.client.aclose)
        return rest

    async def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self.client.request(method, path, **kwargs)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        data: dict[str, Any] = response.json()
        return data

    async def initiate(self, receiver: Rest, call_type: str) -> dict[str, Any]:
        body = {"receiverId": receiver.user["id"], "callType": call_type}
        call: dict[str, Any] = (await self.request("POST", "/calls/initiate", json=body))["call"]
        return call

    async def history(self, **query: Any) -> dict[str, Any]:
        return await self.request("GET", "/calls/history", params=query)


def rows(page: Page) -> Locator:
    return page.locator("#calls-list .call-row")


async def open_tab(person: Person, name: str) -> None:
    await person.page.locator("#main-nav").get_by_role("link", name=re.compile(f"^{name}")).click()
    await expect(person.page.get_by_role("heading", name=name, exact=True, level=1)).to_be_visible()


async def sign_up_pair(harness: Harness, surname: str) -> tuple[Person, Person]:
    alice = await harness.open("alice", f"Alice {surname}")
    bob = await harness.open("bob", f"Bob {surname}")
    await sign_up(alice)
    await sign_up(bob)
    return alice, bob


async def pick_filter(page: Page, name: str, count: int) -> None:
    await page.get_by_role("radio", name=name, exact=True).check()
    await expect(rows(page)).to_have_count(count)


async def test_call_log_history_filters_call_back_delete_and_statistics(harness: Harness) -> None:
    alice, bob = await sign_up_pair(harness, "Log")

    # A real call in the browsers, answered and hung up.
    await call(alice, bob)
    await expect_ringing(bob, alice)
    await bob.page.get_by_role("button", name="Accept", exact=True).click()
    await expect_call_active(alice)
    await alice.page.get_by_role("button", name="Hang up", exact=True).click()
    await expect(bob.page.locator("#call-subtitle")).to_contain_text("Alice Log ended the call")
    await bob.page.get_by_role("button", name="Close", exact=True).click()
    await alice.page.get_by_role("button", name="Close", exact=True).click()

    # The log shows it with the other person, type, time and duration.
    await open_tab(alice, "Calls")
    page = alice.page
    await expect(rows(page)).to_have_count(1)
    first = rows(page).first
    await expect(first).to_have_attribute("data-status", "ended")
    await expect(first).to_have_attribute("data-direction", "outgoing")
    await expect(first.locator(".call-name")).to_have_text("Bob Log")
    await expect(first.locator(".call-type")).to_have_text("Video")
    await expect(first.locator(".call-kind")).to_contain_text("Outgoing call")
    await expect(first.locator("time")).to_have_attribute("datetime", re.compile(r"Z$"))
    rest_alice = await Rest.of(harness, alice)
    rest_bob = await Rest.of(harness, bob)
    (ended,) = (await rest_alice.history())["calls"]
    expected_duration = await page.evaluate(
        "async (s) => (await import('/app/format.js')).formatDuration(s)", ended["duration"]
    )
    assert re.search(r"\d", expected_duration), expected_duration
    await expect(first.locator(".call-outcome")).to_have_text(expected_duration)

    # Live updates: calls made elsewhere (here over REST) appear while the log is open.
    declined = await rest_alice.initiate(rest_bob, "audio")
    await expect_ringing(bob, alice, "audio")
    await rest_bob.request("PATCH", f"/calls/{declined['id']}/answer", json={"accept": False})
    cancelled = await rest_bob.initiate(rest_alice, "audio")
    await expect_ringing(alice, bob, "audio")
    await rest_bob.request("PATCH", f"/calls/{cancelled['id']}/end")
    await expect(page.get_by_role("alertdialog")).to_be_hidden()
    await expect(rows(page)).to_have_count(3)
    missed_row = page.locator(f'.call-row[data-call-id="{cancelled["id"]}"]')
    await expect(missed_row).to_have_attribute("data-status", "missed")
    await expect(missed_row.locator(".call-kind")).to_contain_text("Missed call")
    await expect(missed_row.locator(".call-outcome")).to_have_text("Missed")
    declined_row = page.locator(f'.call-row[data-call-id="{declined["id"]}"]')
    await expect(declined_row.locator(".call-outcome")).to_have_text("Declined")
    await harness.shot(alice, "call-log")

    # Filters.
    await pick_filter(page, "Missed", 1)
    await expect(rows(page).first).to_have_attribute("data-call-id", cancelled["id"])
    await pick_filter(page, "Incoming", 1)
    await pick_filter(page, "Outgoing", 2)
    await expect(page.locator('.call-row[data-direction="incoming"]')).to_have_count(0)
    await pick_filter(page, "All", 3)

    # Call back from the missed call: an audio call to Bob, which shows up in the log live.
    await missed_row.get_by_role("button", name="Call back Bob Log (audio call)").click()
    await expect(page.locator("#call-screen")).to_have_attribute("data-phase", "outgoing")
    await expect_ringing(bob, alice, "audio")
    await page.get_by_role("button", name="Cancel", exact=True).click()
    await expect(page.locator("#call-screen")).to_be_hidden()
    await expect(rows(page)).to_have_count(4)
    await expect(rows(page).first.locator(".call-outcome")).to_have_text("Cancelled")
    callback = (await rest_alice.history(limit=1))["calls"][0]
    assert callback["receiverId"] == rest_bob.user["id"]
    assert callback["callType"] == "audio"

    # Delete, with a confirmation: cancelling keeps the call.
    delete = declined_row.get_by_role("button", name=re.compile("^Delete call with Bob Log"))
    await delete.click()
    dialog = page.get_by_role("dialog", name="Delete this call?")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("Outgoing call · Bob Log")
    await harness.shot(alice, "delete-confirm")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(rows(page)).to_have_count(4)
    await expect(delete).to_be_focused()
    await page.keyboard.press("Enter")  # keyboard: the focused delete button opens it again
    await dialog.get_by_role("button", name="Delete call").click()
    await expect(rows(page)).to_have_count(3)
    await expect(declined_row).to_have_count(0)
    alice_ids = [c["id"] for c in (await rest_alice.history())["calls"]]
    assert declined["id"] not in alice_ids and len(alice_ids) == 3
    bob_ids = [c["id"] for c in (await rest_bob.history())["calls"]]
    assert declined["id"] in bob_ids  # the other participant keeps it

    # Statistics over the known calls: a 1-call-answered video call, a missed incoming audio
    # call and a cancelled outgoing audio call (the declined one was deleted).
    await open_tab(alice, "Statistics")
    await expect(page.locator("#stat-total")).to_have_text("3")
    await expect(page.locator("#stat-total-sub")).to_have_text("2 outgoing · 1 incoming")
    await expect(page.locator("#stat-answered")).to_have_text("33%")
    await expect(page.locator("#stat-answered-sub")).to_have_text("1 of 3 calls")
    await expect(page.locator("#stat-missed")).to_have_text("1")
    await expect(page.locator("#stat-video")).to_have_text("1")
    await expect(page.locator("#stat-audio")).to_have_text("2")
    await expect(page.locator("#stat-talk")).to_have_text(expected_duration)
    await page.get_by_role("radio", name="Last 30 days").check()
    await expect(page.locator("#stats-caption")).to_have_text("Your calls in the last 30 days.")
    await expect(page.locator("#stat-total")).to_have_text("3")
    await harness.shot(alice, "statistics")

    # Bob's statistics see the declined call, which he did not delete.
    await open_tab(bob, "Statistics")
    await expect(bob.page.locator("#stat-total")).to_have_text("4")
    await expect(bob.page.locator("#stat-missed-sub")).to_have_text("1 declined")


async def test_infinite_scroll_and_empty_states(harness: Harness) -> None:
    alice = await harness.open("alice", "Alice Scroll")
    bob = await harness.open("bob", "Bob Scroll")
    await sign_up(alice)
    await open_tab(alice, "Calls")
    await expect(alice.page.locator("#calls-state")).to_have_attribute("data-state", "empty")
    await expect(alice.page.locator("#calls-state")).to_contain_text("No calls yet")
    await pick_filter(alice.page, "Missed", 0)
    await expect(alice.page.locator("#calls-state")).to_contain_text("No missed calls")
    await open_tab(alice, "Statistics")
    await expect(alice.page.locator("#stats-state")).to_contain_text("No calls in the last 7 days")

    # 45 calls over REST (Bob cancels each): three pages of 20.
    await sign_up(bob)
    rest_alice = await Rest.of(harness, alice)
    rest_bob = await Rest.of(harness, bob)
    await bob.context.close()  # no ringing page needed
    for _ in range(45):
        made = await rest_bob.initiate(rest_alice, "audio")
        await rest_bob.request("PATCH", f"/calls/{made['id']}/end")
    await alice.page.reload()
    await open_tab(alice, "Calls")
    await pick_filter(alice.page, "Missed", 20)
    page = alice.page
    for expected in (40, 45):
        await rows(page).last.scroll_into_view_if_needed()
        await expect(rows(page)).to_have_count(expected)
    await expect(page.locator("#calls-load-more")).to_be_hidden()
    ids = await rows(page).evaluate_all("(rs) => rs.map((r) => r.dataset.callId)")
    assert len(set(ids)) == 45


async def test_a_deleted_call_stays_deleted_when_an_older_page_arrives_after_it(
    harness: Harness,
) -> None:
    alice, bob = await sign_up_pair(harness, "Stale")
    rest_alice = await Rest.of(harness, alice)
    rest_bob = await Rest.of(harness, bob)
    await bob.context.close()
    for _ in range(2):
        made = await rest_bob.initiate(rest_alice, "audio")
        await rest_bob.request("PATCH", f"/calls/{made['id']}/end")
    page = alice.page
    await open_tab(alice, "Calls")
    await expect(rows(page)).to_have_count(2)

    # A reconnect reloads the log; its page is read before the delete and arrives after it.
    fetched = asyncio.Event()
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        response = await route.fetch()
        fetched.set()
        await release.wait()
        await route.fulfill(response=response)

    await page.route(re.compile(r"/calls/history\?"), hold)
    await page.evaluate("() => window.switchboard.reconnect()")
    await asyncio.wait_for(fetched.wait(), 10)
    await rows(page).first.get_by_role("button", name=re.compile("^Delete call with")).click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete call").click()
    await expect(page.locator(".toast").filter(has_text="Call deleted.")).to_be_visible()
    await expect(rows(page)).to_have_count(1)
    release.set()
    await expect(page.locator("#calls-list")).to_have_attribute("aria-busy", "false")
    await expect(rows(page)).to_have_count(1)
    assert len((await rest_alice.history())["calls"]) == 1


async def test_a_delete_confirmed_right_after_a_cancel_deletes_the_call(harness: Harness) -> None:
    alice, bob = await sign_up_pair(harness, "Again")
    rest_alice = await Rest.of(harness, alice)
    rest_bob = await Rest.of(harness, bob)
    await bob.context.close()
    made = await rest_bob.initiate(rest_alice, "audio")
    await rest_bob.request("PATCH", f"/calls/{made['id']}/end")
    page = alice.page
    await open_tab(alice, "Calls")
    await expect(rows(page)).to_have_count(1)

    # Cancel and ask again in one go: the dialog's "close" event of the cancel is queued and
    # arrives while the second question is open. It must not take that question's answer.
    await page.evaluate(
        """() => {
          const trash = document.querySelector("#calls-list .call-row .delete");
          trash.click();
          document.getElementById("delete-cancel").click();
          trash.click();
        }"""
    )
    dialog = page.get_by_role("dialog", name="Delete this call?")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Delete call").click()
    await expect(page.locator(".toast").filter(has_text="Call deleted.")).to_be_visible()
    await expect(rows(page)).to_have_count(0)
    assert (await rest_alice.history())["calls"] == []


async def test_missed_call_badge_on_two_devices_notification_and_other_device(
    harness: Harness,
) -> None:
    alice, bob = await sign_up_pair(harness, "Badge")
    bob_laptop = await harness.open(
        "bob-laptop", bob.display_name, username=bob.username, init_script=NOTIFICATIONS_INIT
    )
    await sign_in(bob_laptop)
    alice_tablet = await harness.open("alice-tablet", alice.display_name, username=alice.username)
    await sign_in(alice_tablet)
    await open_tab(alice_tablet, "Calls")

    # Bob's laptop is in the background when the call is missed: it shows a notification.
    await bob_laptop.page.evaluate("() => { window.__hidden = true; }")
    await call(alice, bob)
    await expect_ringing(bob, alice)
    # Alice's other device shows the call she is placing, in a banner and in its log.
    banner = alice_tablet.page.locator("#elsewhere-banner")
    await expect(banner).to_contain_text("Calling Bob Badge (video) from another of your devices")
    await expect(rows(alice_tablet.page).first.locator(".call-outcome")).to_have_text("Calling…")
    await harness.shot(alice_tablet, "call-on-other-device")
    await alice.page.get_by_role("button", name="Cancel", exact=True).click()
    await expect(banner).to_be_hidden()
    await expect(rows(alice_tablet.page).first.locator(".call-outcome")).to_have_text("Cancelled")

    for device in (bob, bob_laptop):
        badge = device.page.locator("#missed-badge")
        await expect(badge).to_be_visible()
        await expect(badge).to_have_attribute("data-count", "1")
        await expect(
            device.page.get_by_role("link", name="Calls 1 unseen missed call")
        ).to_be_visible()
    notes = await bob_laptop.page.evaluate("() => window.__notes")
    assert [n["title"] for n in notes] == ["Missed call from Alice Badge"]
    assert notes[0]["body"].startswith("Video call · ")
    await harness.shot(bob, "missed-badge")

    # Bob opens the log on his phone: the badge clears there, and on the laptop when it is
    # looked at again (visibility change) - the contract has no event for "seen".
    await open_tab(bob, "Calls")
    await expect(bob.page.locator("#missed-badge")).to_be_hidden()
    await expect(rows(bob.page).first.locator(".call-outcome")).to_have_text("Missed")
    await bob_laptop.page.evaluate(
        "() => { window.__hidden = false; document.dispatchEvent(new Event('visibilitychange')); }"
    )
    await expect(bob_laptop.page.locator("#missed-badge")).to_be_hidden()

    # A second missed call raises both badges again; now the laptop opens the log, and the
    # phone re-reads the count when its window gets focus.
    await open_tab(bob, "People")
    await call(alice, bob, "Audio call")
    await expect_ringing(bob_laptop, alice, "audio")
    await alice.page.get_by_role("button", name="Cancel", exact=True).click()
    for device in (bob, bob_laptop):
        await expect(device.page.locator("#missed-badge")).to_have_attribute("data-count", "1")
    await open_tab(bob_laptop, "Calls")
    await expect(rows(bob_laptop.page)).to_have_count(2)
    await expect(bob_laptop.page.locator("#missed-badge")).to_be_hidden()
    await bob.page.evaluate("() => window.dispatchEvent(new Event('focus'))")
    await expect(bob.page.locator("#missed-badge")).to_be_hidden()
