"""Disputes that end: a failed mediation, the parties' opt-in to arbitration, the decision.

    mediating --(moderator: mediation_failed, with a reason)--> mediation_failed
    mediation_failed --(a party's opt_in, inside the window)--> arbitration
    mediation_failed --(a moderator, or the server once the window passed)--> closed
    arbitration --(the arbitrator's decision, with terms)--> resolved

When a moderator fails the mediation, the server writes the window (`opt_in_window`,
until when a party may opt in: `Targets.arbitration_window` after the failure). A party's
`opt_in` inside it is followed, in the same commit, by the server's move to
`arbitration`; after it, it is refused with `window_closed`. The arbitrator (a read-only
role: joint and room channels) writes one `decision` with terms, followed by the server's
move to `resolved` with those terms, as a settlement's resolution follows the last accept.
If nobody opts in, the clock scheduler closes the room once the window has passed, under
a client id naming the failure, so it is stored once however many processes try.

Every record is in the room channel: everyone reads it. Pure: tested directly
(tests/test_arbitration_unit.py); rooms.workflow calls these rules inside the commit and
rooms.door calls `check` before.
"""

from datetime import datetime, timedelta

import msgspec

from rooms import kinds, records
from rooms.errors import Conflict, Forbidden, RoomClosed, RoomError, WindowClosed
from rooms.lifecycle import State
from rooms.ports import StoredMessage
from rooms.records import ArbitrationWindowBody, DecisionBody, StateBody, Terms
from rooms.settlement import terms as valid_terms
from rooms.visibility import PARTIES, ROOM, Role

KINDS = frozenset({kinds.ARBITRATION_WINDOW, kinds.ARBITRATION_OPT_IN, kinds.DECISION})

# (channel, kind, client id, body): a record the server writes after the one that caused
# it (rooms.workflow makes it a FollowUp).
Next = tuple[str, str, str, str]


class Arbitration(msgspec.Struct, omit_defaults=True):
    """What the workflow knows of a failed mediation on its way to arbitration. Kept in
    clear on the room's row (the scheduler closes the room at `until`): seqs, times and a
    role, never anybody's words, an amount or a party's user id (that one is sealed:
    `rooms.workflow.Facts.arbitration_user`)."""

    failed: int  # the seq, in the room channel, of the state record that failed it
    until: str  # ISO 8601 UTC: the window for an opt-in closes
    party: str | None = None  # the party (its role) that opted in
    decision: int | None = None  # the seq of the arbitrator's decision


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check(role: Role, kind: str, channel: str, state: str) -> None:
    """The door's part (rooms.door.check): RoomError unless `role` may write an arbitration
    record of `kind` to `channel` in a room that is `state` now. The window is the
    commit's to check (rooms.workflow holds it)."""
    if channel != ROOM:
        raise Forbidden(f"{kind} records are written in the room channel")
    if kind == kinds.ARBITRATION_WINDOW:
        raise Forbidden("only the server opens the window for arbitration")
    if kind == kinds.ARBITRATION_OPT_IN and role not in PARTIES:
        raise Forbidden("only the client or the freelancer opts in to arbitration")
    if kind == kinds.DECISION and role is not Role.ARBITRATOR:
        raise Forbidden("only the arbitrator records a decision")
    needed = State.MEDIATION_FAILED if kind == kinds.ARBITRATION_OPT_IN else State.ARBITRATION
    if state == State.CLOSED:
        raise RoomClosed(f"the room is {state}")
    if state != needed:
        raise Conflict(f"{kind} needs a room in {needed}; this one is {state}")


def failed(record: StoredMessage, body: StateBody, window: float) -> tuple[Arbitration, Next]:
    """A moderator failed the mediation: the window opens now, for `window` seconds."""
    if not body.reason.strip():
        raise RoomError("a failed mediation needs a reason: the parties read it")
    until = iso(datetime.fromisoformat(record.ts) + timedelta(seconds=window))
    opened = records.encode(ArbitrationWindowBody(until))
    return Arbitration(record.seq, until), (
        ROOM,
        kinds.ARBITRATION_WINDOW,
        f"window:{record.seq}",
        opened,
    )


