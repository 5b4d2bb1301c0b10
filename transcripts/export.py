"""Export a room as a signed bundle, after proving its chain from the database.

`walk` re-reads every record in position order and refuses, naming the
room and position, anything that does not hold: a ciphertext that does not
open under its header (changed, swapped, or moved from another row or
room), a link that does not follow from the previous one, a missing
position, or an end that is not the room's recorded tip. The export walks
twice: once to prove the whole room before sending a byte, once to write.
Memory stays bounded by one page either way.
"""

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from rooms import redaction
from rooms.kinds import FILE, FILE_DELETED, REDACTION
from transcripts import bundle, chain
from transcripts.attachments import FileFacts, facts_of, target_of
from transcripts.blobs import BlobMissing
from transcripts.errors import Tampered, UnknownRoom
from transcripts.evidence_ledger import Ledger
from transcripts.locker import Locker
from transcripts.record_line import RecordLine
from transcripts.signing import SigningKeys
from transcripts.store import TranscriptStore
from transcripts.store_types import Record, RoomRow, header_of

PAGE = 1000


async def walk(
    store: TranscriptStore, room_id: str, upto: int, first: int = 1
) -> AsyncIterator[Record]:
    """Every record from position `first` up to `upto`, each proven against the chain (the
    record before `first` gives the first link's predecessor)."""
    prev_hash, position = chain.GENESIS, first - 1
    if first > 1:
        before = await store.rows_by_position(room_id, first - 2, first - 1, 1)
        if not before:
            raise Tampered(f"room {room_id}: position {first - 1} is missing")
        prev_hash = before[0].hash
    while position < upto:
        rows = await store.rows_by_position(room_id, position, upto, PAGE)
        for row in rows:
            if row.position != position + 1:
                raise Tampered(f"room {room_id}: position {position + 1} is missing")
            record = await store.unseal(row)
            if record.body_sha256 is not None:  # redacted: its body's digest is what is left
                link = chain.link_digest(prev_hash, header_of(record), record.body_sha256)
            else:
                link = chain.link(prev_hash, header_of(record), record.body.encode())
            if link != row.hash:
                raise Tampered(
                    f"room {room_id} position {row.position} ({row.channel} #{row.seq}): "
                    "does not link to the record before it"
                )
            prev_hash, position = link, row.position
            yield record
        if not rows:
            raise Tampered(f"room {room_id}: positions {position + 1} to {upto} are missing")


@dataclass
class ExportedFile:
    """A file as its `file` record (and any `file_deleted` record after it) says."""

    facts: FileFacts
    record: Record
    deleted: bool = False

    def line(self) -> dict[str, Any]:
        r = self.record
        return {
            **msgspec.to_builtins(self.facts),  # `request` only when it answers one
            "position": r.position,
            "channel": r.channel,
            "seq": r.seq,
            "uploader": {"user": r.sender_user, "role": r.sender_role},
            "ts": r.ts,
            "deleted": self.deleted,
        }


@dataclass(frozen=True)
class Proof:
    room: RoomRow
    upto: int
    writers: set[tuple[str, str]]
    shredded: bool  # the data key is destroyed: bodies are gone, links cannot be redone
    files: list[ExportedFile] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)  # evidence_ledger's entries


async def sealed_rows(store: TranscriptStore, room_id: str, upto: int) -> AsyncIterator[Any]:
    """A shredded room's rows: positions still checked, nothing can be opened."""
    position = 0
    while position < upto:
        rows = await store.rows_by_position(room_id, position, upto, PAGE)
        for row in rows:
            if row.position != position + 1:
                raise Tampered(f"room {room_id}: position {position + 1} is missing")
            position = row.position
            yield row
        if not rows:
            raise Tampered(f"room {room_id}: positions {position + 1} to {upto} are missing")


