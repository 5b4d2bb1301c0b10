"""The rules of a mediation (rooms.workflow), without a server: records are numbered here,
per channel, and handed to `Workflow.apply` as the store's commit hands them, follow-ups
included. Each refusal is checked for its wire code and for leaving the facts as they were.
"""

import json
from datetime import datetime, timedelta
from itertools import product
from typing import Any

import msgspec
import pytest

from rooms.clocks import ANSWER, REPLY, UNCLAIMED, Alarm, Targets, overdue
from rooms.errors import Forbidden, RoomError
from rooms.floor import Floor, floor_body
from rooms.kinds import (
    CAUCUS,
    CSAT,
    FLOOR,
    HANDOFF,
    MESSAGE,
    OVERDUE,
    PROPOSAL,
    REMINDER,
    RESPONSE,
    STATE,
    SYSTEM_ROLE,
    SYSTEM_USER,
)
from rooms.lifecycle import BY_SERVER, State, moderator_moves
from rooms.ports import Draft, Member
from rooms.records import ProposalBody, StateBody, Terms
from rooms.settlement import proposal_body, response_body, terms
from rooms.visibility import CAUCUS_CLIENT, CAUCUS_FREELANCER, JOINT, NOTES, ROOM, Role
from rooms.workflow import (
    CLEAR_FACTS,
    Rating,
    Room,
    Workflow,
    alarm_record,
    caucus_body,
    csat_body,
    handoff_body,
    state_body,
)
from tests.records import T0, Record, at, numbered

ROOM_ID = "r_unit"
TARGETS = Targets(first_response=600, answer=1800, reply=3600)
CLIENT = Member("c-1", Role.CLIENT)
FREELANCER = Member("f-1", Role.FREELANCER)
MODERATOR = Member("m-1", Role.MODERATOR)
SECOND = Member("m-2", Role.MODERATOR)
AUDITOR = Member("a-1", Role.AUDITOR)
DEAL = terms("1350.50", "USD", "split the difference", "M2")


class Mediation:
    """One room under the rules, its records numbered per channel as the store numbers
    them: a refused record gets no number, a follow-up is numbered right after its cause."""

    def __init__(self, room: Room | None = None, heads: dict[str, int] | None = None) -> None:
        self.workflow = Workflow(TARGETS)
        self.room = room or self.workflow.opened(State.WAITING, at(0))
        self.heads = dict(heads or {})
        self.serial = 0

    def record(self, draft: Draft, seconds: float) -> Record:
        """`draft` with the next number of its channel, committed at `seconds`."""
        return numbered(draft, self.heads.get(draft.channel, 0) + 1, at(seconds))

    def commit(self, draft: Draft, seconds: float) -> list[Record]:
        """`draft` and every follow-up the rules ask for, as one commit keeps them."""
        record = self.record(draft, seconds)
        follow_ups = self.workflow.apply(self.room, record)
        self.heads[draft.channel] = record.seq
        kept = [record]
        for follow_up in follow_ups:
            kept += self.commit(follow_up.draft(ROOM_ID), seconds)
        return kept

    def draft(self, who: Member, kind: str, channel: str, body: str) -> Draft:
        self.serial += 1
        return Draft(ROOM_ID, channel, who.user, who.role, f"c{self.serial}", body, "", kind)

    def write(
        self, who: Member, kind: str, channel: str, body: str, seconds: float = 0
    ) -> list[Record]:
        return self.commit(self.draft(who, kind, channel, body), seconds)

    def say(self, who: Member, channel: str, seconds: float, text: str = "hello") -> Record:
        return self.write(who, MESSAGE, channel, text, seconds)[0]

    def move(self, who: Member, to: str, seconds: float = 0) -> list[Record]:
        return self.write(who, STATE, ROOM, state_body(to, f"to {to}"), seconds)

    def propose(
        self,
        who: Member,
        amount: str = "100.00",
        seconds: float = 0,
        counters: int | None = None,
        lasts: float = 3600,
    ) -> Record:
        expires = T0 + timedelta(seconds=seconds + lasts)
        body = proposal_body(terms(amount, "USD"), expires, counters)
        return self.write(who, PROPOSAL, JOINT, body, seconds)[0]

    def respond(
        self, who: Member, proposal: int, answer: str = "accept", seconds: float = 0
    ) -> list[Record]:
        return self.write(who, RESPONSE, JOINT, response_body(proposal, answer), seconds)

    def facts(self) -> tuple[str, dict[str, Any], dict[str, Any]]:
        return (self.room.state, *self.workflow.dump(self.room))

    def refused(
        self, code: str, who: Member, kind: str, channel: str, body: str, seconds: float = 0
    ) -> RoomError:
        """`who`'s record is refused with `code`; the room and its facts are as they were."""
        return self.refused_draft(code, self.draft(who, kind, channel, body), seconds)

    def refused_draft(self, code: str, draft: Draft, seconds: float = 0) -> RoomError:
        before, heads = self.facts(), dict(self.heads)
        with pytest.raises(RoomError) as refusal:
            self.commit(draft, seconds)
        assert refusal.value.code == code, refusal.value
        assert (self.facts(), self.heads) == (before, heads)
        return refusal.value

    def reloaded(self) -> "Mediation":
        """The room as the store reads it back: the facts in clear and the sealed ones,
        written as JSON on the row and merged again on the next commit's load."""
        clear, sealed = self.workflow.dump(self.room)
        row = json.loads(json.dumps(clear)) | json.loads(json.dumps(sealed))
        return Mediation(self.workflow.load(self.room.state, row), self.heads)