def moved(state: str, to: str, record: StoredMessage, facts: Arbitration | None) -> None:
    """RoomError unless this `state` record may make the arbitration move `state` -> `to`
    (the lifecycle already allows it): the server's moves come from the server, and the
    server closes a failed mediation only once its window passed."""
    server = record.sender_role == kinds.SYSTEM_ROLE
    if state == State.MEDIATION_FAILED and to == State.ARBITRATION and not server:
        raise Forbidden("a room goes to arbitration when a party opts in")
    if state == State.ARBITRATION and to == State.RESOLVED and not server:
        raise Forbidden("a room in arbitration is resolved by the arbitrator's decision")
    early = facts is None or _before(record.ts, facts.until)
    if state == State.MEDIATION_FAILED and to == State.CLOSED and server and early:
        raise Conflict("the window for arbitration is still open")


def opt_in(state: str, facts: Arbitration | None, record: StoredMessage) -> Next:
    """A party opts in: the server's move to arbitration follows in the same commit."""
    party = record.sender_role
    if party not in PARTIES or record.channel != ROOM:
        raise Forbidden("only the client or the freelancer opts in, in the room channel")
    if state != State.MEDIATION_FAILED or facts is None:
        raise Conflict(f"opting in to arbitration needs a failed mediation; the room is {state}")
    if not _before(record.ts, facts.until):
        raise WindowClosed(f"the window for arbitration closed at {facts.until}")
    facts.party = party
    to = StateBody(State.ARBITRATION, f"the {party} opted in to arbitration")
    return ROOM, kinds.STATE, f"arbitration:{facts.failed}", records.encode(to)


def decide(state: str, facts: Arbitration | None, record: StoredMessage) -> tuple[Terms, Next]:
    """The arbitrator decides: the room's resolution with the decision's terms follows."""
    if record.sender_role != Role.ARBITRATOR or record.channel != ROOM:
        raise Forbidden("only the arbitrator records a decision, in the room channel")
    if state != State.ARBITRATION or facts is None:
        raise Conflict(f"a decision needs a room in arbitration; this one is {state}")
    body = records.body_of(kinds.DECISION, record.body)
    assert isinstance(body, DecisionBody)
    t = body.terms
    if valid_terms(t.amount, t.currency, t.text, t.milestone) != t:
        raise RoomError("decision terms are not in canonical form")
    facts.decision = record.seq
    resolution = StateBody(State.RESOLVED, f"decided by arbitration (decision #{record.seq})", t)
    return t, (ROOM, kinds.STATE, f"decided:{record.seq}", records.encode(resolution))


def window(record: StoredMessage) -> None:
    if record.sender_role != kinds.SYSTEM_ROLE or record.channel != ROOM:
        raise Forbidden("only the server opens the window for arbitration")


def due_at(state: str, facts: Arbitration | None) -> datetime | None:
    """When the scheduler should close this room (its window passing), if it should."""
    if state != State.MEDIATION_FAILED or facts is None:
        return None
    return datetime.fromisoformat(facts.until)


def lapsed(state: str, facts: Arbitration | None, now: datetime) -> Next | None:
    """The server's close of a failed mediation whose window passed with no opt-in; its
    client id names the failure, so it is stored once."""
    at = due_at(state, facts)
    if at is None or facts is None or now < at:
        return None
    reason = "nobody opted in to arbitration before the window closed"
    return (
        ROOM,
        kinds.STATE,
        f"lapsed:{facts.failed}",
        records.encode(StateBody(State.CLOSED, reason)),
    )


def opt_in_until(state: str, facts: Arbitration | None) -> str | None:
    """Until when a party may opt in, while it may (the queue shows it)."""
    return facts.until if facts is not None and state == State.MEDIATION_FAILED else None


def status(state: str, facts: Arbitration | None) -> str:
    """Where a room stands with arbitration, for reports: "" (never failed), `open` (the
    window runs), `lapsed` (closed with no opt-in), `requested` (in arbitration),
    `decided`."""
    if facts is None:
        return ""
    if facts.decision is not None:
        return "decided"
    if facts.party is not None:
        return "requested"
    return "open" if state == State.MEDIATION_FAILED else "lapsed"


def decision_body(decided: Terms, reason: str) -> str:
    return records.encode(DecisionBody(decided, reason))


def opt_in_body() -> str:
    return "{}"


def _before(ts: str, until: str) -> bool:
    return datetime.fromisoformat(ts) < datetime.fromisoformat(until)
