"""Scenario `commit`: group commit against a commit per message, on embedded
SQLite, each socket keeping at most `--window` sends unacknowledged."""

import argparse

from bench.load import run_mode
from bench.pacing import WindowPacing
from bench.results import Result
from bench.scenario import LOAD_COLUMNS, Options, Scenario
from bench.servers import running_servers, shared_secrets

MODES: dict[str, dict[str, str]] = {  # the server settings of each mode
    "per-message": {"MEDIATION_COMMIT_MAX_BATCH": "1"},
    "group": {},  # the default batch (512)
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--window", type=int, default=4, help="unacked sends per socket")


def run(options: Options) -> list[Result]:
    return [
        run_mode(
            mode,
            running_servers(1, {**shared_secrets(), **MODES[mode]}),
            options,
            lambda: WindowPacing(options.window),
        )
        for mode in options.modes
    ]


SCENARIO = Scenario(
    help="group commit vs per-message commit (SQLite)",
    modes=tuple(MODES),
    add_arguments=add_arguments,
    run=run,
    offered=lambda options: f"window {options.window}",
    columns=LOAD_COLUMNS,
    compare=("group", "per-message"),
    ratios="acked msg/s, deliveries/s, ack p50, ack p99",
)