async def prove(store: TranscriptStore, room_id: str, locker: Locker | None = None) -> Proof:
    """Check the whole room: its row, its last position, who wrote in it, and (given
    the `locker`) every stored file against the SHA-256 its record states."""
    room = await store.room(room_id)
    tip = await store.tip(room_id)
    if room is None or tip is None:
        raise UnknownRoom(f"no room {room_id}")
    upto, chain_head, shredded = tip
    writers: set[tuple[str, str]] = set()
    files: dict[str, ExportedFile] = {}
    last = chain.GENESIS
    ledger = Ledger()
    coverage = redaction.Coverage()
    records = sealed_rows(store, room_id, upto) if shredded else walk(store, room_id, upto)
    async for record in records:
        writers.add((record.sender_user, record.sender_role))
        last = record.hash
        if not shredded:
            ledger.take(RecordLine.of(record))
            _cover(coverage, room_id, record)
        if record.kind == FILE and not shredded:
            facts = facts_of(record.body)
            files[facts.file] = ExportedFile(facts, record)
        elif record.kind == FILE_DELETED and not shredded:
            deleted = files.get(target_of(record.body))
            if deleted is not None:
                deleted.deleted = True
    if last != chain_head:
        raise Tampered(f"room {room_id}: the chain does not end at the room's recorded head")
    try:
        coverage.finish()
    except ValueError as exc:
        raise Tampered(f"room {room_id}: {exc}") from None
    if locker is not None:
        for exported in files.values():
            if not exported.deleted:
                await _prove_file(locker, room_id, exported)
    return Proof(room, upto, writers, shredded, list(files.values()), ledger.entries())


def _cover(coverage: redaction.Coverage, room_id: str, record: Record) -> None:
    """A record without its body only where a redaction of the room says so."""
    try:
        if record.body_sha256 is not None:
            coverage.bodiless(record.channel, record.seq, record.kind, record.position)
        elif record.kind == REDACTION:
            coverage.redaction(record.channel, record.body)
    except ValueError as exc:
        where = f"position {record.position} ({record.channel} #{record.seq})"
        raise Tampered(f"room {room_id} {where}: a redaction that does not hold: {exc}") from None


async def _prove_file(locker: Locker, room_id: str, exported: ExportedFile) -> None:
    where = f"position {exported.record.position} ({exported.record.channel})"
    try:
        await locker.prove(room_id, exported.facts)
    except (Tampered, BlobMissing) as exc:
        detail = exc.detail if isinstance(exc, Tampered) else str(exc)
        raise Tampered(f"{detail} [its record: {where}]") from None


def participants(room: RoomRow, writers: set[tuple[str, str]]) -> list[dict[str, str]]:
    parties = [(room.client_user, "client"), (room.freelancer_user, "freelancer")]
    staff = sorted(w for w in writers if w not in parties)
    return [{"user": user, "role": role} for user, role in parties + staff]


def record_line(record: Any, shredded: bool = False) -> dict[str, Any]:
    """A record (or, for a shredded room, a stored row) as a bundle line; a redacted
    record's line has no body, and the SHA-256 of the body it had."""
    body_sha256 = getattr(record, "body_sha256", None)
    if body_sha256 is not None and not shredded:
        return {**_line(record, True), "body_sha256": body_sha256.hex()}
    return _line(record, shredded)


def _line(record: Any, shredded: bool) -> dict[str, Any]:
    return {
        "type": "record",
        "position": record.position,
        "channel": record.channel,
        "seq": record.seq,
        "kind": record.kind,
        "sender": {"user": record.sender_user, "role": record.sender_role},
        "client_id": record.client_id,
        "ts": record.ts,
        "body": None if shredded else record.body,
        "hash": record.hash.hex(),
    }


async def export_bundle(
    store: TranscriptStore, signing: SigningKeys, room_id: str, locker: Locker | None = None
) -> AsyncIterator[bytes]:
    """Prove the room, then stream its bundle line by line. Raises before the first line."""
    return bundle_lines(store, signing, await prove(store, room_id, locker))


async def bundle_lines(
    store: TranscriptStore, signing: SigningKeys, proof: Proof
) -> AsyncIterator[bytes]:
    room = proof.room
    digest = hashlib.sha256()
    header = {
        "type": "header",
        "format": bundle.FORMAT,
        "room": {
            "id": room.id,
            "ticket": {"provider": room.ticket_provider, "id": room.ticket_id},
            "state": room.state,
            "created_at": room.created_at.isoformat(),
            "participants": participants(room, proof.writers),
            "shredded": proof.shredded,
        },
        "files": [exported.line() for exported in proof.files],
        "exported_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    if proof.evidence:  # a room without evidence requests: the header as it always was
        header["evidence"] = proof.evidence
    out = bundle.line(header)
    digest.update(out)
    yield out
    count, head = 0, chain.GENESIS
    records = (
        sealed_rows(store, room.id, proof.upto)
        if proof.shredded
        else walk(store, room.id, proof.upto)
    )
    async for record in records:
        out = bundle.line(record_line(record, proof.shredded))
        digest.update(out)
        yield out
        count, head = count + 1, record.hash
    core = bundle.footer_core(count, head.hex(), digest.hexdigest(), signing.active)
    _, signature = signing.sign(bundle.signed_payload(core))
    yield bundle.line({**core, "signature": bundle.b64(signature)})
