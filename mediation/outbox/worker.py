"""The delivery worker: claims due outbox rows and hands each to its destination.

Every process runs one. It keeps up to `batch` rows out at once (each the oldest
pending row of each destination-and-room lane, leased for `lease` seconds and
renewed while they are out, so a slow destination keeps its rows and a killed
process frees them soon), delivers each in its own task (a slow lane never
holds up another: its place is refilled as soon as any delivery ends) and
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
    keep_done: float = 7 * 24 * 3600.0  # a delivered row is forgotten this long after
    prune_every: float = 600.0  # how often a process forgets what is past keep_done


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
        self._out: dict[int, asyncio.Task[None]] = {}  # rows being delivered, by id
        self._pruned_at = 0.0

    def start(self) -> None:
        if self._destinations and self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox")

    def wake(self) -> None:
        """Rows were committed here (or a delivery finished): look now."""
        self._wakeup.set()

    async def close(self) -> None:
        """Stop; deliveries cut short are released for the next process (or this one after
        a restart) to claim at once, their next attempt looking before it sends. Released
        or not (the database may be away), nothing is lost: a lease also runs out."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        cut, out = sorted(self._out), list(self._out.values())
        for task in out:
            task.cancel()
        await asyncio.gather(*out, return_exceptions=True)
        try:
            await self._outbox.release(cut)
        except Exception as exc:
            log.warning("outbox leases not released: %s", exc.__class__.__name__)

    async def aclose(self) -> None:
        """`close`, then close the destinations that hold a client (their `aclose`)."""
        await self.close()
        for destination in self._destinations.values():
            closing = getattr(destination, "aclose", None)
            if closing is not None:
                await closing()

    async def _run(self) -> None:
        renewing = asyncio.create_task(self._renew(), name="outbox-leases")
        try:
            while True:
                try:
                    busy = await self.round()
                except Exception as exc:  # the database is down: try again next tick
                    log.warning("outbox round failed: %s", exc.__class__.__name__)
                    busy = False
                if not busy:
                    # not wait_for: on 3.11 it can swallow a cancellation that lands as the
                    # wake-up does, and `close` would wait on this loop for ever
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._schedule.tick):
                            await self._wakeup.wait()
                    self._wakeup.clear()
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def round(self) -> bool:
        """Claim what is due, up to `batch` rows out at once, and start delivering it; True
        when every free place was filled (more may wait). A slow delivery holds only its
        own lane: the others are claimed and delivered meanwhile."""
        now = time.time()
        room = self._schedule.batch - len(self._out)
        rows = (
            await self._outbox.claim(now, self._schedule.lease, room, list(self._destinations))
            if room > 0
            else []
        )
        await self._measure(now)
        if now - self._pruned_at >= self._schedule.prune_every:
            self._pruned_at = now
            await self._outbox.prune(now - self._schedule.keep_done)
        if not rows:
            return False
        tickets = await self._outbox.tickets([row.room_id for row in rows])
        for row in rows:
            self._out[row.id] = asyncio.create_task(
                self._one(row, tickets.get(row.room_id)), name=f"outbox-{row.id}"
            )
        return len(rows) == room

    async def _renew(self) -> None:
        """Keep the leases of the rows being delivered alive."""
        lease = self._schedule.lease
        while True:
            await asyncio.sleep(lease / 3)
            if not self._out:
                continue
            try:
                await self._outbox.renew(sorted(self._out), time.time() + lease)
            except Exception as exc:  # the database is down: the lease may lapse
                log.warning("outbox lease renewal failed: %s", exc.__class__.__name__)

    async def _one(self, row: OutboxRow, ticket: tuple[str, str] | None) -> None:
        try:
            await self._deliver(row, ticket)
        except Exception as exc:  # its outcome not recorded: claimed again after the lease
            log.warning("outbox row %d not recorded: %s", row.id, exc.__class__.__name__)
        finally:
            self._out.pop(row.id, None)
            self.wake()  # a place is free, and the lane's next row may be due

    async def _deliver(self, row: OutboxRow, ticket: tuple[str, str] | None) -> None:
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
