"""Verify a transcript bundle offline: nothing but the file and a public key.

One pass, bounded memory. The first problem found is reported, naming the
line and, for a record, its position, channel and seq.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from rooms.kinds import FILE, FILE_DELETED, REDACTION
from rooms.redaction import Coverage
from transcripts import bundle, chain
from transcripts.attachments import facts_of, target_of
from transcripts.evidence_ledger import Ledger
from transcripts.record_line import RecordLine


@dataclass(frozen=True)
class Listed:
    """A file the bundle's records list (and no later record deleted)."""

    file: str
    name: str
    size: int
    sha256: str
    position: int


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str
    records: int = 0
    files: tuple[Listed, ...] = ()


class Broken(Exception):
    pass


def verify(lines: Iterable[bytes], public_key: Ed25519PublicKey) -> Verdict:
    try:
        return _verify(lines, public_key)
    except Broken as exc:
        return Verdict(False, str(exc))


def _parse(number: int, raw: bytes) -> dict[str, object]:
    try:
        obj = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise Broken(f"line {number}: not valid JSON") from None
    if not isinstance(obj, dict):
        raise Broken(f"line {number}: not a JSON object")
    return obj


def _verify(lines: Iterable[bytes], public_key: Ed25519PublicKey) -> Verdict:
    digest = hashlib.sha256()
    room_id: str | None = None
    shredded = False
    prev, count = chain.GENESIS, 0
    header_files: object = None
    header_evidence: object = None
    files: dict[str, Listed] = {}
    ledger = Ledger()
    coverage = Coverage()
    for number, raw in enumerate(lines, start=1):
        obj = _parse(number, raw)
        kind = obj.get("type")
        if number == 1:
            if kind != "header" or obj.get("format") != bundle.FORMAT:
                raise Broken(f"line 1: not a {bundle.FORMAT} header")
            room_id = str(obj["room"]["id"])  # type: ignore[index]
            shredded = bool(obj["room"].get("shredded"))  # type: ignore[attr-defined]
            header_files = obj.get("files")
            header_evidence = obj.get("evidence")
        elif kind == "record":
            assert room_id is not None
            prev = _check_record(number, obj, room_id, prev, count, shredded)
            count += 1
            if not shredded:
                _track_file(number, obj, files)
                ledger.take(RecordLine.read(obj))  # already checked by `_check_record`
                _track_redaction(number, obj, coverage)
        elif kind == "footer":
            _check_footer(obj, count, prev, digest.hexdigest(), public_key)
            _check_header_files(header_files, files)
            if header_evidence is not None and header_evidence != ledger.entries():
                raise Broken("line 1: the header's evidence requests do not match the records")
            try:
                coverage.finish()
            except ValueError as exc:
                raise Broken(str(exc)) from None
            note = " (shredded: bodies destroyed, links not recomputable)" if shredded else ""
            listed = f", {len(files)} files listed" if files else ""
            n = coverage.redactions
            listed += f", {n} redaction{'s' if n != 1 else ''}" if n else ""
            reason = f"intact{note}: {count} records{listed}, signed by key {obj['key_id']}"
            return Verdict(True, reason, count, tuple(files.values()))
        else:
            raise Broken(f"line {number}: unexpected {kind!r} line")
        digest.update(raw if raw.endswith(b"\n") else raw + b"\n")
    raise Broken("no footer: the bundle is truncated")


def _check_record(
    number: int, obj: dict[str, object], room_id: str, prev: bytes, count: int, shredded: bool
) -> bytes:
    where = f"line {number}, record at position {obj.get('position')}"
    try:
        position, seq = int(obj["position"]), int(obj["seq"])  # type: ignore[call-overload]
        sender = obj["sender"]
        assert isinstance(sender, dict)
        header = chain.header(
            room_id,
            position,
            str(obj["channel"]),
            seq,
            str(obj["kind"]),
            str(sender["user"]),
            str(sender["role"]),
            str(obj["client_id"]),
            str(obj["ts"]),
        )
        stated = bytes.fromhex(str(obj["hash"]))
        body = None if shredded else obj["body"]
        # redacted: no body, the SHA-256 of the one it had (a redaction must name it)
        digest = bytes.fromhex(str(obj["body_sha256"])) if "body_sha256" in obj else None
    except (KeyError, ValueError, TypeError, AssertionError):
        raise Broken(f"{where}: malformed record") from None
    where = f"{where} ({obj['channel']} #{seq})"
    if position != count + 1:
        raise Broken(f"{where}: expected position {count + 1} (a record is missing or moved)")
    if shredded:  # the signature still covers the stated links
        return stated
    if body is None and digest is not None and len(digest) == 32:
        link = chain.link_digest(prev, header, digest)
    elif isinstance(body, str) and digest is None:
        link = chain.link(prev, header, body.encode())
    else:
        raise Broken(f"{where}: malformed record (a body, or else the SHA-256 of one)")
    if link != stated:
        raise Broken(f"{where}: content does not match its hash (altered or reordered)")
    return link


