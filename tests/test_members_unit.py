"""More people per party (rooms.members) under the workflow's rules, without a server:
each side's people kept in the facts, membership records only in the server's voice,
admission by side, and acceptance by the side (any member, or its decision-maker)."""

from dataclasses import replace

import pytest

from rooms import door, members
from rooms.errors import Forbidden
from rooms.floor import Floor
from rooms.hub import admit
from rooms.kinds import MEMBER_ADDED, MEMBER_REMOVED, RESPONSE, SYSTEM_ROLE, SYSTEM_USER
from rooms.lifecycle import State
from rooms.ports import Member, RoomInfo
from rooms.records import MemberBody, encode
from rooms.settlement import response_body
from rooms.visibility import JOINT, ROOM, Role
from rooms.workflow import Room, Workflow
from tests.records import at
from tests.test_workflow_unit import CLIENT, FREELANCER, MODERATOR, TARGETS, Mediation

SERVER = Member(SYSTEM_USER, SYSTEM_ROLE)  # type: ignore[arg-type]
ANNA = Member("c-2", Role.CLIENT)  # the client side's second member
PARTIES = {"client": CLIENT.user, "freelancer": FREELANCER.user}


def mediation(acceptance: str = members.ANY) -> Mediation:
    workflow = Workflow(TARGETS, side_acceptance=acceptance)
    room = workflow.opened(State.WAITING, at(0), parties=PARTIES)
    m = Mediation(room)
    m.workflow = workflow
    return m


def change(m: Mediation, kind: str, user: str, side: str, decides: bool = False) -> None:
    m.write(SERVER, kind, ROOM, encode(MemberBody(user, side, "platform", decides)))


def mediating(acceptance: str = members.ANY) -> Mediation:
    m = mediation(acceptance)
    m.move(MODERATOR, State.MEDIATING)
    return m


def test_a_side_starts_with_its_first_member_and_grows_and_shrinks_by_records() -> None:
    m = mediation()
    assert members.side_of(m.room.facts.sides, PARTIES, "client").members == ["c-1"]
    change(m, MEMBER_ADDED, "c-2", "client")
    side = m.room.facts.sides["client"]
    assert (side.members, side.decision_maker) == (["c-1", "c-2"], "c-1")
    assert [e.topic for e in m.room.raised][-1] == "member.added"
    clear, sealed = m.workflow.dump(m.room)
    assert "sides" in clear and "sides" not in sealed  # ids only, as the room row's columns
    change(m, MEMBER_REMOVED, "c-1", "client")
    side = m.room.facts.sides["client"]
    assert (side.members, side.decision_maker) == (["c-2"], "c-2")  # the earliest takes over
    assert [e.topic for e in m.room.raised][-1] == "member.removed"


def test_refusals_leave_the_sides_as_they_were() -> None:
    m = mediation()
    change(m, MEMBER_ADDED, "c-2", "client")
    added = encode(MemberBody("c-2", "client", "platform"))
    m.refused("conflict", SERVER, MEMBER_ADDED, ROOM, added)  # already there
    on_other = encode(MemberBody("f-1", "client", "platform"))
    m.refused("conflict", SERVER, MEMBER_ADDED, ROOM, on_other)  # on the other side
    m.refused("invalid", SERVER, MEMBER_ADDED, ROOM, encode(MemberBody("x", "moderator", "p")))
    last = encode(MemberBody("f-1", "freelancer", "platform"))
    m.refused("conflict", SERVER, MEMBER_REMOVED, ROOM, last)  # a side keeps one person
    gone = encode(MemberBody("nobody", "client", "platform"))
    m.refused("conflict", SERVER, MEMBER_REMOVED, ROOM, gone)
    m.refused("forbidden", MODERATOR, MEMBER_ADDED, ROOM, encode(MemberBody("z", "client", "m")))


@pytest.mark.parametrize("who", [CLIENT, MODERATOR, FREELANCER])
def test_nobody_writes_a_membership_record_through_the_door(who: Member) -> None:
    here = door.KnownRoom("r", State.MEDIATING, Floor())
    with pytest.raises(Forbidden):
        door.check(here, who, MEMBER_ADDED, ROOM)


def test_admission_follows_the_sides_live_and_from_the_row() -> None:
    info = RoomInfo("r", "local", "T", "c-1", "f-1", State.MEDIATING)
    admit(info, CLIENT)
    with pytest.raises(Forbidden):
        admit(info, ANNA)
    record = mediation().write(SERVER, MEMBER_ADDED, ROOM, encode(MemberBody("c-2", "client", "p")))
    firsts = {"client": "c-1", "freelancer": "f-1"}
    grown = replace(info, members=members.reflect(info.members, firsts, record[0]))
    admit(grown, ANNA)
    admit(grown, CLIENT)
    admit(grown, FREELANCER)  # the other side never changed: its column decides
    with pytest.raises(Forbidden):
        admit(grown, Member("c-2", Role.FREELANCER))
    sides = {"client": {"members": ["c-2"], "decision_maker": "c-2"}}
    from_row = members.admitted(sides)
    assert from_row == {("client", "c-2")}
    assert members.people(from_row, firsts) == [("client", "c-2"), ("freelancer", "f-1")]


def test_any_member_accepts_for_the_side_by_default() -> None:
    m = mediating()
    change(m, MEMBER_ADDED, "c-2", "client")
    offer = m.propose(FREELANCER)
    kept = m.respond(ANNA, offer.seq)
    assert m.room.state == State.RESOLVED and len(kept) == 2
    assert m.room.raised[-2].data["accepted"][-1] == {
        "role": "client",
        "user": "c-2",
        "at": kept[0].ts,
    }


def test_with_a_decision_maker_only_she_answers_for_the_side() -> None:
    m = mediating(members.DECISION_MAKER)
    change(m, MEMBER_ADDED, "c-2", "client", decides=True)
    offer = m.propose(FREELANCER)
    m.refused("not_decision_maker", CLIENT, RESPONSE, JOINT, response_body(offer.seq, "accept"))
    m.refused("not_decision_maker", CLIENT, RESPONSE, JOINT, response_body(offer.seq, "reject"))
    m.respond(ANNA, offer.seq)
    assert m.room.state == State.RESOLVED
    assert m.room.facts.settlement is not None


def test_a_proposal_by_a_member_who_does_not_decide_waits_for_the_decision_maker() -> None:
    m = mediating(members.DECISION_MAKER)
    change(m, MEMBER_ADDED, "c-2", "client", decides=True)
    offer = m.propose(CLIENT)  # c-1 proposes: her side has not accepted it yet
    assert m.room.facts.offer is not None and m.room.facts.offer.accepted == []
    m.respond(FREELANCER, offer.seq)
    assert m.room.state == State.MEDIATING  # the freelancer side accepted; the client not yet
    m.respond(ANNA, offer.seq)  # the decision-maker accepts her side's own proposal
    assert m.room.state == State.RESOLVED


def test_rooms_opened_before_keep_any_acceptance_and_their_columns() -> None:
    room: Room = Workflow(TARGETS).load(State.MEDIATING, {}, parties=PARTIES)
    assert room.facts.acceptance == members.ANY and room.facts.sides == {}
