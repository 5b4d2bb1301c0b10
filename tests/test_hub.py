"""The hub (rooms.hub) with its ports in memory: no socket, no server, no database.

The log numbers each draft in its channel as it arrives and keeps it pending until the
test commits it; a commit stores the records, resolves their writers' futures and hands
them to `hub.committed`, as the group committer does. The test chooses the order of a
commit, and can lose a commit's delivery on the way, to see the in-order gate at work.
Sinks record what they are pushed.
"""

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import msgspec
import pytest

from rooms.broker import LocalBroker
from rooms.errors import RoomError
from rooms.floor import Floor, floor_body
from rooms.hub import REPLAY_PAGE, Hub, Joined
from rooms.kinds import HANDOFF, JOINED, STATE
from rooms.lifecycle import State
from rooms.ports import Draft, Event, Member, Presence, RoomInfo, StoredMessage, Typing
from rooms.visibility import (
    CAUCUS_CLIENT,
    CAUCUS_FREELANCER,
    JOINT,
    NOTES,
    ROOM,
    Role,
    readable,
)
from rooms.workflow import caucus_body, state_body
from tests.records import Record, at, numbered

ROOM_ID = "r_1"
CLIENT = Member("c-1", Role.CLIENT)
FREELANCER = Member("f-1", Role.FREELANCER)
MODERATOR = Member("m-1", Role.MODERATOR)
AUDITOR = Member("a-1", Role.AUDITOR)


class MemoryLog:
    """The MessageLog port in a dict: drafts numbered per channel on arrival, stored when
    the test commits them."""

    def __init__(self) -> None:
        self.deliver: Callable[[Sequence[StoredMessage]], None] = lambda records: None
        self.stored: dict[tuple[str, str], dict[int, Record]] = defaultdict(dict)
        self.pending: list[tuple[Record, asyncio.Future[StoredMessage]]] = []
        self.reads: list[tuple[str, int, int]] = []  # (channel, after, upto) asked for
        self._numbers: dict[tuple[str, str], int] = {}
        self._keys: dict[tuple[str, str, str], Record] = {}

    def append(self, draft: Draft) -> "asyncio.Future[StoredMessage]":
        future: asyncio.Future[StoredMessage] = asyncio.get_running_loop().create_future()
        key = (draft.room_id, draft.sender_user, draft.client_id)
        known = self._keys.get(key)
        if known is not None:  # the idempotency key was seen: the original, as a duplicate
            future.set_result(replace(known, origin=draft.origin, duplicate=True))
            return future
        channel = (draft.room_id, draft.channel)
        seq = self._numbers[channel] = self._numbers.get(channel, 0) + 1
        record = numbered(draft, seq, at(seq))
        self._keys[key] = record
        self.pending.append((record, future))
        return future

    def commit(self, *chosen: Record, tell: bool = True) -> list[Record]:
        """Store the pending records named (in that order), or all of them; resolve their
        futures (the acks), then deliver them to the hub, unless `tell` is False: another
        process committed them and its broker message was lost."""
        waiting = dict(self.pending)
        order = list(chosen) or list(waiting)
        for record in order:
            self.stored[record.room_id, record.channel][record.seq] = record
            waiting.pop(record).set_result(record)
        self.pending = list(waiting.items())
        if tell:
            self.deliver(order)
        return order

    def drafts(self) -> list[tuple[str, str, str]]:
        """What waits to be committed: (channel, kind, sender)."""
        return [(r.channel, r.kind, r.sender_user) for r, _ in self.pending]

    async def heads(self, room_id: str) -> dict[str, int]:
        return {c: max(seqs) for (r, c), seqs in self.stored.items() if r == room_id and seqs}

    async def read(
        self, room_id: str, channel: str, after: int, upto: int, limit: int
    ) -> Sequence[StoredMessage]:
        self.reads.append((channel, after, upto))
        kept = self.stored[room_id, channel]
        return [kept[seq] for seq in sorted(kept) if after < seq <= upto][:limit]


class MemoryDirectory:
    """The RoomDirectory port: each read is a fresh copy, as a row read from the store is."""

    def __init__(self, *rooms: RoomInfo) -> None:
        self.rooms = {info.id: info for info in rooms}

    async def get(self, room_id: str) -> RoomInfo | None:
        info = self.rooms.get(room_id)
        if info is None:
            return None
        return replace(info, floor=msgspec.convert(msgspec.to_builtins(info.floor), Floor))


