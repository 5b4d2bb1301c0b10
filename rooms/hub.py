"""Live rooms of this process: admission, presence and fan-out.

Delivery rule: a committed message goes to every sink whose role may read
its channel, except the sink that sent it (that one gets the ack). A sink
that joined with a replay skips live copies of what the replay gave it, so
a client sees each message exactly once however the two race.
"""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from rooms.errors import Forbidden, NotFound, RoomClosed, RoomError
from rooms.lifecycle import accepts_writes
from rooms.ports import (
    Draft,
    Member,
    MessageLog,
    Presence,
    RoomDirectory,
    RoomInfo,
    Sink,
    StoredMessage,
)
from rooms.visibility import CHANNELS, Role, can_read, can_write, readable, sees_presence_of

REPLAY_PAGE = 500


@dataclass(slots=True)
class _Subscription:
    sink: Sink
    member: Member
    # Replayed up to here; None while the join is still reading the heads,
    # when live records wait in `early` to be filtered against the floor.
    floor: dict[str, int] | None = None
    early: list[StoredMessage] = field(default_factory=list)

    def offer(self, record: StoredMessage) -> None:
        if self.floor is None:
            self.early.append(record)
        elif record.seq > self.floor.get(record.channel, 0):
            self.sink.push(record)

    def settle(self, floor: dict[str, int]) -> None:
        self.floor = floor
        early, self.early = self.early, []
        for record in early:
            self.offer(record)


@dataclass(frozen=True, slots=True)
class Joined:
    room: RoomInfo
    member: Member
    heads: dict[str, int]  # every channel the member may read
    online: list[Member]  # who is here, as far as the member may know


class LiveRoom:
    def __init__(self, info: RoomInfo) -> None:
        self.info = info
        self.subs: dict[str, _Subscription] = {}
        self.online: Counter[Member] = Counter()

    def deliver(self, record: StoredMessage) -> None:
        for sub in self.subs.values():
            if sub.sink.id != record.origin and can_read(sub.member.role, record.channel):
                sub.offer(record)

    def announce(self, member: Member, online: bool) -> None:
        event = Presence(member.user, member.role, online)
        for sub in self.subs.values():
            if sub.member != member and sees_presence_of(sub.member.role, member.role):
                sub.sink.push(event)

    def visible_online(self, viewer: Role) -> list[Member]:
        return [m for m in self.online if sees_presence_of(viewer, m.role)]


def admit(info: RoomInfo, member: Member) -> None:
    """Parties must be the room's own client or freelancer; staff may be anyone."""
    expected = {Role.CLIENT: info.client, Role.FREELANCER: info.freelancer}.get(member.role)
    if expected is not None and member.user != expected:
        raise Forbidden(f"{member.user} is not the {member.role} of room {info.id}")


class Hub:
    def __init__(self, log: MessageLog, directory: RoomDirectory) -> None:
        self._log = log
        self._directory = directory
        self._rooms: dict[str, LiveRoom] = {}
        self._by_sink: dict[str, tuple[LiveRoom, _Subscription]] = {}

    @property
    def rooms(self) -> dict[str, LiveRoom]:
        return self._rooms

    async def join(self, room_id: str, member: Member, sink: Sink) -> Joined:
        """Register `sink` for live traffic; returns what the welcome needs.

        Registration happens before the heads are read, so any message
        committed after that read reaches the sink live.
        """
        room = await self._live(room_id, member)
        sub = _Subscription(sink, member)
        room.subs[sink.id] = sub
        self._by_sink[sink.id] = (room, sub)
        try:
            stored = await self._log.heads(room_id)
        except BaseException:
            self.leave(sink)
            raise
        heads = {channel: stored.get(channel, 0) for channel in readable(member.role)}
        sub.settle(dict(heads))
        room.online[member] += 1
        if room.online[member] == 1:
            room.announce(member, online=True)
        return Joined(room.info, member, heads, room.visible_online(member.role))

    async def backlog(self, joined: Joined, since: dict[str, int]) -> AsyncIterator[StoredMessage]:
        """Every readable message after `since` up to the heads of the join, in order."""
        for channel, head in joined.heads.items():
            after = since.get(channel, 0)
            while after < head:
                page = await self._log.read(joined.room.id, channel, after, head, REPLAY_PAGE)
                if not page:
                    break
                for record in page:
                    yield record
                after = page[-1].seq

    async def history(
        self, sink: Sink, channel: str, before: int | None, limit: int
    ) -> Sequence[StoredMessage]:
        """Up to `limit` messages of `channel` with seq < `before`, oldest first."""
        room, sub = self._joined(sink)
        if not can_read(sub.member.role, channel):
            raise Forbidden(f"a {sub.member.role} may not read {channel!r}")
        if before is None:
            upto = (await self._log.heads(room.info.id)).get(channel, 0)
        else:
            upto = before - 1
        # seq is gapless, so the page is exactly (upto - limit, upto]
        return await self._log.read(room.info.id, channel, max(0, upto - limit), upto, limit)

    def leave(self, sink: Sink) -> None:
        entry = self._by_sink.pop(sink.id, None)
        if entry is None:
            return
        room, sub = entry
        room.subs.pop(sink.id, None)
        if sub.floor is not None:  # fully joined: it was counted online
            room.online[sub.member] -= 1
            if room.online[sub.member] <= 0:
                del room.online[sub.member]
                room.announce(sub.member, online=False)
        if not room.subs:
            self._rooms.pop(room.info.id, None)

    def post(
        self, sink: Sink, client_id: str, channel: str, body: str
    ) -> "asyncio.Future[StoredMessage]":
        """Check the sender may write here, then hand the message to the log."""
        room, sub = self._joined(sink)
        role = sub.member.role
        if channel not in CHANNELS:
            raise RoomError(f"no channel {channel!r}; channels are {', '.join(CHANNELS)}")
        if not can_write(role, channel):
            raise Forbidden(f"a {role} may not write to {channel!r}")
        if not accepts_writes(room.info.state):
            raise RoomClosed(f"room {room.info.id} is {room.info.state}")
        return self._log.append(
            Draft(room.info.id, channel, sub.member.user, role, client_id, body, sink.id)
        )

    def committed(self, records: Sequence[StoredMessage]) -> None:
        """Fan out freshly committed records; the log calls this in commit order."""
        for record in records:
            room = self._rooms.get(record.room_id)
            if room is not None and not record.duplicate:
                room.deliver(record)

    def _joined(self, sink: Sink) -> tuple[LiveRoom, _Subscription]:
        entry = self._by_sink.get(sink.id)
        if entry is None:
            raise Forbidden("join the room before writing to it")
        return entry

    async def _live(self, room_id: str, member: Member) -> LiveRoom:
        """The room, loaded if need be, once `member` is admitted to it."""
        room = self._rooms.get(room_id)
        if room is not None:
            admit(room.info, member)
            return room
        info = await self._directory.get(room_id)
        if info is None:
            raise NotFound(f"no room {room_id}")
        admit(info, member)  # before registering: a refused join leaves nothing behind
        return self._rooms.setdefault(room_id, LiveRoom(info))
