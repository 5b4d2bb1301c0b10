"""Scenario `relay`: the product against a bare relay (bench/bare_relay.py), the
same window-limited load from the same generator, first the relay, then the
product (embedded SQLite, group commit, as `commit`'s `group` mode).

Each server is pinned to one CPU and the load generator to another, as
../shared/perf pins them (none pinned on a single CPU or without taskset).
The product's seats are opened over its HTTP API as in every scenario; the
relay's are minted by the bench (`seats.minted` with `bare_relay.token`):
there is no product server to ask, and the relay checks no token anyway.
"""

import argparse
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from bench import bare_relay
from bench.load import log, run_mode
from bench.pacing import WindowPacing
from bench.results import Result
from bench.scenario import LOAD_COLUMNS, Options, Scenario
from bench.seats import Seat, minted, provision
from bench.servers import Server, pinned_cpus, running_relay, running_server, shared_secrets


@contextmanager
def relay(cpu: int | None) -> Iterator[list[Server]]:
    with running_relay(cpu) as server:
        yield [server]


@contextmanager
def product(cpu: int | None) -> Iterator[list[Server]]:
    with running_server(shared_secrets(), cpu) as server:
        yield [server]


def relay_seats(_server: Server, rooms: int) -> list[Seat]:
    return minted(rooms, bare_relay.token)


@dataclass(frozen=True)
class Mode:
    deployment: Callable[[int | None], AbstractContextManager[list[Server]]]  # on that CPU
    seating: Callable[[Server, int], list[Seat]]  # where the seats come from


MODES = {"relay": Mode(relay, relay_seats), "product": Mode(product, provision)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--window", type=int, default=4, help="unacked sends per socket")


@contextmanager
def load_pinned(cpu: int | None) -> Iterator[None]:
    """This process (the load generator) on `cpu` for the run, as it was after."""
    before = os.sched_getaffinity(0)
    if cpu is not None:
        os.sched_setaffinity(0, [cpu])
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def run(options: Options) -> list[Result]:
    server_cpu, load_cpu = pinned_cpus()
    if server_cpu is not None:
        log(f"[relay] servers pinned to CPU {server_cpu}, the load generator to CPU {load_cpu}")
    with load_pinned(load_cpu):
        return [
            run_mode(
                mode,
                MODES[mode].deployment(server_cpu),
                options,
                lambda: WindowPacing(options.window),
                MODES[mode].seating,
            )
            for mode in options.modes
        ]


SCENARIO = Scenario(
    help="the product against a bare websockets relay (the Python floor)",
    modes=tuple(MODES),
    add_arguments=add_arguments,
    run=run,
    offered=lambda options: f"window {options.window}",
    columns=LOAD_COLUMNS,
    compare=("product", "relay"),
    ratios="acked msg/s, deliveries/s, µs/msg, ack p50, ack p99",
)
