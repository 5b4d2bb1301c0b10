"""What a scenario is: the options it runs with, and the parts the command line
needs from it (its own options, how to run its modes, what to report)."""

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from bench.results import Result


@dataclass(frozen=True)
class Options:
    scenario: str
    rooms: int
    seconds: float
    warmup: float
    body_bytes: int
    modes: tuple[str, ...]
    window: int = 4  # commit: unacked sends per socket
    rate: float = 5.0  # scale-out: sends per socket per second
    postgres: str = ""  # scale-out: admin URL (asyncpg form)
    redis: str = ""  # scale-out


# The columns of a scenario that drives sockets under a window of unacked sends.
LOAD_COLUMNS = (
    "mode, acked msg/s, deliveries/s, ack p50 ms, ack p99 ms, server CPU, µs/msg, "
    "gen CPU, errors, unacked"
)


@dataclass(frozen=True)
class Scenario:
    help: str  # one line in `--help`
    modes: tuple[str, ...]  # the choices of --modes, all by default
    add_arguments: Callable[[argparse.ArgumentParser], None]  # besides the common ones
    run: Callable[[Options], list[Result]]  # every mode, one after the other
    offered: Callable[[Options], str]  # the load, for the headline
    columns: str  # headers of report.COLUMNS, comma-separated
    compare: tuple[str, str]  # (candidate, baseline) modes of the ratio line
    ratios: str  # names of report.RATIOS, comma-separated
