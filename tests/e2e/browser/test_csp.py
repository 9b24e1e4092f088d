"""The web client works under its Content-Security-Policy: a whole call (sign up, search, call,
accept, media, hang up) reports no CSP violation, while an injected inline script is blocked.

Run with scripts/browser-tests (a loopback-only network namespace); skipped elsewhere.
"""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.browser.conftest import Harness, Person

pytestmark = pytest.mark.browser

PASSWORD = "browser-csp-123"
TIMEOUT_MS = 20_000

# Runs before the page's own scripts on every load: records each violation the browser reports.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push({
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
  });
});
"""

INJECT_INLINE_SCRIPT = """
() => new Promise((resolve) => {
  document.addEventListener("securitypolicyviolation", () => resolve(true), { once: true });
  const script = document.createElement("script");
  script.textContent = "window.__inlineRan = true;";
  document.body.append(script);
  setTimeout(() => resolve(false), 3000);
})
"""


async def watch(person: Person) -> None:
    """Records violations from now on (the page loaded once already: load it again)."""
    await person.context.add_init_script(RECORD_VIOLATIONS)
    response = await person.page.reload()
    assert response is not None
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, policy


async def violations(person: Person) -> list[dict[str, object]]:
    found: list[dict[str, object]] = await person.page.evaluate("() => window.__cspViolations")
    return found


def csp_console_errors(person: Person) -> list[str]:
    return [text for text in person.console_errors if "Content Security Policy" in text]


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


async def test_a_call_under_the_csp_reports_no_violation(harness: Harness) -> None:
    alice = await harness.open("alice", "Alice Policy")
    bob = await harness.open("bob", "Bob Policy")
    for person in (alice, bob):
        await watch(person)
        await sign_up(person)  # fetch to the API and the WebSocket (connect-src)

    await alice.page.get_by_label("Search people").fill(bob.username)
    button = alice.page.get_by_role("button", name=f"Video call {bob.display_name}")
    await expect(button).to_be_visible()
    await button.click()
    dialog = bob.page.get_by_role("alertdialog")
    await expect(dialog).to_be_visible(timeout=TIMEOUT_MS)
    await bob.page.get_by_role("button", name="Accept", exact=True).click()
    for person in (alice, bob):
        screen = person.page.locator("#call-screen")
        await expect(screen).to_have_attribute("data-phase", "active", timeout=TIMEOUT_MS)
        # Camera, microphone and the remote stream play (media-src, getUserMedia, WebRTC).
        await person.page.wait_for_function(
            "() => document.getElementById('remote-video').videoWidth > 0", timeout=TIMEOUT_MS
        )
    await harness.shot(alice, "csp-in-call")
    await alice.page.get_by_role("button", name="Hang up", exact=True).click()
    await expect(bob.page.locator("#call-subtitle")).to_contain_text(
        "Alice Policy ended the call", timeout=TIMEOUT_MS
    )

    for person in (alice, bob):
        assert await violations(person) == [], person.label
        assert csp_console_errors(person) == [], person.label

    # The policy is enforced and the listener works: an injected inline script is blocked
    # and reported.
    harness.allowed_errors.append("Content Security Policy")
    assert await alice.page.evaluate(INJECT_INLINE_SCRIPT) is True
    assert await alice.page.evaluate("() => window.__inlineRan === undefined")
    reported = await violations(alice)
    assert [v["directive"] for v in reported] == ["script-src-elem"], reported
