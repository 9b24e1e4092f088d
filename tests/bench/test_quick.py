"""The benchmarks with tiny numbers, so that they never rot: every scenario completes and
reports sane, non-empty figures (no time asserts: this machine may be busy)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.runner import QUICK
from bench.servers import postgres_available

ROOT = Path(__file__).resolve().parents[2]


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and value > 0


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench")
    backends = "sqlite,pg-redis-2" if postgres_available() else "sqlite"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--quick", "--backends", backends,
         "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert (out / "latest.md").read_text().startswith("# Benchmark results")
    loaded: dict[str, Any] = json.loads((out / "latest.json").read_text())
    return loaded


pytestmark = pytest.mark.timeout(300)


def test_echo_and_machine(results: dict[str, Any]) -> None:
    assert results["echo"]["n"] == QUICK.echo_rounds
    assert _positive(results["echo"]["p50_ms"])
    assert results["machine"]["cpus"] >= 1
    assert len(results["load_before"]) == 3


def test_realtime_scenarios_on_every_backend(results: dict[str, Any]) -> None:
    expected = {"sqlite", "pg-redis-2"} if postgres_available() else {"sqlite"}
    assert set(results["backends"]) == expected
    for out in results["backends"].values():
        assert [r["pairs"] for r in out["ring"]] == list(QUICK.ring)
        for ring in out["ring"]:
            assert ring["n"] == ring["pairs"] * QUICK.ring[ring["pairs"]]
            assert _positive(ring["p50_ms"]) and ring["p99_ms"] >= ring["p50_ms"]
            assert _positive(ring["calls_per_s"])
            assert ring["machine_cpu_pct"] >= 0
        for life in out["lifecycle"]:
            assert life["lifecycles"] == life["pairs"] * QUICK.lifecycle[life["pairs"]]
            assert _positive(life["lifecycles_per_s"])
            assert all(_positive(v) for v in life["step_p99_ms"].values())
        for relay in out["relay"]:
            assert relay["latency"]["n"] == relay["calls"] * QUICK.relay[relay["calls"]]
            assert _positive(relay["frames_per_s"])
            assert relay["server_cpu_us_per_frame"] >= 0


def test_idle_devices(results: dict[str, Any]) -> None:
    idle = results["idle"]
    assert idle["connections"] == idle["held_open"] == QUICK.idle_connections
    assert idle["rss_after_kib"] > 0
    assert idle["idle_server_cpu_pct"] >= 0
    assert idle["ring"]["n"] == QUICK.idle_ring_rounds


def test_call_log(results: dict[str, Any]) -> None:
    kinds = {"sqlite", "postgres"} if postgres_available() else {"sqlite"}
    assert set(results["calllog"]) == kinds
    for out in results["calllog"].values():
        for name, query in out["queries"].items():
            assert query["n"] == QUICK.calllog_repeat, name
            assert _positive(query["p50_ms"]), name
        assert out["queries"]["history page 1"]["total"] > 0
        assert set(out["yardsticks"]) == {"/healthz", "/users/me", "/calls/active"}
        for yardstick in out["yardsticks"].values():
            assert all(_positive(p99) for p99 in yardstick["p99_ms"])
            assert len(yardstick["server_cpu_ms_per_request"]) == 2
        plans = "\n".join(line for plan in out["plans"].values() for line in plan)
        assert "ix_call_entries_log" in plans


def test_floors(results: dict[str, Any]) -> None:
    http = results["floor"]["http"]
    assert set(http) == {"/healthz", "/users/me", "/calls/active"}
    for route in http.values():
        assert route["requests"] == QUICK.floor_requests
        assert _positive(route["wall_us"]) and route["server_cpu_us"] >= 0
    database = results["floor"]["database"]
    assert set(database) == {"read SELECT 1", "write UPDATE (no row)", "write 5 x UPDATE (no row)"}
    assert all(_positive(t["wall_us"]) for t in database.values())