@dataclass
class RecordingSink:
    """One connection: keeps everything it is pushed, in order."""

    id: str
    got: list[Event] = field(default_factory=list)

    def push(self, event: Event) -> None:
        self.got.append(event)

    def records(self, channel: str | None = None) -> list[StoredMessage]:
        return [
            e
            for e in self.got
            if not isinstance(e, Presence | Typing) and channel in (None, e.channel)
        ]

    def seqs(self, channel: str) -> list[int]:
        return [r.seq for r in self.records(channel)]

    def channels(self) -> set[str]:
        return {r.channel for r in self.records()}

    def presence(self) -> list[tuple[str, bool]]:
        return [(e.user, e.online) for e in self.got if isinstance(e, Presence)]

    def typing(self) -> list[tuple[str, str]]:
        return [(e.user, e.channel) for e in self.got if isinstance(e, Typing)]

    def clear(self) -> None:
        self.got.clear()


@dataclass
class World:
    log: MemoryLog
    directory: MemoryDirectory
    hub: Hub

    async def join(
        self, member: Member, device: int = 1, room_id: str = ROOM_ID
    ) -> tuple[RecordingSink, Joined]:
        sink = RecordingSink(f"{member.user}/{device}")
        return sink, await self.hub.join(room_id, member, sink)

    async def everyone(self) -> dict[str, RecordingSink]:
        """Client (two devices), freelancer, moderator and auditor in the room, their first
        joins committed and what they were told so far forgotten."""
        sinks = {
            "client": (await self.join(CLIENT))[0],
            "client2": (await self.join(CLIENT, 2))[0],
            "freelancer": (await self.join(FREELANCER))[0],
            "moderator": (await self.join(MODERATOR))[0],
            "auditor": (await self.join(AUDITOR))[0],
        }
        self.log.commit()
        for sink in sinks.values():
            sink.clear()
        return sinks

    def seed(self, channel: str, count: int, room_id: str = ROOM_ID) -> None:
        """`count` messages committed in `channel` before anyone here is told."""
        for n in range(count):
            seeded = f"seed-{channel}-{n}"
            self.log.append(Draft(room_id, channel, "m-0", Role.MODERATOR, seeded, "x", ""))
        self.log.commit()


def room_info(state: str = State.MEDIATING, floor: Floor | None = None) -> RoomInfo:
    return RoomInfo(ROOM_ID, "local", "T-1", "c-1", "f-1", state, floor or Floor())


@pytest.fixture
def world() -> World:
    log = MemoryLog()
    directory = MemoryDirectory(room_info())
    hub = Hub(log, directory, LocalBroker())
    log.deliver = hub.committed
    return World(log, directory, hub)


async def settle() -> None:
    """Let the hub's background work (gap reads, presence from the broker) finish."""
    for _ in range(20):
        await asyncio.sleep(0)


def refusal(write: Callable[[], object]) -> str:
    """The wire code `write` is refused with."""
    with pytest.raises(RoomError) as refused:
        write()
    return refused.value.code


# -- admission -------------------------------------------------------------------------


async def test_a_party_must_be_the_rooms_own_client_or_freelancer(world: World) -> None:
    for impostor in (Member("mallory", Role.CLIENT), Member("c-1", Role.FREELANCER)):
        with pytest.raises(RoomError) as refused:
            await world.join(impostor)
        assert refused.value.code == "forbidden"
    assert world.hub.rooms == {}  # a refused join leaves nothing behind
    await world.join(Member("any-moderator", Role.MODERATOR))
    await world.join(Member("any-auditor", Role.AUDITOR))
    _, joined = await world.join(CLIENT)
    assert joined.member == CLIENT
    with pytest.raises(RoomError) as refused:  # the room is live now: checked all the same
        await world.join(Member("mallory", Role.CLIENT))
    assert refused.value.code == "forbidden"
    assert len(world.hub.rooms[ROOM_ID].subs) == 3


async def test_an_unknown_room_is_not_found(world: World) -> None:
    with pytest.raises(RoomError) as refused:
        await world.join(MODERATOR, room_id="r_nowhere")
    assert refused.value.code == "not_found"
    with pytest.raises(RoomError) as refused:
        await world.hub.floor_of("r_nowhere")
    assert refused.value.code == "not_found"
    assert world.hub.rooms == {}


