"""The per-room hash chain: what is hashed, exactly.

A record's header is the canonical JSON array

    ["mediation.record/1", room_id, position, channel, seq, kind,
     sender_user, sender_role, client_id, ts]

(UTF-8, no spaces, as `msgspec.json.encode` writes it). Its link is

    hash = SHA-256(prev_hash || SHA-256(header) || SHA-256(body))

with prev_hash = 32 zero bytes for position 1. The same header is the
AES-GCM associated data of the record's ciphertext.
"""

import hashlib

import msgspec

GENESIS = bytes(32)
HEADER_TAG = "mediation.record/1"

_encode = msgspec.json.encode


def header(
    room_id: str,
    position: int,
    channel: str,
    seq: int,
    kind: str,
    sender_user: str,
    sender_role: str,
    client_id: str,
    ts: str,
) -> bytes:
    return _encode(
        [HEADER_TAG, room_id, position, channel, seq, kind, sender_user, sender_role, client_id, ts]
    )


def link(prev_hash: bytes, header_bytes: bytes, body: bytes) -> bytes:
    return link_digest(prev_hash, header_bytes, hashlib.sha256(body).digest())


def link_digest(prev_hash: bytes, header_bytes: bytes, body_sha256: bytes) -> bytes:
    """The link from the body's SHA-256 alone: a redacted record keeps only that."""
    sha = hashlib.sha256
    return sha(prev_hash + sha(header_bytes).digest() + body_sha256).digest()
