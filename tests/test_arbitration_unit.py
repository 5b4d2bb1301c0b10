"""Arbitration's rules (rooms.arbitration), without a server: at the door and in the commit.

A moderator fails the mediation (with a reason): the server opens the window. A party's
opt-in inside it moves the room to arbitration; after it, `window_closed`. Only the
arbitrator decides, only in arbitration; the resolution with the decision's terms follows.
Nobody opting in: the scheduler's close, once, after the window.
"""

from datetime import timedelta

import msgspec
import pytest

from rooms import door, events
from rooms.arbitration import KINDS, decision_body, opt_in_body
from rooms.door import KnownRoom, Write
from rooms.errors import Forbidden, RoomError
from rooms.floor import Floor
from rooms.kinds import (
    ARBITRATION_OPT_IN,
    ARBITRATION_WINDOW,
    DECISION,
    STATE,
    SYSTEM_ROLE,
)
from rooms.lifecycle import State, moderator_moves
from rooms.ports import Draft, Member
from rooms.records import ArbitrationWindowBody
from rooms.settlement import terms
from rooms.visibility import JOINT, ROOM, Role, can_read, can_write, readable
from rooms.workflow import state_body
from tests.records import T0, at
from tests.test_workflow_unit import (
    AUDITOR,
    CLIENT,
    FREELANCER,
    MODERATOR,
    TARGETS,
    Mediation,
    mediating,
    state_of,
)

ARBITRATOR = Member("arb-1", Role.ARBITRATOR)
WINDOW = TARGETS.arbitration_window  # the default: 7 days
AWARD = terms("800.00", "USD", "the freelancer delivered most of it")


def failed(seconds: float = 100) -> Mediation:
    m = mediating()
    m.write(MODERATOR, STATE, ROOM, state_body(State.MEDIATION_FAILED, "deadlocked"), seconds)
    return m


def in_arbitration(by: Member = CLIENT) -> Mediation:
    m = failed()
    m.write(by, ARBITRATION_OPT_IN, ROOM, opt_in_body(), 200)
    return m


# -- the lifecycle -------------------------------------------------------------------


def test_failing_a_mediation_opens_the_window_in_the_servers_voice() -> None:
    m = mediating()
    m.room.raised.clear()
    kept = m.write(MODERATOR, STATE, ROOM, state_body(State.MEDIATION_FAILED, "stuck"), 100)
    assert m.room.state == State.MEDIATION_FAILED
    assert [(r.kind, r.channel, r.sender_role) for r in kept] == [
        (STATE, ROOM, Role.MODERATOR),
        (ARBITRATION_WINDOW, ROOM, SYSTEM_ROLE),
    ]
    until = msgspec.json.decode(kept[1].body, type=ArbitrationWindowBody).until
    assert until == at(100 + WINDOW)
    assert [e.topic for e in m.room.raised] == [events.MEDIATION_FAILED]
    assert m.room.raised[0].data == {"failed": kept[0].seq, "until": until}
    # the scheduler looks at the room when the window closes
    assert m.workflow.queue_fields(m.room).due_at == T0 + timedelta(seconds=100 + WINDOW)


def test_a_failed_mediation_needs_a_reason() -> None:
    m = mediating()
    m.refused("invalid", MODERATOR, STATE, ROOM, state_body(State.MEDIATION_FAILED, " "))


def test_the_window_survives_the_row() -> None:
    """The facts the scheduler reads are in clear on the room's row."""
    m = failed()
    clear, _ = m.workflow.dump(m.room)
    assert clear["arbitration"]["until"] == at(100 + WINDOW)
    assert m.reloaded().room.facts.arbitration == m.room.facts.arbitration


def test_who_opted_in_is_sealed_and_only_its_role_is_in_clear() -> None:
    m = in_arbitration(FREELANCER)
    clear, sealed = m.workflow.dump(m.room)
    assert clear["arbitration"]["party"] == "freelancer"
    assert "f-1" not in str(clear)
    assert sealed["arbitration_user"] == "f-1"
    assert m.reloaded().room.facts.arbitration_user == "f-1"


def test_moderators_cannot_move_a_room_into_or_out_of_arbitration() -> None:
    assert moderator_moves(State.MEDIATION_FAILED) == {State.CLOSED}
    assert moderator_moves(State.ARBITRATION) == frozenset()
    m = failed()
    m.refused("forbidden", MODERATOR, STATE, ROOM, state_body(State.ARBITRATION, "now"), 150)
    a = in_arbitration()
    a.refused("forbidden", MODERATOR, STATE, ROOM, state_body(State.RESOLVED, "done"), 300)


def test_a_moderator_may_close_a_failed_mediation_inside_the_window() -> None:
    m = failed()
    m.write(MODERATOR, STATE, ROOM, state_body(State.CLOSED, "the parties went to court"), 150)
    assert m.room.state == State.CLOSED
    assert m.workflow.queue_fields(m.room).due_at is None


