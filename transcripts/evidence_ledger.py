"""The evidence requests of a room, as its records say them: for exports and reports.

Derived, never stored: `Ledger.take` reads each proven record in order
(`evidence_request`, `file`, `file_deleted`, `evidence_review`) and `entries`
lists every request with the files that answered it (late ones flagged: the
file's record came after the request's `due_at`) and its review. The export
puts it in the bundle's signed header as `evidence`; a verifier that does not
know the key ignores it, one that does can rebuild it from the records
(`transcripts.verify` does).
"""

from dataclasses import dataclass, field
from typing import Any

from rooms.clocks import parse
from rooms.kinds import EVIDENCE_REQUEST, EVIDENCE_REVIEW, FILE, FILE_DELETED
from rooms.records import (
    BadBody,
    EvidenceRequestBody,
    EvidenceReviewBody,
    FileBody,
    FileDeletedBody,
    body_of,
)
from transcripts.record_line import RecordLine

OPEN = "open"


@dataclass
class _Request:
    record: RecordLine
    body: EvidenceRequestBody
    answers: list[dict[str, Any]] = field(default_factory=list)
    review: dict[str, Any] | None = None

    def entry(self, deleted: set[str]) -> dict[str, Any]:
        r, b = self.record, self.body
        return {
            "channel": r.channel,
            "seq": r.seq,
            "position": r.position,
            "party": b.party,
            "item": b.item,
            "due_at": b.due_at,
            "requested": {"user": r.sender_user, "role": r.sender_role, "ts": r.ts},
            "status": OPEN if self.review is None else self.review["verdict"],
            "answers": [a | {"deleted": a["file"] in deleted} for a in self.answers],
            "review": self.review,
        }


class Ledger:
    """Fed every record of a room in order; then its evidence requests."""

    def __init__(self) -> None:
        self._requests: dict[tuple[str, int], _Request] = {}
        self._deleted: set[str] = set()

    def take(self, record: RecordLine) -> None:
        if record.kind not in (EVIDENCE_REQUEST, FILE, FILE_DELETED, EVIDENCE_REVIEW):
            return
        try:
            body = body_of(record.kind, record.body)
        except BadBody:
            return  # the commit's rules never let one in; the verifier names bad bodies
        if isinstance(body, EvidenceRequestBody):
            self._requests[(record.channel, record.seq)] = _Request(record, body)
        elif isinstance(body, FileDeletedBody):
            self._deleted.add(body.file)
        elif isinstance(body, FileBody) and body.request is not None:
            asked = self._requests.get((record.channel, body.request))
            if asked is not None:
                late = parse(record.ts) > parse(asked.body.due_at)
                asked.answers.append(_answer(record, body, late))
        elif isinstance(body, EvidenceReviewBody):
            asked = self._requests.get((record.channel, body.request))
            if asked is not None:
                asked.review = {
                    "verdict": body.verdict,
                    "note": body.note,
                    "seq": record.seq,
                    "position": record.position,
                    "by": {"user": record.sender_user, "role": record.sender_role},
                    "ts": record.ts,
                }

    def entries(self) -> list[dict[str, Any]]:
        return [asked.entry(self._deleted) for asked in self._requests.values()]


def _answer(record: RecordLine, body: FileBody, late: bool) -> dict[str, Any]:
    return {
        "file": body.file,
        "name": body.name,
        "sha256": body.sha256,
        "seq": record.seq,
        "position": record.position,
        "ts": record.ts,
        "late": late,
    }
