"""The rules of a mediation, checked inside the commit of every record.

`Workflow.apply` sees each record once it is numbered, before it is stored,
with the room's state and facts as its locked tip holds them. It refuses
what the rules forbid (a RoomError carrying the wire code), updates the facts, and
may ask for follow-up records: when both parties accept the same proposal,
the room's resolution with those exact terms. Each rule checks everything
before it changes anything, so a refused record leaves the facts as they
were. Nothing here does I/O: every process applies the same rules.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from rooms import clocks, door, events, kinds, records
from rooms.clocks import Alarm, Clocks, Targets
from rooms.door import Write
from rooms.errors import Conflict, Expired, Forbidden, RoomError, Superseded
from rooms.events import Event
from rooms.floor import Floor
from rooms.lifecycle import State, next_states
from rooms.ports import Draft, StoredMessage
from rooms.records import (
    AlarmBody,
    CaucusBody,
    CsatBody,
    HandoffBody,
    ProposalBody,
    RedactionBody,
    ResponseBody,
    StateBody,
    Terms,
)
from rooms.settlement import ANSWERS, terms
from rooms.visibility import JOINT, NOTES, PARTIES, ROOM, Role, caucus_of

T = TypeVar("T")


class Acceptance(msgspec.Struct):
    role: str
    user: str
    at: str  # the accepting record's timestamp (a party's own proposal: when it was made)


class Offer(msgspec.Struct):
    """The proposal that is open now: only this version can be accepted."""

    seq: int
    by_role: str
    by_user: str
    terms: Terms
    expires_at: str
    accepted: list[str] = []  # the parties that accepted it (a party's own counts)
    acceptances: list[Acceptance] = []  # who accepted it when (older offers: empty)


class Rating(msgspec.Struct):
    rating: int
    seq: int  # of the csat record in the party's caucus; its body also holds the comment


class Facts(msgspec.Struct, omit_defaults=True):
    """What the workflow knows of a room beyond its state, kept on the room's row: the
    CLEAR_FACTS in clear, the rest sealed under the room's data key."""

    moderator: str | None = None
    tier: int = 1
    caucus: str | None = None  # the party in a private session now
    offer: Offer | None = None
    settlement: Terms | None = None
    csat: dict[str, Rating] = {}
    clocks: Clocks = msgspec.field(default_factory=Clocks)
    floor: Floor = msgspec.field(default_factory=Floor)
    brief: bool = False  # a hand-off brief waits in the notes for the next escalation
    redactions: int = 0  # messages whose text a moderator removed (rooms.redaction)


