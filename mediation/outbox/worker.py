"""The delivery worker: claims due outbox rows and hands each to its destination.

Every process runs one. Each round it claims up to `batch` rows (the oldest
pending row of each destination-and-room lane, leased for `lease` seconds and
renewed while they are out, so a slow destination keeps its rows and a killed
process frees them soon), delivers them concurrently (different lanes never wait for each other) and
records each outcome: delivered; retried after an exponential backoff with
full jitter (tenacity's), never before a `Retry-After`; or buried as a dead
letter, when the other side refuses for good or the row has waited past
`max_age`. A commit that wrote rows wakes the worker of its process; the
others find them within `tick`.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tenacity import RetryCallState, wait_random_exponential

from mediation.metrics import Metrics
from mediation.outbox.delivery import (
    Delivered,
    Delivery,
    Destination,
    Outcome,
    Permanent,
    Retry,
)
from transcripts.outbox import Outbox, OutboxRow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Schedule:
    tick: float = 1.0  # seconds between looks for due rows (a local commit wakes it sooner)
    # A claim holds this long, renewed every third of it while its delivery runs: a process
    # killed mid-delivery blocks those rows' lanes for at most this long.
    lease: float = 10.0
    batch: int = 32  # rows claimed per round
    initial: float = 1.0  # the first retry waits up to this (full jitter), doubling
    max_delay: float = 3600.0  # and never more than this
    max_age: float = 3 * 24 * 3600.0  # a row still undelivered this long after its commit: dead


def backoff(schedule: Schedule, attempts: int) -> float:
    """The wait before attempt `attempts + 1`: random in [0, initial * 2^attempts], capped."""
    wait = wait_random_exponential(multiplier=schedule.initial, max=schedule.max_delay)
    state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]  # only its count
    state.attempt_number = attempts
    return float(wait(state))


class OutboxWorker:
    def __init__(
        self,
        outbox: Outbox,
        destinations: Sequence[Destination],
        metrics: Metrics,
        schedule: Schedule = Schedule(),
    ) -> None:
        self._outbox = outbox
        self._destinations: Mapping[str, Destination] = {d.name: d for d in destinations}
        self._metrics = metrics
        self._schedule = schedule
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._destinations and self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox")

    def wake(self) -> None:
        """Rows were committed here: look now."""
        self._wakeup.set()

    async def close(self) -> None:
        """Stop between rounds; claimed rows not yet finished are claimed again elsewhere
        once their lease ends (marked uncertain only if an attempt timed out)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                busy = await self.round()
            except Exception as exc:  # the database is down: try again next tick
                log.warning("outbox round failed: %s", exc.__class__.__name__)
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._schedule.tick)
                self._wakeup.clear()

    async def round(self) -> bool:
        """Claim and deliver once; True when a full batch was claimed (more may wait)."""
        now = time.time()
        rows = await self._outbox.claim(
            now, self._schedule.lease, self._schedule.batch, list(self._destinations)
        )
        await self._measure(now)
        if not rows:
            return False
        tickets = await self._outbox.tickets([row.room_id for row in rows])
        out = {row.id for row in rows}
        renewing = asyncio.create_task(self._renew(out))
        try:
            await asyncio.gather(*(self._one(row, tickets.get(row.room_id), out) for row in rows))
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        return len(rows) == self._schedule.batch

    async def _renew(self, out: set[int]) -> None:
        """Keep the leases of the rows in `out` (those still being delivered) alive."""
        lease = self._schedule.lease
        while True:
            await asyncio.sleep(lease / 3)
            try:
                await self._outbox.renew(sorted(out), time.time() + lease)
            except Exception as exc:  # the database is down: the lease may lapse
                log.warning("outbox lease renewal failed: %s", exc.__class__.__name__)

    async def _one(self, row: OutboxRow, ticket: tuple[str, str] | None, out: set[int]) -> None:
        destination = self._destinations[row.destination]
        provider, ticket_id = ticket or ("", "")
        delivery = Delivery(
            row.id,
            row.event_id,
            row.destination,
            row.topic,
            row.room_id,
            provider,
            ticket_id,
            row.data,
            _utc(row.created_at),
            row.attempts,
            row.uncertain,
        )
        try:
            outcome: Outcome = await destination.deliver(delivery)
        except Exception as exc:  # a destination's bug must not stop the others
            log.exception("outbox destination %s failed", row.destination)
            outcome = Retry(f"internal error: {exc.__class__.__name__}")
        out.discard(row.id)
        await self._record(row, outcome)

    async def _record(self, row: OutboxRow, outcome: Outcome) -> None:
        now = time.time()
        counter = self._metrics.outbox_deliveries
        if isinstance(outcome, Delivered):
            await self._outbox.delivered(row.id, now)
            counter.labels(row.destination, "delivered").inc()
        elif isinstance(outcome, Permanent) or now - row.created_at > self._schedule.max_age:
            error = outcome.error if isinstance(outcome, Permanent | Retry) else ""
            await self._outbox.buried(row.id, now, error)
            counter.labels(row.destination, "dead").inc()
            log.warning("outbox row %d to %s is a dead letter: %s", row.id, row.destination, error)
        else:
            wait = max(backoff(self._schedule, row.attempts + 1), outcome.after or 0.0)
            await self._outbox.retry_at(row.id, now + wait, outcome.error, outcome.uncertain)
            counter.labels(row.destination, "retry").inc()

    async def _measure(self, now: float) -> None:
        backlog = await self._outbox.backlog()
        self._metrics.outbox_pending.set(backlog.pending)
        oldest = backlog.oldest_pending
        self._metrics.outbox_oldest_age.set(0.0 if oldest is None else max(0.0, now - oldest))
        self._metrics.outbox_dead.set(backlog.dead)


def _utc(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, UTC)
