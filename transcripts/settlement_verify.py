"""Verify a settlement document offline: alone, or against the room's transcript bundle.

Alone: the document is canonical and its Ed25519 signature verifies
(transcripts.settlement_artifact.check). With the bundle: the bundle verifies
too (transcripts.verify), and the settlement derived from the bundle's own
records, from the proposal the document names to its resolution, is the
document (minus its key id and signature): same room, ticket and parties,
same terms as the proposal's body, the same records at the same positions with
the same link hashes, the same chain head. One pass over the bundle; only the
records of that segment are kept.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from transcripts.record_line import RecordLine
from transcripts.settlement_artifact import Broken, NotSettled, check, settlement_of
from transcripts.verify import Verdict, verify

SIGNED_ONLY = ("key_id", "signature")


def verify_settlement(data: bytes, public_key: Ed25519PublicKey) -> Verdict:
    try:
        document = check(data, public_key)
    except Broken as exc:
        return Verdict(False, f"settlement: {exc}")
    return Verdict(True, _summary(document))


def verify_with_bundle(
    data: bytes, bundle_lines: Iterable[bytes], public_key: Ed25519PublicKey
) -> Verdict:
    alone = verify_settlement(data, public_key)
    if not alone.ok:
        return alone
    document = msgspec.json.decode(data)
    try:
        first, last = int(document["proposal"]["position"]), int(document["resolution"]["position"])
    except (KeyError, TypeError, ValueError):
        return Verdict(False, "settlement: no proposal or resolution position")
    seen = _Segment(first, last)
    verdict = verify(seen.through(bundle_lines), public_key)
    if not verdict.ok:
        return Verdict(False, f"bundle: {verdict.reason}")
    try:
        derived = settlement_of(seen.room, seen.ticket, seen.parties, seen.links, seen.sides)
    except NotSettled as exc:
        return Verdict(False, f"settlement against the bundle: {exc}")
    signed = {k: v for k, v in document.items() if k not in SIGNED_ONLY}
    differs = [k for k in sorted(signed.keys() | derived.keys()) if signed.get(k) != derived.get(k)]
    if differs:
        return Verdict(
            False,
            f"settlement against the bundle: {', '.join(differs)} differ from the transcript",
        )
    return Verdict(True, f"{alone.reason}; it matches the transcript ({verdict.reason})")


def _summary(document: dict[str, Any]) -> str:
    terms, proposal = document.get("terms") or {}, document.get("proposal") or {}
    return (
        f"settlement of room {document.get('room')}: {terms.get('amount')} "
        f"{terms.get('currency')} (proposal #{proposal.get('seq')}), "
        f"signed by key {document.get('key_id')}"
    )


@dataclass
class _Segment:
    """What a pass over the bundle keeps: its header's room, and the records from
    position `first` to `last`."""

    first: int
    last: int
    room: str = ""
    ticket: tuple[str, str] = ("", "")
    parties: dict[str, str] = field(default_factory=dict)
    sides: dict[str, set[str]] = field(default_factory=dict)  # every party the export lists
    links: list[RecordLine] = field(default_factory=list)

    def through(self, lines: Iterable[bytes]) -> Iterator[bytes]:
        for raw in lines:
            self._look(raw)
            yield raw

    def _look(self, raw: bytes) -> None:
        try:
            obj = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            return  # the bundle's verification names the line
        if not isinstance(obj, dict):
            return
        try:
            if obj.get("type") == "header":
                room = obj["room"]
                self.room = str(room["id"])
                self.ticket = (str(room["ticket"]["provider"]), str(room["ticket"]["id"]))
                self.parties = {str(p["role"]): str(p["user"]) for p in room["participants"][:2]}
                for p in room["participants"]:  # a side's other people: those who wrote
                    self.sides.setdefault(str(p["role"]), set()).add(str(p["user"]))
            elif obj.get("type") == "record" and self.first <= obj["position"] <= self.last:
                self.links.append(RecordLine.read(obj))
        except (KeyError, TypeError, ValueError):
            return  # malformed: the bundle's verification refuses it
