"""The signed transcript bundle: JSON Lines, written and verified in one pass.

    {"type":"header","format":"mediation.transcript/1","room":{...},"exported_at":...}
    {"type":"record","position":1,"channel":"joint","seq":1,"kind":"message",
     "sender":{"user":..,"role":..},"client_id":..,"ts":..,"body":..,"hash":HEX}
    ...
    {"type":"footer","records":N,"chain_head":HEX,"digest":HEX,"key_id":ID,"signature":B64}

`digest` is SHA-256 over every byte before the footer line (newlines
included). The Ed25519 signature covers the footer's core: the footer line
as written, minus its `signature` field (`footer_core` builds those bytes).
Each record's `hash` is its link in the room's chain (see `chain.py`).
"""

import base64
from typing import Any

import msgspec

FORMAT = "mediation.transcript/1"

_encode = msgspec.json.encode


def line(obj: dict[str, Any]) -> bytes:
    return _encode(obj) + b"\n"


def footer_core(records: int, chain_head: str, digest: str, key_id: str) -> dict[str, Any]:
    return {
        "type": "footer",
        "records": records,
        "chain_head": chain_head,
        "digest": digest,
        "key_id": key_id,
    }


def signed_payload(core: dict[str, Any]) -> bytes:
    return _encode(core)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