def mediating(seconds: float = 0) -> Mediation:
    m = Mediation()
    m.move(MODERATOR, State.MEDIATING, seconds)
    return m


def resolved() -> Mediation:
    m = mediating()
    m.move(MODERATOR, State.RESOLVED, 10)
    return m


def state_of(record: Record) -> StateBody:
    return msgspec.json.decode(record.body, type=StateBody)


# -- the lifecycle -------------------------------------------------------------------


def test_a_moderator_claims_a_waiting_room_and_becomes_its_moderator() -> None:
    m = Mediation()
    assert m.workflow.queue_fields(m.room).moderator is None
    m.move(MODERATOR, State.MEDIATING, 120)
    assert m.room.state == State.MEDIATING
    queue = m.workflow.queue_fields(m.room)
    assert (queue.moderator, queue.tier, queue.waiting_since, queue.due_at) == (
        "m-1",
        1,
        None,
        None,
    )
    assert m.room.facts.clocks.claimed_at == at(120)


@pytest.mark.parametrize("who", [CLIENT, FREELANCER, AUDITOR], ids=lambda m: m.role)
def test_nobody_but_a_moderator_moves_the_room(who: Member) -> None:
    m = Mediation()
    m.refused("forbidden", who, STATE, ROOM, state_body(State.MEDIATING, ""))
    mid = mediating()
    for to in (State.RESOLVED, State.ESCALATED):
        mid.refused("forbidden", who, STATE, ROOM, state_body(to, ""))


@pytest.mark.parametrize(
    ("start", "to"), list(product(list(State), [*State, "party-time"])), ids=str
)
def test_the_room_moves_only_along_the_lifecycle(start: State, to: str) -> None:
    m = Mediation(Workflow(TARGETS).load(start, {"moderator": "m-1"}))
    if to in moderator_moves(start):
        m.move(MODERATOR, to)
        assert m.room.state == to
    elif (start, to) in BY_SERVER:  # a party's opt-in, the arbitrator's decision: never a move
        m.refused("forbidden", MODERATOR, STATE, ROOM, state_body(to, ""))
    else:
        refusal = m.refused("conflict", MODERATOR, STATE, ROOM, state_body(to, ""))
        assert start in str(refusal)


def test_of_two_claims_the_first_wins() -> None:
    m = mediating(60)
    m.refused("conflict", SECOND, STATE, ROOM, state_body(State.MEDIATING, ""), 61)
    assert m.room.facts.moderator == "m-1"


