"""The pure middle of the append transaction: drafts numbered on their rooms' locked tips.

The transaction reads four things (the tips of the batch's rooms, the records
already stored under the drafts' idempotency keys, the targets of amendments,
the targets of redactions with the edits after them), hands them here, and
writes back what comes out: the records to insert, each room's moved tip, and
the rows whose ciphertext a redaction destroys (`transcripts.redaction`).
Everything between (the workflow's rules, numbering, the hash chain, sealing)
happens here, without I/O, so the SQLite writer's thread and PostgreSQL's async
connection run the very same decisions.
"""

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from rooms.kinds import REDACTION
from transcripts import chain, redaction
from transcripts.envelope import RoomCipher
from transcripts.errors import Refused, RoomNotWritable, Shredded, TranscriptError, UnknownRoom
from transcripts.key_cache import KeyCache, open_row
from transcripts.store_types import (
    AMENDMENTS,
    CLOSED,
    MESSAGE,
    DraftLike,
    Effect,
    Record,
    RuledRoom,
    Rules,
    SealedFields,
    amendment_target,
    utc_timestamp,
)

log = logging.getLogger(__name__)

IdempotencyKey = tuple[str, str, str]  # room, sender, client id
TargetKey = tuple[str, str, int]  # room, channel, seq of the message an amendment names
Target = tuple[str, str, bool]  # its sender, its kind, whether a moderator removed its text

TIP_COLUMNS = (  # what the transaction locks and reads of each room
    "id",
    "position",
    "chain_head",
    "heads",
    "state",
    "workflow",
    "kek_id",
    "wrapped_key",
    "sealed_facts",
    "moderator",
    "tier",
    "waiting_since",
    "due_at",
    "ticket_provider",
    "priority",
    "client_user",
    "freelancer_user",
)


@dataclass(slots=True)
class TipRow:
    """A room's row as the append transaction locks it (TIP_COLUMNS, in order)."""

    id: str
    position: int
    chain_head: bytes
    heads: dict[str, int]
    state: str
    workflow: dict[str, Any]
    kek_id: str
    wrapped_key: bytes | None
    sealed_facts: bytes | None
    moderator: str | None
    tier: int
    waiting_since: datetime | None
    due_at: datetime | None
    ticket_provider: str
    priority: str
    client_user: str
    freelancer_user: str


@dataclass(slots=True)
class _Tip:
    was: TipRow  # as locked: only the columns that change are written back
    position: int
    chain_head: bytes
    heads: dict[str, int]
    state: str
    ruled: RuledRoom | None
    cipher: RoomCipher | None  # None once shredded: nothing is written there again


@dataclass(slots=True)
class Numbered:
    results: list[Record | TranscriptError] = field(default_factory=list)  # one per draft
    fresh: list[Record] = field(default_factory=list)  # to insert, in commit order
    moved: list[dict[str, Any]] = field(default_factory=list)  # room columns to write back
    effects: list[Effect] = field(default_factory=list)  # outbox rows, in commit order
    destroyed: list[redaction.Destroyed] = field(default_factory=list)  # after the inserts


def idempotency_keys(drafts: Iterable[DraftLike]) -> list[IdempotencyKey]:
    return sorted({(d.room_id, d.sender_user, d.client_id) for d in drafts})


def target_keys(drafts: Iterable[DraftLike]) -> list[TargetKey]:
    """The messages the batch's amendments name (unreadable ones are refused later)."""
    wanted = set()
    for draft in drafts:
        if draft.kind in AMENDMENTS:
            try:
                wanted.add((draft.room_id, draft.channel, amendment_target(draft.body)))
            except ValueError:
                continue
    return sorted(wanted)


