"""Every frame of protocol v1, as msgspec structs tagged by their `type`.

Unknown fields are ignored (clients may be newer than the server); missing
or mistyped ones are `invalid`.
"""

from typing import Annotated, Literal

from msgspec import Meta, Struct

from rooms.numbers import MAX_SEQ
from rooms.records import Terms
from rooms.settlement import MAX_EXPIRY_MINUTES

ClientId = Annotated[str, Meta(min_length=1, max_length=64)]
UserName = Annotated[str, Meta(min_length=1, max_length=128)]
Brief = Annotated[str, Meta(max_length=4000)]
# Every integer a client sends is bounded here, so a number out of range is `invalid`
# before it reaches a room (docs/protocol.md, "Limits").
Seq = Annotated[int, Meta(ge=0, le=MAX_SEQ)]  # a channel's seq, or 0: nothing yet
Target = Annotated[int, Meta(ge=1, le=MAX_SEQ)]  # the seq of a record that exists


class _Frame(Struct, tag_field="type", omit_defaults=True):
    pass


# client -> server


class Hello(_Frame, tag="hello"):
    token: str
    since: dict[str, Seq] = {}
    room: str | None = None  # optional: if given, must be the token's room
    # optional: replay only the newest `recent` messages of each channel (every event still
    # comes); the earlier ones stay readable with `history`
    recent: Annotated[int, Meta(ge=1, le=200)] | None = None


class Send(_Frame, tag="send"):
    id: ClientId
    channel: str
    body: str


class History(_Frame, tag="history"):
    """Page backwards through one readable channel: the `limit` messages before `before`."""

    channel: str
    before: Target | None = None  # default: after the newest
    limit: Annotated[int, Meta(ge=1, le=200)] = 50
    id: str | None = None  # echoed in the reply, to match pages to requests


class Edit(_Frame, tag="edit"):
    """Replace the text of one's own message; the original is kept and stays visible to staff."""

    id: ClientId
    channel: str
    target: Target  # the seq of the message, in `channel`
    body: str


class Redact(_Frame, tag="redact"):
    """Moderators: remove the text of message `target` in `channel` (and of its edits)
    for everyone, for good; `reason` is personal_data | payment_data | abuse | other."""

    id: ClientId
    channel: str
    target: Target
    reason: Annotated[str, Meta(max_length=32)]


class Retract(_Frame, tag="retract"):
    """Withdraw one's own message; it is marked retracted, never erased."""

    id: ClientId
    channel: str
    target: Target


class Transition(_Frame, tag="transition"):
    """Moderators move the room: waiting -> mediating (claim) -> resolved | escalated |
    mediation_failed -> closed (docs/protocol.md: arbitration is the server's move)."""

    id: ClientId
    to: str
    reason: Annotated[str, Meta(max_length=2000)] = ""  # everyone sees it
    brief: Brief = ""  # moderators only: a hand-off for whoever picks the room up next


class Caucus(_Frame, tag="caucus"):
    """Moderators: open or close a private session; the other party only sees that one runs."""

    id: ClientId
    party: str  # client | freelancer
    open: bool = True


class Transfer(_Frame, tag="transfer"):
    """Moderators: hand the room to another moderator, with a brief (kept in `notes`)."""

    id: ClientId
    to: UserName
    brief: Annotated[str, Meta(min_length=1, max_length=4000)]


class Propose(_Frame, tag="propose"):
    """Settlement terms. A counter names the open proposal it answers; it supersedes it."""

    id: ClientId
    amount: Annotated[str, Meta(max_length=32)]  # a plain decimal: "1250.00"
    currency: Annotated[str, Meta(max_length=8)]  # ISO 4217: "USD"
    text: Annotated[str, Meta(max_length=4000)] = ""
    milestone: Annotated[str, Meta(max_length=200)] | None = None
    expires_in: Annotated[int, Meta(ge=1, le=MAX_EXPIRY_MINUTES)] = 48 * 60  # minutes
    counters: Target | None = None  # seq of the proposal answered


class Respond(_Frame, tag="respond"):
    """A party accepts or rejects the open proposal."""

    id: ClientId
    proposal: Target  # its seq in `joint`
    answer: Literal["accept", "reject"]


class Rate(_Frame, tag="rate"):
    """A party rates the mediation once the room is resolved (CSAT)."""

    id: ClientId
    rating: Annotated[int, Meta(ge=1, le=5)]
    comment: Annotated[str, Meta(max_length=2000)] = ""


class FloorControl(_Frame, tag="floor"):
    """Moderators: mute or unmute a party for a while, pause or resume the room."""

    id: ClientId
    action: str  # mute | unmute | pause | resume
    party: str | None = None  # mute, unmute: client | freelancer
    minutes: Annotated[int, Meta(ge=1, le=24 * 60)] = 10
    reason: Annotated[str, Meta(max_length=2000)] = ""