async def test_a_first_join_is_recorded_once_per_person_never_for_an_auditor(
    world: World,
) -> None:
    await world.join(CLIENT)
    await world.join(CLIENT, 2)
    await world.join(AUDITOR)
    await world.join(MODERATOR)
    assert world.log.drafts() == [(ROOM, JOINED, "c-1"), (ROOM, JOINED, "m-1")]


# -- fan-out ---------------------------------------------------------------------------


async def test_a_record_reaches_every_reader_of_its_channel_but_the_connection_it_came_from(
    world: World,
) -> None:
    sinks = await world.everyone()
    said = world.hub.post(sinks["client"], "c1", JOINT, "hello")
    assert not said.done()  # acked once committed
    (record,) = world.log.commit()
    assert said.result() == record
    assert {name for name, s in sinks.items() if s.records()} == {
        "client2",  # the sender's other device gets it
        "freelancer",
        "moderator",
        "auditor",
    }
    for sink in sinks.values():
        sink.clear()
    world.hub.post(sinks["moderator"], "m1", CAUCUS_CLIENT, "between us")
    world.hub.post(sinks["moderator"], "m2", NOTES, "for staff")
    world.log.commit()
    assert {name: s.channels() for name, s in sinks.items()} == {
        "client": {CAUCUS_CLIENT},
        "client2": {CAUCUS_CLIENT},
        "freelancer": set(),  # another party's caucus and the notes are never a party's
        "moderator": set(),
        "auditor": {CAUCUS_CLIENT, NOTES},
    }


async def test_a_caucus_between_the_moderator_and_the_freelancer_stays_between_them(
    world: World,
) -> None:
    sinks = await world.everyone()
    world.hub.moderate(sinks["moderator"], "open", "caucus", caucus_body("freelancer", True))
    world.hub.post(sinks["moderator"], "m1", CAUCUS_FREELANCER, "what really happened?")
    world.hub.post(sinks["freelancer"], "f1", CAUCUS_FREELANCER, "I was late")
    world.log.commit()
    for name in ("client", "client2"):
        assert sinks[name].channels() == {ROOM}  # they see a caucus runs, never what is said
    assert sinks["freelancer"].seqs(CAUCUS_FREELANCER) == [1]
    assert sinks["moderator"].seqs(CAUCUS_FREELANCER) == [2]
    assert sinks["auditor"].seqs(CAUCUS_FREELANCER) == [1, 2]


# -- the in-order gate ---------------------------------------------------------------


async def test_records_committed_out_of_order_are_delivered_in_order_once(world: World) -> None:
    sinks = await world.everyone()
    for n in range(3):
        world.hub.post(sinks["client"], f"c{n}", JOINT, f"message {n}")
    first, second, third = (record for record, _ in world.log.pending)
    world.log.commit(third, first, second)
    assert sinks["freelancer"].seqs(JOINT) == [1, 2, 3]
    world.hub.remote(ROOM_ID, second)  # the same record again, through the broker
    await settle()  # and the gap read `third` asked for, which finds them delivered
    for name in ("client2", "freelancer", "moderator", "auditor"):
        assert sinks[name].seqs(JOINT) == [1, 2, 3], name


async def test_a_record_lost_on_the_way_is_read_from_the_log(world: World) -> None:
    sinks = await world.everyone()
    for n in range(3):
        world.hub.post(sinks["client"], f"c{n}", JOINT, f"message {n}")
    first, second, third = (record for record, _ in world.log.pending)
    world.log.commit(first, second, tell=False)  # another process's, never announced
    world.log.commit(third)
    assert sinks["freelancer"].seqs(JOINT) == []  # held: 1 and 2 come first
    await settle()
    assert world.log.reads == [(JOINT, 0, 2)]
    for name in ("client2", "freelancer", "moderator", "auditor"):
        assert sinks[name].seqs(JOINT) == [1, 2, 3], name


async def test_a_resync_catches_up_with_what_the_log_holds(world: World) -> None:
    sinks = await world.everyone()
    world.hub.post(sinks["client"], "c1", JOINT, "lost with the broker")
    world.log.commit(tell=False)
    world.hub.resync()  # the broker reconnected: messages may have been lost
    await settle()
    assert sinks["freelancer"].seqs(JOINT) == [1]


