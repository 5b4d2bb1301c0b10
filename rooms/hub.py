"""Live rooms of this process: admission, presence, ordering and fan-out.

Delivery rule: a committed message goes to every sink whose role may read
its channel, except the sink that sent it (that one gets the ack). Every
record, committed here or on another process, passes the room's in-order
gate first, so sinks see each channel's seqs once, in order, with gaps
filled from the log.

A sink joins at the room's delivered marks: the replay covers everything
up to them, live delivery everything after, and both are read at the same
instant, so nothing falls between or is sent twice. A room taken live
listens before it reads its marks, and keeps what arrives while it reads:
a record committed meanwhile is delivered once the room is live (or
dropped by the gate, if the marks already counted it).
"""

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rooms import door, members, records, redaction
from rooms.broker import Broker, PresenceHint, QueueHint, RoomStale, RoomTraffic
from rooms.door import Write
from rooms.errors import Forbidden, NotFound, RoomError
from rooms.floor import Floor, floor_body
from rooms.kinds import CSAT, EDIT, FLOOR, HANDOFF, JOINED, MESSAGE, REDACTION, RETRACT, STATE
from rooms.ordering import InOrder
from rooms.ports import (
    Member,
    MessageLog,
    Presence,
    RoomDirectory,
    RoomInfo,
    Sink,
    StoredMessage,
    Typing,
)
from rooms.queue_feed import QueueFeed
from rooms.records import Amendment, StateBody
from rooms.visibility import (
    CHANNELS,
    NOTES,
    PARTIES,
    ROOM,
    SILENT,
    Role,
    can_read,
    can_write,
    caucus_of,
    readable,
    sees_presence_of,
)
from rooms.workflow import csat_body, handoff_body, state_body

log = logging.getLogger(__name__)

REPLAY_PAGE = 500


def _log_failure(future: "asyncio.Future[StoredMessage]") -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("could not record an event: %s", future.exception())


@dataclass(slots=True)
class _Subscription:
    sink: Sink
    member: Member
    arrived: bool = False  # counted on the presence board


@dataclass(slots=True)
class _Loading:
    """A room being taken live: the joins reading it, and what arrived meanwhile."""

    readers: int = 0
    arrived: list[StoredMessage] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Joined:
    room: RoomInfo
    member: Member
    heads: dict[str, int]  # every channel the member may read
    online: list[Member]  # who is here, as far as the member may know


class LiveRoom:
    def __init__(self, info: RoomInfo, heads: dict[str, int]) -> None:
        self.info = info
        self.subs: dict[str, _Subscription] = {}
        self.order = InOrder(dict(heads))
        self.shown: dict[Member, bool] = {}  # presence as our sinks were last told
        self.floor = info.floor

    def accept(self, record: StoredMessage) -> None:
        for ready in self.order.offer(record):
            if ready.kind == STATE:  # the room moved: later writes see its new state
                moved = records.body_of(STATE, ready.body)
                assert isinstance(moved, StateBody)
                self.info = replace(self.info, state=moved.to)
            elif ready.kind == FLOOR:
                self.floor.apply(ready.body)
            elif ready.kind in members.KINDS:  # later joins are admitted by the new sides
                firsts: dict[str, str] = {
                    Role.CLIENT: self.info.client,
                    Role.FREELANCER: self.info.freelancer,
                }
                changed = members.reflect(self.info.members, firsts, ready)
                self.info = replace(self.info, members=changed)
            self._deliver(ready)

    def _deliver(self, record: StoredMessage) -> None:
        for sub in self.subs.values():
            if sub.sink.id != record.origin and can_read(sub.member.role, record.channel):
                sub.sink.push(record)

    def show(self, online: set[Member]) -> None:
        """Tell our sinks about every member whose presence differs from what they know."""
        for member in set(self.shown) | online:
            now = member in online
            if self.shown.get(member, False) != now:
                self.shown[member] = now
                self._announce(member, now)

    def _announce(self, member: Member, online: bool) -> None:
        event = Presence(member.user, member.role, online)
        for sub in self.subs.values():
            if sub.member != member and sees_presence_of(sub.member.role, member.role):
                sub.sink.push(event)

    def show_typing(self, typing: Typing, origin: str | None) -> None:
        """Tell whoever reads the channel that someone types there (never its author)."""
        author = Member(typing.user, typing.role)
        for sub in self.subs.values():
            if (
                sub.sink.id != origin
                and sub.member != author
                and can_read(sub.member.role, typing.channel)
            ):
                sub.sink.push(typing)

    def visible_online(self, viewer: Role) -> list[Member]:
        return [m for m, on in self.shown.items() if on and sees_presence_of(viewer, m.role)]


def admit(info: RoomInfo, member: Member) -> None:
    """Parties must be one of the room's own clients or freelancers (rooms.members); staff
    may be anyone."""
    firsts: dict[str, str] = {Role.CLIENT: info.client, Role.FREELANCER: info.freelancer}
    if member.role in firsts and not members.admits(info.members, firsts, member.role, member.user):
        raise Forbidden(f"{member.user} is not the {member.role} of room {info.id}")


