"""Switchboard's load generator and benchmarks (`python -m bench run --all`).

The load generator is this process (uvloop); the servers it measures are separate
`switchboard serve` processes. See docs/performance.md.
"""
