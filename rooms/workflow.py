"""The rules of a mediation, checked inside the commit of every record.

`Workflow.apply` sees each record once it is numbered, before it is stored,
with the room's state and facts as its locked tip holds them. It refuses
what the rules forbid (a RoomError carrying the wire code), updates the facts, and
may ask for follow-up records: when both parties accept the same proposal,
the room's resolution with those exact terms. Each rule checks everything
before it changes anything, so a refused record leaves the facts as they
were. Nothing here does I/O: every process applies the same rules.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from rooms import (
    arbitration,
    clocks,
    comoderators,
    deadlines,
    door,
    events,
    evidence,
    kinds,
    members,
    records,
    self_serve,
)
from rooms.arbitration import Arbitration
from rooms.clocks import Alarm, Clocks, Targets
from rooms.deadlines import Deadline, DeadlineDetail
from rooms.door import Write
from rooms.errors import Conflict, Expired, Forbidden, RoomError, Superseded
from rooms.events import Event
from rooms.evidence import Requested
from rooms.floor import Floor
from rooms.lifecycle import State, next_states
from rooms.ports import Draft, StoredMessage
from rooms.records import (
    AlarmBody,
    CaucusBody,
    CoModeratorBody,
    CsatBody,
    DeadlineBody,
    DeadlineCancelledBody,
    DeadlineNoticeBody,
    EvidenceRequestBody,
    EvidenceReviewBody,
    FileBody,
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
Parties = Mapping[str, str]  # role -> user: the room's client and freelancer


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
    arbitration: Arbitration | None = None  # once the mediation failed (rooms.arbitration)
    arbitration_user: str | None = None  # the user who opted in to arbitration (sealed)
    deadlines: dict[str, Deadline] = {}  # the open deadlines by their seq (rooms.deadlines)
    deadline_details: dict[str, DeadlineDetail] = {}  # its party's user id, its terms
    deadline_counts: dict[str, int] = {}  # set, applied, answered, withdrawn, lapsed: reports
    evidence: list[Requested] = []  # every evidence request, open or reviewed
    redactions: int = 0  # messages whose text a moderator removed (rooms.redaction)
    calendar: str | None = None  # its holiday calendar ("DE-BY"); None: the deployment's
    comoderators: list[str] = []  # besides the lead (`moderator`): rooms.comoderators
    sides: dict[str, members.Side] = {}  # each side's people, once one changed (rooms.members)
    acceptance: str = members.ANY  # who accepts for a side, pinned at open (rooms.members)


# The facts kept in clear on the room's row: what the queue and the clock scheduler sort
# and filter on, with no party's words or amounts in them (docs/architecture.md). Every
# other fact (offer, settlement, ratings, floor, caucus) is sealed under the room's key.
CLEAR_FACTS = (
    "moderator",
    "tier",
    "clocks",
    "arbitration",
    "deadlines",
    "calendar",
    "comoderators",
    "sides",
    "acceptance",
)


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
    priority: str = "normal"  # its ticket's (a column of its row): picks its clock targets
    parties: dict[str, str] = field(default_factory=dict)  # role -> user: client, freelancer


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
    def __init__(
        self,
        targets: Targets | None = None,
        targets_for: Callable[[str], Targets] | None = None,
        *,
        warn_before: float = 24 * 3600,
        calendar: tuple[str, str] = ("US", "UTC"),
        side_acceptance: str = members.ANY,
    ) -> None:
        """`targets`: every room's clock targets; `targets_for`: a room's, by its ticket
        priority (the SLA policies, mediation.sla), called on every due computation: a
        lookup in memory, never I/O; `warn_before`: seconds before a deadline falls due
        that its party is warned; `calendar`: the holiday calendar and time zone business
        days are counted in (rooms.business_days); `side_acceptance`: who accepts a
        proposal for a side in rooms opened from now on (rooms.members.ACCEPTANCE)."""
        self.targets = targets or Targets()
        self.targets_for = targets_for or self._same_targets
        self.warn_before = warn_before
        self.calendar = calendar
        self.side_acceptance = side_acceptance
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
            kinds.ARBITRATION_WINDOW: self._arbitration_window,
            kinds.ARBITRATION_OPT_IN: self._arbitration_opt_in,
            kinds.DECISION: self._decision,
            kinds.DEADLINE: self._deadline,
            kinds.DEADLINE_ENDED: self._deadline_ended,
            kinds.DEADLINE_WARNING: self._deadline_warning,
            kinds.DEADLINE_APPLIED: self._deadline_applied,
            kinds.FILE: self._file,
            kinds.EVIDENCE_REQUEST: self._evidence_request,
            kinds.EVIDENCE_REVIEW: self._evidence_review,
            kinds.REDACTION: self._redaction,
            kinds.COMODERATOR: self._comoderator,
            kinds.MEMBER_ADDED: self._member,
            kinds.MEMBER_REMOVED: self._member,
        }

    def _same_targets(self, _priority: str) -> Targets:
        return self.targets

    def opened(
        self,
        state: str,
        ts: str,
        priority: str = "normal",
        parties: Parties | None = None,
        *,
        calendar: str | None = None,
        acceptance: str | None = None,
    ) -> Room:
        """A room just opened; `calendar`: the holiday calendar its business days count
        in (its parties' country), None for the deployment's; `acceptance`: who accepts
        for a side in it (rooms.members), pinned now (None: the workflow's
        `side_acceptance`)."""
        pinned = acceptance or self.side_acceptance
        if pinned not in members.ACCEPTANCE:
            raise RoomError(f"acceptance is one of {', '.join(members.ACCEPTANCE)}")
        facts = Facts(clocks=Clocks(opened_at=ts), calendar=calendar, acceptance=pinned)
        return Room(state, facts, priority=priority, parties=dict(parties or {}))

    def load(
        self,
        state: str,
        facts: dict[str, Any],
        priority: str = "normal",
        parties: Parties | None = None,
    ) -> Room:
        """The room from its row: `parties` (role -> user) only where a rule needs them
        (the commit's), not for reading facts."""
        loaded = msgspec.convert(facts, Facts)
        return Room(state, loaded, priority=priority, parties=dict(parties or {}))

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
        if not room.facts.deadlines:  # most rooms, most records
            return [] if rule is None else rule(room, record)
        deadlines.refuse_late_answer(room.facts.deadlines, record)
        follow = [] if rule is None else rule(room, record)
        ended = deadlines.ended(room.facts.deadlines, record, room.state, room.facts.offer)
        return [FollowUp(s.channel, s.kind, s.client_id, s.body) for s in ended] + follow

    def queue_fields(self, room: Room) -> QueueFields:
        facts, state = room.facts, room.state
        if state in (State.WAITING, State.ESCALATED):
            since = facts.clocks.queued_at or facts.clocks.opened_at or None
        else:
            since = min(facts.clocks.waiting.values(), default=None)
        due = clocks.next_due(facts.clocks, state, self.targets_for(room.priority))
        if facts.arbitration is not None:  # a failed mediation's window, if it runs
            due = _earliest(due, arbitration.due_at(state, facts.arbitration))
        if facts.deadlines:
            due = _earliest(due, deadlines.next_due(facts.deadlines, self.warn_before))
        return QueueFields(facts.moderator, facts.tier, clocks.parse(since) if since else None, due)

    def due(self, room: Room, now: datetime) -> list[Alarm]:
        """Alarms whose target (the room's priority's) has passed and that have not fired
        yet."""
        targets = self.targets_for(room.priority)
        return [
            alarm
            for alarm in clocks.pending(room.facts.clocks, room.state)
            if clocks.due_at(alarm, targets) <= now
        ]

    def lapsed(self, room: Room, now: datetime) -> list[FollowUp]:
        """The records the server writes because time passed by `now` with no alarm: a
        failed mediation's close once nobody opted in to arbitration in time."""
        close = arbitration.lapsed(room.state, room.facts.arbitration, now)
        return [] if close is None else [FollowUp(*close)]

    def deadlines_due(self, room: Room, now: datetime) -> list[FollowUp]:
        """The deadline warnings and enforcements the scheduler writes now."""
        steps = deadlines.due(room.facts.deadlines, now, self.warn_before)
        return [FollowUp(s.channel, s.kind, s.client_id, s.body) for s in steps]

    # -- the rules, one per kind ------------------------------------------------

    def _message(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        clocks.on_message(room.facts.clocks, record.channel, record.sender_role, record.ts)
        return []

    def _state(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        body = _body(record, StateBody)
        if body.to not in next_states(room.state):
            raise Conflict(f"the room is {room.state}: it cannot move to {body.to!r}")
        facts, ts = room.facts, record.ts
        arbitration.moved(room.state, body.to, record, facts.arbitration)
        self_serve.check_move(room.state, body, record)
        follow: list[FollowUp] = []
        if body.to == State.MEDIATING:
            facts.moderator = record.sender_user
            facts.clocks.claimed_at = facts.clocks.claimed_at or ts
            facts.clocks.queued_at = None
            event = Event(events.ROOM_CLAIMED, {"moderator": facts.moderator, "tier": facts.tier})
        elif body.to == State.ESCALATED:
            facts.tier += 1
            facts.moderator = None
            facts.comoderators = []  # the next tier's moderator picks their own team
            facts.clocks.queued_at = ts
            event = Event(events.ROOM_ESCALATED, {"tier": facts.tier, "brief": facts.brief})
        elif body.to == State.RESOLVED:
            facts.clocks.resolved_at = ts
            facts.settlement = body.terms
            facts.offer = None
            facts.clocks.queued_at = None
            resolved: dict[str, Any] = {"terms": _public(body.terms)}
            if self_serve.self_served(ts, facts.clocks.claimed_at):
                resolved["self_served"] = True
            event = Event(events.ROOM_RESOLVED, resolved)
        elif body.to == State.MEDIATION_FAILED:
            facts.arbitration, window = arbitration.failed(
                record, body, self.targets.arbitration_window
            )
            facts.offer = None  # no proposal survives the mediation
            follow.append(FollowUp(*window))
            failed = {"failed": record.seq, "until": facts.arbitration.until}
            event = Event(events.MEDIATION_FAILED, failed)
        elif body.to == State.ARBITRATION:
            assert facts.arbitration is not None  # arbitration.moved: only after an opt-in
            party, user = facts.arbitration.party, facts.arbitration_user
            event = Event(events.ARBITRATION_REQUESTED, {"by": {"role": party, "user": user}})
        else:
            event = Event(events.ROOM_CLOSED)
        facts.brief = False  # a brief is for the escalation that follows it
        if body.to != State.MEDIATING:
            facts.caucus = None  # a private session ends with the mediation
        room.state = body.to
        room.raised.append(event)
        return follow

    def _floor(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        room.facts.floor.apply(record.body)
        return []

    def _proposal(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        _require(record.channel == JOINT, "proposals are made in the joint channel")
        self_serve.check_proposal(room.state, record.sender_role)
        body = _body(record, ProposalBody)
        t = body.terms
        if terms(t.amount, t.currency, t.text, t.milestone) != t:
            raise RoomError("proposal terms are not in canonical form")
        if clocks.parse(body.expires_at) <= clocks.parse(record.ts):
            raise RoomError("a proposal must expire in the future")
        offer = room.facts.offer
        if body.counters is not None and (offer is None or offer.seq != body.counters):
            raise Superseded(_not_open(body.counters, offer))
        by_party = record.sender_role in PARTIES and self._counts(room, record)
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
        follow = self._message(room, record)
        # no policy deadline outside mediation: nobody would watch it (rooms.self_serve)
        days = self.targets_for(room.priority).proposal_answer_days
        days = days if room.state == State.MEDIATING else None
        facts = room.facts
        calendar = (facts.calendar or self.calendar[0], self.calendar[1])
        deciders = members.deciders(facts.sides, room.parties)  # a deadline names who decides
        step = deadlines.by_policy(record, facts.offer, facts.deadlines, deciders, days, calendar)
        return (
            follow
            if step is None
            else [*follow, FollowUp(ROOM, step.kind, step.client_id, step.body)]
        )

    def _response(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        _require(record.channel == JOINT, "responses are made in the joint channel")
        self_serve.check_response(room.state)
        if record.sender_role not in PARTIES:
            raise Forbidden("only the client and the freelancer answer a proposal")
        body = _body(record, ResponseBody)
        _require(body.answer in ANSWERS, f"answer is one of {', '.join(ANSWERS)}")
        offer = room.facts.offer
        if offer is None or offer.seq != body.proposal:
            raise Superseded(_not_open(body.proposal, offer))
        if record.sender_role == offer.by_role and record.sender_role in offer.accepted:
            raise Forbidden(f"proposal #{offer.seq} is yours: it stands as accepted by you")
        if record.sender_role in offer.accepted:
            raise Conflict(f"you already accepted proposal #{offer.seq}")
        if clocks.parse(record.ts) >= clocks.parse(offer.expires_at):
            raise Expired(f"proposal #{offer.seq} expired at {offer.expires_at}")
        facts, role, user = room.facts, record.sender_role, record.sender_user
        members.require_decider(facts.acceptance, facts.sides, room.parties, role, user)
        follow = self._message(room, record)
        if body.answer != "accept":
            room.facts.offer = None
            return follow
        offer.accepted.append(record.sender_role)
        offer.acceptances.append(Acceptance(record.sender_role, record.sender_user, record.ts))
        return follow + _settled(room, offer)

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
            facts = room.facts
            comoderators.handed_over(facts.moderator, facts.comoderators, body.moderator)
            facts.moderator = body.moderator
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

    # -- arbitration (rooms/arbitration.py holds the rules) --------------------------

    def _arbitration_window(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        arbitration.window(record)
        return []

    def _arbitration_opt_in(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        moved = arbitration.opt_in(room.state, room.facts.arbitration, record)
        room.facts.arbitration_user = record.sender_user
        return [FollowUp(*moved)]

    def _decision(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        _body(record, records.DecisionBody)  # malformed: invalid, before anything changes
        decided, resolution = arbitration.decide(room.state, room.facts.arbitration, record)
        by = {"role": record.sender_role, "user": record.sender_user}
        data = {"decision": record.seq, "by": by, "terms": _public(decided)}
        room.raised.append(Event(events.ARBITRATION_DECIDED, data))
        return [FollowUp(*resolution)]

    # -- deadlines (rooms.deadlines) --------------------------------------------

    def _deadline(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        _require_mediating(room, "deadlines")
        body = _body(record, DeadlineBody)
        open_ = room.facts.deadlines
        for other in open_.values():
            if other.party == body.party:
                raise Conflict(f"deadline #{other.seq} on the {other.party} is open: withdraw it")
        deadline = deadlines.opened(body, record, room.facts.offer)
        open_[str(record.seq)] = deadline
        room.facts.deadline_details[str(record.seq)] = DeadlineDetail(body.user, body.terms)
        data = _deadline_data(room, deadline) | {"terms": _public(body.terms)}
        room.raised.append(Event(events.DEADLINE_SET, data))
        _count(room, "set")
        return []

    def _deadline_ended(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        _require(record.channel == ROOM, "deadlines are withdrawn in the room channel")
        body = _body(record, DeadlineCancelledBody)
        deadline = deadlines.named(room.facts.deadlines, body.deadline)
        if record.sender_role == kinds.SYSTEM_ROLE:
            _require(body.cause in (deadlines.ANSWERED, deadlines.LAPSED), "not a cause")
        else:
            _require(body.cause == deadlines.WITHDRAWN, "a moderator withdraws a deadline")
        data = _deadline_data(room, deadline) | {"cause": body.cause}
        self._close_deadline(room, deadline)
        _count(room, body.cause)
        room.raised.append(Event(events.DEADLINE_ENDED, data))
        return []

    def _deadline_warning(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        deadline = self._deadline_noticed(room, record, warning=True)
        deadline.warned = True
        data = _deadline_data(room, deadline) | {"role": deadline.party}
        room.raised.append(Event(events.DEADLINE_WARNING, data))
        return []

    def _deadline_applied(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        deadline = self._deadline_noticed(room, record, warning=False)
        _require_mediating(room, "deadline outcomes")
        offer, key = room.facts.offer, str(deadline.seq)
        if deadline.outcome == deadlines.ACCEPT_PROPOSAL and (
            offer is None or offer.seq != deadline.proposal
        ):
            raise Superseded(_not_open(deadline.proposal or 0, offer))
        data = _deadline_data(room, deadline)
        detail = room.facts.deadline_details.get(key) or DeadlineDetail("")
        self._close_deadline(room, deadline)
        _count(room, "applied")
        room.raised.append(Event(events.DEADLINE_APPLIED, data))
        reason = deadlines.missed(deadline)
        if offer is not None and deadline.outcome == deadlines.ACCEPT_PROPOSAL:
            offer.accepted.append(deadline.party)
            offer.acceptances.append(Acceptance(deadline.party, detail.user, record.ts))
            return _settled(room, offer)
        to = State.RESOLVED if deadline.outcome == deadlines.RESOLVE else State.ESCALATED
        body = records.encode(StateBody(to, reason, detail.terms))
        return [FollowUp(ROOM, kinds.STATE, f"deadline:{key}:{deadline.outcome}", body)]

    def _deadline_noticed(self, room: Room, record: StoredMessage, warning: bool) -> Deadline:
        if record.sender_role != kinds.SYSTEM_ROLE:
            raise Forbidden("only the server warns of and enforces deadlines")
        _require(record.channel == ROOM, "deadline notices are in the room channel")
        body = _body(record, DeadlineNoticeBody)
        deadline = deadlines.named(room.facts.deadlines, body.deadline)
        deadlines.check_due(deadline, record, warning)
        return deadline

    @staticmethod
    def _close_deadline(room: Room, deadline: Deadline) -> None:
        room.facts.deadlines.pop(str(deadline.seq), None)
        room.facts.deadline_details.pop(str(deadline.seq), None)

    # -- evidence requests (rooms.evidence) -----------------------------------

    def _file(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        answered = evidence.answer(room.facts.evidence, record, _body(record, FileBody))
        if answered is not None:
            room.raised.append(answered)
        return []

    def _evidence_request(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        body = _body(record, EvidenceRequestBody)
        room.raised.append(evidence.request(room.facts.evidence, room.state, record, body))
        return []

    def _evidence_review(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        body = _body(record, EvidenceReviewBody)
        room.raised.append(evidence.review(room.facts.evidence, record, body))
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

    # -- co-moderators (rooms.comoderators) --------------------------------------

    def _comoderator(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        if record.sender_role != Role.MODERATOR:
            raise Forbidden("only the lead moderator adds or removes co-moderators")
        _require(record.channel == ROOM, "co-moderators are named in the room channel")
        _require_mediating(room, "co-moderators")
        body = _body(record, CoModeratorBody)
        facts = room.facts
        comoderators.change(facts.moderator, facts.comoderators, record.sender_user, body)
        return []

    # -- more people per party (rooms.members) ------------------------------------

    def _member(self, room: Room, record: StoredMessage) -> list[FollowUp]:
        body = members.apply(room.facts.sides, room.parties, record)
        data: dict[str, Any] = {"user": body.user, "side": body.side, "by": body.by}
        topic = events.MEMBER_REMOVED
        if record.kind == kinds.MEMBER_ADDED:
            data["decision_maker"] = body.decision_maker
            topic = events.MEMBER_ADDED
        room.raised.append(Event(topic, data))
        return []

    @staticmethod
    def _counts(room: Room, record: StoredMessage) -> bool:
        """Whether the party's acceptance is its side's (rooms.members.counts)."""
        facts = room.facts
        role, user = record.sender_role, record.sender_user
        return members.counts(facts.acceptance, facts.sides, room.parties, role, user)


def _count(room: Room, what: str) -> None:
    counts = room.facts.deadline_counts
    counts[what] = counts.get(what, 0) + 1


def _deadline_data(room: Room, deadline: Deadline) -> dict[str, Any]:
    """What a deadline's events carry: who, until when, what then (no words, no amounts)."""
    detail = room.facts.deadline_details.get(str(deadline.seq))
    return {
        "deadline": deadline.seq,
        "party": deadline.party,
        "user": detail.user if detail is not None else None,  # None: shredded since
        "due_at": deadline.due_at,
        "outcome": deadline.outcome,
        "proposal": deadline.proposal,
    }


def _settled(room: Room, offer: Offer) -> list[FollowUp]:
    """The room's resolution once both parties accepted `offer` (nothing before)."""
    if not set(offer.accepted) >= PARTIES:
        return []
    accepted = [msgspec.to_builtins(a) for a in offer.acceptances]
    agreed = {"proposal": offer.seq, "terms": _public(offer.terms), "accepted": accepted}
    if room.facts.clocks.claimed_at is None:  # never claimed: self-served (rooms.self_serve)
        agreed["self_served"] = True
    room.raised.append(Event(events.SETTLEMENT_AGREED, agreed))
    resolution = StateBody(
        State.RESOLVED,
        f"settled: both parties accepted proposal #{offer.seq}",
        offer.terms,
        offer.seq,
    )
    return [FollowUp(ROOM, kinds.STATE, f"settled:{offer.seq}", records.encode(resolution))]


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


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)
