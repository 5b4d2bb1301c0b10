"""When a socket may send its next message: window-limited (commit) or at a
fixed rate (scale-out)."""

import asyncio
import random
import time
from typing import Protocol


class Pacing(Protocol):
    """When a socket may send its next message."""

    async def turn(self) -> None: ...
    def settled(self) -> None: ...  # an ack or error came back
    def wake(self) -> None: ...  # sending stops: don't keep a sender waiting


class WindowPacing:
    """At most `window` sends unacknowledged: as fast as the server answers."""

    def __init__(self, window: int) -> None:
        self.free = asyncio.Semaphore(window)

    async def turn(self) -> None:
        await self.free.acquire()

    def settled(self) -> None:
        self.free.release()

    def wake(self) -> None:
        self.free.release()


class RatePacing:
    """`rate` sends a second at fixed intervals, whatever the acks do; a random phase."""

    def __init__(self, rate: float) -> None:
        self.interval = 1 / rate
        self.next = time.perf_counter() + random.random() * self.interval - self.interval

    async def turn(self) -> None:
        self.next += self.interval
        delay = self.next - time.perf_counter()
        if delay > 0:  # late (an overloaded generator): send at once, keep the schedule
            await asyncio.sleep(delay)

    def settled(self) -> None:
        pass

    def wake(self) -> None:
        pass