class TypingHint(_Frame, tag="typing"):
    """The sender is typing in `channel`: relayed to its readers, never stored, never acked."""

    channel: str


class Token(_Frame, tag="token"):
    """A fresh token for the joined socket (same room, user and role): it moves the
    moment the socket closes with 4401. Answered with `token` or an `error`."""

    token: str
    id: ClientId | None = None


class OptIn(_Frame, tag="opt_in"):
    """A party asks for arbitration once the mediation failed, before the window closes
    (`window_closed` after it); the room moves to `arbitration`."""

    id: ClientId


class Decide(_Frame, tag="decide"):
    """The arbitrator's decision in a room in arbitration: the room resolves with these
    terms (checked like a proposal's)."""

    id: ClientId
    amount: Annotated[str, Meta(max_length=32)]  # a plain decimal: "1250.00"
    currency: Annotated[str, Meta(max_length=8)]  # ISO 4217: "USD"
    text: Annotated[str, Meta(max_length=4000)] = ""  # what is decided, in words
    milestone: Annotated[str, Meta(max_length=200)] | None = None
    reason: Annotated[str, Meta(max_length=8000)] = ""  # why: everyone in the room reads it


class SetDeadline(_Frame, tag="deadline"):
    """Moderators: ask `party` to answer by a time (`at`, or `business_days` from now in
    the deployment's holiday calendar), or `outcome` applies: accept_proposal (the open
    `proposal`), resolve (with `amount`, `currency`, `text`), escalate."""

    id: ClientId
    party: str  # client | freelancer
    outcome: Literal["accept_proposal", "resolve", "escalate"]
    at: Annotated[str, Meta(max_length=40)] | None = None  # ISO 8601 with an offset
    business_days: Annotated[int, Meta(ge=1, le=250)] | None = None
    calendar: Annotated[str, Meta(max_length=16)] | None = None  # default: the deployment's
    reason: Annotated[str, Meta(max_length=2000)] = ""  # what is asked of the party
    proposal: Target | None = None  # accept_proposal: the open proposal's seq
    amount: Annotated[str, Meta(max_length=32)] | None = None  # resolve: the terms
    currency: Annotated[str, Meta(max_length=8)] | None = None
    text: Annotated[str, Meta(max_length=4000)] = ""
    milestone: Annotated[str, Meta(max_length=200)] | None = None


class WithdrawDeadline(_Frame, tag="withdraw_deadline"):
    """Moderators: withdraw an open deadline (its seq in the room channel)."""

    id: ClientId
    deadline: Target
    reason: Annotated[str, Meta(max_length=2000)] = ""


class RequestEvidence(_Frame, tag="request_evidence"):
    """Moderators: ask a party for a named item by a date (rooms.evidence)."""

    id: ClientId
    party: str  # client | freelancer
    item: Annotated[str, Meta(min_length=1, max_length=500)]  # "the signed contract"
    due_at: Annotated[str, Meta(max_length=40)]  # ISO 8601 with a zone: "2026-12-04T17:00Z"
    channel: str = "joint"  # or the party's own caucus


class ReviewEvidence(_Frame, tag="review_evidence"):
    """Moderators: mark an evidence request satisfied or not; either closes it."""

    id: ClientId
    request: Target  # the request's seq in `channel`
    verdict: Literal["satisfied", "not_satisfied"]
    note: Annotated[str, Meta(max_length=2000)] = ""
    channel: str = "joint"  # the request's channel


class CoModerator(_Frame, tag="co_moderator"):
    """The lead moderator adds (`add`: true) or removes a co-moderator of the room."""

    id: ClientId
    user: UserName
    add: bool = True


ClientFrame = (
    Hello
    | TypingHint
    | Send
    | History
    | Edit
    | Retract
    | Transition
    | FloorControl
    | Caucus
    | Transfer
    | Propose
    | Respond
    | Rate
    | Token
    | OptIn
    | Decide
    | SetDeadline
    | WithdrawDeadline
    | RequestEvidence
    | ReviewEvidence
    | Redact
    | CoModerator
)


# server -> client


class Who(Struct):
    user: str
    role: str


class Participant(Struct):
    user: str
    role: str
    online: bool


class Ticket(Struct):
    provider: str
    id: str


class RoomView(Struct, omit_defaults=True):
    id: str
    ticket: Ticket
    state: str
    participants: list[Participant]
    # display names by user id, for the people the room was opened with who have one
    # (never emails or locales); read at hello only, absent when there are none
    names: dict[str, str] = {}


class You(Struct, omit_defaults=True):
    """The caller: who the token says, and the locale the room's people give them (absent
    when none is given: the app then follows the browser's languages)."""

    user: str
    role: str
    locale: str | None = None


