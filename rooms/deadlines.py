"""Deadlines with a default outcome: "answer by <date>, or <outcome>".

A moderator sets a deadline on one party (a `deadline` record in the room
channel): answer by `due_at`, or the outcome applies:

- `accept_proposal`: the open proposal (named by its seq) is taken as accepted by
  that party; if the other party accepted it already, the room settles on it;
- `resolve`: the room is resolved with the deadline's own terms;
- `escalate`: the room is escalated to the next tier.

The party's *answer* cancels a deadline that has not fallen due (a
`deadline_ended` record, cause `answered`, written by the server right after
the answer in the same commit). For `accept_proposal` the answer is the party's
response to the named proposal (accept or reject) or its counter-proposal; for the
other outcomes, any message, proposal or response by the party in the joint channel
or its own caucus. A moderator withdraws a deadline (cause `withdrawn`); a deadline
lapses (cause `lapsed`) when its proposal stops being the open one without the
party's answer, or when the room leaves mediation.

The clock scheduler writes a `deadline_warning` once the deadline is within the
warning lead, and a `deadline_applied` once it has fallen due, each in the
server's voice under a client id naming the deadline; the enforcement is
followed in the same commit by the outcome's own record (a `state` record). The
rules below refuse a warning or an enforcement for a deadline that is no longer
open, so two processes or a restart apply an outcome exactly once.

At most one deadline is open per party. Pure: the workflow calls these.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import msgspec

from rooms import clocks, kinds, records
from rooms.business_days import add_business_days
from rooms.errors import Conflict, Expired, Forbidden, RoomError, Superseded
from rooms.lifecycle import State
from rooms.records import DeadlineBody, DeadlineCancelledBody, DeadlineNoticeBody, Terms
from rooms.settlement import terms as valid_terms
from rooms.visibility import JOINT, PARTIES, ROOM, Role, caucus_of

if TYPE_CHECKING:
    from rooms.ports import StoredMessage
    from rooms.workflow import Offer

ACCEPT_PROPOSAL, RESOLVE, ESCALATE = "accept_proposal", "resolve", "escalate"
OUTCOMES = (ACCEPT_PROPOSAL, RESOLVE, ESCALATE)
ANSWERED, WITHDRAWN, LAPSED = "answered", "withdrawn", "lapsed"
MAX_AHEAD = timedelta(days=366)
# what a party writes that answers a deadline (accept_proposal: only in joint, on the proposal)
ANSWERS = frozenset({kinds.MESSAGE, kinds.PROPOSAL, kinds.RESPONSE})


class Deadline(msgspec.Struct, omit_defaults=True):
    """An open deadline as the room's facts keep it, in clear (the scheduler reads it):
    no words, no amounts; the terms of a `resolve` are kept sealed beside it."""

    seq: int  # the deadline record's seq in the room channel
    party: str  # by role: the party's user id is sealed (DeadlineDetail)
    due_at: str
    outcome: str
    proposal: int | None = None
    warned: bool = False


class DeadlineDetail(msgspec.Struct, omit_defaults=True):
    """What of an open deadline is sealed with the room's other words: the party's user id
    (the warning mail's addressee) and a `resolve` deadline's terms."""

    user: str
    terms: Terms | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """A record the server writes next (the workflow makes it a FollowUp)."""

    kind: str
    client_id: str
    body: str
    channel: str = ROOM


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def deadline_body(
    party: str,
    user: str,
    due_at: datetime,
    outcome: str,
    reason: str = "",
    proposal: int | None = None,
    agreed: Terms | None = None,
    business_days: int | None = None,
    calendar: str | None = None,
) -> str:
    """A `deadline` record's body, as a moderator's frame asks for it."""
    if party not in PARTIES:
        raise RoomError("a deadline is set on the client or the freelancer")
    if outcome not in OUTCOMES:
        raise RoomError(f"outcome is one of {', '.join(OUTCOMES)}")
    body = DeadlineBody(
        party, user, iso(due_at), outcome, reason, proposal, agreed, business_days, calendar
    )
    return records.encode(body)


def due_time(
    now: datetime, at: str | None, business_days: int | None, calendar: str, tz: str
) -> datetime:
    """When a deadline falls due: at `at` (ISO 8601 with an offset), or `business_days`
    business days from `now` in `calendar`, counted in `tz` (rooms.business_days)."""
    if (at is None) == (business_days is None):
        raise RoomError("a deadline gives `at` or `business_days`, one of them")
    if business_days is not None:
        return add_business_days(now, business_days, calendar, tz)
    assert at is not None
    try:
        due = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        raise RoomError(f"at {at!r} is not an ISO 8601 time") from None
    if due.tzinfo is None:
        raise RoomError("at needs its offset from UTC (`Z` or `+02:00`)")
    return due.astimezone(UTC)


MAX_POLICY_DAYS = 60  # business days an SLA policy may give to answer a proposal


def by_policy(
    proposal: "StoredMessage",
    offer: "Offer | None",
    open_: dict[str, Deadline],
    parties: Mapping[str, str],
    days: int | None,
    calendar: tuple[str, str],
) -> Step | None:
    """The deadline the room's SLA policy sets when a party proposes: the other party
    answers within `days` business days (`calendar`: country, time zone), or the proposal
    stands as accepted by it. None when the policy has no such rule, a moderator proposed,
    the other party has a deadline that this proposal does not end (an accept_proposal
    deadline lapses with its proposal), its user is unknown, or the proposal expires first."""
    if not days or proposal.sender_role not in PARTIES or offer is None:
        return None
    other = Role.FREELANCER if proposal.sender_role == Role.CLIENT else Role.CLIENT
    user = parties.get(other)
    if not user or any(d.party == other and d.outcome != ACCEPT_PROPOSAL for d in open_.values()):
        return None
    country, tz = calendar
    due = add_business_days(clocks.parse(proposal.ts), days, country, tz)
    if due >= clocks.parse(offer.expires_at):
        return None
    reason = (
        f"Answer proposal #{proposal.seq} within {days} business days (this room's policy);"
        " unanswered, it stands as accepted by you."
    )
    body = deadline_body(
        other, user, due, ACCEPT_PROPOSAL, reason, proposal.seq, None, days, country.upper()
    )
    return Step(kinds.DEADLINE, f"policy-deadline:{proposal.seq}", body)


def withdrawal_body(deadline: int, reason: str = "") -> str:
    return records.encode(DeadlineCancelledBody(deadline, WITHDRAWN, reason))


# -- the rules' checks ------------------------------------------------------------


def opened(body: DeadlineBody, record: "StoredMessage", offer: "Offer | None") -> Deadline:
    """The deadline `record` sets, or RoomError why it cannot be set (the room is in
    mediation and the party has no open deadline: the workflow checked)."""
    if record.channel != ROOM:
        raise RoomError("deadlines are set in the room channel")
    if body.party not in PARTIES:
        raise RoomError("a deadline is set on the client or the freelancer")
    if body.outcome not in OUTCOMES:
        raise RoomError(f"outcome is one of {', '.join(OUTCOMES)}")
    due, now = clocks.parse(body.due_at), clocks.parse(record.ts)
    if not now < due <= now + MAX_AHEAD:
        raise RoomError("a deadline falls in the future, within a year")
    if body.outcome == RESOLVE:
        t = body.terms
        if t is None or body.proposal is not None:
            raise RoomError("a deadline that resolves the room states its terms, no proposal")
        if valid_terms(t.amount, t.currency, t.text, t.milestone) != t:
            raise RoomError("deadline terms are not in canonical form")
    elif body.terms is not None:
        raise RoomError(f"a deadline to {body.outcome} has no terms")
    if body.outcome == ACCEPT_PROPOSAL:
        _check_proposal(body, due, offer)
    elif body.proposal is not None:
        raise RoomError(f"a deadline to {body.outcome} names no proposal")
    return Deadline(record.seq, body.party, body.due_at, body.outcome, body.proposal)


def _check_proposal(body: DeadlineBody, due: datetime, offer: "Offer | None") -> None:
    if body.proposal is None:
        raise RoomError("a deadline to accept a proposal names it")
    if offer is None or offer.seq != body.proposal:
        raise Superseded(f"proposal #{body.proposal} is not the open one")
    if offer.by_role == body.party:
        raise Forbidden(f"proposal #{offer.seq} is the {body.party}'s own")
    if body.party in offer.accepted:
        raise Conflict(f"the {body.party} already accepted proposal #{offer.seq}")
    if due >= clocks.parse(offer.expires_at):
        raise RoomError(f"proposal #{offer.seq} expires at {offer.expires_at}, first")


def named(open_: dict[str, Deadline], seq: int) -> Deadline:
    deadline = open_.get(str(seq))
    if deadline is None:
        raise Conflict(f"deadline #{seq} is not open (answered, withdrawn, lapsed or applied)")
    return deadline


def check_due(deadline: Deadline, record: "StoredMessage", warning: bool) -> None:
    """A warning comes before the deadline, once; an enforcement at or after it."""
    due, at = clocks.parse(deadline.due_at), clocks.parse(record.ts)
    if warning and (deadline.warned or at >= due):
        raise Conflict(f"deadline #{deadline.seq} was warned of already, or fell due")
    if not warning and at < due:
        raise Conflict(f"deadline #{deadline.seq} falls due at {deadline.due_at}, not yet")


def refuse_late_answer(open_: dict[str, Deadline], record: "StoredMessage") -> None:
    """A party's response to a proposal whose deadline on it has fallen due: the default
    outcome applies (the scheduler is about to write it), so the answer is refused."""
    if record.kind != kinds.RESPONSE:
        return
    for deadline in open_.values():
        if (
            deadline.outcome == ACCEPT_PROPOSAL
            and deadline.party == record.sender_role
            and clocks.parse(record.ts) >= clocks.parse(deadline.due_at)
        ):
            raise Expired(f"deadline #{deadline.seq} fell due at {deadline.due_at}")


def ended(
    open_: dict[str, Deadline], record: "StoredMessage", state: str, offer: "Offer | None"
) -> list[Step]:
    """The cancellations `record` causes (after its rule applied): answered, or lapsed."""
    steps = []
    for key, deadline in sorted(open_.items(), key=lambda item: int(item[0])):
        if deadline.seq == record.seq and record.kind == kinds.DEADLINE:
            continue  # just set
        cause, why = _end_of(deadline, record, state, offer)
        if cause:
            body = records.encode(DeadlineCancelledBody(int(key), cause, why))
            steps.append(Step(kinds.DEADLINE_ENDED, f"deadline-ended:{key}", body))
    return steps


def _end_of(
    deadline: Deadline, record: "StoredMessage", state: str, offer: "Offer | None"
) -> tuple[str, str]:
    if state != State.MEDIATING:
        return LAPSED, f"the room is {state}"
    if _answers(deadline, record):
        return ANSWERED, ""
    if deadline.outcome == ACCEPT_PROPOSAL and (offer is None or offer.seq != deadline.proposal):
        return LAPSED, f"proposal #{deadline.proposal} is no longer open"
    return "", ""


def _answers(deadline: Deadline, record: "StoredMessage") -> bool:
    if record.sender_role != deadline.party or record.kind not in ANSWERS:
        return False
    if clocks.parse(record.ts) >= clocks.parse(deadline.due_at):
        return False
    if deadline.outcome == ACCEPT_PROPOSAL:
        return record.channel == JOINT and record.kind != kinds.MESSAGE
    return record.channel in (JOINT, caucus_of(deadline.party))


# -- the scheduler's side ---------------------------------------------------------


def warn_at(deadline: Deadline, lead: float) -> datetime:
    return clocks.parse(deadline.due_at) - timedelta(seconds=lead)


def next_due(open_: dict[str, Deadline], lead: float) -> datetime | None:
    """When the scheduler should look next: a warning still to give, or a due time."""
    return min(
        (clocks.parse(d.due_at) if d.warned else warn_at(d, lead) for d in open_.values()),
        default=None,
    )


def due(open_: dict[str, Deadline], now: datetime, lead: float) -> list[Step]:
    """The warnings and enforcements due by `now`, each under the client id that makes a
    second writer's copy a duplicate."""
    steps = []
    for key, deadline in sorted(open_.items(), key=lambda item: int(item[0])):
        notice = DeadlineNoticeBody(deadline.seq, deadline.party, deadline.due_at, deadline.outcome)
        if now >= clocks.parse(deadline.due_at):
            client_id = f"deadline-applied:{key}"
            steps.append(Step(kinds.DEADLINE_APPLIED, client_id, records.encode(notice)))
        elif not deadline.warned and now >= warn_at(deadline, lead):
            client_id = f"deadline-warning:{key}"
            steps.append(Step(kinds.DEADLINE_WARNING, client_id, records.encode(notice)))
    return steps


def missed(deadline: Deadline) -> str:
    """The reason the outcome's record gives."""
    return f"deadline #{deadline.seq}: the {deadline.party} did not answer by {deadline.due_at}"


_SAID = {
    ACCEPT_PROPOSAL: "proposal #{proposal} is taken as accepted by the {party}",
    RESOLVE: "the room is resolved with {amount} {currency}",
    ESCALATE: "the room is escalated",
}


def describe(kind: str, text: str) -> str | None:
    """A deadline record in words, for people reading an exported transcript (its body
    is JSON); None for any other kind or a body that is not a deadline's."""
    if kind not in (
        kinds.DEADLINE,
        kinds.DEADLINE_ENDED,
        kinds.DEADLINE_WARNING,
        kinds.DEADLINE_APPLIED,
    ):
        return None
    try:
        body = records.body_of(kind, text)
    except records.BadBody:
        return None
    if isinstance(body, DeadlineBody):
        t = body.terms
        amount, currency = (t.amount, t.currency) if t else ("", "")
        then = _SAID.get(body.outcome, body.outcome).format(
            proposal=body.proposal, party=body.party, amount=amount, currency=currency
        )
        counted = f" ({body.business_days} business days, {body.calendar})"
        counted = counted if body.business_days else ""
        asked = f" Asked: {body.reason}" if body.reason else ""
        terms_text = f" Terms: {t.text}" if t and t.text else ""
        by = f"answer by {body.due_at}{counted}"
        return f"Deadline on the {body.party}: {by}, or {then}.{asked}{terms_text}"
    if isinstance(body, DeadlineCancelledBody):
        why = f": {body.reason}" if body.reason else ""
        return f"Deadline #{body.deadline} ended ({body.cause}){why}."
    if isinstance(body, DeadlineNoticeBody):
        if kind == kinds.DEADLINE_WARNING:
            due = body.due_at
            return f"Warning: deadline #{body.deadline} on the {body.party} falls due at {due}."
        return (
            f"Deadline #{body.deadline} fell due unanswered: its outcome ({body.outcome}) applies."
        )
    return None
