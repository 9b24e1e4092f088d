"""Operations of a real server: metrics, readiness, request ids and JSON logs."""

from __future__ import annotations

import json
import re

import httpx

from tests.realtime.conftest import Connect, NewUser
from tests.server_process import ServerProcess


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} missing"
    return float(match.group(1))


async def test_metrics_follow_a_call(
    server: ServerProcess, user: NewUser, connect: Connect
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        before = (await http.get("/metrics")).text
        alice, bob = await user(), await user()
        b = await connect(bob)
        call = await alice.initiate(bob)
        await b.next("call.incoming")
        during = (await http.get("/metrics")).text
        await alice.patch(call["id"], "end")
        await b.next("call.missed")
        after = (await http.get("/metrics")).text
    assert metric(during, "switchboard_connections_open") == 1
    assert metric(during, 'switchboard_calls_active{status="initiated"}') == 1
    assert metric(after, 'switchboard_calls_active{status="initiated"}') == 0
    setups = "switchboard_call_setup_seconds_count"
    assert metric(during, setups) == metric(before, setups) + 1
    delivered = 'switchboard_events_delivered_total{type="call.incoming"}'
    assert metric(during, delivered) >= 1
    missed = 'switchboard_call_status_changes_total{status="missed"}'
    assert metric(after, missed) == metric(during, missed) + 1


async def test_ready_and_request_ids(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        ready = await http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "checks": {"database": "ok"}}
        given = await http.get("/healthz", headers={"X-Request-ID": "trace-me-42"})
        assert given.headers["x-request-id"] == "trace-me-42"
        made = await http.get("/healthz", headers={"X-Request-ID": "no spaces\tallowed"})
        assert re.fullmatch(r"[0-9a-f]{16}", made.headers["x-request-id"])


async def test_logs_are_json_lines_without_secrets(server: ServerProcess, user: NewUser) -> None:
    alice = await user()
    await alice.http.post(
        "/auth/login", json={"username": alice.username, "password": "password123"}
    )
    async with httpx.AsyncClient(base_url=server.url) as http:
        await http.get("/healthz", headers={"X-Request-ID": "log-line-check"})
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any(line.get("requestId") == "log-line-check" for line in lines)
    text = server.log()
    assert alice.token not in text and "password123" not in text
