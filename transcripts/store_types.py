"""What passes through the transcript store: drafts in, records and room rows out,
the workflow rules' protocol, and the canonical header a record is hashed and sealed by.

Shared by the room directory, the append transaction, the key cache and their callers.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
from sqlalchemy import Row

from rooms.kinds import EDIT
from rooms.records import Amendment, BadBody, body_of
from rooms.redaction import Removed
from transcripts import chain

MESSAGE = "message"
AMENDMENTS = ("edit", "retract")  # kinds whose body names a target message: {"target": seq}
CLOSED = "closed"
PRIORITIES = ("urgent", "high", "normal", "low")  # Zendesk's ticket priorities, most urgent first


class DraftLike(Protocol):
    @property
    def room_id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def sender_user(self) -> str: ...
    @property
    def sender_role(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def kind(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Effect:
    """An outbound effect decided in a commit: one outbox row, written in that commit."""

    destination: str  # who gets it: "webhook", "zendesk", "mail", ...
    room_id: str
    topic: str  # "room.claimed", ...
    event_id: str  # the same for every destination and every attempt
    data: dict[str, Any]  # ids, states, terms: never what anybody wrote


class RuledRoom(Protocol):
    """One room under the workflow's rules, for the length of one commit."""

    @property
    def state(self) -> str: ...

    def apply(self, record: "Record") -> Sequence[DraftLike]:
        """Check `record` (numbered, not yet stored) and take it into account: raise
        Refused to keep it out; return records the server adds right after it."""
        ...

    def columns(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """What to write with the tip: the facts to seal under the room's data key, and
        the room columns (`workflow`, the facts kept in clear, and the queue's)."""
        ...

    def changed(self) -> bool:
        """Whether the facts moved since `columns` last answered (True before it has):
        a commit of messages that moved no clock writes the tip alone."""
        ...

    def effects(self, record: "Record") -> Sequence[Effect]:
        """What the outside world must hear of `record`, just applied: outbox rows."""
        ...


class Rules(Protocol):
    """The workflow's rules, supplied from above and applied inside every commit, on the
    locked tip: racing claims, settlements and alarms are decided exactly once."""

    def load(
        self,
        state: str,
        workflow: dict[str, Any],
        provider: str,
        priority: str = "normal",
        parties: Mapping[str, str] | None = None,
    ) -> RuledRoom:
        """The room with its facts: those kept in clear and the sealed ones, opened;
        `provider`: its ticket's (where its events go may depend on it); `priority`:
        its ticket's (its clocks' targets depend on it); `parties`: its client's and
        freelancer's users, by role (a rule may write a record naming one)."""
        ...

    def opened(
        self,
        state: str,
        ts: str,
        provider: str,
        priority: str = "normal",
        parties: Mapping[str, str] | None = None,
        *,
        calendar: str | None = None,
        acceptance: str | None = None,
    ) -> RuledRoom:
        """A room just opened; `calendar`: its holiday calendar (None: the deployment's);
        `acceptance`: who accepts for a side (None: the deployment's)."""
        ...

    def created(self, room: "RoomRow") -> Sequence[Effect]:
        """What the outside world must hear of a room just opened: outbox rows."""
        ...


class SealedFields(Protocol):
    """A record as stored: header fields, chain hash and ciphertext."""

    @property
    def room_id(self) -> str: ...
    @property
    def position(self) -> int: ...
    @property
    def channel(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def sender_user(self) -> str: ...
    @property
    def sender_role(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def ts(self) -> str: ...
    @property
    def hash(self) -> bytes: ...
    @property
    def sealed(self) -> bytes: ...


class Record(msgspec.Struct, frozen=True, gc=False):  # one per record stored: cheap to build
    room_id: str
    position: int
    channel: str
    seq: int
    kind: str
    sender_user: str
    sender_role: str
    client_id: str
    body: str
    ts: str
    hash: bytes
    sealed: bytes  # the ciphertext as stored: what may travel between processes
    origin: str = ""
    duplicate: bool = False
    # Redacted (transcripts.redaction): body "", sealed b"", the body's SHA-256 kept, the
    # redaction's position; `removed` says by whom, when and why once read back.
    body_sha256: bytes | None = None
    redacted_by: int | None = None
    removed: Removed | None = None


@dataclass(frozen=True, slots=True)
class RoomRow:
    id: str
    ticket_provider: str
    ticket_id: str
    client_user: str
    freelancer_user: str
    state: str
    created_at: datetime
    position: int
    priority: str = "normal"
    moderator: str | None = None
    tier: int = 1
    waiting_since: datetime | None = None
    due_at: datetime | None = None
    workflow: dict[str, Any] | None = None  # the facts: in clear and sealed, opened
    shredded: bool = False  # its data key was destroyed under retention: nothing is readable
    language: str = "en"  # BCP 47 primary subtag (rooms.routing)
    skills: list[str] = field(default_factory=list)  # what it asks of its moderator


def header_of(record: "SealedFields | Record | Row[Any]") -> bytes:
    """The canonical header of a record, or of a stored row (same field names)."""
    return chain.header(
        record.room_id,
        record.position,
        record.channel,
        record.seq,
        record.kind,
        record.sender_user,
        record.sender_role,
        record.client_id,
        record.ts,
    )


def amendment_target(body: str) -> int:
    """The seq an edit or retraction names; ValueError unless it is one we could have given."""
    try:
        amendment = body_of(EDIT, body)  # an edit's and a retraction's bodies: one shape
    except BadBody:
        raise ValueError("an amendment names its target message by its seq") from None
    assert isinstance(amendment, Amendment)
    return amendment.target


def utc_timestamp(at: datetime | None = None) -> str:
    moment = at or datetime.now(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
