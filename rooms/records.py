"""The one record model: every kind of record and the shape of its body.

A record is its header (room, position, channel, seq, kind, sender, client id,
timestamp: `transcripts.chain.header`, both the hash chain's input and the
AEAD's associated data) and its body. A message's body is its text; every
other kind's is the canonical JSON of the struct `BODIES` names for it. The
kind travels beside the body (its own column, its own frame field), so the body
carries no tag: `body_of(kind, text)` decodes it with the decoder made once for
that kind, and `encode(body)` writes one. The workflow's rules, the hub, the
wire codec and the store all read and write bodies here, and nowhere else.
"""

from typing import Annotated

import msgspec

from rooms import kinds
from rooms.numbers import MAX_SEQ

Seq = Annotated[int, msgspec.Meta(ge=1, le=MAX_SEQ)]


class Terms(msgspec.Struct, omit_defaults=True):
    amount: str  # canonical decimal string, e.g. "1250.00"
    currency: str  # ISO 4217 alphabetic code
    text: str = ""
    milestone: str | None = None


class Joined(msgspec.Struct):
    """Someone's first join: the body is `{}`; who joined is the record's sender."""


class Amendment(msgspec.Struct, omit_defaults=True):
    """An edit (`text`) or a retraction (no text) of the sender's own message `target`."""

    target: Seq
    text: str | None = None


class StateBody(msgspec.Struct, omit_defaults=True):
    to: str
    reason: str = ""
    terms: Terms | None = None  # a settlement: the terms both parties accepted
    proposal: int | None = None


class FloorBody(msgspec.Struct):
    action: str  # mute, unmute, pause, resume
    party: str | None
    until: str  # ISO 8601
    reason: str


class CaucusBody(msgspec.Struct):
    party: str
    open: bool


class HandoffBody(msgspec.Struct, omit_defaults=True):
    brief: str
    moderator: str | None = None  # a transfer names who takes over


class ProposalBody(msgspec.Struct, omit_defaults=True):
    terms: Terms
    expires_at: str  # ISO 8601 UTC
    counters: int | None = None  # the seq of the proposal this one answers


class ResponseBody(msgspec.Struct):
    proposal: int
    answer: str


class CsatBody(msgspec.Struct, omit_defaults=True):
    rating: int
    comment: str = ""


class AlarmBody(msgspec.Struct, omit_defaults=True):
    clock: str
    since: str
    party: str | None = None


class FileBody(msgspec.Struct, omit_defaults=True):
    """A file in the evidence locker: what it *is* lives in its sealed record."""

    file: str  # its id
    name: str
    content_type: str  # as detected from its bytes
    size: int
    sha256: str  # hex, of the plaintext
    # The seq of the evidence request (in the file's own channel) it answers. Absent when
    # it answers none: a body written before requests existed is byte for byte the same.
    request: int | None = None


class FileDeletedBody(msgspec.Struct):
    file: str
    reason: str = ""  # always written, even empty


class ArbitrationWindowBody(msgspec.Struct):
    """The server's: until when (ISO 8601 UTC) a party may opt in to arbitration."""

    until: str


class OptInBody(msgspec.Struct):
    """A party's opt-in to arbitration: the body is `{}`; who opted in is the sender."""


class DecisionBody(msgspec.Struct, omit_defaults=True):
    """The arbitrator's decision: the terms the room resolves with, and why."""

    terms: Terms
    reason: str = ""


class DeadlineBody(msgspec.Struct, omit_defaults=True):
    """A moderator's deadline on a party: answer by `due_at`, or `outcome` applies."""

    party: str  # client | freelancer
    user: str  # that party's user id (whom the warning mail goes to)
    due_at: str  # ISO 8601 UTC
    outcome: str  # accept_proposal | resolve | escalate
    reason: str = ""  # what is asked of the party, as the moderator put it
    proposal: int | None = None  # accept_proposal: the open proposal's seq in joint
    terms: Terms | None = None  # resolve: the terms the room resolves with
    business_days: int | None = None  # when counted in business days: how many
    calendar: str | None = None  # and in which holiday calendar ("US", "DE-BY")


class DeadlineCancelledBody(msgspec.Struct, omit_defaults=True):
    deadline: int  # the deadline record's seq in the room channel
    cause: str  # answered | withdrawn | lapsed
    reason: str = ""  # withdrawn: the moderator's words; lapsed: why