def test_escalation_raises_the_tier_and_puts_the_room_back_in_the_queue() -> None:
    m = mediating(60)
    m.write(MODERATOR, CAUCUS, ROOM, caucus_body(Role.CLIENT, True), 70)
    m.move(MODERATOR, State.ESCALATED, 600)
    queue = m.workflow.queue_fields(m.room)
    assert (m.room.state, queue.moderator, queue.tier) == (State.ESCALATED, None, 2)
    assert m.room.facts.caucus is None  # the private session ended with the mediation
    assert queue.waiting_since == T0 + timedelta(seconds=600)  # queued again, from now
    assert queue.due_at == T0 + timedelta(seconds=600 + TARGETS.first_response)

    m.move(SECOND, State.MEDIATING, 900)
    queue = m.workflow.queue_fields(m.room)
    assert (queue.moderator, queue.tier, queue.waiting_since) == ("m-2", 2, None)
    assert m.room.facts.clocks.claimed_at == at(60)  # the first claim is the one reported
    m.move(SECOND, State.ESCALATED, 1000)
    assert m.workflow.queue_fields(m.room).tier == 3
    m.move(SECOND, State.CLOSED, 1100)
    assert m.room.state == State.CLOSED


def test_a_moderators_resolution_settles_nothing_and_closed_is_for_ever() -> None:
    m = mediating()
    m.propose(CLIENT, seconds=5)
    m.write(MODERATOR, CAUCUS, ROOM, caucus_body(Role.FREELANCER, True), 6)
    m.move(MODERATOR, State.RESOLVED, 300)
    facts = m.room.facts
    assert (facts.settlement, facts.offer, facts.caucus) == (None, None, None)
    assert facts.clocks.resolved_at == at(300)
    m.move(MODERATOR, State.CLOSED, 400)
    for to in State:
        m.refused("conflict", MODERATOR, STATE, ROOM, state_body(to, ""))


@pytest.mark.parametrize("body", ["{", '{"to": 5}', "{}", '"mediating"'])
def test_a_malformed_state_record_is_invalid(body: str) -> None:
    Mediation().refused("invalid", MODERATOR, STATE, ROOM, body)


# -- proposals, counters and responses ---------------------------------------------------


def test_a_partys_proposal_is_settled_when_the_other_party_accepts_it() -> None:
    m = mediating()
    proposal = m.propose(CLIENT, "1200.00", seconds=60)
    offer = m.room.facts.offer
    assert offer is not None
    assert (offer.seq, offer.by_role, offer.by_user, offer.accepted) == (
        proposal.seq,
        "client",
        "c-1",
        ["client"],  # a party's own proposal stands as accepted by it
    )
    response, resolution = m.respond(FREELANCER, proposal.seq, seconds=120)
    assert response.kind == RESPONSE
    assert (resolution.channel, resolution.kind, resolution.client_id) == (
        ROOM,
        STATE,
        f"settled:{proposal.seq}",
    )
    assert (resolution.sender_user, resolution.sender_role) == (SYSTEM_USER, SYSTEM_ROLE)
    body = state_of(resolution)
    assert (body.to, body.terms, body.proposal) == (
        State.RESOLVED,
        terms("1200.00", "USD"),
        proposal.seq,
    )
    assert m.room.state == State.RESOLVED
    assert m.room.facts.settlement == terms("1200.00", "USD")
    assert m.room.facts.offer is None
    assert m.room.facts.clocks.resolved_at == at(120)


