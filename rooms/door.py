"""The one door every record passes on its way to the store.

A socket's frame, an HTTP claim, a file's record or its deletion, a clock's
alarm, someone's first join: each becomes a draft here, or is refused with a
RoomError whose code the client sees. The door decides from what this process
knows of the room (its state and floor) who may write which kind of record to
which channel. What depends on every record before it (two claims racing, the
answer to a proposal, a room closed a moment ago) is decided once more inside
the commit, by the workflow's rules on the locked row.

Pure: no I/O, tested directly (tests/test_door.py).
"""

from dataclasses import dataclass
from typing import Protocol

import msgspec

from rooms import arbitration, comoderators, evidence, members
from rooms.errors import Forbidden, RoomClosed, RoomError
from rooms.floor import Floor
from rooms.kinds import (
    COMODERATOR,
    CSAT,
    JOINED,
    MODERATOR_ACTIONS,
    SYSTEM_ROLE,
    SYSTEM_USER,
)
from rooms.lifecycle import accepts_writes
from rooms.ports import Draft, Member
from rooms.visibility import CHANNELS, PARTIES, ROOM, SILENT, Role, can_write, caucus_of


class RoomNow(Protocol):
    """The room as the writer's process knows it (a live room's `RoomInfo`, or its row)."""

    @property
    def id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def floor(self) -> Floor: ...


@dataclass(frozen=True, slots=True)
class KnownRoom:
    """A RoomNow for writers without a live room (HTTP requests): read for the request."""

    id: str
    state: str
    floor: Floor


class Write(msgspec.Struct, frozen=True, gc=False):
    """What someone asks to store: a record of `kind` in `channel`, under their own id."""

    kind: str
    channel: str
    client_id: str
    body: str


def draft(room: RoomNow, member: Member, write: Write, origin: str = "") -> Draft:
    """The draft `member` may commit, or RoomError saying why not. `origin` is the
    connection that asked (it gets the ack, not the echo); "" for an HTTP request."""
    check(room, member, write.kind, write.channel)
    user, role = member.user, member.role
    return Draft(
        room.id, write.channel, user, role, write.client_id, write.body, origin, write.kind
    )


def check(room: RoomNow, member: Member, kind: str, channel: str) -> None:
    """RoomError (its code: invalid, forbidden, room_closed) unless `member` may write a
    `kind` record to `channel` of `room` now; asked before bytes come, and again with them."""
    role = member.role
    if channel not in CHANNELS:
        raise RoomError(f"no channel {channel!r}; channels are {', '.join(CHANNELS)}")
    if kind in arbitration.KINDS:  # an opt-in, a decision: their own rules, no floor
        arbitration.check(role, kind, channel, room.state)
        return
    if kind in members.KINDS:  # the platform's, over the API (system_draft)
        members.check_door(role)
    if kind in MODERATOR_ACTIONS:  # whether the room's state allows it: inside the commit
        if role is not Role.MODERATOR:
            raise Forbidden(f"only a moderator writes {kind} events")
        return
    if kind == JOINED:  # the server records a first join on the joiner's behalf
        if channel != ROOM or role in SILENT:
            raise Forbidden("a join is recorded in the room channel, never a silent reader's")
    elif kind == CSAT and (role not in PARTIES or channel != caucus_of(role)):
        raise Forbidden("only the client and the freelancer rate, each in their own caucus")
    elif kind == COMODERATOR:  # the lead's alone: the commit checks who leads
        comoderators.check_door(role, channel)
    elif kind in evidence.KINDS:  # a moderator's, in joint or a caucus (rooms.evidence)
        evidence.check_door(role, kind, channel)
    elif not can_write(role, channel):
        raise Forbidden(f"a {role} may not write to {channel!r}")
    if not accepts_writes(room.state):
        raise RoomClosed(f"room {room.id} is {room.state}")
    if kind != JOINED:
        room.floor.check(role)


def system_draft(room_id: str, write: Write) -> Draft:
    """A record in the server's own voice (an alarm, a settlement's resolution): the rules
    that call for it decided already; the commit refuses it if the room closed meanwhile."""
    if write.channel not in CHANNELS:
        raise RoomError(f"no channel {write.channel!r}")
    return Draft(
        room_id,
        write.channel,
        SYSTEM_USER,
        SYSTEM_ROLE,
        write.client_id,
        write.body,
        "",
        write.kind,
    )