class Numbering:
    """One batch on the tips just locked; `run` once."""

    def __init__(
        self,
        keys: KeyCache,
        rules: Rules | None,
        tips: Iterable[TipRow],
        stored: Iterable[SealedFields],
        targets: Mapping[TargetKey, Target],
        warm: Mapping[str, RuledRoom] | None = None,
        redacting: Mapping[redaction.Key, Sequence[Any]] | None = None,
    ) -> None:
        """`warm`: rooms whose rules state the caller kept from its last commit, vouching
        that their row is still exactly what that commit wrote: not loaded again.
        `redacting`: the rows the batch's redactions name (`redaction.CANDIDATES`)."""
        self._keys = keys
        self._redactions = redaction.BatchRedactions(redacting or {})
        self._destroyed: list[redaction.Destroyed] = []
        self._targets = targets
        self._warm = warm or {}
        self._ts = utc_timestamp()  # the batch commits at one instant: one timestamp
        self._tips = {row.id: self._tip(row, rules) for row in tips}
        self._effects: list[Effect] = []
        self._known: dict[IdempotencyKey, Record] = {}
        for row in stored:
            cipher = self._tips[row.room_id].cipher
            if cipher is not None:
                self._known[(row.room_id, row.sender_user, row.client_id)] = open_row(cipher, row)

    def _tip(self, row: TipRow, rules: Rules | None) -> _Tip:
        try:
            cipher: RoomCipher | None = self._keys.opened(row.id, row.kek_id, row.wrapped_key)
        except Shredded:
            cipher = None
        ruled = self._warm.get(row.id)
        if ruled is None and rules is not None:
            facts = {**row.workflow, **self._keys.facts_with(cipher, row.sealed_facts)}
            parties = {"client": row.client_user, "freelancer": row.freelancer_user}
            ruled = rules.load(row.state, facts, row.ticket_provider, row.priority, parties)
        return _Tip(row, row.position, row.chain_head, dict(row.heads), row.state, ruled, cipher)

    def run(self, drafts: Sequence[DraftLike]) -> Numbered:
        out = Numbered()
        for draft in drafts:
            key = (draft.room_id, draft.sender_user, draft.client_id)
            known = self._known.get(key)
            if known is not None:
                out.results.append(
                    msgspec.structs.replace(known, origin=draft.origin, duplicate=True)
                )
                continue
            if draft.kind == REDACTION:
                tip = self._tips.get(draft.room_id)
                completed = self._redactions.complete(draft, None if tip is None else tip.cipher)
                if isinstance(completed, TranscriptError):
                    out.results.append(completed)
                    continue
                draft = completed
            outcome = self._refusal(draft) or self._number(draft)
            if isinstance(outcome, TranscriptError):
                out.results.append(outcome)
                continue
            self._known[key] = outcome[0]
            out.fresh.extend(outcome)
            out.results.append(outcome[0])
        touched = sorted({r.room_id for r in out.fresh})
        out.moved = [self._columns(room_id) for room_id in touched]
        out.effects = self._effects
        out.destroyed = self._destroyed
        return out

    def ruled(self) -> dict[str, RuledRoom]:
        """Each room's rules state as this batch leaves it (for the next batch's `warm`)."""
        return {r: tip.ruled for r, tip in self._tips.items() if tip.ruled is not None}

    def _refusal(self, draft: DraftLike) -> TranscriptError | None:
        """An edit or retraction must name a message of its own sender in the same channel."""
        if draft.kind not in AMENDMENTS:
            return None
        try:
            seq = amendment_target(draft.body)
        except ValueError as exc:  # the protocol bounds it too: this is a caller's bug
            return Refused("invalid", str(exc))
        target = self._targets.get((draft.room_id, draft.channel, seq))
        if target is None or target[1] != MESSAGE:
            return Refused("invalid", f"no message #{seq} in {draft.channel} to {draft.kind}")
        if target[0] != draft.sender_user:
            return Refused("forbidden", f"only its sender may {draft.kind} message #{seq}")
        if target[2] or self._redactions.gone((draft.room_id, draft.channel, seq)):
            return Refused("conflict", f"message #{seq} was removed by the moderator")
        return None

    def _number(self, draft: DraftLike) -> list[Record] | TranscriptError:
        """Give `draft` its numbers, chain link and ciphertext, once the rules allow it;
        then the same for the records the rules add after it."""
        tip = self._tips.get(draft.room_id)
        if tip is None:
            return UnknownRoom(f"no room {draft.room_id}")
        if tip.cipher is None:
            return Shredded(f"room {draft.room_id}: its transcript was destroyed under retention")
        if tip.state == CLOSED:
            return RoomNotWritable(f"room {draft.room_id} is closed")
        position, seq, ts = tip.position + 1, tip.heads.get(draft.channel, 0) + 1, self._ts
        header = (
            *(draft.room_id, position, draft.channel, seq, draft.kind),
            *(draft.sender_user, draft.sender_role, draft.client_id),
        )  # the record's first fields and the hashed header's, in the same order
        head, body = chain.header(*header, ts), draft.body.encode()
        record = Record(
            *header,
            draft.body,
            ts,
            chain.link(tip.chain_head, head, body),
            tip.cipher.seal(body, head),
            draft.origin,
        )
        follow_ups: Sequence[DraftLike] = ()
        if tip.ruled is not None:
            try:
                follow_ups = tip.ruled.apply(record)
            except Refused as refusal:
                return refusal
            tip.state = tip.ruled.state
            self._effects.extend(tip.ruled.effects(record))
        tip.position, tip.heads[draft.channel], tip.chain_head = position, seq, record.hash
        self._destroyed.extend(self._redactions.numbered(record))
        stored = [record]
        for follow_up in follow_ups:
            outcome = self._number(follow_up)
            if isinstance(outcome, TranscriptError):  # the rules vouched for it: a bug
                log.error("follow-up %s refused: %s", follow_up.kind, outcome)
                continue
            stored.extend(outcome)
        return stored

    def _columns(self, room_id: str) -> dict[str, Any]:
        """What the commit writes back to a room's row: the tip, and those of the state
        and the workflow's columns (its facts sealed) that changed. A column left as it
        was costs no index update: most messages move the tip alone."""
        tip = self._tips[room_id]
        columns: dict[str, Any] = {
            "id": room_id,
            "position": tip.position,
            "chain_head": tip.chain_head,
            "heads": tip.heads,
        }
        moved = tip.state != tip.was.state
        if moved:
            columns["state"] = tip.state
            columns["closed_at"] = datetime.now(UTC) if tip.state == CLOSED else None
        # A room kept warm from this shell's last commit has its columns as that commit
        # wrote them: unless its state or facts moved since, they would be written again.
        if tip.ruled is None or tip.cipher is None:
            return columns
        if moved or room_id not in self._warm or tip.ruled.changed():
            private, ruled = tip.ruled.columns()
            ruled["sealed_facts"] = self._keys.seal_facts_with(tip.cipher, private)
            columns |= {name: v for name, v in ruled.items() if v != getattr(tip.was, name)}
        return columns
