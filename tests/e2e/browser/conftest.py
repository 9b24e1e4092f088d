"""Fixtures for the browser tests: a Switchboard server and Debian's Chromium via Playwright.

These tests need a loopback-only network namespace (see WEBRTC-TESTING.md): `scripts/browser-tests`
makes one and sets SWITCHBOARD_BROWSER_NS=1. Elsewhere they skip, except under CI=true, where
running them outside the namespace is a mistake and fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Request,
    Response,
    ViewportSize,
    async_playwright,
)

from tests.conftest import RAISED_RATE_LIMITS

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    # Two fake cameras (and Chromium's three fake microphones) for the device-choice tests.
    "--use-fake-device-for-media-stream=device-count=2",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]
RING_TIMEOUT_SECONDS = 4
#: Server logs by base URL, printed when a test fails.
SERVER_LOGS: dict[str, Path] = {}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 812}
SKIP_REASON = (
    "browser tests run inside a loopback-only network namespace with Debian's Chromium: "
    "run scripts/browser-tests (it sets SWITCHBOARD_BROWSER_NS=1)"
)


@pytest.fixture(scope="session")
def browser_namespace() -> None:
    """Skips (or, under CI=true, fails) the browser tests outside the namespace."""
    if os.environ.get("SWITCHBOARD_BROWSER_NS") == "1":
        if not Path(CHROMIUM).exists():
            pytest.fail(f"{CHROMIUM} is missing: scripts/browser-tests installs Debian's chromium")
        return
    if os.environ.get("CI") == "true":
        pytest.fail(SKIP_REASON)
    pytest.skip(reason=SKIP_REASON)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _switchboard_command() -> str:
    local = ROOT / ".venv" / "bin" / "switchboard"
    if local.exists():
        return str(local)
    found = shutil.which("switchboard")
    if found is None:
        pytest.fail("the switchboard command is missing: run scripts/setup dev")
    return found


@contextlib.contextmanager
def serve_switchboard(ring_timeout_seconds: int, **extra_env: str) -> Iterator[str]:
    """Runs `switchboard serve` on SQLite with the in-process bus (and `extra_env` on top);
    yields its base URL."""
    tmp = Path(tempfile.mkdtemp(prefix="switchboard-browser-"))
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "ALLOWED_ORIGINS", "STUN_URIS", "TURN_URIS", "TURN_SECRET"}
    }
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp}/db.sqlite",
        JWT_SECRET="test",
        RING_TIMEOUT_SECONDS=str(ring_timeout_seconds),
        SWEEP_INTERVAL_SECONDS="0.2",
    )
    # The suite signs up many people from 127.0.0.1 on one server: raise the rate limits.
    env.update({name.upper(): str(value) for name, value in RAISED_RATE_LIMITS.items()})
    env.update(extra_env)
    log_path = tmp / "server.log"
    base_url = f"http://127.0.0.1:{port}"
    SERVER_LOGS[base_url] = log_path
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [_switchboard_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"the server exited early:\n{log_path.read_text()}")
                try:
                    if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"the server did not become healthy:\n{log_path.read_text()}")
                time.sleep(0.1)
            yield base_url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def server(browser_namespace: None) -> Iterator[str]:
    """The server of the browser tests (calls ring for RING_TIMEOUT_SECONDS)."""
    with serve_switchboard(RING_TIMEOUT_SECONDS) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def slow_ring_server(browser_namespace: None) -> Iterator[str]:
    """A second server whose calls ring for a minute: for tests that linger on a ringing
    call (screenshots at two sizes), where the short ring timeout of `server` would end it."""
    with serve_switchboard(60) as base_url:
        yield base_url


@pytest_asyncio.fixture
async def browser(browser_namespace: None) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        instance = await pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
        )
        try:
            yield instance
        finally:
            await instance.close()


@dataclass
class Person:
    """One browser context (one device) signed in as one user."""

    label: str
    username: str
    display_name: str
    context: BrowserContext
    page: Page
    console_errors: list[str] = field(default_factory=list)
    #: Every console line and failed request, printed when the test fails.
    journal: list[str] = field(default_factory=list)


class Harness:
    """Opens people in separate browser contexts, saves screenshots, collects console errors."""

    def __init__(self, browser: Browser, base_url: str, test_name: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.test_name = test_name
        self.people: list[Person] = []
        self.shot_count = 0
        # Network errors the test expects the browser to log (e.g. the 409 of a busy callee).
        self.allowed_errors: list[str] = []
        # Async callables run when the test ends (e.g. closing an HTTP client or a Python peer).
        self.cleanups: list[Callable[[], Awaitable[object]]] = []

    async def open(
        self,
        label: str,
        display_name: str,
        *,
        username: str | None = None,
        viewport: ViewportSize | None = None,
        init_script: str | None = None,
    ) -> Person:
        context = await self.browser.new_context(
            base_url=self.base_url,
            permissions=["camera", "microphone"],
            viewport=viewport or DESKTOP,
        )
        if init_script:
            await context.add_init_script(init_script)
        page = await context.new_page()
        person = Person(
            label=label,
            username=username or f"{label.lower()}{uuid.uuid4().hex[:8]}",
            display_name=display_name,
            context=context,
            page=page,
        )

        def note(text: str) -> None:
            person.journal.append(f"{time.monotonic():.3f} {text}")

        def on_console(message: ConsoleMessage) -> None:
            note(f"console.{message.type}: {message.text}")
            if message.type == "error":
                person.console_errors.append(message.text)

        def on_page_error(error: Error) -> None:
            note(f"uncaught: {error}")
            person.console_errors.append(f"uncaught: {error}")

        def on_response(response: Response) -> None:
            if response.status >= 400:
                note(f"{response.status} {response.request.method} {response.url}")

        def on_request_failed(request: Request) -> None:
            note(f"failed {request.method} {request.url}: {request.failure}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.on("response", on_response)
        page.on("requestfailed", on_request_failed)
        self.people.append(person)
        await page.goto("/")
        return person

    async def shot(self, person: Person, name: str, *, exact_name: bool = False) -> Path:
        """Saves a screenshot; `exact_name` saves `<name>.png` (docs/web-client.md's screens)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.shot_count += 1
        if exact_name:
            path = SCREENSHOTS / f"{name}.png"
        else:
            path = SCREENSHOTS / f"{self.test_name}-{self.shot_count:02d}-{person.label}-{name}.png"
        await person.page.screenshot(path=str(path))
        return path

    def report(self) -> str:
        """What the browsers logged and the server's log tail: for a failed test."""
        parts = [f"--- {person.label}\n" + "\n".join(person.journal) for person in self.people]
        log_path = SERVER_LOGS.get(self.base_url)
        if log_path is not None and log_path.exists():
            tail = log_path.read_text(errors="replace").splitlines()[-60:]
            parts.append("--- server log (tail)\n" + "\n".join(tail))
        return "\n".join(parts)

    def console_errors(self) -> list[str]:
        return [
            f"{person.label}: {text}"
            for person in self.people
            for text in person.console_errors
            if not any(allowed in text for allowed in self.allowed_errors)
        ]

    async def close(self) -> None:
        for cleanup in reversed(self.cleanups):
            try:
                await cleanup()
            except Exception as exc:
                print(f"cleanup failed: {exc!r}")
        for person in self.people:
            await person.context.close()


_CALL_FAILED = pytest.StashKey[bool]()  # the test itself failed: print its report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


@contextlib.asynccontextmanager
async def _harness(
    browser: Browser, base_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[Harness]:
    h = Harness(browser, base_url, request.node.name.removeprefix("test_"))
    try:
        yield h
        errors = h.console_errors()
        assert not errors, "console errors:\n" + "\n".join(errors)
    finally:
        if request.node.stash.get(_CALL_FAILED, False):
            print(h.report())
        await h.close()


@pytest_asyncio.fixture
async def harness(
    browser: Browser, server: str, request: pytest.FixtureRequest
) -> AsyncIterator[Harness]:
    async with _harness(browser, server, request) as h:
        yield h


@pytest_asyncio.fixture
async def slow_ring_harness(
    browser: Browser, slow_ring_server: str, request: pytest.FixtureRequest
) -> AsyncIterator[Harness]:
    """A Harness on `slow_ring_server`."""
    async with _harness(browser, slow_ring_server, request) as h:
        yield h
