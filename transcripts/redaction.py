"""Redaction in the store: a message's ciphertext destroyed in the redaction's own commit.

The append transaction reads, for each redaction in its batch, the target row and
the edits after it in the channel (`CANDIDATES`); `BatchRedactions` (pure, on the
tips just locked) lets `rooms.redaction.complete` decide, completes the body with
the target's edits, and once the redaction is numbered says which rows lose their
ciphertext (`Destroyed`): the same transaction then sets their `sealed` to empty
bytes, `body_sha256` to SHA-256 of the body they held and `redacted_by` to the
redaction's position (`DESTROY`). The header, the link and the body's digest stay,
so the chain verifies as before (docs/transcripts.md, "Redactions").

Reading back, such a row opens to an empty body (`key_cache.open_row`), and
`resolve` gives each one its `Removed` notice from the redaction record it names.
The rule a bundle's redactions follow (for the export's proof and the verifier) is
`rooms.redaction.Coverage`.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Select, and_, bindparam, or_, select, update

from rooms import records as bodies
from rooms import redaction
from rooms.errors import RoomError
from rooms.kinds import EDIT, MESSAGE, REDACTION
from rooms.redaction import Found
from transcripts.envelope import RoomCipher
from transcripts.errors import Refused, TranscriptError
from transcripts.key_cache import open_row
from transcripts.schema import records
from transcripts.store_types import DraftLike, Record, amendment_target

Key = tuple[str, str, int]  # room, channel, seq

# The target of a redaction and every edit after it in its channel (those of the target
# are told apart once opened). Our own text; values bound.
CANDIDATES = "room_id = ? AND channel = ? AND (seq = ? OR (kind = 'edit' AND seq > ?))"
DESTROY_SQL = (  # on the SQLite writer's plain connection
    "UPDATE records SET sealed = ?, body_sha256 = ?, redacted_by = ?"
    " WHERE room_id = ? AND channel = ? AND seq = ?"
)
DESTROY = (  # on PostgreSQL, through SQLAlchemy
    update(records)
    .where(
        records.c.room_id == bindparam("d_room"),
        records.c.channel == bindparam("d_channel"),
        records.c.seq == bindparam("d_seq"),
    )
    .values(
        sealed=bindparam("d_sealed"), body_sha256=bindparam("d_sha"), redacted_by=bindparam("d_by")
    )
)
EMPTY = b""  # what a redacted record's `sealed` holds


@dataclass(frozen=True, slots=True)
class Destroyed:
    """A row whose ciphertext goes in this commit."""

    room_id: str
    channel: str
    seq: int
    body_sha256: bytes
    redacted_by: int  # the redaction's position

    def params(self) -> tuple[Any, ...]:
        return (EMPTY, self.body_sha256, self.redacted_by, self.room_id, self.channel, self.seq)

    def values(self) -> dict[str, Any]:
        return dict(zip(_BOUND, self.params(), strict=True))


_BOUND = ("d_sealed", "d_sha", "d_by", "d_room", "d_channel", "d_seq")


def candidates(key: Key) -> Select[Any]:
    """CANDIDATES through SQLAlchemy."""
    room_id, channel, target = key
    c = records.c
    edits = and_(c.kind == EDIT, c.seq > target)
    return select(records).where(
        c.room_id == room_id, c.channel == channel, or_(c.seq == target, edits)
    )


@dataclass(frozen=True, slots=True)
class _Completed:
    """A redaction draft with the body the server completed (its target's edits listed)."""

    room_id: str
    channel: str
    sender_user: str
    sender_role: str
    client_id: str
    body: str
    origin: str
    kind: str


def keys(drafts: Iterable[DraftLike]) -> list[Key]:
    """The targets the batch's redactions name (malformed ones are refused later)."""
    wanted = set()
    for draft in drafts:
        if draft.kind == REDACTION:
            try:
                wanted.add((draft.room_id, draft.channel, redaction.parse(draft.body).target))
            except RoomError:
                continue
    return sorted(wanted)


class BatchRedactions:
    """One batch's redactions, on what the transaction read (`rows`: the CANDIDATES of
    each key) and on the records the batch numbers before them."""

    def __init__(self, rows: Mapping[Key, Sequence[Any]]) -> None:
        self._rows = rows
        self._fresh: dict[Key, Record] = {}  # messages and edits numbered in this batch
        self._gone: set[Key] = set()  # redacted in this batch
        self._bodies: dict[Key, bytes] = {}  # the targets' opened bodies, for their digest

    def complete(self, draft: DraftLike, cipher: RoomCipher | None) -> DraftLike | TranscriptError:
        """The redaction with its edits listed, or why it is refused (a row that does not
        open, Tampered: this redaction alone fails, not the batch)."""
        if cipher is None:  # a shredded room: the commit refuses it
            return draft
        try:
            target = redaction.parse(draft.body).target
            found = self._found(cipher, (draft.room_id, draft.channel, target))
            body = redaction.complete(draft.sender_role, draft.channel, draft.body, found)
        except RoomError as exc:
            return Refused(exc.code, str(exc))
        except TranscriptError as exc:
            return exc
        return _Completed(
            draft.room_id,
            draft.channel,
            draft.sender_user,
            draft.sender_role,
            draft.client_id,
            bodies.encode(body),
            draft.origin,
            draft.kind,
        )

    def gone(self, key: Key) -> bool:
        return key in self._gone

    def numbered(self, record: Record) -> list[Destroyed]:
        """Take `record` (numbered, accepted) into account; a redaction: the rows it
        destroys."""
        if not self._rows:  # no redaction in this batch (most): nothing to keep
            return []
        key = (record.room_id, record.channel, record.seq)
        if record.kind in (MESSAGE, EDIT):
            self._fresh[key] = record
            self._bodies[key] = record.body.encode()
            return []
        if record.kind != REDACTION:
            return []
        out = []
        for seq in redaction.named(record.body):
            named = (record.room_id, record.channel, seq)
            body = self._bodies.get(named)
            if body is not None:  # always: `complete` opened every record it names
                self._gone.add(named)
                digest = hashlib.sha256(body).digest()
                out.append(Destroyed(*named, digest, record.position))
        return out

    def _found(self, cipher: RoomCipher, key: Key) -> Found | None:
        room_id, channel, target = key
        target_row: Any = None
        edits = []
        stored = [open_row(cipher, row) for row in self._rows.get(key, ())]
        fresh = [r for k, r in self._fresh.items() if k[:2] == key[:2] and k[2] >= target]
        for record in [*stored, *fresh]:
            at = (room_id, channel, record.seq)
            if record.seq == target:
                target_row = record
            elif record.kind == EDIT and record.body_sha256 is None:
                try:
                    if amendment_target(record.body) != target:
                        continue
                except ValueError:
                    continue
                edits.append(record.seq)
            else:
                continue
            if record.body_sha256 is None:
                self._bodies[at] = record.body.encode()
        if target_row is None:
            return None
        gone = target_row.body_sha256 is not None or key in self._gone
        return Found(target_row.kind, gone, tuple(edits))


def resolve(records: list[Record], by_position: Mapping[int, Record]) -> list[Record]:
    """Each redacted record with its notice, from the redaction record at its
    `redacted_by` position (`by_position`: those records, opened)."""
    out = []
    for record in records:
        redacting = by_position.get(record.redacted_by or 0)
        if redacting is not None:
            notice = redaction.removed(
                redacting.sender_user, redacting.sender_role, redacting.ts, redacting.body
            )
            record = msgspec.structs.replace(record, removed=notice)
        out.append(record)
    return out