def _track_redaction(number: int, obj: dict[str, object], coverage: Coverage) -> None:
    """A bodiless record waits for the redaction that names it; a redaction names only
    bodiless records before it (transcripts.redaction.Coverage)."""
    channel = str(obj["channel"])
    try:
        if "body_sha256" in obj:
            seq, position = int(obj["seq"]), int(obj["position"])  # type: ignore[call-overload]
            coverage.bodiless(channel, seq, str(obj["kind"]), position)
        elif obj["kind"] == REDACTION:
            coverage.redaction(channel, str(obj["body"]))
    except ValueError as exc:
        raise Broken(f"line {number}: a redaction that does not hold: {exc}") from None


def _check_footer(
    obj: dict[str, object], count: int, head: bytes, digest: str, public_key: Ed25519PublicKey
) -> None:
    if obj.get("records") != count:
        raise Broken(f"footer: says {obj.get('records')} records, the bundle holds {count}")
    if obj.get("chain_head") != head.hex():
        raise Broken("footer: chain head does not match the last record")
    if obj.get("digest") != digest:
        raise Broken("footer: digest does not match the bundle's bytes")
    core = bundle.footer_core(count, head.hex(), digest, str(obj.get("key_id")))
    try:
        public_key.verify(bundle.unb64(str(obj.get("signature"))), bundle.signed_payload(core))
    except (InvalidSignature, ValueError):
        raise Broken(
            f"footer: signature does not verify with this public key "
            f"(the bundle names signing key {obj.get('key_id')!r})"
        ) from None


def _track_file(number: int, obj: dict[str, object], files: dict[str, Listed]) -> None:
    """A `file` record lists a file; a `file_deleted` record takes it off the list."""
    try:
        if obj["kind"] == FILE:
            facts = facts_of(str(obj["body"]))
            position = int(obj["position"])  # type: ignore[call-overload]
            files[facts.file] = Listed(facts.file, facts.name, facts.size, facts.sha256, position)
        elif obj["kind"] == FILE_DELETED:
            files.pop(target_of(str(obj["body"])), None)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise Broken(f"line {number}: a file record whose body is not a file's facts") from None


def _check_header_files(stated: object, files: dict[str, Listed]) -> None:
    """The header's list of files (signed, for readers) must say what the records say."""
    if stated is None:
        return
    if not isinstance(stated, list):
        raise Broken("line 1: `files` is not a list")
    live = {
        (f.get("file"), f.get("sha256"))
        for f in stated
        if isinstance(f, dict) and not f.get("deleted")
    }
    if live != {(f.file, f.sha256) for f in files.values()}:
        raise Broken("line 1: the header's files do not match the file records")


def check_files(verdict: Verdict, directory: Path) -> Verdict:
    """The exported copies of a verified bundle's files, `directory/FILE_ID`, against the
    SHA-256 and size their records state. The first file that differs is named."""
    if not verdict.ok:
        return verdict
    for listed in verdict.files:
        where = f"file {listed.file} ({listed.name!r}, record at position {listed.position})"
        path = directory / listed.file
        if not path.is_file():
            return Verdict(False, f"{where}: missing from {directory}", verdict.records)
        digest, size = hashlib.sha256(), 0
        with path.open("rb") as copy:
            while piece := copy.read(1 << 20):
                digest.update(piece)
                size += len(piece)
        if size != listed.size or digest.hexdigest() != listed.sha256:
            return Verdict(False, f"{where}: content does not match its sha256", verdict.records)
    reason = f"{verdict.reason}; {len(verdict.files)} files match their hashes"
    return Verdict(True, reason, verdict.records, verdict.files)
