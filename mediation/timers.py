"""Timers for every open socket, on one event-loop timer.

Each open socket keeps two timers that seldom fire: uvicorn's keepalive ping
(every 20 s) and its token's expiry (hours away). A loop timer (uvloop's
TimerHandle, with the libuv timer behind it) is ~590 B; a `Timer` here is
~150 B in a heap, and the loop holds one timer of its own, for the earliest
(docs/benchmarks.md, "Memory"). Callbacks run as the loop would run them:
in order of due time, each exception reported to the loop's handler without
stopping the others.
"""

import asyncio
import heapq
import math
import weakref
from collections.abc import Callable
from typing import Any

COMPACT_AT = 100  # cancelled timers left in the heap before it is rebuilt without them


class Timer:
    __slots__ = ("_args", "_callback", "_owner", "when")

    def __init__(
        self, owner: "Timers", when: float, callback: Callable[..., object], args: tuple[Any, ...]
    ) -> None:
        self._owner = owner
        self.when = when
        self._callback: Callable[..., object] | None = callback
        self._args = args

    def __lt__(self, other: "Timer") -> bool:
        return self.when < other.when

    def cancel(self) -> None:
        if self._callback is not None:
            self._callback, self._args = None, ()  # what it referred to may go now
            self._owner.cancelled()

    def is_cancelled(self) -> bool:
        return self._callback is None

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        callback, args = self._callback, self._args
        if callback is None:
            return
        self._callback, self._args = None, ()
        try:
            callback(*args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            loop.call_exception_handler(
                {"message": f"Exception in timer callback {callback!r}", "exception": exc}
            )


class Timers:
    """One loop's timers, in a heap, due in order; get it with `timers()`."""

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._cancelled = 0
        self._armed: asyncio.TimerHandle | None = None
        self._armed_at = math.inf

    def __len__(self) -> int:
        return len(self._heap) - self._cancelled

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> Timer:
        """Like `loop.call_later`, from the loop's thread."""
        loop = asyncio.get_running_loop()
        timer = Timer(self, loop.time() + delay, callback, args)
        heapq.heappush(self._heap, timer)
        if timer.when < self._armed_at:
            self._arm(loop, timer.when)
        return timer

    def cancelled(self) -> None:
        self._cancelled += 1
        if self._cancelled > COMPACT_AT and self._cancelled * 2 > len(self._heap):
            self._heap = [t for t in self._heap if not t.is_cancelled()]
            heapq.heapify(self._heap)
            self._cancelled = 0

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._armed is not None:
            self._armed.cancel()
        self._armed, self._armed_at = loop.call_at(when, self._fire, loop), when

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._armed, self._armed_at = None, math.inf
        now = loop.time()
        while self._heap and self._heap[0].when <= now:
            timer = heapq.heappop(self._heap)
            if timer.is_cancelled():
                self._cancelled -= 1
            else:
                timer._run(loop)
        if self._heap:
            self._arm(loop, self._heap[0].when)


_of_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Timers]" = (
    weakref.WeakKeyDictionary()
)


def timers() -> Timers:
    """The running loop's timers."""
    loop = asyncio.get_running_loop()
    found = _of_loop.get(loop)
    if found is None:
        found = _of_loop[loop] = Timers()
    return found
