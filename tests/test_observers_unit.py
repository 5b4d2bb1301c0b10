"""Observers and co-moderators without a server: the door, the channel table and the
workflow's rules (rooms.visibility, rooms.door, rooms.comoderators, rooms.workflow)."""

import pytest

from rooms import comoderators, door
from rooms.door import KnownRoom, Write
from rooms.errors import Forbidden, RoomError
from rooms.floor import Floor, floor_body
from rooms.kinds import (
    CAUCUS,
    COMODERATOR,
    DEADLINE,
    EVIDENCE_REQUEST,
    FLOOR,
    HANDOFF,
    JOINED,
    MESSAGE,
    PROPOSAL,
    REDACTION,
    STATE,
)
from rooms.lifecycle import State
from rooms.ports import Member
from rooms.visibility import (
    CAUCUS_CLIENT,
    CAUCUS_FREELANCER,
    CHANNELS,
    JOINT,
    NOTES,
    ROOM,
    Role,
    can_read,
    readable,
    sees_presence_of,
)
from rooms.workflow import handoff_body
from tests.test_workflow_unit import CLIENT, MODERATOR, SECOND, Mediation, mediating

OBSERVER = Member("trainee-1", Role.OBSERVER)
THIRD = Member("m-3", Role.MODERATOR)


def known(state: str = State.MEDIATING) -> KnownRoom:
    return KnownRoom("r_1", state, Floor())


# -- the observer ----------------------------------------------------------------------


def test_an_observer_reads_every_channel_a_moderator_reads() -> None:
    assert readable(Role.OBSERVER) == readable(Role.MODERATOR) == CHANNELS
    assert all(can_read(Role.OBSERVER, c) for c in (NOTES, CAUCUS_CLIENT, CAUCUS_FREELANCER))


WRITES = [(MESSAGE, channel) for channel in CHANNELS] + [
    (STATE, ROOM),
    (FLOOR, ROOM),
    (CAUCUS, ROOM),
    (HANDOFF, NOTES),
    (PROPOSAL, JOINT),
    (DEADLINE, ROOM),
    (EVIDENCE_REQUEST, JOINT),
    (REDACTION, JOINT),
    (COMODERATOR, ROOM),
    (JOINED, ROOM),  # not even its join: the parties are not told of it
]


@pytest.mark.parametrize(("kind", "channel"), WRITES, ids=lambda v: str(v))
def test_an_observer_writes_nothing_anywhere(kind: str, channel: str) -> None:
    with pytest.raises(Forbidden):
        door.check(known(), OBSERVER, kind, channel)
    if (kind, channel) not in ((JOINED, ROOM), (MESSAGE, ROOM)):  # nobody sends to `room`
        door.check(known(), MODERATOR, kind, channel)  # the refusal is the role's


def test_an_observers_write_is_refused_in_the_commit_too() -> None:
    m = mediating()
    m.refused("forbidden", OBSERVER, STATE, ROOM, '{"to":"resolved"}', 5)
    m.refused("forbidden", OBSERVER, COMODERATOR, ROOM, comoderators.body("m-2", True), 5)
    m.refused("forbidden", OBSERVER, FLOOR, ROOM, floor_body("mute", "client", 5, ""), 5)


def test_observers_are_hidden_from_the_parties_and_seen_by_staff() -> None:
    assert not sees_presence_of(Role.CLIENT, Role.OBSERVER)
    assert not sees_presence_of(Role.ARBITRATOR, Role.OBSERVER)
    assert sees_presence_of(Role.MODERATOR, Role.OBSERVER)
    assert not sees_presence_of(Role.OBSERVER, Role.AUDITOR)


# -- co-moderators ---------------------------------------------------------------------


def name(m: Mediation, who: Member, user: str, add: bool = True, seconds: float = 5) -> None:
    m.write(who, COMODERATOR, ROOM, comoderators.body(user, add), seconds)