class Welcome(_Frame, tag="welcome"):
    room: RoomView
    you: You
    head: dict[str, int]
    expires_at: str | None = None  # when the socket closes with 4401 unless a `token` comes


class Ack(_Frame, tag="ack"):
    id: str
    channel: str
    seq: int


class Removal(Struct):
    """A record whose text a moderator removed: by whom, when, and why (a code of
    `rooms.redaction.REASONS`). Its `body` is then empty."""

    by: Who
    at: str
    reason: str


class Message(_Frame, tag="message"):
    seq: int
    id: str
    channel: str
    sender: Who
    body: str
    ts: str
    redacted: Removal | None = None  # its text removed by a moderator: body ""


class EventFrame(_Frame, tag="event"):
    """A transcript record that is not a message (`kind`: joined, edit, retract, ...).

    Like a message it holds its `seq` in its channel: a client counts it
    even if it does not understand the kind."""

    seq: int
    id: str
    channel: str
    kind: str
    sender: Who
    ts: str
    target: int | None = None  # edit, retract: the message; proposal: the one it counters;
    # response: the proposal answered; state resolved by settlement: the proposal accepted
    body: str | None = None  # edit: the new text
    state: str | None = None  # state: the room's new state
    reason: str | None = None  # state, floor: why, as the moderator put it; decision: why
    action: str | None = None  # floor: mute | unmute | pause | resume
    party: str | None = None  # floor, caucus, overdue, reminder: the party concerned
    until: str | None = None  # floor: when a mute or pause ends; arbitration_window: when
    # the parties' opt-in to arbitration closes (ISO 8601)
    terms: Terms | None = None  # proposal, decision; state resolved by settlement or by a
    # decision: the exact terms
    expires_at: str | None = None  # proposal
    answer: str | None = None  # response: accept | reject
    open: bool | None = None  # caucus
    moderator: str | None = None  # handoff: who takes over (absent: a brief for the next tier)
    brief: str | None = None  # handoff
    rating: int | None = None  # csat
    comment: str | None = None  # csat
    clock: str | None = None  # overdue, reminder: unclaimed | answer | reply
    since: str | None = None  # overdue, reminder: when the wait began
    file: str | None = None  # file, file_deleted: the file's id (GET /api/rooms/R/files/ID)
    name: str | None = None  # file: its name, as the uploader gave it
    content_type: str | None = None  # file: its type, as detected from its bytes
    size: int | None = None  # file: bytes
    sha256: str | None = None  # file: hex SHA-256 of its bytes, in the hash chain
    deadline: int | None = None  # deadline_*: the seq of the deadline (room channel)
    due_at: str | None = None  # deadline, deadline_warning, deadline_applied, evidence_request:
    # by when (ISO 8601 UTC)
    outcome: str | None = None  # deadline*: accept_proposal | resolve | escalate
    cause: str | None = None  # deadline_ended: answered | withdrawn | lapsed
    business_days: int | None = None  # deadline: when counted in business days, how many
    calendar: str | None = None  # deadline: in which holiday calendar
    request: int | None = None  # file: the evidence request it answers; evidence_review: the
    # request reviewed (its seq, in this channel)
    item: str | None = None  # evidence_request: what is asked for
    verdict: str | None = None  # evidence_review: satisfied | not_satisfied
    note: str | None = None  # evidence_review: the moderator's note
    redacted: Removal | None = None  # edit: its text removed by a moderator (with its message)
    added: bool | None = None  # comoderator: added (true) or removed (false); `moderator`: who
    member: str | None = None  # member_added, member_removed: the person (a user id)
    side: str | None = None  # member_*: client | freelancer
    decision_maker: bool | None = None  # member_added: the side's decision-maker from now on
    by: str | None = None  # member_*: who asked (the platform, or a moderator's id)


class HistoryPage(_Frame, tag="history"):
    channel: str
    messages: list[Message | EventFrame]  # oldest first
    more: bool  # older messages exist before the first one
    id: str | None = None


class PresenceFrame(_Frame, tag="presence"):
    user: str
    role: str
    online: bool


class TypingFrame(_Frame, tag="typing"):
    """Someone is typing in `channel` (show it for a few seconds)."""

    user: str
    role: str
    channel: str


class Error(_Frame, tag="error"):
    code: str
    message: str
    id: str | None = None
    retry_after_ms: int | None = None  # rate_limited: wait this long, then resend in order


class TokenAccepted(_Frame, tag="token"):
    """The socket's token was replaced: it now closes with 4401 at `expires_at`."""

    expires_at: str  # ISO 8601 UTC
    id: str | None = None


ServerFrame = (
    Welcome
    | Ack
    | Message
    | EventFrame
    | HistoryPage
    | PresenceFrame
    | TypingFrame
    | Error
    | TokenAccepted
)
