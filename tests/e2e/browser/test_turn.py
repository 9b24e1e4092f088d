"""TURN with coturn: a relay-only browser call through a real turnserver on loopback.

coturn runs with `use-auth-secret` (the TURN REST API form); the server hands out credentials
from `/calls/ice-servers`. Two Chromium contexts call each other with the SDK's
`iceTransportPolicy: "relay"`: with the right secret the media connects over a relay candidate
pair and bytes flow; with a wrong secret (the server's TURN_SECRET differs from coturn's) no
relay candidate is allocated and the call never connects.

Run with scripts/browser-tests (it installs Debian's coturn); skipped elsewhere.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page

from tests.e2e.browser.conftest import _free_port, serve_switchboard

DEFAULT_RING_TIMEOUT_SECONDS = 45  # the server's default: these calls are answered anyway

pytestmark = pytest.mark.browser

TURNSERVER = "/usr/bin/turnserver"
SECRET = "turn-secret-" + uuid.uuid4().hex
CONNECT_TIMEOUT_MS = 20_000

SIGN_UP_JS = """
async ({username, password}) => {
  const { Switchboard } = await import("/sdk/switchboard.js");
  const sb = new Switchboard({
    iceTransportPolicy: "relay",
    storagePrefix: "turn-" + username,
    connectTimeoutMs: 15000,
  });
  window.turn = { sb, states: [], ended: null };
  sb.on("incoming", () => sb.accept());
  sb.on("ended", (e) => { window.turn.ended = { status: e.status, reason: e.reason }; });
  await sb.register({ username, password });
  return sb.user.id;
}
"""

RELAY_STATS_JS = """
async () => {
  const report = await window.turn.sb.getStats();
  if (!report) return null;
  const byId = new Map();
  report.forEach((s) => byId.set(s.id, s));
  let pair = null;
  report.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) {
      pair = byId.get(s.selectedCandidatePairId);
    }
  });
  if (!pair) report.forEach((s) => {
    if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
  });
  let inbound = 0;
  report.forEach((s) => { if (s.type === "inbound-rtp") inbound += s.bytesReceived || 0; });
  return {
    local: pair ? byId.get(pair.localCandidateId)?.candidateType : null,
    remote: pair ? byId.get(pair.remoteCandidateId)?.candidateType : null,
    inbound,
  };
}
"""


@contextmanager
def turnserver(port: int, secret: str, tmp: Path) -> Iterator[subprocess.Popen[bytes]]:
    log_path = tmp / "turnserver.log"
    command = [
        TURNSERVER,
        "-n",  # no configuration file: everything is on this line
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        f"--listening-port={port}",
        "--use-auth-secret",
        f"--static-auth-secret={secret}",
        "--realm=switchboard.test",
        "--allow-loopback-peers",
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        "--min-port=49160",
        "--max-port=49200",
        f"--log-file={log_path}",
        "--simple-log",
    ]
    with (tmp / "turnserver.out").open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        time.sleep(1.0)  # coturn opens its listeners at once; give it a moment
        if proc.poll() is not None:
            pytest.fail(f"turnserver exited: {(tmp / 'turnserver.out').read_text()}")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def switchboard(turn_port: int, turn_secret: str) -> AbstractContextManager[str]:
    """The server, handing out TURN credentials for coturn on `turn_port`."""
    return serve_switchboard(
        DEFAULT_RING_TIMEOUT_SECONDS,
        TURN_URIS=f"turn:127.0.0.1:{turn_port}?transport=udp",
        TURN_SECRET=turn_secret,
    )


@pytest.fixture
def turn_tmp(browser_namespace: None) -> Iterator[Path]:
    if not Path(TURNSERVER).exists():
        pytest.fail(f"{TURNSERVER} is missing: scripts/browser-tests installs Debian's coturn")
    tmp = Path(tempfile.mkdtemp(prefix="switchboard-turn-"))
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


@pytest_asyncio.fixture
async def pages(browser: Browser) -> AsyncIterator[Callable[[str], Any]]:
    contexts = []

    async def open_page(base_url: str) -> Page:
        context = await browser.new_context(base_url=base_url, permissions=["camera", "microphone"])
        contexts.append(context)
        page = await context.new_page()
        await page.goto("/")
        return page

    yield open_page
    for context in contexts:
        await context.close()


async def relay_call(open_page: Callable[[str], Any], base_url: str) -> tuple[Page, Page]:
    """Signs up two people with relay-only SDKs; the first calls the second (who accepts)."""
    caller: Page = await open_page(base_url)
    callee: Page = await open_page(base_url)
    password = "turn-pass-123"
    await caller.evaluate(
        SIGN_UP_JS, {"username": f"a{uuid.uuid4().hex[:8]}", "password": password}
    )
    callee_id = await callee.evaluate(
        SIGN_UP_JS, {"username": f"b{uuid.uuid4().hex[:8]}", "password": password}
    )
    ice = await caller.evaluate("async () => await window.turn.sb.api.get('/calls/ice-servers')")
    turn = [s for s in ice["iceServers"] if any(u.startswith("turn:") for u in s["urls"])]
    assert turn and turn[0]["username"] and turn[0]["credential"], ice
    await caller.evaluate(
        "async (id) => { await window.turn.sb.startCall(id, {type: 'audio'}); }", callee_id
    )
    return caller, callee


async def test_relay_only_call_connects_through_coturn(
    turn_tmp: Path, pages: Callable[[str], Any]
) -> None:
    turn_port = _free_port()
    with turnserver(turn_port, SECRET, turn_tmp), switchboard(turn_port, SECRET) as url:
        caller, callee = await relay_call(pages, url)
        for page in (caller, callee):
            await page.wait_for_function(
                "() => window.turn.sb.peerState === 'connected'", timeout=CONNECT_TIMEOUT_MS
            )
        for page in (caller, callee):
            first = await page.evaluate(RELAY_STATS_JS)
            await asyncio.sleep(1.5)
            second = await page.evaluate(RELAY_STATS_JS)
            assert first is not None and second is not None
            assert second["inbound"] > first["inbound"] > 0, (first, second)
            assert second["local"] == "relay" and second["remote"] == "relay", second
        await caller.evaluate("async () => { await window.turn.sb.hangUp(); }")


async def test_relay_only_call_fails_with_a_wrong_secret(
    turn_tmp: Path, pages: Callable[[str], Any]
) -> None:
    turn_port = _free_port()
    with (
        turnserver(turn_port, SECRET, turn_tmp),
        switchboard(turn_port, "not-" + SECRET) as url,
    ):
        caller, callee = await relay_call(pages, url)
        # The SDK gives up (ice_failed) by connectTimeoutMs at the latest; it never connects.
        await caller.wait_for_function("() => window.turn.ended !== null", timeout=30_000)
        for page in (caller, callee):
            assert await page.evaluate("() => window.turn.sb.peerState") != "connected"
        ended = await caller.evaluate("() => window.turn.ended")
        assert ended["reason"] == "ice_failed", ended
