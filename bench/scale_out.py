"""Scenario `scale-out`: one server process against two sharing PostgreSQL and
Redis, at a fixed offered load of `--rate` messages/s per socket."""

import argparse
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from bench.load import run_mode
from bench.pacing import RatePacing
from bench.results import Result
from bench.scenario import Options, Scenario
from bench.servers import Server, running_servers, shared_secrets
from bench.stores import postgres_database, redis_prefix

MODES: dict[str, tuple[int, bool]] = {  # processes, Redis
    "1-process": (1, False),
    "1-process+redis": (1, True),
    "2-processes": (2, True),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, default=5.0, help="sends/s per socket")
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="admin URL; the bench creates and drops its own database there",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")


@contextmanager
def deployment(mode: str, options: Options, prefix: str) -> Iterator[list[Server]]:
    """The mode's server processes on a fresh database, with Redis if the mode has it."""
    processes, with_redis = MODES[mode]
    with postgres_database(options.postgres) as database_url:
        settings = {**shared_secrets(), "MEDIATION_DATABASE_URL": database_url}
        if with_redis:
            settings.update(MEDIATION_REDIS_URL=options.redis, MEDIATION_REDIS_PREFIX=prefix)
        with running_servers(processes, settings) as servers:
            yield servers


def run(options: Options) -> list[Result]:
    needs_redis = any(MODES[mode][1] for mode in options.modes)
    with redis_prefix(options.redis) if needs_redis else nullcontext("") as prefix:
        return [
            run_mode(
                mode, deployment(mode, options, prefix), options, lambda: RatePacing(options.rate)
            )
            for mode in options.modes
        ]


def offered(options: Options) -> str:
    offered = options.rate * options.rooms * 3
    return f"{options.rate:g} msg/s per socket (offered {offered:,.0f} msg/s)"


SCENARIO = Scenario(
    help="one process vs two (PostgreSQL + Redis)",
    modes=tuple(MODES),
    add_arguments=add_arguments,
    run=run,
    offered=offered,
    columns="mode, sent msg/s, deliveries/s, of expected, delivery p50 ms, delivery p99 ms, "
    "ack p50 ms, ack p99 ms, server CPU, µs/msg, commits/s, batch, gen CPU, machine CPU, "
    "errors, echoes, unacked",
    compare=("2-processes", "1-process"),
    ratios="deliveries/s, delivery p50, delivery p99, ack p50, ack p99, server CPU",
)