def test_the_rules_ask_for_the_resolution_only_on_the_second_yes() -> None:
    m = mediating()
    body = proposal_body(DEAL, T0 + timedelta(hours=1))
    proposal = m.write(MODERATOR, PROPOSAL, JOINT, body, 10)[0]
    offer = m.room.facts.offer
    assert offer is not None and offer.accepted == []  # the moderator's needs both parties
    answer = response_body(proposal.seq, "accept")
    first = m.record(m.draft(CLIENT, RESPONSE, JOINT, answer), 20)
    assert m.workflow.apply(m.room, first) == []
    assert m.room.state == State.MEDIATING
    m.heads[JOINT] = first.seq
    m.refused("conflict", CLIENT, RESPONSE, JOINT, answer, 30)
    second = m.record(m.draft(FREELANCER, RESPONSE, JOINT, answer), 40)
    (follow_up,) = m.workflow.apply(m.room, second)
    assert (follow_up.channel, follow_up.kind) == (ROOM, STATE)
    assert msgspec.json.decode(follow_up.body, type=StateBody).terms == DEAL
    assert m.room.state == State.MEDIATING  # the resolution is its own record, next
    m.commit(follow_up.draft(ROOM_ID), 40)
    assert (m.room.state, m.room.facts.settlement) == (State.RESOLVED, DEAL)


def test_nobody_accepts_their_own_proposal_and_staff_accept_none() -> None:
    m = mediating()
    proposal = m.propose(CLIENT, seconds=10)
    answer = response_body(proposal.seq, "accept")
    m.refused("forbidden", CLIENT, RESPONSE, JOINT, answer, 20)
    m.refused("forbidden", MODERATOR, RESPONSE, JOINT, answer, 20)
    m.refused("forbidden", AUDITOR, RESPONSE, JOINT, answer, 20)
    assert m.respond(FREELANCER, proposal.seq, seconds=30)[-1].kind == STATE


def test_a_counter_supersedes_the_proposal_it_answers() -> None:
    m = mediating()
    first = m.propose(CLIENT, "100.00", seconds=10)
    counter = m.propose(FREELANCER, "150.00", seconds=20, counters=first.seq)
    offer = m.room.facts.offer
    assert offer is not None and (offer.seq, offer.accepted) == (counter.seq, ["freelancer"])
    m.refused("superseded", FREELANCER, RESPONSE, JOINT, response_body(first.seq, "accept"))
    late_counter = proposal_body(terms("120.00", "USD"), T0 + timedelta(hours=1), first.seq)
    m.refused("superseded", CLIENT, PROPOSAL, JOINT, late_counter, 30)
    *_, resolution = m.respond(CLIENT, counter.seq, seconds=40)
    assert state_of(resolution).terms == terms("150.00", "USD")


def test_a_counter_needs_a_proposal_on_the_table() -> None:
    m = mediating()
    body = proposal_body(terms("120.00", "USD"), T0 + timedelta(hours=1), counters=7)
    refusal = m.refused("superseded", CLIENT, PROPOSAL, JOINT, body, 10)
    assert "no proposal is" in str(refusal)


def test_a_rejected_proposal_can_no_longer_be_accepted() -> None:
    m = mediating()
    proposal = m.propose(MODERATOR, seconds=10)
    assert [r.kind for r in m.respond(CLIENT, proposal.seq, "reject", 20)] == [RESPONSE]
    assert m.room.facts.offer is None
    m.refused("superseded", FREELANCER, RESPONSE, JOINT, response_body(proposal.seq, "accept"))
    assert m.room.state == State.MEDIATING


def test_an_expired_proposal_cannot_be_accepted_until_then_it_can() -> None:
    m = mediating()
    proposal = m.propose(CLIENT, seconds=0, lasts=300)
    answer = response_body(proposal.seq, "accept")
    refusal = m.refused("expired", FREELANCER, RESPONSE, JOINT, answer, 300)
    assert "expired" in str(refusal)
    assert m.respond(FREELANCER, proposal.seq, seconds=299.999)[-1].kind == STATE


def test_a_proposal_must_expire_after_it_is_made() -> None:
    m = mediating()
    now = proposal_body(terms("100.00", "USD"), T0 + timedelta(seconds=50))
    m.refused("invalid", CLIENT, PROPOSAL, JOINT, now, 50)


def test_proposal_terms_must_be_in_canonical_form() -> None:
    m = mediating()
    raw = ProposalBody(Terms("1200", "usd"), at(3600))  # what a client could send by hand
    m.refused("invalid", CLIENT, PROPOSAL, JOINT, msgspec.json.encode(raw).decode(), 10)