def test_the_lead_adds_and_removes_co_moderators_each_a_record() -> None:
    m = mediating()
    name(m, MODERATOR, "m-2")
    name(m, MODERATOR, "m-3")
    assert m.room.facts.comoderators == ["m-2", "m-3"]
    name(m, MODERATOR, "m-2", add=False)
    assert m.room.facts.comoderators == ["m-3"]
    assert m.heads[ROOM] == 4  # the claim, then three comoderator records
    reloaded = m.reloaded()  # kept in clear, for the queue to filter on
    assert reloaded.room.facts.comoderators == ["m-3"]
    assert m.workflow.dump(m.room)[0]["comoderators"] == ["m-3"]


def test_only_the_lead_names_co_moderators() -> None:
    m = mediating()
    name(m, MODERATOR, "m-2")
    refused = m.refused("forbidden", SECOND, COMODERATOR, ROOM, comoderators.body("m-3", True))
    assert "lead" in str(refused)
    m.refused("forbidden", CLIENT, COMODERATOR, ROOM, comoderators.body("m-3", True))
    with pytest.raises(Forbidden):  # a party is refused at the door already
        door.check(known(), CLIENT, COMODERATOR, ROOM)


def test_co_moderator_changes_that_change_nothing_are_refused() -> None:
    m = mediating()
    name(m, MODERATOR, "m-2")
    m.refused("conflict", MODERATOR, COMODERATOR, ROOM, comoderators.body("m-2", True))
    m.refused("conflict", MODERATOR, COMODERATOR, ROOM, comoderators.body("m-9", False))
    m.refused("invalid", MODERATOR, COMODERATOR, ROOM, comoderators.body("m-1", True))
    for n in range(3, 3 + comoderators.MAX_COMODERATORS - 1):
        name(m, MODERATOR, f"m-{n}")
    m.refused("conflict", MODERATOR, COMODERATOR, ROOM, comoderators.body("m-99", True))


def test_co_moderators_need_a_room_in_mediation() -> None:
    m = Mediation()  # waiting: nobody leads yet
    m.refused("conflict", MODERATOR, COMODERATOR, ROOM, comoderators.body("m-2", True))


def test_a_co_moderator_writes_as_a_moderator() -> None:
    m = mediating()
    name(m, MODERATOR, "m-2")
    note = m.say(SECOND, NOTES, 10, "I take the freelancer's caucus")
    assert (note.channel, note.sender_user) == (NOTES, "m-2")
    m.say(SECOND, CAUCUS_FREELANCER, 11)
    m.write(SECOND, FLOOR, ROOM, floor_body("pause", None, 5, "cool down"), 12)
    assert m.room.facts.floor.paused is not None


def test_a_hand_over_to_a_co_moderator_swaps_the_two() -> None:
    m = mediating()
    name(m, MODERATOR, "m-2")
    name(m, MODERATOR, "m-3")
    m.write(MODERATOR, HANDOFF, NOTES, handoff_body("you lead from here", "m-2"), 20)
    assert m.room.facts.moderator == "m-2"
    assert m.room.facts.comoderators == ["m-3", "m-1"]
    assert m.workflow.queue_fields(m.room).moderator == "m-2"
    name(m, SECOND, "m-3", add=False, seconds=21)  # the new lead manages the team
    m.refused("forbidden", MODERATOR, COMODERATOR, ROOM, comoderators.body("m-4", True))


def test_a_transfer_to_someone_else_leaves_the_team_and_drops_the_old_lead() -> None:
    m = mediating()
    name(m, MODERATOR, "m-2")
    m.write(MODERATOR, HANDOFF, NOTES, handoff_body("over to you", "m-9"), 20)
    assert (m.room.facts.moderator, m.room.facts.comoderators) == ("m-9", ["m-2"])


def test_an_escalation_empties_the_team() -> None:
    m = mediating()
    name(m, MODERATOR, "m-2")
    m.move(MODERATOR, State.ESCALATED, 30)
    assert (m.room.facts.moderator, m.room.facts.comoderators) == (None, [])
    m.move(THIRD, State.MEDIATING, 40)
    assert (m.room.facts.moderator, m.room.facts.comoderators) == ("m-3", [])


def test_the_door_keeps_co_moderator_records_in_the_room_channel() -> None:
    with pytest.raises(RoomError, match="room channel") as refusal:
        door.draft(known(), MODERATOR, Write(COMODERATOR, NOTES, "c", "{}"))
    assert refusal.value.code == "invalid"