# The facts kept in clear on the room's row: what the queue and the clock scheduler sort
# and filter on, with no party's words or amounts in them (docs/architecture.md). Every
# other fact (offer, settlement, ratings, floor, caucus) is sealed under the room's key.
CLEAR_FACTS = ("moderator", "tier", "clocks")


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A record the server writes itself: right after the one that caused it, in the same
    commit (a settlement's resolution), or when a clock is due (an alarm)."""

    channel: str
    kind: str
    client_id: str
    body: str

    def draft(self, room_id: str) -> Draft:
        return door.system_draft(room_id, Write(self.kind, self.channel, self.client_id, self.body))


@dataclass(slots=True)
class Room:
    state: str
    facts: Facts
    # What the rules raised while applying records, for the store to put in the outbox
    # in the same commit (never stored with the facts).
    raised: list[Event] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class QueueFields:
    """The facts the moderator queue sorts and filters on (indexed columns)."""

    moderator: str | None
    tier: int
    waiting_since: datetime | None
    due_at: datetime | None


def _body(record: StoredMessage, shape: type[T]) -> T:
    """The record's body, decoded once by the one record model, in the shape its rule
    expects."""
    try:
        body = records.body_of(record.kind, record.body)
    except records.BadBody as exc:
        raise RoomError(f"malformed event body: {exc}") from None
    if not isinstance(body, shape):
        raise RoomError(f"a {record.kind} body is not a {shape.__name__}")
    return body


class Workflow:
    def __init__(self, targets: Targets | None = None) -> None:
        self.targets = targets or Targets()
        self._rules: dict[str, Callable[[Room, StoredMessage], list[FollowUp]]] = {
            kinds.MESSAGE: self._message,
            kinds.STATE: self._state,
            kinds.FLOOR: self._floor,
            kinds.PROPOSAL: self._proposal,
            kinds.RESPONSE: self._response,
            kinds.CAUCUS: self._caucus,
            kinds.HANDOFF: self._handoff,
            kinds.CSAT: self._csat,
            kinds.OVERDUE: self._alarm,
            kinds.REMINDER: self._alarm,
            kinds.REDACTION: self._redaction,
        }

    def opened(self, state: str, ts: str) -> Room:
        return Room(state, Facts(clocks=Clocks(opened_at=ts)))

    def load(self, state: str, facts: dict[str, Any]) -> Room:
        return Room(state, msgspec.convert(facts, Facts))

    def dump(self, room: Room) -> tuple[dict[str, Any], dict[str, Any]]:
        """The facts as the room's row keeps them: (in clear, to be sealed)."""
        facts: dict[str, Any] = msgspec.to_builtins(room.facts)
        clear = {name: facts.pop(name) for name in CLEAR_FACTS if name in facts}
        return clear, facts

    def apply(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        if record.kind in kinds.MODERATOR_ACTIONS and record.sender_role not in (
            Role.MODERATOR,
            kinds.SYSTEM_ROLE,
        ):
            raise Forbidden(f"only a moderator writes {record.kind} events")
        rule = self._rules.get(record.kind)
        return [] if rule is None else rule(room, record)

    def queue_fields(self, room: Room) -> QueueFields:
        facts, state = room.facts, room.state
        if state in (State.WAITING, State.ESCALATED):
            since = facts.clocks.queued_at or facts.clocks.opened_at or None
        else:
            since = min(facts.clocks.waiting.values(), default=None)
        return QueueFields(
            facts.moderator,
            facts.tier,
            clocks.parse(since) if since else None,
            clocks.next_due(facts.clocks, state, self.targets),
        )

    def due(self, room: Room, now: datetime) -> list[Alarm]:
        """Alarms whose target has passed and that have not fired yet."""
        return [
            alarm
            for alarm in clocks.pending(room.facts.clocks, room.state)
            if clocks.due_at(alarm, self.targets) <= now
        ]

    # -- the rules, one per kind ------------------------------------------------

    def _message(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        clocks.on_message(room.facts.clocks, record.channel, record.sender_role, record.ts)
        return []

    def _state(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        body = _body(record, StateBody)
        if body.to not in next_states(room.state):
            raise Conflict(f"the room is {room.state}: it cannot move to {body.to!r}")
        facts, ts = room.facts, record.ts
        if body.to == State.MEDIATING:
            facts.moderator = record.sender_user
            facts.clocks.claimed_at = facts.clocks.claimed_at or ts
            facts.clocks.queued_at = None
            event = Event(events.ROOM_CLAIMED, {"moderator": facts.moderator, "tier": facts.tier})
        elif body.to == State.ESCALATED:
            facts.tier += 1
            facts.moderator = None
            facts.clocks.queued_at = ts
            event = Event(events.ROOM_ESCALATED, {"tier": facts.tier, "brief": facts.brief})
        elif body.to == State.RESOLVED:
            facts.clocks.resolved_at = ts
            facts.settlement = body.terms
            facts.offer = None
            event = Event(events.ROOM_RESOLVED, {"terms": _public(body.terms)})
        else:
            event = Event(events.ROOM_CLOSED)
        facts.brief = False  # a brief is for the escalation that follows it
        if body.to != State.MEDIATING:
            facts.caucus = None  # a private session ends with the mediation
        room.state = body.to
        room.raised.append(event)
        return []

    def _floor(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        room.facts.floor.apply(record.body)
        return []

    def _proposal(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        _require(record.channel == JOINT, "proposals are made in the joint channel")
        _require_mediating(room, "proposals")
        body = _body(record, ProposalBody)
        t = body.terms
        if terms(t.amount, t.currency, t.text, t.milestone) != t:
            raise RoomError("proposal terms are not in canonical form")
        if clocks.parse(body.expires_at) <= clocks.parse(record.ts):
            raise RoomError("a proposal must expire in the future")
        offer = room.facts.offer
        if body.counters is not None and (offer is None or offer.seq != body.counters):
            raise Superseded(_not_open(body.counters, offer))
        by_party = record.sender_role in PARTIES
        room.facts.offer = Offer(
            record.seq,
            record.sender_role,
            record.sender_user,
            t,
            body.expires_at,
            [record.sender_role] if by_party else [],
            [Acceptance(record.sender_role, record.sender_user, record.ts)] if by_party else [],
        )
        by = {"role": record.sender_role, "user": record.sender_user}
        made = {"proposal": record.seq, "by": by, "terms": _public(t)}
        made |= {"expires_at": body.expires_at, "counters": body.counters}
        room.raised.append(Event(events.PROPOSAL_MADE, made))
        return self._message(room, record)

    def _response(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        _require(record.channel == JOINT, "responses are made in the joint channel")
        _require_mediating(room, "responses to proposals")
        if record.sender_role not in PARTIES:
            raise Forbidden("only the client and the freelancer answer a proposal")
        body = _body(record, ResponseBody)
        _require(body.answer in ANSWERS, f"answer is one of {', '.join(ANSWERS)}")
        offer = room.facts.offer
        if offer is None or offer.seq != body.proposal:
            raise Superseded(_not_open(body.proposal, offer))
        if record.sender_role == offer.by_role:
            raise Forbidden(f"proposal #{offer.seq} is yours: it stands as accepted by you")
        if record.sender_role in offer.accepted:
            raise Conflict(f"you already accepted proposal #{offer.seq}")
        if clocks.parse(record.ts) >= clocks.parse(offer.expires_at):
            raise Expired(f"proposal #{offer.seq} expired at {offer.expires_at}")
        follow = self._message(room, record)
        if body.answer != "accept":
            room.facts.offer = None
            return follow
        offer.accepted.append(record.sender_role)
        offer.acceptances.append(Acceptance(record.sender_role, record.sender_user, record.ts))
        if not set(offer.accepted) >= PARTIES:
            return follow
        accepted = [msgspec.to_builtins(a) for a in offer.acceptances]
        agreed = {"proposal": offer.seq, "terms": _public(offer.terms), "accepted": accepted}
        room.raised.append(Event(events.SETTLEMENT_AGREED, agreed))
        resolution = StateBody(
            State.RESOLVED,
            f"settled: both parties accepted proposal #{offer.seq}",
            offer.terms,
            offer.seq,
        )
        return [FollowUp(ROOM, kinds.STATE, f"settled:{offer.seq}", records.encode(resolution))]

    def _caucus(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        body = _body(record, CaucusBody)
        _require(body.party in PARTIES, "a caucus is held with the client or the freelancer")
        _require_mediating(room, "private sessions")
        if body.open:
            room.facts.caucus = body.party
        elif room.facts.caucus == body.party:
            room.facts.caucus = None
        return []

    def _handoff(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        _require(record.channel == NOTES, "hand-off briefs are kept in the notes")
        body = _body(record, HandoffBody)
        if body.moderator is not None:  # a transfer
            _require_mediating(room, "transfers")
            room.facts.moderator = body.moderator
        else:  # an escalation's brief: the outside world hears that there is one
            room.facts.brief = True
        return []

    def _csat(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        party = record.sender_role
        if party not in PARTIES or record.channel != caucus_of(party):
            raise Forbidden("only a party rates the mediation, in its own private channel")
        if room.state != State.RESOLVED:
            raise Conflict("ratings are given once the room is resolved")
        if party in room.facts.csat:
            raise Conflict(f"the {party} has already rated this mediation")
        body = _body(record, CsatBody)
        _require(1 <= body.rating <= 5, "a rating is a whole number from 1 to 5")
        room.facts.csat[party] = Rating(body.rating, record.seq)
        return []

    def _alarm(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        if record.sender_role != kinds.SYSTEM_ROLE:
            raise Forbidden("only the server raises clock alarms")
        body = _body(record, AlarmBody)
        alarm = Alarm(body.clock, body.party, body.since)
        if alarm not in clocks.pending(room.facts.clocks, room.state):
            raise Conflict(f"the {alarm.key} clock is no longer running or already fired")
        kept = room.facts.clocks
        kept.fired[alarm.key] = alarm.since
        kept.breaches[alarm.clock] = kept.breaches.get(alarm.clock, 0) + 1
        return []

    def _redaction(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        """The target was checked by the store (rooms.redaction.complete): count it, and
        tell the outside world which record lost its text and why (never the text)."""
        body = _body(record, RedactionBody)
        room.facts.redactions += 1
        data = {"channel": record.channel, "seq": body.target, "edits": body.edits}
        data |= {"reason": body.reason, "moderator": record.sender_user}
        room.raised.append(Event(events.MESSAGE_REDACTED, data))
        return []


def _public(t: Terms | None) -> dict[str, Any] | None:
    """Terms as they leave the server: amount, currency, milestone; never the text
    somebody wrote (the store adds it only when the operator turns that on)."""
    if t is None:
        return None
    return {"amount": t.amount, "currency": t.currency, "milestone": t.milestone}


def state_body(to: str, reason: str) -> str:
    return records.encode(StateBody(to, reason))


def caucus_body(party: str, open_: bool) -> str:
    if party not in PARTIES:
        raise RoomError("a caucus is held with the client or the freelancer")
    return records.encode(CaucusBody(party, open_))


def handoff_body(brief: str, moderator: str | None = None) -> str:
    return records.encode(HandoffBody(brief, moderator))


def csat_body(rating: int, comment: str) -> str:
    return records.encode(CsatBody(rating, comment))


def alarm_record(alarm: Alarm) -> FollowUp:
    """The record the scheduler writes when `alarm` is due (idempotent by its client id)."""
    body = records.encode(AlarmBody(alarm.clock, alarm.since, alarm.party))
    client_id = f"alarm:{alarm.key}:{alarm.since}"
    if alarm.clock == clocks.REPLY and alarm.party is not None:
        return FollowUp(caucus_of(alarm.party), kinds.REMINDER, client_id, body)
    return FollowUp(NOTES, kinds.OVERDUE, client_id, body)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise RoomError(message)


def _require_mediating(room: Room, what: str) -> None:
    if room.state != State.MEDIATING:
        raise Conflict(f"{what} need a room in mediation; this one is {room.state}")


def _not_open(seq: int, offer: Offer | None) -> str:
    if offer is None:
        return f"proposal #{seq} is not open: no proposal is"
    return f"proposal #{seq} is not open: #{offer.seq} is the one on the table"