def test_proposals_and_answers_belong_to_the_joint_channel_of_a_room_in_mediation() -> None:
    body = proposal_body(terms("100.00", "USD"), T0 + timedelta(hours=1))
    resolved().refused("conflict", CLIENT, PROPOSAL, JOINT, body)  # waiting: self-serve
    m = mediating()
    m.refused("invalid", CLIENT, PROPOSAL, CAUCUS_CLIENT, body, 10)
    proposal = m.propose(CLIENT, seconds=10)
    answer = response_body(proposal.seq, "accept")
    m.refused("invalid", FREELANCER, RESPONSE, CAUCUS_FREELANCER, answer, 20)
    m.move(MODERATOR, State.RESOLVED, 30)
    m.refused("conflict", FREELANCER, RESPONSE, JOINT, answer, 40)


# -- private sessions, floor and hand-offs ---------------------------------------------


def test_one_caucus_at_a_time_closed_only_by_its_own_party() -> None:
    m = mediating()
    m.write(MODERATOR, CAUCUS, ROOM, caucus_body(Role.CLIENT, True), 10)
    assert m.room.facts.caucus == Role.CLIENT
    m.write(MODERATOR, CAUCUS, ROOM, caucus_body(Role.FREELANCER, False), 20)
    assert m.room.facts.caucus == Role.CLIENT  # closing another party's changes nothing
    m.write(MODERATOR, CAUCUS, ROOM, caucus_body(Role.FREELANCER, True), 30)
    assert m.room.facts.caucus == Role.FREELANCER
    m.write(MODERATOR, CAUCUS, ROOM, caucus_body(Role.FREELANCER, False), 40)
    assert m.room.facts.caucus is None


def test_a_caucus_is_a_moderators_with_a_party_during_mediation() -> None:
    body = caucus_body(Role.CLIENT, True)
    Mediation().refused("conflict", MODERATOR, CAUCUS, ROOM, body)
    m = mediating()
    m.refused("forbidden", CLIENT, CAUCUS, ROOM, body)
    m.refused("invalid", MODERATOR, CAUCUS, ROOM, '{"party":"auditor","open":true}')
    with pytest.raises(RoomError):
        caucus_body(Role.MODERATOR, True)


def test_the_floor_record_mutes_and_pauses_parties_never_the_moderator() -> None:
    m = mediating()
    m.write(MODERATOR, FLOOR, ROOM, floor_body("mute", Role.CLIENT, 10, "calm down"), 10)
    floor = m.room.facts.floor
    assert set(floor.muted) == {Role.CLIENT}
    with pytest.raises(Forbidden, match="calm down"):
        floor.check(Role.CLIENT)
    floor.check(Role.FREELANCER)
    m.write(MODERATOR, FLOOR, ROOM, floor_body("pause", None, 10, "break"), 20)
    with pytest.raises(Forbidden, match="paused"):
        m.room.facts.floor.check(Role.FREELANCER)
    m.room.facts.floor.check(Role.MODERATOR)
    m.write(MODERATOR, FLOOR, ROOM, floor_body("resume", None, 1, ""), 30)
    m.write(MODERATOR, FLOOR, ROOM, floor_body("unmute", Role.CLIENT, 1, ""), 40)
    assert m.room.facts.floor == Floor()
    m.refused("forbidden", CLIENT, FLOOR, ROOM, floor_body("mute", Role.FREELANCER, 10, ""))


def test_a_transfer_hands_the_room_to_the_moderator_it_names() -> None:
    waiting = Mediation()
    waiting.write(MODERATOR, HANDOFF, NOTES, handoff_body("context for whoever claims"))
    assert waiting.room.facts.moderator is None  # a brief alone moves nobody
    waiting.refused("conflict", MODERATOR, HANDOFF, NOTES, handoff_body("take it", "m-2"))
    m = mediating()
    m.refused("invalid", MODERATOR, HANDOFF, JOINT, handoff_body("take it", "m-2"))
    m.refused("forbidden", CLIENT, HANDOFF, NOTES, handoff_body("me", "c-1"))
    m.write(MODERATOR, HANDOFF, NOTES, handoff_body("take it", "m-2"), 10)
    assert m.workflow.queue_fields(m.room).moderator == "m-2"


