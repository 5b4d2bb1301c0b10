"""The command line: `python -m bench [commit|relay|scale-out|export|rules|abuse] [options]`
runs a scenario and prints its report."""

import argparse
import resource
import signal
import sys
from collections.abc import Sequence

import bench
from bench import abuse, commit, export, relay, rules, scale_out
from bench.report import headline, ratios, table
from bench.scenario import Options, Scenario

SCENARIOS: dict[str, Scenario] = {
    "commit": commit.SCENARIO,
    "relay": relay.SCENARIO,
    "scale-out": scale_out.SCENARIO,
}


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--rooms", type=int, default=100, help="rooms, 3 sockets each")
    common.add_argument("--seconds", type=float, default=10.0, help="measured window")
    common.add_argument("--warmup", type=float, default=2.0, help="unmeasured lead-in")
    common.add_argument("--body-bytes", type=int, default=200, help="message body size")
    description = bench.__doc__.split("\n\n")[0] if bench.__doc__ else None
    top = argparse.ArgumentParser(prog="python -m bench", description=description)
    scenarios = top.add_subparsers(dest="scenario", required=True)
    for name, scenario in SCENARIOS.items():
        sub = scenarios.add_parser(name, parents=[common], help=scenario.help)
        scenario.add_arguments(sub)
        sub.add_argument("--modes", nargs="+", choices=scenario.modes, default=[*scenario.modes])
    scenarios.add_parser("export", help=export.HELP, add_help=False)  # its own parser: export.py
    scenarios.add_parser("rules", help=rules.HELP, add_help=False)  # its own parser: rules.py
    scenarios.add_parser("abuse", help=abuse.HELP, add_help=False)  # its own parser: abuse.py
    return top


def parse_args(argv: Sequence[str] | None) -> Options:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*SCENARIOS, "-h", "--help"):
        argv.insert(0, "commit")  # the original benchmark, as it was invoked before scenarios
    args = parser().parse_args(argv)
    return Options(
        args.scenario,
        args.rooms,
        args.seconds,
        args.warmup,
        args.body_bytes,
        tuple(args.modes),
        **{k: getattr(args, k) for k in ("window", "rate", "postgres", "redis") if k in args},
    )


def raise_fd_limit() -> None:
    """Room for the sockets, here and in the server (which inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["export"], ["rules"], ["abuse"]):  # their own options and table
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        if argv[0] == "abuse":
            raise_fd_limit()  # 2,000 idle sockets, here and in the server
        {"export": export.main, "rules": rules.main, "abuse": abuse.main}[argv[0]](argv[1:])
        return
    options = parse_args(argv)
    scenario = SCENARIOS[options.scenario]
    raise_fd_limit()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up as for Ctrl-C
    results = scenario.run(options)
    print(headline(options, scenario.offered(options)))
    print(table(results, scenario.columns))
    summary = ratios(results, scenario.compare, scenario.ratios)
    if summary:
        print(summary)


if __name__ == "__main__":
    main()
