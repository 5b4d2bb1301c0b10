"""A background step repeated every few seconds, on every process.

The clock scheduler, the SLA policies' re-read, the weekly review assignment and
the notices to the away each run one step against the database again and again.
A step that fails (the database or Redis is away) is logged by its kind and tried
again a period later: an outage slows them, never stops them.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    def __init__(
        self, name: str, step: Callable[[], Awaitable[object]], every: float, *, wait_first: bool
    ) -> None:
        """`step` every `every` seconds once started; `wait_first`: a period passes before
        the first (its owner ran it already), else the first runs at once."""
        self.name = name
        self._step = step
        self._every = every
        self._wait_first = wait_first
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        if self._wait_first:
            await asyncio.sleep(self._every)
        while True:
            try:
                await self._step()
            except Exception as exc:  # the database is away: the next period tries again
                log.warning("%s: %s", self.name, exc.__class__.__name__)
            await asyncio.sleep(self._every)