class Hub:
    def __init__(self, log: MessageLog, directory: RoomDirectory, broker: Broker) -> None:
        self._log = log
        self._directory = directory
        self._broker = broker
        self._rooms: dict[str, LiveRoom] = {}
        self._by_sink: dict[str, tuple[LiveRoom, _Subscription]] = {}
        self._filling: set[tuple[str, str]] = set()
        self._loading: dict[str, _Loading] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.queue = QueueFeed(lambda room_id: broker.publish(room_id, QueueHint()))

    @property
    def rooms(self) -> dict[str, LiveRoom]:
        return self._rooms

    async def join(self, room_id: str, member: Member, sink: Sink) -> Joined:
        """Register `sink` for live traffic; returns what the welcome needs."""
        room = await self._live(room_id, member)
        await self._broker.arrive(room_id, member)
        await self._presence_changed(room)  # the others learn of the joiner; its welcome says all
        heads = {c: room.order.delivered.get(c, 0) for c in readable(member.role)}
        sub = _Subscription(sink, member, arrived=True)  # registered as the heads are read
        room.subs[sink.id] = sub
        self._by_sink[sink.id] = (room, sub)
        self._broker.publish(room_id, PresenceHint())
        if member.role not in SILENT:  # auditors' and observers' reads: the access log
            self._record_first_join(room, member)
        return Joined(room.info, member, heads, room.visible_online(member.role))

    def _record_first_join(self, room: LiveRoom, member: Member) -> None:
        """A `joined` event in the room channel, once per person and role (the fixed
        client id makes every later join a duplicate the log drops)."""
        try:
            draft = door.draft(
                room.info, member, Write(JOINED, ROOM, f"joined:{member.role}", "{}")
            )
        except RoomError:  # a closed room records nothing more
            return
        self._log.append(draft).add_done_callback(_log_failure)

    async def backlog(
        self, joined: Joined, since: dict[str, int], recent: int | None = None
    ) -> AsyncIterator[StoredMessage]:
        """Every readable message after `since` up to the heads of the join, in order; with
        `recent`, of the plain messages only the newest `recent` of each channel (every
        other record still comes: the room's state is built from them)."""
        for channel, head in joined.heads.items():
            after = since.get(channel, 0)
            cut = head - recent if recent is not None else 0  # messages up to `cut` stay out
            while after < head:
                page = await self._log.read(joined.room.id, channel, after, head, REPLAY_PAGE)
                if not page:
                    break
                for record in page:
                    if record.seq > cut or record.kind != MESSAGE:
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

    async def leave(self, sink: Sink) -> None:
        entry = self._by_sink.pop(sink.id, None)
        if entry is None:
            return
        room, sub = entry
        room.subs.pop(sink.id, None)
        if sub.arrived:
            await self._broker.depart(room.info.id, sub.member)
            await self._presence_changed(room)
            self._broker.publish(room.info.id, PresenceHint())
        if not room.subs and self._rooms.get(room.info.id) is room:
            del self._rooms[room.info.id]
            await self._broker.unsubscribe(room.info.id)

    def post(
        self, sink: Sink, client_id: str, channel: str, body: str, kind: str = MESSAGE
    ) -> "asyncio.Future[StoredMessage]":
        """Through the door (may this member write this here, now?), then to the log."""
        room, sub = self._joined(sink)
        draft = door.draft(room.info, sub.member, Write(kind, channel, client_id, body), sink.id)
        return self._log.append(draft)

    def moderate(
        self, sink: Sink, client_id: str, kind: str, body: str, channel: str = ROOM
    ) -> "asyncio.Future[StoredMessage]":
        """A moderator's action: a state change, floor control, a caucus, a hand-off.
        Whether it is allowed in the room's state is decided inside the commit, so two
        racing moves cannot both win."""
        return self.post(sink, client_id, channel, body, kind)

    def transition(
        self, sink: Sink, client_id: str, to: str, reason: str, brief: str = ""
    ) -> "asyncio.Future[StoredMessage]":
        """Move the room to `to`; a `brief` for whoever picks it up next goes in the notes
        first (an escalation's hand-off), under an id derived from `client_id`."""
        if brief:
            brief_id = "brief:" + hashlib.sha256(client_id.encode()).hexdigest()[:32]
            self.moderate(sink, brief_id, HANDOFF, handoff_body(brief), NOTES)
        return self.moderate(sink, client_id, STATE, state_body(to, reason))

    def floor(
        self,
        sink: Sink,
        client_id: str,
        action: str,
        party: str | None,
        minutes: int,
        reason: str,
    ) -> "asyncio.Future[StoredMessage]":
        """Mute or unmute a party, pause or resume the room (moderators only)."""
        try:
            body = floor_body(action, party, minutes, reason)
        except ValueError as exc:
            raise RoomError(str(exc)) from None
        return self.moderate(sink, client_id, FLOOR, body)

    def rate(
        self, sink: Sink, client_id: str, rating: int, comment: str
    ) -> "asyncio.Future[StoredMessage]":
        """A party's satisfaction rating, in its own private channel with the moderator."""
        _, sub = self._joined(sink)
        if sub.member.role not in PARTIES:
            raise Forbidden("only the client and the freelancer rate the mediation")
        channel = caucus_of(sub.member.role)
        return self.post(sink, client_id, channel, csat_body(rating, comment), CSAT)

    def typing(self, sink: Sink, channel: str) -> None:
        """Best effort and never stored: a typing hint goes where its author may write."""
        room, sub = self._joined(sink)
        if channel not in CHANNELS or not can_write(sub.member.role, channel):
            return
        hint = Typing(sub.member.user, sub.member.role, channel)
        room.show_typing(hint, sink.id)
        self._broker.publish(room.info.id, hint)

    def amend(
        self, sink: Sink, client_id: str, channel: str, target: int, text: str | None
    ) -> "asyncio.Future[StoredMessage]":
        """Edit (new `text`) or retract (`text` None) one's own message. The original stays;
        the log checks the target really is the sender's message."""
        kind = RETRACT if text is None else EDIT
        return self.post(sink, client_id, channel, records.encode(Amendment(target, text)), kind)

    def redact(
        self, sink: Sink, client_id: str, channel: str, target: int, reason: str
    ) -> "asyncio.Future[StoredMessage]":
        """Remove the text of message `target` (and its edits) for good: a moderator's
        `redaction` record in its channel; the commit checks the target and destroys the
        ciphertexts (rooms.redaction)."""
        return self.moderate(sink, client_id, REDACTION, redaction.body(target, reason), channel)

    def committed(self, records: Sequence[StoredMessage]) -> None:
        """Freshly committed here: deliver locally and tell the other processes."""
        for record in records:
            self._accept(record)
            self._broker.publish(record.room_id, record)
            self.queue.touched(record.room_id)

    def remote(self, room_id: str, event: RoomTraffic) -> None:
        """Traffic from another process."""
        room = self._rooms.get(room_id)
        if isinstance(event, PresenceHint):
            if room is not None:
                self._spawn(self._presence_changed(room))
        elif isinstance(event, RoomStale):
            if room is not None:
                self._spawn(self._catch_up(room))
        elif isinstance(event, Typing):
            if room is not None:
                room.show_typing(event, None)
        elif isinstance(event, QueueHint):
            self.queue.remote(room_id)
        else:
            self._accept(event)

    def resync(self) -> None:
        for room in list(self._rooms.values()):
            self._spawn(self._catch_up(room))

    def _accept(self, record: StoredMessage) -> None:
        room = self._rooms.get(record.room_id)
        if room is None:
            loading = self._loading.get(record.room_id)
            if loading is not None:  # kept until the room is live (`_live`)
                loading.arrived.append(record)
            return
        room.accept(record)
        for channel, (after, upto) in room.order.gaps().items():
            self._fill(room, channel, after, upto)

    def _fill(self, room: LiveRoom, channel: str, after: int, upto: int) -> None:
        key = (room.info.id, channel)
        if key not in self._filling:
            self._filling.add(key)
            self._spawn(self._read_gap(room, channel, after, upto))

    async def _read_gap(self, room: LiveRoom, channel: str, after: int, upto: int) -> None:
        try:
            for record in await self._log.read(room.info.id, channel, after, upto, upto - after):
                room.accept(record)
        except Exception as exc:  # the next record or resync tries again
            log.warning("gap fill for room %s failed: %s", room.info.id, exc.__class__.__name__)
        finally:
            self._filling.discard((room.info.id, channel))

    async def _catch_up(self, room: LiveRoom) -> None:
        heads = await self._log.heads(room.info.id)
        for channel, head in heads.items():
            delivered = room.order.delivered.get(channel, 0)
            if head > delivered:
                self._fill(room, channel, delivered, head)

    async def _presence_changed(self, room: LiveRoom) -> None:
        room.show(await self._broker.online(room.info.id))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._tasks.discard)

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
        # First listen, then read: what is committed (here or elsewhere) while the marks
        # are read is kept, and goes through the room's gate once it is live.
        loading = self._loading.setdefault(room_id, _Loading())
        loading.readers += 1
        try:
            await self._broker.subscribe(room_id)
            heads = await self._log.heads(room_id)
            # Read again after the heads: the state and floor then include every record up
            # to them (live delivery starts after them); a record both reflects and delivers
            # again lands on the same state, as each one sets its own values.
            info = await self._directory.get(room_id) or info
        finally:
            loading.readers -= 1
            if not loading.readers:
                del self._loading[room_id]
        room = self._rooms.get(room_id)
        if room is None:
            room = self._rooms[room_id] = LiveRoom(info, heads)
            for record in loading.arrived:
                self._accept(record)
        return room

    async def floor_of(self, room_id: str) -> Floor:
        """Mutes and pauses of a room, for writes that come without a socket (files):
        as delivered here if the room is live, else as the room's row holds them."""
        room = self._rooms.get(room_id)
        if room is not None:
            return room.floor
        info = await self._directory.get(room_id)
        if info is None:
            raise NotFound(f"no room {room_id}")
        return info.floor