# -- ratings ---------------------------------------------------------------------------


def test_ratings_wait_for_the_resolution() -> None:
    m = mediating()
    m.refused("conflict", CLIENT, CSAT, CAUCUS_CLIENT, csat_body(4, ""))
    m.move(MODERATOR, State.ESCALATED, 10)
    m.refused("conflict", CLIENT, CSAT, CAUCUS_CLIENT, csat_body(4, ""))


def test_each_party_rates_once_in_its_own_caucus() -> None:
    m = resolved()
    rated = m.write(CLIENT, CSAT, CAUCUS_CLIENT, csat_body(5, "thanks"), 20)[0]
    assert m.room.facts.csat == {"client": Rating(5, rated.seq)}
    refusal = m.refused("conflict", CLIENT, CSAT, CAUCUS_CLIENT, csat_body(1, "changed my mind"))
    assert "already rated" in str(refusal)
    other = m.write(FREELANCER, CSAT, CAUCUS_FREELANCER, csat_body(3, ""), 30)[0]
    assert m.room.facts.csat == {"client": Rating(5, rated.seq), "freelancer": Rating(3, other.seq)}


def test_only_a_party_rates_and_only_in_its_own_caucus() -> None:
    m = resolved()
    m.refused("forbidden", MODERATOR, CSAT, CAUCUS_CLIENT, csat_body(5, ""))
    m.refused("forbidden", CLIENT, CSAT, CAUCUS_FREELANCER, csat_body(5, ""))
    m.refused("forbidden", CLIENT, CSAT, JOINT, csat_body(5, ""))


@pytest.mark.parametrize("rating", [0, 6, -1, 100])
def test_a_rating_is_a_whole_number_from_1_to_5(rating: int) -> None:
    m = resolved()
    m.refused("invalid", CLIENT, CSAT, CAUCUS_CLIENT, csat_body(rating, ""))
    m.write(CLIENT, CSAT, CAUCUS_CLIENT, csat_body(1, ""), 20)
    m.write(FREELANCER, CSAT, CAUCUS_FREELANCER, csat_body(5, ""), 20)


# -- response clocks -------------------------------------------------------------------


