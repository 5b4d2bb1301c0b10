"""Self-serve negotiation (rooms.self_serve) under the workflow's rules, without a server:
the parties propose, counter and accept while their room waits for a moderator; both
accepting resolves it by the server's settlement, exactly as in mediation."""

from datetime import timedelta

import pytest

from rooms import events
from rooms.clocks import Targets
from rooms.kinds import PROPOSAL, STATE, SYSTEM_ROLE, SYSTEM_USER
from rooms.lifecycle import BY_SERVER, State, moderator_moves
from rooms.ports import Member
from rooms.records import StateBody
from rooms.self_serve import NEGOTIABLE, negotiating, self_served
from rooms.settlement import proposal_body, terms
from rooms.visibility import JOINT, ROOM
from rooms.workflow import Workflow, state_body
from tests.records import T0, at
from tests.test_workflow_unit import (
    CLIENT,
    FREELANCER,
    MODERATOR,
    TARGETS,
    Mediation,
    mediating,
    state_of,
)


def escalated() -> Mediation:
    m = mediating()
    m.move(MODERATOR, State.ESCALATED, 30)
    return m


def waiting() -> Mediation:
    return Mediation()


@pytest.mark.parametrize("start", [waiting, escalated], ids=["waiting", "escalated"])
def test_the_parties_settle_by_themselves_and_the_server_resolves_the_room(start: object) -> None:
    assert callable(start)
    m: Mediation = start()
    before = m.room.state
    proposal = m.propose(CLIENT, "900.00", seconds=60)
    counter = m.propose(FREELANCER, "1100.00", seconds=90, counters=proposal.seq)
    offer = m.room.facts.offer
    assert offer is not None and (offer.seq, offer.accepted) == (counter.seq, ["freelancer"])
    assert negotiating(m.room.state, offer is not None)
    m.room.raised.clear()
    _, resolution = m.respond(CLIENT, counter.seq, seconds=120)
    assert (resolution.channel, resolution.kind, resolution.client_id) == (
        ROOM,
        STATE,
        f"settled:{counter.seq}",
    )
    assert (resolution.sender_user, resolution.sender_role) == (SYSTEM_USER, SYSTEM_ROLE)
    body = state_of(resolution)
    assert (body.to, body.terms, body.proposal) == (
        State.RESOLVED,
        terms("1100.00", "USD"),
        counter.seq,
    )
    assert (m.room.state, m.room.facts.settlement, m.room.facts.offer) == (
        State.RESOLVED,
        terms("1100.00", "USD"),
        None,
    )
    assert m.room.facts.clocks.resolved_at == at(120)
    agreed, resolved = m.room.raised
    assert (agreed.topic, resolved.topic) == (events.SETTLEMENT_AGREED, events.ROOM_RESOLVED)
    # never claimed: self-served; escalated rooms were claimed once, so they are not
    served = before == State.WAITING
    assert agreed.data.get("self_served", False) == served
    assert resolved.data.get("self_served", False) == served
    assert self_served(m.room.facts.clocks.resolved_at, m.room.facts.clocks.claimed_at) == served


def test_a_rejection_leaves_the_room_waiting_and_nothing_open() -> None:
    m = waiting()
    proposal = m.propose(CLIENT, seconds=10)
    m.respond(FREELANCER, proposal.seq, "reject", seconds=20)
    assert (m.room.state, m.room.facts.offer) == (State.WAITING, None)
    assert not negotiating(m.room.state, m.room.facts.offer is not None)


def test_a_moderators_proposal_still_needs_a_claimed_room() -> None:
    m = waiting()
    body = proposal_body(terms("100.00", "USD"), T0 + timedelta(hours=1))
    refusal = m.refused("conflict", MODERATOR, PROPOSAL, JOINT, body, 5)
    assert "claimed" in str(refusal)
    escalated().refused("conflict", MODERATOR, PROPOSAL, JOINT, body, 40)


@pytest.mark.parametrize("start", sorted(NEGOTIABLE), ids=str)
def test_a_moderator_cannot_resolve_a_room_nobody_mediates(start: State) -> None:
    assert State.RESOLVED not in moderator_moves(start)
    assert (start, State.RESOLVED) in BY_SERVER
    m = Mediation(Workflow(TARGETS).load(start, {}))
    refusal = m.refused("forbidden", MODERATOR, STATE, ROOM, state_body(State.RESOLVED, "done"))
    assert "settlement" in str(refusal)


def test_the_server_resolves_a_waiting_room_only_with_a_settlements_terms() -> None:
    """A system `state` record to resolved without a proposal (no settlement) is refused."""
    m = waiting()
    system = Member(SYSTEM_USER, SYSTEM_ROLE)  # type: ignore[arg-type]
    plain = state_body(State.RESOLVED, "no settlement")
    m.refused("forbidden", system, STATE, ROOM, plain)
    assert m.room.state == State.WAITING


def test_a_claim_keeps_the_open_offer_and_the_moderator_steps_in() -> None:
    m = waiting()
    proposal = m.propose(CLIENT, "500.00", seconds=30)
    clocks_before = m.room.facts.clocks.opened_at
    m.move(MODERATOR, State.MEDIATING, 60)
    offer = m.room.facts.offer
    assert offer is not None and (offer.seq, offer.accepted) == (proposal.seq, ["client"])
    assert (m.room.facts.moderator, m.room.facts.clocks.claimed_at) == ("m-1", at(60))
    assert m.room.facts.clocks.opened_at == clocks_before
    assert not negotiating(m.room.state, True)  # mediated now
    _, resolution = m.respond(FREELANCER, proposal.seq, seconds=90)
    assert state_of(resolution).proposal == proposal.seq
    assert m.room.state == State.RESOLVED
    assert not self_served(m.room.facts.clocks.resolved_at, m.room.facts.clocks.claimed_at)


def test_the_unclaimed_clock_keeps_running_while_the_parties_negotiate() -> None:
    m = waiting()
    m.propose(CLIENT, seconds=10)
    queue = m.workflow.queue_fields(m.room)
    assert queue.due_at == T0 + timedelta(seconds=TARGETS.first_response)
    assert queue.moderator is None


def test_no_policy_deadline_is_set_on_a_proposal_outside_mediation() -> None:
    m = Mediation()
    m.workflow = Workflow(Targets(600, 1800, 3600, proposal_answer_days=2))
    m.room = m.workflow.opened(State.WAITING, at(0), parties={"client": "c-1", "freelancer": "f-1"})
    first = m.propose(CLIENT, seconds=10, lasts=30 * 24 * 3600)
    assert m.room.facts.deadlines == {}
    m.move(MODERATOR, State.MEDIATING, 20)  # claimed: the policy applies again
    m.propose(FREELANCER, seconds=30, counters=first.seq, lasts=30 * 24 * 3600)
    assert [d.party for d in m.room.facts.deadlines.values()] == ["client"]


def test_resolution_body_is_a_settlement_with_the_proposal() -> None:
    m = waiting()
    proposal = m.propose(FREELANCER, seconds=10)
    records = m.respond(CLIENT, proposal.seq, seconds=20)
    assert isinstance(state_of(records[-1]), StateBody)
    assert (
        state_of(records[-1]).reason == f"settled: both parties accepted proposal #{proposal.seq}"
    )
