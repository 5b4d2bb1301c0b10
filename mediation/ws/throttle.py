"""A token bucket: `rate` tokens a second sustained, `burst` at once.

Takers reserve: a reservation may drive the bucket below zero, and the
next taker waits that much longer. So several sockets sharing a bucket are
served in the order they asked, and none is starved.
"""

import time


class TokenBucket:
    __slots__ = ("_burst", "_last", "_rate", "_tokens")

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = max(rate, 1e-9)
        self._burst = float(max(burst, 1))
        self._tokens = self._burst
        self._last = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now

    def cost(self, wanted: float) -> float:
        """What a take may cost at most: never more than a full bucket holds."""
        return min(max(wanted, 1.0), self._burst)

    def wait(self, cost: float = 1.0) -> float:
        """Seconds until `cost` tokens are there (0: now)."""
        self._refill()
        return max(0.0, (cost - self._tokens) / self._rate)

    def reserve(self, cost: float, within: float) -> float | None:
        """Take `cost` tokens if they are there within `within` seconds: how long to wait
        for them; None (and nothing taken) if that would be longer."""
        delay = self.wait(cost)
        if delay > within:
            return None
        self._tokens -= cost
        return delay

    def take(self) -> bool:
        """One token now, or nothing (for what is best effort anyway)."""
        return self.reserve(1.0, 0.0) is not None

    def full_in(self) -> float:
        """Seconds until the bucket is full again: until then it still remembers its takers."""
        self._refill()
        return (self._burst - self._tokens) / self._rate
