"""Prometheus metrics of one server process (GET /metrics).

Each app has its own registry, so several apps in one process (tests)
never collide.
"""

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from mediation.loop_metrics import LoopCounter, LoopHistogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge("mediation_connections", "Open WebSocket connections", registry=r)
        self.live_rooms = Gauge("mediation_live_rooms", "Rooms with a socket here", registry=r)
        self.messages_in = Counter(
            "mediation_messages_stored", "Messages committed by this process", registry=r
        )
        self.messages_out = LoopCounter(  # once per frame delivered: no lock
            "mediation_messages_delivered", "Message frames written to sockets", registry=r
        )
        self.errors = Counter(
            "mediation_errors", "Error frames sent, by code", ["code"], registry=r
        )
        self.refused = Counter(  # max_connections, per_ip, per_person, header_timeout, throttled
            "mediation_connections_refused",
            "Connections refused or cut off for a limit, by reason",
            ["reason"],
            registry=r,
        )
        self.slow_consumers = Counter(
            "mediation_slow_consumers", "Sockets cut off for reading too slowly", registry=r
        )
        self.ack_latency = LoopHistogram(  # once per ack: no lock
            "mediation_ack_latency_seconds",
            "From a send frame read to its ack queued",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "mediation_commit_batch_size",
            "Messages per group commit",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.commit_seconds = Histogram(
            "mediation_commit_seconds",
            "Duration of one group commit",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.redis_lag = Histogram(
            "mediation_redis_lag_seconds",
            "From publish on another process to receipt here",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.redis_up = Gauge("mediation_redis_up", "1 when Redis is reachable", registry=r)
        self.outbox_deliveries = Counter(  # outcome: delivered, retry, dead
            "mediation_outbox_deliveries",
            "Outbox delivery attempts, by destination and outcome",
            ["destination", "outcome"],
            registry=r,
        )
        self.outbox_pending = Gauge(
            "mediation_outbox_pending", "Outbox rows not yet delivered", registry=r
        )
        self.outbox_oldest_age = Gauge(
            "mediation_outbox_oldest_pending_seconds",
            "Age of the oldest outbox row not yet delivered (0: none)",
            registry=r,
        )
        self.outbox_dead = Gauge(
            "mediation_outbox_dead", "Outbox rows given up on (dead letters)", registry=r
        )

    def watch(self, live_rooms: Callable[[], int], redis_up: Callable[[], bool]) -> None:
        self.live_rooms.set_function(live_rooms)
        self.redis_up.set_function(lambda: float(redis_up()))

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.commit_seconds.observe(seconds)
        self.messages_in.inc(size)

    def render(self) -> bytes:
        return generate_latest(self.registry)
