"""The lock-free counter and histogram render as prometheus_client's own would."""

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from mediation.loop_metrics import LoopCounter, LoopHistogram
from mediation.metrics import LATENCY_BUCKETS


def rendered(registry: CollectorRegistry) -> list[str]:
    """The exposition, without the `_created` series ours do not keep."""
    return [
        line for line in generate_latest(registry).decode().splitlines() if "_created" not in line
    ]


def test_they_render_as_the_library_s_counter_and_histogram() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    counter = LoopCounter("frames", "Frames written", registry=ours)
    reference_counter = Counter("frames", "Frames written", registry=theirs)
    histogram = LoopHistogram("latency_seconds", "Latency", LATENCY_BUCKETS, registry=ours)
    reference = Histogram("latency_seconds", "Latency", buckets=LATENCY_BUCKETS, registry=theirs)
    for value in (0.0, 0.0005, 0.001, 0.0011, 0.003, 0.25, 5.0, 7.5):  # on and between bounds
        histogram.observe(value)
        reference.observe(value)
        counter.inc()
        reference_counter.inc()
    assert rendered(ours) == rendered(theirs)
