"""Verify a transcript bundle offline: nothing but the file and a public key.

One pass, bounded memory. The first problem found is reported, naming the
line and, for a record, its position, channel and seq.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from transcripts import bundle, chain


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str
    records: int = 0


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
    for number, raw in enumerate(lines, start=1):
        obj = _parse(number, raw)
        kind = obj.get("type")
        if number == 1:
            if kind != "header" or obj.get("format") != bundle.FORMAT:
                raise Broken(f"line 1: not a {bundle.FORMAT} header")
            room_id = str(obj["room"]["id"])  # type: ignore[index]
            shredded = bool(obj["room"].get("shredded"))  # type: ignore[attr-defined]
        elif kind == "record":
            assert room_id is not None
            prev = _check_record(number, obj, room_id, prev, count, shredded)
            count += 1
        elif kind == "footer":
            _check_footer(obj, count, prev, digest.hexdigest(), public_key)
            note = " (shredded: bodies destroyed, links not recomputable)" if shredded else ""
            reason = f"intact{note}: {count} records, signed by key {obj['key_id']}"
            return Verdict(True, reason, count)
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
        body = None if shredded else str(obj["body"]).encode()
    except (KeyError, ValueError, TypeError, AssertionError):
        raise Broken(f"{where}: malformed record") from None
    where = f"{where} ({obj['channel']} #{seq})"
    if position != count + 1:
        raise Broken(f"{where}: expected position {count + 1} (a record is missing or moved)")
    if body is None:  # shredded: the signature still covers the stated links
        return stated
    link = chain.link(prev, header, body)
    if link != stated:
        raise Broken(f"{where}: content does not match its hash (altered or reordered)")
    return link


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
