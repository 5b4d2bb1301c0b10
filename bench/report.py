"""The report of a run: the headline, a table of the results, and the ratios of
the candidate mode to the baseline."""

from collections.abc import Callable, Sequence

from bench.results import Result
from bench.scenario import Options

COLUMNS: dict[str, Callable[[Result], str]] = {  # header: cell
    "mode": lambda r: r.mode,
    "sent msg/s": lambda r: f"{r.sent_per_s:,.0f}",
    "acked msg/s": lambda r: f"{r.acked_per_s:,.0f}",
    "deliveries/s": lambda r: f"{r.deliveries_per_s:,.0f}",
    "of expected": lambda r: f"{r.deliveries / r.expected:.1%}" if r.expected else "-",
    "delivery p50 ms": lambda r: f"{r.delivery_p50_ms:.1f}",
    "delivery p99 ms": lambda r: f"{r.delivery_p99_ms:.1f}",
    "ack p50 ms": lambda r: f"{r.ack_p50_ms:.1f}",
    "ack p99 ms": lambda r: f"{r.ack_p99_ms:.1f}",
    "server CPU": lambda r: f"{r.usage.server_cpu / r.seconds:.0%}",
    "µs/msg": lambda r: f"{r.server_us_per_msg:.0f}",
    "gen CPU": lambda r: f"{r.usage.generator_cpu / r.seconds:.0%}",
    "machine CPU": lambda r: f"{r.usage.machine_cpu / r.seconds:.0%}",
    "commits/s": lambda r: f"{r.usage.commits / r.seconds:,.0f}",
    "batch": lambda r: f"{r.mean_batch:.1f}",
    "errors": lambda r: str(r.errors),
    "echoes": lambda r: str(r.echoes),
    "unacked": lambda r: str(r.unacked),
}
RATIOS: dict[str, Callable[[Result], float]] = {  # name: the figure compared
    "acked msg/s": lambda r: r.acked_per_s,
    "deliveries/s": lambda r: r.deliveries_per_s,
    "delivery p50": lambda r: r.delivery_p50_ms,
    "delivery p99": lambda r: r.delivery_p99_ms,
    "ack p50": lambda r: r.ack_p50_ms,
    "ack p99": lambda r: r.ack_p99_ms,
    "server CPU": lambda r: r.usage.server_cpu,
    "µs/msg": lambda r: r.server_us_per_msg,
}


def headline(options: Options, offered: str) -> str:
    return (
        f"{options.rooms} rooms x 3 sockets, {offered}, "
        f"body {options.body_bytes} B, {options.seconds:g} s measured"
    )


def table(results: Sequence[Result], headers: str) -> str:
    """One row per result, the first column left-aligned, the others right-aligned."""
    names = headers.split(", ")
    rows = [tuple(names), *(tuple(COLUMNS[h](r) for h in names) for r in results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(names))]
    lines = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    return "\n".join(lines)


def ratios(results: Sequence[Result], compare: tuple[str, str], names: str) -> str | None:
    """`candidate / baseline: name xN.NN, ...`, or None without both modes."""
    by_mode = {r.mode: r for r in results}
    candidate, baseline = (by_mode.get(mode) for mode in compare)
    if candidate is None or baseline is None:
        return None
    figures = ", ".join(
        f"{name} x{RATIOS[name](candidate) / RATIOS[name](baseline):.2f}"
        for name in names.split(", ")
        if RATIOS[name](baseline)
    )
    return f"{candidate.mode} / {baseline.mode}: {figures}"
