"""Counters read at both ends of the measured window: CPU time (Linux /proc)
and the servers' group commits (their /metrics)."""

import os
import time
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from pathlib import Path

from bench.servers import Server

CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def process_rss_bytes(pid: int) -> int:
    """Resident memory of a process now."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def machine_busy_seconds() -> float:
    """Non-idle CPU time of all cores so far."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def commit_batches(server: Server) -> tuple[float, float]:
    """Group commits so far, and the messages in them; none without /metrics (the bare relay)."""
    status, metrics = server.fetch("GET", "/metrics")
    if status != 200:
        return 0.0, 0.0
    samples = dict(
        line.split(" ", 1)
        for line in metrics.decode().splitlines()
        if line.startswith("mediation_commit_batch_size_")
    )
    return (
        float(samples.get("mediation_commit_batch_size_count", 0)),
        float(samples.get("mediation_commit_batch_size_sum", 0)),
    )


@dataclass(frozen=True)
class Usage:
    """CPU seconds of the servers, the load generator and the whole machine, and the
    servers' group commits; subtract two readings for what a window used."""

    server_cpu: float
    generator_cpu: float
    machine_cpu: float
    commits: float
    committed: float  # messages in those commits

    @classmethod
    def now(cls, servers: Sequence[Server]) -> "Usage":
        batches = [commit_batches(s) for s in servers]
        return cls(
            sum(process_cpu_seconds(s.process.pid) for s in servers),
            time.process_time(),
            machine_busy_seconds(),
            sum(commits for commits, _ in batches),
            sum(committed for _, committed in batches),
        )

    def __sub__(self, other: "Usage") -> "Usage":
        return Usage(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))
