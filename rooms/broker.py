"""The broker carries committed records and presence between server processes.

One process needs none of that: `LocalBroker` keeps presence in memory and
publishes nowhere. With Redis, `mediation.redis_broker.RedisBroker` (an
adapter, outside this I/O-free package) does both across any number of
processes. Either way a broker is best effort: the
database stays the source of truth, and gaps are filled from it.
"""

from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from rooms.ports import Member, StoredMessage, Typing


class PresenceHint:
    """Somebody's presence in a room may have changed: look again."""

    __slots__ = ()


class RoomStale:
    """Messages of a room were dropped on the way: catch up from the database."""

    __slots__ = ()


class QueueHint:
    """A room's place in the moderator queue may have changed (sent to every process)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Revoked:
    """Tokens were revoked (sent to every process): the one with id `jti`, or, with `jti`
    empty, every token `user` holds for `room` (any room, `room` empty) issued up to
    `issued_before`. Kept until `until`, when they would have expired anyway (unix s)."""

    jti: str
    room: str
    user: str
    issued_before: int
    until: int


RoomTraffic = StoredMessage | PresenceHint | RoomStale | QueueHint | Typing
Published = RoomTraffic | Revoked


class Receiver(Protocol):
    """What a broker hands incoming traffic to (the hub)."""

    def remote(self, room_id: str, event: Published) -> None: ...

    def resync(self) -> None:
        """Messages may have been lost (the broker reconnected): check every live room."""
        ...


class Broker(Protocol):
    async def start(self, receiver: Receiver) -> None: ...
    async def close(self) -> None: ...
    async def subscribe(self, room_id: str) -> None: ...
    async def unsubscribe(self, room_id: str) -> None: ...
    def publish(self, room_id: str, event: Published) -> None:
        """Send to the other processes; never blocks, may be lost."""
        ...

    async def arrive(self, room_id: str, member: Member) -> None: ...
    async def depart(self, room_id: str, member: Member) -> None: ...
    async def online(self, room_id: str) -> set[Member]:
        """Everyone connected to the room, on any process."""
        ...

    @property
    def healthy(self) -> bool: ...


class LocalBroker:
    """One process: presence is a counter, and there is nobody to publish to."""

    healthy = True

    def __init__(self) -> None:
        self._here: dict[str, Counter[Member]] = {}

    async def start(self, receiver: Receiver) -> None:
        pass

    async def close(self) -> None:
        pass

    async def subscribe(self, room_id: str) -> None:
        pass

    async def unsubscribe(self, room_id: str) -> None:
        pass

    def publish(self, room_id: str, event: Published) -> None:
        pass

    async def arrive(self, room_id: str, member: Member) -> None:
        self._here.setdefault(room_id, Counter())[member] += 1

    async def depart(self, room_id: str, member: Member) -> None:
        here = self._here.get(room_id)
        if here is None:
            return
        here[member] -= 1
        if here[member] <= 0:
            del here[member]
        if not here:
            del self._here[room_id]

    async def online(self, room_id: str) -> set[Member]:
        return set(self._here.get(room_id, ()))

    def counts(self, room_id: str) -> Counter[Member]:
        return Counter(self._here.get(room_id, {}))
