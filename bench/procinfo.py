"""CPU and memory of processes from /proc, and this process's own CPU and file limit."""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as handle:
        text = handle.read()
    # The command name may hold spaces: fields start after its closing parenthesis.
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent on anything but idling and waiting for I/O since boot, from
    /proc/stat (every process on the machine: the databases, Redis, other work)."""
    with open("/proc/stat") as handle:
        ticks = [int(v) for v in handle.readline().split()[1:]]
    idle, iowait = ticks[3], ticks[4]
    return (sum(ticks[:8]) - idle - iowait) / CLOCK_TICKS


def rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB, from /proc/<pid>/status."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def raise_open_file_limit() -> int:
    """Raises the soft limit of open files to the hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class CpuMeter:
    """CPU seconds used between start() and stop() by this process and by the given pids."""

    pids: list[int]
    wall: float = 0.0
    own: float = 0.0
    servers: float = 0.0
    machine: float = 0.0

    def start(self) -> CpuMeter:
        self._wall0 = time.perf_counter()
        self._own0 = time.process_time()
        self._servers0 = [cpu_seconds(pid) for pid in self.pids]
        self._machine0 = machine_busy_seconds()
        return self

    def stop(self) -> CpuMeter:
        self.wall = time.perf_counter() - self._wall0
        self.own = time.process_time() - self._own0
        self.servers = sum(
            cpu_seconds(pid) - before for pid, before in zip(self.pids, self._servers0, strict=True)
        )
        self.machine = machine_busy_seconds() - self._machine0
        return self

    def report(self) -> dict[str, float]:
        wall = self.wall or 1e-9
        return {
            "wall_s": round(self.wall, 3),
            "loadgen_cpu_s": round(self.own, 3),
            "loadgen_cpu_pct": round(100 * self.own / wall, 1),
            "server_cpu_s": round(self.servers, 3),
            "server_cpu_pct": round(100 * self.servers / wall, 1),
            "machine_cpu_pct": round(100 * self.machine / wall, 1),
        }