def after(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fire(m: Mediation, alarm: Alarm, seconds: float) -> Record:
    """The scheduler's record for `alarm`, committed at `seconds`."""
    return m.commit(alarm_record(alarm).draft(ROOM_ID), seconds)[0]


def test_an_unclaimed_room_falls_due_once_after_the_first_response_target() -> None:
    m = Mediation()
    queue = m.workflow.queue_fields(m.room)
    assert (queue.waiting_since, queue.due_at) == (T0, after(TARGETS.first_response))
    assert m.workflow.due(m.room, after(599)) == []
    (alarm,) = m.workflow.due(m.room, after(600))
    assert alarm == Alarm(UNCLAIMED, None, at(0))
    nudge = fire(m, alarm, 601)
    assert (nudge.channel, nudge.kind) == (NOTES, OVERDUE)
    assert m.workflow.due(m.room, after(10_000)) == []  # once per episode
    assert m.workflow.queue_fields(m.room).due_at is None
    assert m.workflow.queue_fields(m.room).waiting_since == T0  # still waits in the queue
    assert m.room.facts.clocks.breaches == {UNCLAIMED: 1}
    m.refused_draft("conflict", alarm_record(alarm).draft(ROOM_ID), 700)


def test_only_the_server_raises_alarms() -> None:
    m = Mediation()
    body = alarm_record(Alarm(UNCLAIMED, None, at(0))).body
    m.refused("forbidden", MODERATOR, OVERDUE, NOTES, body, 700)
    m.refused("forbidden", CLIENT, REMINDER, CAUCUS_CLIENT, body, 700)


def test_a_claimed_room_is_due_when_a_party_has_waited_past_the_answer_target() -> None:
    m = mediating(60)
    assert m.workflow.due(m.room, after(100_000)) == []  # nobody waits for anybody yet
    m.say(CLIENT, JOINT, 100)
    m.say(FREELANCER, CAUCUS_FREELANCER, 200)
    m.say(CLIENT, JOINT, 300)  # still waiting since its first word
    queue = m.workflow.queue_fields(m.room)
    assert (queue.waiting_since, queue.due_at) == (after(100), after(100 + TARGETS.answer))
    assert m.workflow.due(m.room, after(1899)) == []
    (alarm,) = m.workflow.due(m.room, after(1900))
    assert alarm == Alarm(ANSWER, "client", at(100))
    nudge = fire(m, alarm, 1900)
    assert (nudge.channel, nudge.kind) == (NOTES, OVERDUE)
    assert m.workflow.queue_fields(m.room).due_at == after(200 + TARGETS.answer)
    assert m.workflow.due(m.room, after(2000)) == [Alarm(ANSWER, "freelancer", at(200))]


def test_the_moderators_reply_stops_the_wait_and_starts_the_reply_clocks() -> None:
    m = mediating(60)
    m.say(CLIENT, JOINT, 100)
    m.say(MODERATOR, JOINT, 400)
    clocks = m.room.facts.clocks
    assert clocks.first_response_at == at(400)
    assert clocks.longest_wait == {"client": 300.0}
    queue = m.workflow.queue_fields(m.room)
    assert (queue.waiting_since, queue.due_at) == (None, after(400 + TARGETS.reply))
    due = m.workflow.due(m.room, after(4000))
    assert due == [Alarm(REPLY, "client", at(400)), Alarm(REPLY, "freelancer", at(400))]
    reminder = fire(m, due[0], 4000)
    assert (reminder.channel, reminder.kind) == (CAUCUS_CLIENT, REMINDER)
    m.say(FREELANCER, JOINT, 4100)  # the freelancer answers: its reply clock stops
    assert m.workflow.due(m.room, after(100_000)) == [Alarm(ANSWER, "freelancer", at(4100))]


def test_a_reply_in_a_caucus_answers_only_that_party_and_a_note_answers_nobody() -> None:
    m = mediating()
    m.say(CLIENT, JOINT, 100)
    m.say(FREELANCER, JOINT, 150)
    m.say(MODERATOR, NOTES, 200)
    assert m.room.facts.clocks.waiting == {"client": at(100), "freelancer": at(150)}
    m.say(MODERATOR, CAUCUS_CLIENT, 300)
    assert m.room.facts.clocks.waiting == {"freelancer": at(150)}
    assert m.room.facts.clocks.asked == {"client": at(300)}
    assert m.workflow.queue_fields(m.room).waiting_since == after(150)


def test_an_alarm_fires_once_per_episode_and_again_for_the_next() -> None:
    m = mediating()
    m.say(CLIENT, JOINT, 100)
    (first,) = m.workflow.due(m.room, after(2000))
    fire(m, first, 2000)
    assert overdue(m.room.facts.clocks, m.room.state) == [first]  # flagged in the queue
    m.say(MODERATOR, CAUCUS_CLIENT, 2100)
    assert overdue(m.room.facts.clocks, m.room.state) == []
    assert first.key not in m.room.facts.clocks.fired  # the episode ended: its mark goes
    m.say(CLIENT, CAUCUS_CLIENT, 2200)  # a new question: a new episode
    assert m.workflow.due(m.room, after(2200 + TARGETS.answer - 1)) == []
    (second,) = m.workflow.due(m.room, after(2200 + TARGETS.answer))
    assert second == Alarm(ANSWER, "client", at(2200))
    fire(m, second, 4000)
    assert m.room.facts.clocks.breaches == {ANSWER: 2}
    # an alarm for an episode that ended is refused: the party was answered meanwhile
    m.say(MODERATOR, JOINT, 4100)
    m.refused_draft("conflict", alarm_record(second).draft(ROOM_ID), 4200)


def test_an_escalated_room_is_due_from_when_it_was_queued_again_and_a_resolved_one_never() -> None:
    m = mediating(60)
    m.say(CLIENT, JOINT, 100)
    m.move(MODERATOR, State.ESCALATED, 500)
    assert m.workflow.due(m.room, after(100_000)) == [Alarm(UNCLAIMED, None, at(500))]
    m.move(SECOND, State.MEDIATING, 600)
    m.move(SECOND, State.RESOLVED, 700)
    assert m.workflow.due(m.room, after(100_000)) == []
    queue = m.workflow.queue_fields(m.room)
    assert (queue.waiting_since, queue.due_at) == (after(100), None)


# -- what the store keeps ------------------------------------------------------------


def busy() -> Mediation:
    """A room mid-mediation with every kind of fact: an open proposal one party accepted,
    a caucus, a mute, clocks running and one alarm fired."""
    m = mediating(60)
    m.say(CLIENT, JOINT, 100)
    fire(m, m.workflow.due(m.room, after(1900))[0], 1900)
    m.say(FREELANCER, CAUCUS_FREELANCER, 2000)
    m.write(MODERATOR, CAUCUS, ROOM, caucus_body(Role.FREELANCER, True), 2010)
    m.write(MODERATOR, FLOOR, ROOM, floor_body("mute", Role.CLIENT, 60, "cool off"), 2020)
    m.write(MODERATOR, PROPOSAL, JOINT, proposal_body(DEAL, after(9000)), 2030)
    m.respond(CLIENT, m.heads[JOINT], seconds=2040)
    return m


def test_only_the_queues_facts_are_kept_in_clear() -> None:
    m = busy()
    clear, sealed = m.workflow.dump(m.room)
    assert set(clear) <= set(CLEAR_FACTS)
    assert {"offer", "caucus", "floor"} <= set(sealed)
    assert not set(sealed) & set(CLEAR_FACTS)
    assert "1350.50" not in json.dumps(clear) and "cool off" not in json.dumps(clear)


def test_facts_read_back_behave_as_the_facts_written() -> None:
    m = busy()
    back = m.reloaded()
    assert back.facts() == m.facts()
    assert back.workflow.queue_fields(back.room) == m.workflow.queue_fields(m.room)
    assert back.workflow.due(back.room, after(10**6)) == m.workflow.due(m.room, after(10**6))
    with pytest.raises(Forbidden):
        back.room.facts.floor.check(Role.CLIENT)
    # the same accept settles both, on the same terms; the same early rating is refused
    offer = m.room.facts.offer
    assert offer is not None
    for room in (m, back):
        room.refused("conflict", CLIENT, RESPONSE, JOINT, response_body(offer.seq, "accept"))
        *_, resolution = room.respond(FREELANCER, offer.seq, seconds=3000)
        assert (state_of(resolution).terms, state_of(resolution).proposal) == (DEAL, offer.seq)
        assert room.room.state == State.RESOLVED
    assert back.facts() == m.facts()


def test_ratings_read_back_still_count_once() -> None:
    m = resolved()
    m.write(CLIENT, CSAT, CAUCUS_CLIENT, csat_body(4, "ok"), 20)
    back = m.reloaded()
    assert back.room.facts.csat == m.room.facts.csat
    back.refused("conflict", CLIENT, CSAT, CAUCUS_CLIENT, csat_body(5, ""))
    back.write(FREELANCER, CSAT, CAUCUS_FREELANCER, csat_body(2, ""), 30)
    assert set(back.room.facts.csat) == {"client", "freelancer"}


def test_an_answer_is_accept_or_reject_even_past_the_socket() -> None:
    """Only the socket checked the answer: a response from any other door (an HTTP
    integration, a bug) that is neither must not pass as a rejection."""
    m = mediating()
    proposal = m.propose(CLIENT, seconds=10)
    body = msgspec.json.encode({"proposal": proposal.seq, "answer": "maybe"}).decode()
    m.refused("invalid", FREELANCER, RESPONSE, JOINT, body, 20)
    assert m.room.facts.offer is not None