# -- replay on join ------------------------------------------------------------------


async def test_replay_and_live_delivery_meet_with_nothing_missed_or_doubled(
    world: World,
) -> None:
    world.seed(JOINT, 5)  # before the room is live here
    moderator, _ = await world.join(MODERATOR)
    world.hub.post(moderator, "m6", JOINT, "six")
    world.log.commit()  # delivered here: the room's marks are at 6
    world.hub.post(moderator, "m7", JOINT, "seven")
    (seventh,) = world.log.commit(tell=False)  # committed, not delivered here yet

    freelancer, joined = await world.join(FREELANCER)
    assert set(joined.heads) == set(readable(Role.FREELANCER))
    assert joined.heads[JOINT] == 6  # what this process delivered, not the log's 7
    world.hub.committed([seventh])  # arrives during the replay: live
    world.hub.post(moderator, "m8", JOINT, "eight")
    world.log.commit()
    replayed = [r async for r in world.hub.backlog(joined, {JOINT: 2})]
    assert [r.seq for r in replayed if r.channel == JOINT] == [3, 4, 5, 6]
    live = freelancer.seqs(JOINT)
    assert live == [7, 8]
    assert sorted([r.seq for r in replayed if r.channel == JOINT] + live) == list(range(3, 9))


async def test_a_record_committed_while_the_room_is_taken_live_reaches_the_joiner(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alarm commits while the first join here reads the room's marks (a read that
    began before the commit, so the marks stop before it): it still reaches the joiner,
    once, by the replay or live."""
    world.log.append(Draft(ROOM_ID, NOTES, "mediation", Role.MODERATOR, "alarm:1", "{}", ""))
    read_heads = world.log.heads

    async def heads_as_the_alarm_commits(room_id: str) -> dict[str, int]:
        heads = await read_heads(room_id)
        world.log.commit()  # committed and handed to the hub before the room is live
        return heads

    monkeypatch.setattr(world.log, "heads", heads_as_the_alarm_commits)
    moderator, joined = await world.join(MODERATOR)
    await settle()
    replayed = [r.seq async for r in world.hub.backlog(joined, {}) if r.channel == NOTES]
    assert replayed + moderator.seqs(NOTES) == [1]


async def test_replay_goes_page_by_page_and_only_through_readable_channels(
    world: World,
) -> None:
    world.seed(JOINT, 2 * REPLAY_PAGE + 1)
    world.seed(NOTES, 2)
    world.seed(CAUCUS_FREELANCER, 2)
    world.seed(CAUCUS_CLIENT, 1)
    _, joined = await world.join(CLIENT)
    replayed = [r async for r in world.hub.backlog(joined, {})]
    assert {r.channel for r in replayed} == {JOINT, CAUCUS_CLIENT}
    assert [r.seq for r in replayed if r.channel == JOINT] == list(range(1, 2 * REPLAY_PAGE + 2))
    assert [read for read in world.log.reads if read[0] == JOINT] == [
        (JOINT, 0, 2 * REPLAY_PAGE + 1),
        (JOINT, REPLAY_PAGE, 2 * REPLAY_PAGE + 1),
        (JOINT, 2 * REPLAY_PAGE, 2 * REPLAY_PAGE + 1),
    ]
    _, staff = await world.join(MODERATOR)
    seen = {r.channel for r in [r async for r in world.hub.backlog(staff, {})]}
    assert seen == {JOINT, NOTES, CAUCUS_CLIENT, CAUCUS_FREELANCER}


async def test_history_pages_back_through_a_readable_channel(world: World) -> None:
    world.seed(JOINT, 10)
    world.seed(NOTES, 1)
    client, _ = await world.join(CLIENT)
    latest = await world.hub.history(client, JOINT, None, 3)
    assert [r.seq for r in latest] == [8, 9, 10]
    earlier = await world.hub.history(client, JOINT, 8, 3)
    assert [r.seq for r in earlier] == [5, 6, 7]
    with pytest.raises(RoomError) as refused:
        await world.hub.history(client, NOTES, None, 3)
    assert refused.value.code == "forbidden"


# -- presence and typing -------------------------------------------------------------


async def test_presence_is_announced_to_those_who_may_know_and_auditors_stay_unseen(
    world: World,
) -> None:
    client, first = await world.join(CLIENT)
    assert first.online == [CLIENT]
    freelancer, joined = await world.join(FREELANCER)
    assert client.presence() == [("f-1", True)]
    assert set(joined.online) == {CLIENT, FREELANCER}
    auditor, _ = await world.join(AUDITOR)
    moderator, staff = await world.join(MODERATOR)
    assert set(staff.online) == {CLIENT, FREELANCER, AUDITOR, MODERATOR}
    assert client.presence() == [("f-1", True), ("m-1", True)]  # never the auditor
    assert freelancer.presence() == [("m-1", True)]
    assert auditor.presence() == [("m-1", True)]
    assert [p for p in auditor.got if isinstance(p, Presence)] == [
        Presence("m-1", Role.MODERATOR, True)
    ]

    second, _ = await world.join(FREELANCER, 2)  # a second device is no news
    await world.hub.leave(freelancer)  # nor is leaving one of two
    assert client.presence() == [("f-1", True), ("m-1", True)]
    await world.hub.leave(second)
    assert client.presence()[-1] == ("f-1", False)
    assert moderator.presence() == [("f-1", False)]
    await world.hub.leave(auditor)
    assert moderator.presence()[-1] == ("a-1", False)
    assert ("a-1", False) not in client.presence()
    await world.hub.leave(client)
    await world.hub.leave(moderator)
    assert world.hub.rooms == {}  # the last one out unloads the room


async def test_typing_reaches_readers_of_the_channel_never_its_author(world: World) -> None:
    sinks = await world.everyone()

    def typed() -> dict[str, list[tuple[str, str]]]:
        seen = {name: sink.typing() for name, sink in sinks.items()}
        for sink in sinks.values():
            sink.clear()
        return seen

    world.hub.typing(sinks["client"], CAUCUS_CLIENT)
    hint = [("c-1", CAUCUS_CLIENT)]
    assert typed() == {
        "client": [],
        "client2": [],  # the author's other device is not told either
        "freelancer": [],
        "moderator": hint,
        "auditor": hint,
    }
    world.hub.typing(sinks["client"], NOTES)  # a channel the client may not write
    world.hub.typing(sinks["client"], "lobby")
    world.hub.typing(sinks["auditor"], JOINT)  # auditors never write
    assert all(seen == [] for seen in typed().values())
    world.hub.typing(sinks["moderator"], JOINT)
    assert {name for name, seen in typed().items() if seen} == {
        "client",
        "client2",
        "freelancer",
        "auditor",
    }
    world.hub.remote(ROOM_ID, Typing("f-1", Role.FREELANCER, CAUCUS_FREELANCER))
    assert {name for name, seen in typed().items() if seen} == {"moderator", "auditor"}
    assert all(not s.records() for s in sinks.values())  # never stored, never delivered


# -- the door, and the room's state and floor as delivered ---------------------------


async def test_the_door_refuses_before_anything_reaches_the_log(world: World) -> None:
    sinks = await world.everyone()
    client, auditor, moderator = sinks["client"], sinks["auditor"], sinks["moderator"]
    assert refusal(lambda: world.hub.post(client, "x1", NOTES, "psst")) == "forbidden"
    assert refusal(lambda: world.hub.post(client, "x2", CAUCUS_FREELANCER, "hi")) == "forbidden"
    assert refusal(lambda: world.hub.post(client, "x3", "lobby", "hi")) == "invalid"
    assert refusal(lambda: world.hub.post(auditor, "x4", JOINT, "hi")) == "forbidden"
    move = state_body(State.RESOLVED, "")
    assert refusal(lambda: world.hub.moderate(client, "x5", STATE, move)) == "forbidden"
    assert refusal(lambda: world.hub.rate(moderator, "x6", 5, "")) == "forbidden"
    assert refusal(lambda: world.hub.floor(moderator, "x7", "mute", None, 5, "")) == "invalid"
    stranger = RecordingSink("never-joined")
    assert refusal(lambda: world.hub.post(stranger, "x8", JOINT, "hi")) == "forbidden"
    assert world.log.pending == []


async def test_the_room_moves_as_its_state_records_are_delivered(world: World) -> None:
    world.directory.rooms[ROOM_ID] = room_info(State.WAITING)
    sinks = await world.everyone()
    hub, moderator, client = world.hub, sinks["moderator"], sinks["client"]
    hub.transition(moderator, "claim", State.MEDIATING, "mine")
    assert hub.rooms[ROOM_ID].info.state == State.WAITING  # not before it is committed
    world.log.commit()
    assert hub.rooms[ROOM_ID].info.state == State.MEDIATING
    hub.transition(moderator, "up", State.ESCALATED, "senior look", brief="IP question")
    assert world.log.drafts() == [(NOTES, HANDOFF, "m-1"), (ROOM, STATE, "m-1")]  # brief first
    world.log.commit()
    assert hub.rooms[ROOM_ID].info.state == State.ESCALATED
    hub.transition(moderator, "close", State.CLOSED, "done")
    hub.post(client, "c1", JOINT, "last word")  # the room is not closed until committed
    world.log.commit()
    assert hub.rooms[ROOM_ID].info.state == State.CLOSED
    assert refusal(lambda: hub.post(client, "c2", JOINT, "one more")) == "room_closed"
    assert refusal(lambda: hub.post(moderator, "m1", NOTES, "note")) == "room_closed"
    # whether a move is allowed in the room's state is the commit's call, not the door's
    hub.transition(moderator, "again", State.MEDIATING, "")
    assert world.log.drafts() == [(ROOM, STATE, "m-1")]


async def test_a_state_record_from_another_process_moves_the_room_too(world: World) -> None:
    sinks = await world.everyone()
    moved = state_body(State.RESOLVED, "")
    other = Draft(ROOM_ID, ROOM, "m-9", Role.MODERATOR, "far", moved, "", STATE)
    world.log.append(other)
    (record,) = world.log.commit(tell=False)
    world.hub.remote(ROOM_ID, record)
    assert world.hub.rooms[ROOM_ID].info.state == State.RESOLVED
    assert sinks["client"].records(ROOM) == [record]


async def test_a_muted_party_is_refused_until_unmuted_and_a_pause_stops_both(
    world: World,
) -> None:
    sinks = await world.everyone()
    hub, moderator = world.hub, sinks["moderator"]
    client, freelancer = sinks["client"], sinks["freelancer"]
    hub.floor(moderator, "mute", "mute", Role.CLIENT, 10, "cool off")
    hub.post(client, "c1", JOINT, "before the mute lands")
    world.log.commit()
    with pytest.raises(RoomError, match="cool off") as refused:
        hub.post(client, "c2", JOINT, "but")
    assert refused.value.code == "forbidden"
    assert refusal(lambda: hub.post(sinks["client2"], "c3", CAUCUS_CLIENT, "but")) == "forbidden"
    hub.post(freelancer, "f1", JOINT, "thank you")
    hub.post(moderator, "m1", JOINT, "let us all calm down")
    assert set((await hub.floor_of(ROOM_ID)).muted) == {Role.CLIENT}
    hub.floor(moderator, "unmute", "unmute", Role.CLIENT, 1, "")
    world.log.commit()
    hub.post(client, "c4", JOINT, "sorry")
    hub.floor(moderator, "pause", "pause", None, 10, "break")
    world.log.commit()
    assert refusal(lambda: hub.post(client, "c5", JOINT, "hi")) == "forbidden"
    assert refusal(lambda: hub.post(freelancer, "f2", JOINT, "hi")) == "forbidden"
    hub.post(moderator, "m2", JOINT, "back in ten")


async def test_a_room_taken_live_reads_its_state_and_floor_from_the_directory(
    world: World,
) -> None:
    muted = Floor()
    muted.apply(floor_body("mute", Role.FREELANCER, 60, "stored"))
    world.directory.rooms[ROOM_ID] = room_info(State.MEDIATING, muted)
    assert set((await world.hub.floor_of(ROOM_ID)).muted) == {Role.FREELANCER}  # not live
    freelancer, joined = await world.join(FREELANCER)
    assert joined.room.state == State.MEDIATING
    assert refusal(lambda: world.hub.post(freelancer, "f1", JOINT, "hi")) == "forbidden"
    world.directory.rooms["r_2"] = replace(room_info(State.CLOSED), id="r_2")
    client, closed = await world.join(CLIENT, room_id="r_2")  # a closed room is still read
    assert closed.room.state == State.CLOSED
    assert refusal(lambda: world.hub.post(client, "c1", JOINT, "hi")) == "room_closed"
