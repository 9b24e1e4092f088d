"""`python -m bench run --all` (or `--quick`): runs the benchmarks, writes
bench/results/<time>.json, bench/results/latest.json and bench/results/latest.md."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.report import markdown
from bench.runner import FULL, QUICK, RESULTS, SCENARIOS, run
from bench.servers import BACKENDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run benchmarks")
    size = run_parser.add_mutually_exclusive_group()
    size.add_argument("--all", action="store_true", help="every scenario, full numbers")
    size.add_argument("--quick", action="store_true", help="every scenario, tiny numbers")
    run_parser.add_argument(
        "--only", default=",".join(SCENARIOS), help=f"comma list of {', '.join(SCENARIOS)}"
    )
    run_parser.add_argument("--backends", default=",".join(BACKENDS), help="comma list")
    run_parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args(argv)
    scenarios = [s for s in args.only.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    results = run(QUICK if args.quick else FULL, scenarios, args.backends.split(","))
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = json.dumps(results, indent=2)
    (args.out / f"{stamp}.json").write_text(text)
    (args.out / "latest.json").write_text(text)
    (args.out / "latest.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
