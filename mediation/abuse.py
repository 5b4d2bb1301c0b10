"""Throttles against guessing and flooding, keyed by who asks (a client address, a caller).

Pure logic, no I/O: the HTTP handlers and the socket call it. Memory is
bounded: each throttle keeps at most `max_keys` buckets, dropping the one
used least recently; a dropped bucket was the most idle, and starts full
again, which errs on the side of letting someone in.
"""

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 50_000  # buckets per throttle: ~150 bytes each


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class Buckets:
    """A token bucket per key: `burst` at once, `rate` a second sustained."""

    def __init__(
        self,
        rate: float,
        burst: int,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate, self._burst, self._max = rate, float(burst), max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def _refilled(self, key: str) -> _Bucket | None:
        bucket = self._buckets.get(key)
        if bucket is None:
            return None
        now = self._clock()
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._rate)
        bucket.at = now
        self._buckets.move_to_end(key)
        if bucket.tokens >= self._burst:  # full again: as good as never seen
            del self._buckets[key]
            return None
        return bucket

    def wait(self, key: str) -> float:
        """Seconds until `key` may act again; 0.0 when it may now. Takes nothing."""
        bucket = self._refilled(key)
        if bucket is None or bucket.tokens >= 1.0:
            return 0.0
        return (1.0 - bucket.tokens) / self._rate if self._rate > 0 else math.inf

    def take(self, key: str) -> float:
        """Spend one token of `key`: 0.0 if it had one, else the seconds to wait (and
        nothing is spent)."""
        waiting = self.wait(key)
        if waiting:
            return waiting
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self._burst, self._clock())
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        bucket.tokens -= 1.0
        return 0.0


class Throttled(Exception):
    """Too many attempts: come back in `retry_after` seconds."""

    def __init__(self, retry_after: float, message: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def retry_after_ms(self) -> int:
        return max(1, math.ceil(self.retry_after * 1000))


def network_of(address: str) -> str:
    """Who an address stands for: itself (IPv4), or its /64 (IPv6: one host holds a
    whole /64, so counting single addresses would count nothing)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class AuthFailures:
    """Failed authentication per client address (per /64 for IPv6). Past `burst`
    failures the address is refused, even with a good credential, until its bucket
    refills a little."""

    def __init__(self, buckets: Buckets) -> None:
        self._buckets = buckets

    def throttled(self, address: str) -> Throttled | None:
        """How long `address` must wait, while it has spent its failures; else None."""
        waiting = self._buckets.wait(network_of(address))
        if waiting:
            return Throttled(waiting, "too many failed authentications from this address")
        return None

    def check(self, address: str) -> None:
        """Raise Throttled while `address` has spent its failures."""
        refusal = self.throttled(address)
        if refusal is not None:
            raise refusal

    def failed(self, address: str) -> None:
        self._buckets.take(network_of(address))


class Quota:
    """Actions of one kind (minting tokens, joining rooms) per caller."""

    def __init__(self, buckets: Buckets, what: str) -> None:
        self._buckets, self._what = buckets, what

    def spend(self, caller: str) -> None:
        waiting = self._buckets.take(caller)
        if waiting:
            raise Throttled(waiting, f"too many {self._what}: slow down")


@dataclass(frozen=True)
class Abuse:
    """The throttles a running server holds."""

    auth_failures: AuthFailures
    minting: Quota  # room and staff tokens minted with the API key
    joining: Quota  # room tokens staff mint for themselves with /join

    @classmethod
    def of(
        cls,
        failures: tuple[float, int],
        minting: tuple[float, int],
        joining: tuple[float, int],
    ) -> "Abuse":
        """Each throttle as (sustained per second, burst)."""
        return cls(
            AuthFailures(Buckets(*failures)),
            Quota(Buckets(*minting), "tokens minted"),
            Quota(Buckets(*joining), "rooms joined"),
        )