class DeadlineNoticeBody(msgspec.Struct, omit_defaults=True):
    """The server's warning before a deadline falls due, and its enforcement once it has."""

    deadline: int
    party: str
    due_at: str
    outcome: str


class EvidenceRequestBody(msgspec.Struct):
    """A moderator asks `party` for `item` by `due_at` (rooms.evidence)."""

    party: str  # client | freelancer
    item: str  # what is asked for, in the moderator's words
    due_at: str  # ISO 8601 UTC


class EvidenceReviewBody(msgspec.Struct):
    """A moderator's verdict on the request `request` (its seq, in this record's channel)."""

    request: int
    verdict: str  # satisfied | not_satisfied
    note: str = ""  # always written, even empty


class RedactionBody(msgspec.Struct, omit_defaults=True):
    """A moderator removed message `target`'s text (and its edits', listed by the server
    in `edits`): `reason` is one of `rooms.redaction.REASONS`, never free text."""

    target: Seq
    reason: str
    edits: list[int] = []


class CoModeratorBody(msgspec.Struct):
    """The lead moderator added (`added`) or removed a co-moderator of the room."""

    moderator: str
    added: bool


class MemberBody(msgspec.Struct, omit_defaults=True):
    """Body of `member_added` / `member_removed` (room channel, the server's voice): `user`
    joined or left `side`; `by` is who asked (the platform, or a moderator's id)."""

    user: str
    side: str
    by: str
    decision_maker: bool = False  # added as the side's decision-maker


Body = (
    Joined
    | Amendment
    | StateBody
    | FloorBody
    | CaucusBody
    | HandoffBody
    | ProposalBody
    | ResponseBody
    | CsatBody
    | AlarmBody
    | FileBody
    | FileDeletedBody
    | ArbitrationWindowBody
    | OptInBody
    | DecisionBody
    | DeadlineBody
    | DeadlineCancelledBody
    | DeadlineNoticeBody
    | EvidenceRequestBody
    | EvidenceReviewBody
    | RedactionBody
    | CoModeratorBody
    | MemberBody
)

BODIES: dict[str, type[Body]] = {
    kinds.JOINED: Joined,
    kinds.EDIT: Amendment,
    kinds.RETRACT: Amendment,
    kinds.STATE: StateBody,
    kinds.FLOOR: FloorBody,
    kinds.CAUCUS: CaucusBody,
    kinds.HANDOFF: HandoffBody,
    kinds.PROPOSAL: ProposalBody,
    kinds.RESPONSE: ResponseBody,
    kinds.CSAT: CsatBody,
    kinds.OVERDUE: AlarmBody,
    kinds.REMINDER: AlarmBody,
    kinds.FILE: FileBody,
    kinds.FILE_DELETED: FileDeletedBody,
    kinds.ARBITRATION_WINDOW: ArbitrationWindowBody,
    kinds.ARBITRATION_OPT_IN: OptInBody,
    kinds.DECISION: DecisionBody,
    kinds.DEADLINE: DeadlineBody,
    kinds.DEADLINE_ENDED: DeadlineCancelledBody,
    kinds.DEADLINE_WARNING: DeadlineNoticeBody,
    kinds.DEADLINE_APPLIED: DeadlineNoticeBody,
    kinds.EVIDENCE_REQUEST: EvidenceRequestBody,
    kinds.EVIDENCE_REVIEW: EvidenceReviewBody,
    kinds.REDACTION: RedactionBody,
    kinds.COMODERATOR: CoModeratorBody,
    kinds.MEMBER_ADDED: MemberBody,
    kinds.MEMBER_REMOVED: MemberBody,
}

_DECODERS = {kind: msgspec.json.Decoder(shape) for kind, shape in BODIES.items()}
_encode = msgspec.json.Encoder().encode


class BadBody(ValueError):
    """A body that is not its kind's shape (or a kind that has none)."""


def body_of(kind: str, text: str) -> Body:
    """The body of a record of `kind` (not a message: that one is plain text)."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise BadBody(f"a {kind} record has no structured body")
    try:
        body: Body = decoder.decode(text)
    except msgspec.DecodeError as exc:
        raise BadBody(f"a {kind} body: {exc}") from None
    return body


def encode(body: Body) -> str:
    return _encode(body).decode()