# -- the opt-in ---------------------------------------------------------------------------


@pytest.mark.parametrize("party", [CLIENT, FREELANCER], ids=lambda m: m.role)
def test_a_partys_opt_in_inside_the_window_moves_the_room_to_arbitration(party: Member) -> None:
    m = failed()
    m.room.raised.clear()
    kept = m.write(party, ARBITRATION_OPT_IN, ROOM, opt_in_body(), 100 + WINDOW - 1)
    assert [(r.kind, r.sender_role) for r in kept] == [
        (ARBITRATION_OPT_IN, party.role),
        (STATE, SYSTEM_ROLE),
    ]
    assert state_of(kept[1]).to == State.ARBITRATION
    assert m.room.state == State.ARBITRATION
    assert [e.topic for e in m.room.raised] == [events.ARBITRATION_REQUESTED]
    assert m.room.raised[0].data == {"by": {"role": party.role, "user": party.user}}
    assert m.workflow.queue_fields(m.room).due_at is None  # nothing left to close


def test_an_opt_in_after_the_window_is_refused_with_window_closed() -> None:
    m = failed()
    m.refused("window_closed", CLIENT, ARBITRATION_OPT_IN, ROOM, opt_in_body(), 100 + WINDOW)
    m.refused("window_closed", FREELANCER, ARBITRATION_OPT_IN, ROOM, opt_in_body(), 10**7)
    assert m.room.state == State.MEDIATION_FAILED


@pytest.mark.parametrize("who", [MODERATOR, AUDITOR, ARBITRATOR], ids=lambda m: m.role)
def test_only_a_party_opts_in(who: Member) -> None:
    failed().refused("forbidden", who, ARBITRATION_OPT_IN, ROOM, opt_in_body(), 150)


def test_an_opt_in_needs_a_failed_mediation_and_counts_once() -> None:
    mediating().refused("conflict", CLIENT, ARBITRATION_OPT_IN, ROOM, opt_in_body(), 150)
    m = in_arbitration(CLIENT)
    m.refused("conflict", FREELANCER, ARBITRATION_OPT_IN, ROOM, opt_in_body(), 300)


def test_an_opt_in_is_written_in_the_room_channel() -> None:
    failed().refused("forbidden", CLIENT, ARBITRATION_OPT_IN, JOINT, opt_in_body(), 150)


def test_nobody_but_the_server_writes_the_window() -> None:
    body = msgspec.json.encode(ArbitrationWindowBody(at(10**6))).decode()
    failed().refused("forbidden", MODERATOR, ARBITRATION_WINDOW, ROOM, body, 150)


# -- the decision ---------------------------------------------------------------------------


def test_the_arbitrators_decision_resolves_the_room_with_its_terms() -> None:
    m = in_arbitration(FREELANCER)
    m.room.raised.clear()
    kept = m.write(ARBITRATOR, DECISION, ROOM, decision_body(AWARD, "see the invoice"), 400)
    assert [(r.kind, r.sender_role) for r in kept] == [
        (DECISION, "arbitrator"),
        (STATE, SYSTEM_ROLE),
    ]
    resolution = state_of(kept[1])
    assert (resolution.to, resolution.terms) == (State.RESOLVED, AWARD)
    assert m.room.state == State.RESOLVED
    assert m.room.facts.settlement == AWARD
    assert m.room.facts.arbitration is not None and m.room.facts.arbitration.decision == kept[0].seq
    assert [e.topic for e in m.room.raised] == [events.ARBITRATION_DECIDED, events.ROOM_RESOLVED]
    decided = m.room.raised[0].data
    assert decided["decision"] == kept[0].seq
    assert decided["by"] == {"role": "arbitrator", "user": "arb-1"}
    assert decided["terms"] == {"amount": "800.00", "currency": "USD", "milestone": None}


@pytest.mark.parametrize("who", [CLIENT, FREELANCER, MODERATOR, AUDITOR], ids=lambda m: m.role)
def test_only_the_arbitrator_decides(who: Member) -> None:
    in_arbitration().refused("forbidden", who, DECISION, ROOM, decision_body(AWARD, ""), 400)


def test_a_decision_needs_a_room_in_arbitration() -> None:
    failed().refused("conflict", ARBITRATOR, DECISION, ROOM, decision_body(AWARD, ""), 150)
    mediating().refused("conflict", ARBITRATOR, DECISION, ROOM, decision_body(AWARD, ""), 150)


def test_a_decisions_terms_are_checked() -> None:
    m = in_arbitration()
    odd = '{"terms":{"amount":"12.505","currency":"USD"}}'
    m.refused("invalid", ARBITRATOR, DECISION, ROOM, odd, 400)
    m.refused("invalid", ARBITRATOR, DECISION, ROOM, '{"terms":"much"}', 400)


def test_a_second_decision_finds_the_room_resolved() -> None:
    m = in_arbitration()
    m.write(ARBITRATOR, DECISION, ROOM, decision_body(AWARD, ""), 400)
    m.refused("conflict", ARBITRATOR, DECISION, ROOM, decision_body(AWARD, ""), 500)


