"""The one door (rooms.door), without a server: who may write which record where, now."""

import pytest

from rooms import door
from rooms.door import KnownRoom, Write
from rooms.errors import Forbidden, RoomClosed, RoomError
from rooms.floor import Floor, floor_body
from rooms.kinds import CAUCUS, CSAT, FLOOR, HANDOFF, JOINED, MESSAGE, OVERDUE, STATE
from rooms.ports import Member
from rooms.visibility import (
    CAUCUS_CLIENT,
    CAUCUS_FREELANCER,
    CHANNELS,
    JOINT,
    NOTES,
    ROOM,
    Role,
    can_write,
)

CLIENT = Member("alice", Role.CLIENT)
FREELANCER = Member("bob", Role.FREELANCER)
MODERATOR = Member("mod-1", Role.MODERATOR)
AUDITOR = Member("aud-1", Role.AUDITOR)
EVERYONE = (CLIENT, FREELANCER, MODERATOR, AUDITOR)


def room(state: str = "mediating", floor: Floor | None = None) -> KnownRoom:
    return KnownRoom("r_1", state, floor or Floor())


def write(kind: str = MESSAGE, channel: str = JOINT) -> Write:
    return Write(kind, channel, "c-1", "hello")


@pytest.mark.parametrize("member", EVERYONE, ids=lambda m: m.role)
@pytest.mark.parametrize("channel", CHANNELS)
def test_a_message_goes_where_its_writers_role_may_write(member: Member, channel: str) -> None:
    if can_write(member.role, channel):
        made = door.draft(room(), member, write(MESSAGE, channel), origin="conn-1")
        assert (made.room_id, made.channel, made.sender_user, made.sender_role) == (
            "r_1",
            channel,
            member.user,
            member.role,
        )
        assert (made.client_id, made.body, made.origin, made.kind) == (
            "c-1",
            "hello",
            "conn-1",
            MESSAGE,
        )
    else:
        with pytest.raises(Forbidden):
            door.draft(room(), member, write(MESSAGE, channel))


def test_an_unknown_channel_is_invalid_for_everyone() -> None:
    for member in EVERYONE:
        with pytest.raises(RoomError) as refused:
            door.draft(room(), member, write(MESSAGE, "lobby"))
        assert refused.value.code == "invalid"


def test_nothing_is_written_to_a_closed_room() -> None:
    with pytest.raises(RoomClosed):
        door.draft(room("closed"), CLIENT, write())
    with pytest.raises(RoomClosed):
        door.draft(room("closed"), CLIENT, Write(JOINED, ROOM, "joined:client", "{}"))


@pytest.mark.parametrize("kind", [STATE, FLOOR, CAUCUS, HANDOFF])
def test_moderator_actions_are_a_moderators_alone(kind: str) -> None:
    channel = NOTES if kind == HANDOFF else ROOM
    assert door.draft(room(), MODERATOR, write(kind, channel)).kind == kind
    for member in (CLIENT, FREELANCER, AUDITOR):
        with pytest.raises(Forbidden):
            door.draft(room(), member, write(kind, channel))


def test_a_moderator_action_is_left_to_the_commit_in_any_state() -> None:
    """Whether a move is allowed from the room's state is decided on the locked row:
    two racing claims cannot both pass, and a closed room refuses in the commit."""
    assert door.draft(room("closed"), MODERATOR, write(STATE, ROOM)).kind == STATE


def test_a_muted_party_writes_nothing_but_the_moderator_still_does() -> None:
    muted = Floor()
    muted.apply(floor_body("mute", Role.CLIENT, 10, "calm down"))
    with pytest.raises(Forbidden):
        door.draft(room(floor=muted), CLIENT, write())
    assert door.draft(room(floor=muted), FREELANCER, write()).sender_user == "bob"
    assert door.draft(room(floor=muted), MODERATOR, write()).sender_user == "mod-1"


def test_a_first_join_is_recorded_even_for_a_muted_party_never_for_an_auditor() -> None:
    muted = Floor()
    muted.apply(floor_body("mute", Role.CLIENT, 10, ""))
    joined = Write(JOINED, ROOM, "joined:client", "{}")
    assert door.draft(room(floor=muted), CLIENT, joined).channel == ROOM
    with pytest.raises(Forbidden):
        door.draft(room(), AUDITOR, Write(JOINED, ROOM, "joined:auditor", "{}"))
    with pytest.raises(Forbidden):
        door.draft(room(), CLIENT, Write(JOINED, JOINT, "joined:client", "{}"))


def test_a_rating_is_a_partys_in_its_own_caucus() -> None:
    assert door.draft(room("resolved"), CLIENT, write(CSAT, CAUCUS_CLIENT)).kind == CSAT
    assert door.draft(room("resolved"), FREELANCER, write(CSAT, CAUCUS_FREELANCER)).kind == CSAT
    with pytest.raises(Forbidden):
        door.draft(room("resolved"), CLIENT, write(CSAT, CAUCUS_FREELANCER))
    with pytest.raises(Forbidden):
        door.draft(room("resolved"), MODERATOR, write(CSAT, NOTES))


def test_the_servers_own_records_carry_its_voice() -> None:
    alarm = door.system_draft("r_1", Write(OVERDUE, NOTES, "alarm:x", "{}"))
    assert (alarm.sender_user, alarm.sender_role, alarm.origin) == ("mediation", "system", "")
    with pytest.raises(RoomError):
        door.system_draft("r_1", Write(OVERDUE, "lobby", "alarm:x", "{}"))
