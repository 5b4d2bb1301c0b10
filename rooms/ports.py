"""The small interfaces the engine needs from the outside world.

`mediation` supplies implementations (the transcript store, socket
connections); the engine only relies on these shapes.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import msgspec

from rooms.floor import Floor
from rooms.visibility import Role


@dataclass(frozen=True, slots=True)
class Member:
    """Somebody in a room, as a verified token names them."""

    user: str
    role: Role


@dataclass(frozen=True, slots=True)
class RoomInfo:
    id: str
    ticket_provider: str
    ticket_id: str
    client: str
    freelancer: str
    state: str
    floor: Floor = field(default_factory=Floor, compare=False)  # mutes and pauses as stored
    calendar: str | None = None  # its holiday calendar ("DE-BY"); None: the deployment's
    # (role, user) of each side's people once that side changed (rooms.members.admitted)
    members: frozenset[tuple[str, str]] = field(default_factory=frozenset, compare=False)


class Draft(msgspec.Struct, frozen=True, gc=False):
    """A record accepted for storage but not yet durable: a message or another event.
    (A frozen Struct: built for every write, ten times cheaper than a frozen dataclass.)"""

    room_id: str
    channel: str
    sender_user: str
    sender_role: str
    client_id: str
    body: str  # a message's text; for other kinds, their canonical JSON payload
    origin: str  # the connection that sent it: it gets the ack, not the echo
    kind: str = "message"


class StoredMessage(Protocol):
    """A durable message: what fan-out, replay and history hand around."""

    @property
    def room_id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def client_id(self) -> str: ...
    @property
    def sender_user(self) -> str: ...
    @property
    def sender_role(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def ts(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def duplicate(self) -> bool: ...


class MessageLog(Protocol):
    """Durable, ordered storage of a room's messages."""

    def append(self, draft: Draft) -> "asyncio.Future[StoredMessage]":
        """Queue `draft`; the awaitable resolves once it is committed.

        A draft whose (room, sender, client_id) was stored before resolves to
        the original record with `duplicate` set.
        """
        ...

    async def heads(self, room_id: str) -> dict[str, int]:
        """The highest committed seq of every channel that has one."""
        ...

    async def read(
        self, room_id: str, channel: str, after: int, upto: int, limit: int
    ) -> Sequence[StoredMessage]:
        """Messages of one channel with after < seq <= upto, oldest first."""
        ...


class RoomDirectory(Protocol):
    async def get(self, room_id: str) -> RoomInfo | None: ...


@dataclass(frozen=True, slots=True)
class Presence:
    user: str
    role: Role
    online: bool


@dataclass(frozen=True, slots=True)
class Typing:
    """Someone is typing in a channel: shown for a few seconds, never stored."""

    user: str
    role: Role
    channel: str


Event = StoredMessage | Presence | Typing


class Sink(Protocol):
    """One live connection, as the engine sees it."""

    @property
    def id(self) -> str: ...

    def push(self, event: Event) -> None:
        """Queue `event` for delivery without blocking.

        A sink that cannot keep up drops its connection (the client resumes
        with `since`); it never slows the room down.
        """
        ...
