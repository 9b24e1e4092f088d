"""The results as markdown tables, each figure beside its target."""

from __future__ import annotations

from typing import Any


def _row(*cells: Any) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _pair(values: list[Any]) -> str:
    return " / ".join(str(v) for v in values)


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {results['machine']['cpus']} CPUs ({results['machine']['cpu_model']}), "
        f"{results['machine']['memory_gib']} GiB, Python {results['machine']['python']}. "
        f"Started {results['started']}; load average before "
        f"{', '.join(f'{x:.2f}' for x in results['load_before'])}, after "
        f"{', '.join(f'{x:.2f}' for x in results.get('load_after', ()))}. "
        f'Load generator CPU: {results.get("loadgen_cpu_s")} s. "Machine CPU %" is every '
        "process on the machine (servers, databases, Redis, load generator, anything else), "
        f"out of {100 * results['machine']['cpus']}%.",
        "",
    ]
    echo = results["echo"]
    lines += [
        f"Bare WebSocket echo round trip: p50 {echo['p50_ms']} ms, p99 {echo['p99_ms']} ms.",
        "",
    ]
    echo_p50 = echo["p50_ms"] or 1e-9
    for backend, out in results.get("backends", {}).items():
        lines += [f"## {backend}", ""]
        if "ring" in out:
            lines += [
                "Ring latency (POST /calls/initiate -> callee's call.incoming); target p50 <= 5x "
                "echo, p99 < 20 ms at 50 pairs.",
                "",
                _row("pairs", "n", "p50 ms", "p95 ms", "p99 ms", "p50 / echo", "calls/s",
                     "server CPU %", "loadgen CPU %", "machine CPU %", "refused", "target"),
                _row(*["---"] * 12),
            ]  # fmt: skip
            for r in out["ring"]:
                ratio = r["p50_ms"] / echo_p50
                ok = ratio <= 5 and (r["pairs"] != 50 or r["p99_ms"] < 20)
                lines.append(
                    _row(r["pairs"], r["n"], r["p50_ms"], r["p95_ms"], r["p99_ms"],
                         f"{ratio:.1f}x", r["calls_per_s"], r["server_cpu_pct"],
                         r["loadgen_cpu_pct"], r["machine_cpu_pct"], r.get("errors") or "",
                         _mark(ok))
                )  # fmt: skip
            lines.append("")
        if "lifecycle" in out:
            lines += [
                "Full lifecycles (initiate ... 5 ICE candidates each way ... ended on both); "
                "target >= 300/s on one SQLite process.",
                "",
                _row("pairs", "lifecycles", "per s", "p99 ms: initiate", "incoming", "answer",
                     "answered", "ice", "end", "ended", "total", "server CPU %", "loadgen CPU %",
                     "machine CPU %", "refused"),
                _row(*["---"] * 15),
            ]  # fmt: skip
            for r in out["lifecycle"]:
                p99 = r["step_p99_ms"]
                lines.append(
                    _row(r["pairs"], r["lifecycles"], r["lifecycles_per_s"], p99["initiate"],
                         p99["incoming"], p99["answer"], p99["answered"], p99["ice"], p99["end"],
                         p99["ended"], p99["total"], r["server_cpu_pct"], r["loadgen_cpu_pct"],
                         r["machine_cpu_pct"], r.get("errors") or "")
                )  # fmt: skip
            lines.append("")
        if "relay" in out:
            lines += [
                "Signal relay; target p99 < 1 ms with one call, < 30 us server CPU per frame.",
                "",
                _row("calls", "one-way p50 ms", "p99 ms", "frames/s (window "
                     f"{out['relay'][0]['window']})", "streamed p99 ms", "server CPU us/frame",
                     "server CPU %", "loadgen CPU %", "machine CPU %"),
                _row(*["---"] * 9),
            ]  # fmt: skip
            for r in out["relay"]:
                lines.append(
                    _row(r["calls"], r["latency"]["p50_ms"], r["latency"]["p99_ms"],
                         r["frames_per_s"], r["streamed_latency"]["p99_ms"],
                         r["server_cpu_us_per_frame"], r["server_cpu_pct"], r["loadgen_cpu_pct"],
                         r["machine_cpu_pct"])
                )  # fmt: skip
            lines.append("")
    idle = results.get("idle")
    if idle:
        ring = idle["ring"]
        lines += [
            "## Idle devices (SQLite, one process)",
            "",
            f"{idle['connections']} connections ({idle['held_open']} still open at the end), "
            f"opened in {idle['open_s']} s; server RSS {idle['rss_before_kib']} -> "
            f"{idle['rss_after_kib']} KiB: **{idle['kib_per_connection']} KiB per connection** "
            f"(target <= 20); held idle, they cost the server {idle['idle_server_cpu_pct']}% of "
            f"a core. Ring latency meanwhile: p50 {ring['p50_ms']} ms, p99 {ring['p99_ms']} ms.",
            "",
        ]
    for kind, out in results.get("calllog", {}).items():
        shape = out["shape"]
        lines += [
            f"## Call log on {kind}: {shape['calls']:,} calls, {shape['users']:,} users, heavy "
            f"user with {shape['heavy_calls']:,}",
            "",
            f"Data: {out['data']}. Target p99 < 5 ms.",
            "",
            _row("query (heavy user)", "total", "p50 ms", "p99 ms", "server CPU ms/req", "target"),
            _row(*["---"] * 6),
        ]
        for name, r in out["queries"].items():
            lines.append(
                _row(name, r["total"], r["p50_ms"], r["p99_ms"], r["server_cpu_ms_per_request"],
                     _mark(r["p99_ms"] < 5))
            )  # fmt: skip
        lines += [
            "",
            "Yardstick, the floor routes on the same server before and after the queries:",
            "",
            _row("floor route", "server CPU ms/req (before, after)", "p99 ms (before, after)"),
            _row(*["---"] * 3),
            *(_row(f"GET {path}", _pair(r["server_cpu_ms_per_request"]), _pair(r["p99_ms"]))
              for path, r in out["yardsticks"].items()),
        ]  # fmt: skip
        lines += ["", "<details><summary>query plans</summary>", "", "```"]
        for name, plan in out["plans"].items():
            lines += [f"# {name}", *plan]
        lines += ["```", "", "</details>", ""]
    floors = results.get("floor")
    if floors:
        lines += [
            "## Floors (SQLite, one process): what the stack costs before any call logic",
            "",
            _row("HTTP request, one at a time", "server CPU us/request", "wall us/request"),
            _row(*["---"] * 3),
            *(_row(f"GET {path}", r["server_cpu_us"], r["wall_us"])
              for path, r in floors["http"].items()),
            "",
            _row("transaction (Database, in the load generator)", "event-loop CPU us", "wall us"),
            _row(*["---"] * 3),
            *(_row(name, r["cpu_us"], r["wall_us"]) for name, r in floors["database"].items()),
            "",
        ]  # fmt: skip
    return "\n".join(lines)
