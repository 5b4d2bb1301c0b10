"""Who is connected to this process, per person per room.

A person (one user in one room) shares one send bucket across all their
sockets here, and may hold at most `cap` of them. When their last socket
goes, the bucket is kept until it has refilled: reconnecting never buys a
fresh one.
"""

import time
from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

from mediation.ws.throttle import TokenBucket

S = TypeVar("S")
Key = tuple[str, str]  # (room id, user)


class Person(Generic[S]):
    __slots__ = ("bucket", "sockets")

    def __init__(self, bucket: TokenBucket) -> None:
        self.bucket = bucket
        # a list, not a set: at most `cap` (10) sockets, mostly one; a set is 216 B empty
        self.sockets: list[S] = []


class People(Generic[S]):
    def __init__(self, rate: float, burst: int, cap: int) -> None:
        self._rate = rate
        self._burst = burst
        self._cap = cap
        self._people: dict[Key, Person[S]] = {}
        self._idle: deque[tuple[float, Key]] = deque()  # (full again at, key), oldest first

    def enter(self, key: Key, socket: S) -> Person[S] | None:
        """Count `socket` as one of the person's; None if they hold `cap` already."""
        self._forget_idle()
        person = self._people.get(key)
        if person is None:
            person = self._people[key] = Person(TokenBucket(self._rate, self._burst))
        if len(person.sockets) >= self._cap:
            return None
        if socket not in person.sockets:
            person.sockets.append(socket)
        return person

    def leave(self, key: Key, socket: S) -> None:
        person = self._people.get(key)
        if person is None:
            return
        if socket in person.sockets:
            person.sockets.remove(socket)
        if not person.sockets:
            self._idle.append((time.monotonic() + person.bucket.full_in(), key))
        self._forget_idle()

    def everyone(self) -> Iterator[S]:
        """Every socket counted here, in every room."""
        for person in list(self._people.values()):
            yield from list(person.sockets)

    def present(self) -> list[Key]:
        """The people with a socket here now."""
        return [key for key, person in self._people.items() if person.sockets]

    def __len__(self) -> int:
        return len(self._people)

    def _forget_idle(self) -> None:
        now = time.monotonic()
        while self._idle and self._idle[0][0] <= now:
            _, key = self._idle.popleft()
            person = self._people.get(key)
            if person is not None and not person.sockets and person.bucket.full_in() < 1e-3:
                del self._people[key]