# -- the window passing ----------------------------------------------------------------


def test_the_window_passing_closes_the_room_once() -> None:
    m = failed()
    assert m.workflow.lapsed(m.room, T0 + timedelta(seconds=100 + WINDOW - 1)) == []
    later = T0 + timedelta(seconds=100 + WINDOW)
    (close,) = m.workflow.lapsed(m.room, later)
    first = close.draft("r_unit")
    assert (first.sender_role, first.channel, first.kind) == (SYSTEM_ROLE, ROOM, STATE)
    m.room.raised.clear()
    m.commit(first, 100 + WINDOW)
    assert m.room.state == State.CLOSED
    assert [e.topic for e in m.room.raised] == [events.ROOM_CLOSED]
    assert m.workflow.lapsed(m.room, later) == []  # closed: nothing more to write
    # a second process writing the same close: the same client id (the store keeps one),
    # and the rules refuse it anyway
    m.refused_draft("conflict", first, 100 + WINDOW + 5)


def test_the_server_does_not_close_before_the_window_passed() -> None:
    m = failed()
    early = Draft(
        "r_unit", ROOM, "mediation", SYSTEM_ROLE, "lapsed:x", state_body("closed", "x"), "", STATE
    )
    m.refused_draft("conflict", early, 100 + WINDOW - 1)


def test_an_opt_in_stops_the_close() -> None:
    m = in_arbitration()
    assert m.workflow.lapsed(m.room, T0 + timedelta(seconds=10 * WINDOW)) == []


# -- the door and the arbitrator's role -------------------------------------------------


def known(state: str) -> KnownRoom:
    return KnownRoom("r_1", state, Floor())


def test_the_arbitrator_reads_joint_and_room_and_writes_nothing() -> None:
    assert readable(Role.ARBITRATOR) == (JOINT, ROOM)
    assert not can_read(Role.ARBITRATOR, "notes")
    assert not can_read(Role.ARBITRATOR, "caucus:client")
    assert not any(can_write(Role.ARBITRATOR, c) for c in ("joint", "room", "notes"))
    with pytest.raises(Forbidden):
        door.draft(known(State.ARBITRATION), ARBITRATOR, Write("message", JOINT, "c", "hi"))


def test_the_door_lets_a_party_opt_in_only_in_a_failed_mediation() -> None:
    made = door.draft(
        known(State.MEDIATION_FAILED), CLIENT, Write(ARBITRATION_OPT_IN, ROOM, "o", "{}")
    )
    assert (made.kind, made.sender_role) == (ARBITRATION_OPT_IN, Role.CLIENT)
    codes = {
        (MODERATOR, State.MEDIATION_FAILED): "forbidden",
        (ARBITRATOR, State.MEDIATION_FAILED): "forbidden",
        (CLIENT, State.MEDIATING): "conflict",
        (CLIENT, State.ARBITRATION): "conflict",
        (CLIENT, State.CLOSED): "room_closed",
    }
    for (who, state), code in codes.items():
        with pytest.raises(RoomError) as refused:
            door.draft(known(state), who, Write(ARBITRATION_OPT_IN, ROOM, "o", "{}"))
        assert refused.value.code == code, (who, state)


def test_the_door_lets_only_the_arbitrator_decide_only_in_arbitration() -> None:
    body = decision_body(AWARD, "")
    made = door.draft(known(State.ARBITRATION), ARBITRATOR, Write(DECISION, ROOM, "d", body))
    assert made.sender_role == Role.ARBITRATOR
    for who, state, channel, code in (
        (CLIENT, State.ARBITRATION, ROOM, "forbidden"),
        (MODERATOR, State.ARBITRATION, ROOM, "forbidden"),
        (ARBITRATOR, State.ARBITRATION, JOINT, "forbidden"),
        (ARBITRATOR, State.MEDIATION_FAILED, ROOM, "conflict"),
        (ARBITRATOR, State.RESOLVED, ROOM, "conflict"),
    ):
        with pytest.raises(RoomError) as refused:
            door.draft(known(state), who, Write(DECISION, channel, "d", body))
        assert refused.value.code == code, (who, state, channel)


def test_a_pause_does_not_hold_back_an_opt_in() -> None:
    """The floor is the mediation's: a failed one's pause does not stop a party opting in."""
    paused = Floor()
    paused.apply('{"action":"pause","party":null,"until":"2999-01-01T00:00:00Z","reason":"x"}')
    room = KnownRoom("r_1", State.MEDIATION_FAILED, paused)
    door.draft(room, FREELANCER, Write(ARBITRATION_OPT_IN, ROOM, "o", "{}"))


def test_the_new_names_fit_the_stores_columns() -> None:
    """kind, state and role columns are 16 characters wide (transcripts/schema.py)."""
    assert all(len(name) <= 16 for name in (*KINDS, *State, *Role))
