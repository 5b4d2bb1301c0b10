"""What one mode measured: the samples recorded inside the window, and the
result drawn from them (rates, percentiles, CPU per message)."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.seats import RECIPIENTS
from bench.usage import Usage


@dataclass
class Recorder:
    """What happened inside the measured window [start, end)."""

    start: float = float("inf")
    end: float = float("inf")
    sent: int = 0
    expected: int = 0  # deliveries owed for the messages sent
    ack_latencies: list[float] = field(default_factory=list)
    delivery_latencies: list[float] = field(default_factory=list)
    echoes: int = 0  # a sender's own message, besides its ack (several processes, rare)
    errors: Counter[str] = field(default_factory=Counter)

    def measuring(self, now: float) -> bool:
        return self.start <= now < self.end

    def on_send(self, channel: str, now: float) -> None:
        if self.measuring(now):
            self.sent += 1
            self.expected += RECIPIENTS[channel]

    def acked(self, sent: float, now: float) -> None:
        if self.measuring(now):
            self.ack_latencies.append(now - sent)

    def delivered(self, sent: float, now: float) -> None:
        if self.measuring(now):
            self.delivery_latencies.append(now - sent)


def percentile_ms(samples: Sequence[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


@dataclass(frozen=True)
class Result:
    mode: str
    seconds: float
    sent: int
    expected: int
    acked: int
    deliveries: int
    ack_p50_ms: float
    ack_p99_ms: float
    delivery_p50_ms: float
    delivery_p99_ms: float
    usage: Usage  # within the window
    errors: int
    echoes: int
    unacked: int

    @classmethod
    def of(cls, mode: str, recorder: Recorder, usage: Usage, unacked: int) -> "Result":
        acks, deliveries = recorder.ack_latencies, recorder.delivery_latencies
        return cls(
            mode,
            recorder.end - recorder.start,
            recorder.sent,
            recorder.expected,
            len(acks),
            len(deliveries),
            percentile_ms(acks, 50),
            percentile_ms(acks, 99),
            percentile_ms(deliveries, 50),
            percentile_ms(deliveries, 99),
            usage,
            sum(recorder.errors.values()),
            recorder.echoes,
            unacked,
        )

    @property
    def sent_per_s(self) -> float:
        return self.sent / self.seconds

    @property
    def acked_per_s(self) -> float:
        return self.acked / self.seconds

    @property
    def deliveries_per_s(self) -> float:
        return self.deliveries / self.seconds

    @property
    def server_us_per_msg(self) -> float:
        return self.usage.server_cpu / self.acked * 1e6 if self.acked else float("nan")

    @property
    def mean_batch(self) -> float:
        return self.usage.committed / self.usage.commits if self.usage.commits else float("nan")
