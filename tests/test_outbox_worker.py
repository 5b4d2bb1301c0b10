"""The delivery worker on its own, with an outbox in memory: it stops when told, however a
wake-up and the stop interleave."""

import asyncio
from collections.abc import Sequence

from mediation.metrics import Metrics
from mediation.outbox.delivery import Delivered, Delivery, Outcome
from mediation.outbox.worker import OutboxWorker, Schedule
from transcripts.outbox import Backlog, OutboxRow


class EmptyOutbox:
    """Nothing ever due."""

    async def claim(
        self, now: float, lease: float, limit: int, destinations: Sequence[str]
    ) -> list[OutboxRow]:
        await asyncio.sleep(0)
        return []

    async def backlog(self) -> Backlog:
        return Backlog(0, None, 0)

    async def release(self, row_ids: Sequence[int]) -> None:
        return None


class Nowhere:
    name = "webhook"

    async def deliver(self, delivery: Delivery) -> Outcome:
        return Delivered()


async def test_a_stop_that_lands_with_a_wake_up_still_stops() -> None:
    for turn in range(300):
        outbox = EmptyOutbox()
        worker = OutboxWorker(outbox, [Nowhere()], Metrics(), Schedule(tick=5.0))  # type: ignore[arg-type]
        worker.start()
        for _ in range(turn % 7):
            await asyncio.sleep(0)
        worker.wake()
        for _ in range(turn % 3):
            await asyncio.sleep(0)
        closing = asyncio.ensure_future(worker.close())
        done, _ = await asyncio.wait({closing}, timeout=2.0)  # never cancels: no hang
        assert closing in done, f"turn {turn}: the worker swallowed its cancellation"
