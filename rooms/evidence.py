"""Evidence requests: the moderator asks a party for a named item by a date.

Three kinds of record take part, all in one channel, the request's:

- `evidence_request` (a moderator): `{party, item, due_at}`. It is made in
  `joint` (the default: both parties see what was asked and what came, as in
  any fair hearing) or in the asked party's caucus (evidence only the
  moderator should see: a bank statement, a contract under NDA). Never in
  the other party's caucus, the notes or the room channel.
- the asked party's `file` records that name it (`FileBody.request`, the
  request's seq). A file answers only a request in its own channel, so
  whoever sees a request sees its answers, and a seq names one request. An
  answer after `due_at` is taken and flagged `late` (in the facts, the
  webhook, the export), never refused: a late contract is still evidence.
- `evidence_review` (a moderator): `{request, verdict, note}`, the verdict
  `satisfied` or `not_satisfied`. Either closes the request: it takes no
  more answers and no second verdict (a moderator who wants more asks anew).

The facts keep every request of the room (ids, party, due date, answers,
status): no words, and sealed with the other facts anyway. The requests still
open are `open_requests`. Pure: no I/O; tested directly
(tests/test_evidence_unit.py).
"""

from datetime import UTC, datetime

import msgspec

from rooms import clocks, events, kinds
from rooms.errors import Conflict, Forbidden, NotFound, NotYourRequest, RequestClosed, RoomError
from rooms.events import Event
from rooms.lifecycle import State
from rooms.ports import StoredMessage
from rooms.records import EvidenceRequestBody, EvidenceReviewBody, FileBody, encode
from rooms.visibility import JOINT, PARTIES, Role, caucus_of

KINDS = frozenset({kinds.EVIDENCE_REQUEST, kinds.EVIDENCE_REVIEW})
# Where a moderator may ask: in mediation, and in arbitration (a state another part of
# issue 16 adds; a name this module does not know yet is harmless).
ASKING_STATES = frozenset({State.MEDIATING, "arbitration"})
OPEN = "open"
VERDICTS = ("satisfied", "not_satisfied")
MAX_ITEM = 500  # characters of what is asked for
MAX_NOTE = 2000  # characters of a review's note


class Answer(msgspec.Struct):
    seq: int  # the `file` record's seq in the request's channel
    file: str  # its id
    at: str  # its record's timestamp
    late: bool  # after the request's due_at


class Requested(msgspec.Struct, omit_defaults=True):
    """One evidence request as the facts keep it: ids and times, never its words."""

    channel: str
    seq: int  # of its `evidence_request` record, in `channel`
    party: str
    due_at: str
    status: str = OPEN  # open | satisfied | not_satisfied
    answers: list[Answer] = []


def channels_for(party: str) -> tuple[str, str]:
    """Where a request of `party` may be made: joint, or that party's own caucus."""
    return JOINT, caucus_of(party)


def check_door(role: Role, kind: str, channel: str) -> None:
    """At the door: only a moderator asks and reviews, in joint or a caucus."""
    if role is not Role.MODERATOR:
        raise Forbidden(f"only a moderator writes {kind} records")
    if channel != JOINT and channel not in (caucus_of(p) for p in PARTIES):
        raise RoomError(f"an {kind} is made in joint or in the party's caucus, not {channel!r}")


def due(text: str) -> str:
    """A due date as given (ISO 8601 with a zone), in its canonical form: UTC, milliseconds,
    `Z`. RoomError `invalid` for anything else."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise RoomError(f"due_at {text!r} is not an ISO 8601 date and time") from None
    if at.tzinfo is None:
        raise RoomError("due_at needs a time zone (e.g. 2026-12-04T17:00:00Z)")
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def request_body(party: str, item: str, due_at: str) -> str:
    """The body of an `evidence_request` (`due_at` as given: made canonical here)."""
    return encode(EvidenceRequestBody(party, item.strip(), due(due_at)))


def review_body(request: int, verdict: str, note: str) -> str:
    return encode(EvidenceReviewBody(request, verdict, note))


def find(requests: list[Requested], channel: str, seq: int) -> Requested | None:
    return next((r for r in requests if r.channel == channel and r.seq == seq), None)


def open_requests(requests: list[Requested]) -> list[Requested]:
    return [r for r in requests if r.status == OPEN]


def _ids(asked: Requested) -> dict[str, object]:
    return {"request": asked.seq, "channel": asked.channel, "party": asked.party}


def request(
    requests: list[Requested], state: str, record: StoredMessage, body: EvidenceRequestBody
) -> Event:
    """Take a new request into `requests` (checked whole first); its event."""
    if record.sender_role != Role.MODERATOR:
        raise Forbidden("only a moderator asks for evidence")
    if state not in ASKING_STATES:
        raise Conflict(f"evidence is asked for in mediation; this room is {state}")
    if body.party not in PARTIES:
        raise RoomError("evidence is asked of the client or the freelancer")
    if record.channel not in channels_for(body.party):
        raise RoomError(f"a request of the {body.party} is made in joint or in its own caucus")
    if not body.item.strip() or len(body.item) > MAX_ITEM:
        raise RoomError(f"the item asked for is 1 to {MAX_ITEM} characters")
    if due(body.due_at) != body.due_at:
        raise RoomError("due_at is not in canonical form (UTC, milliseconds, Z)")
    if clocks.parse(body.due_at) <= clocks.parse(record.ts):
        raise RoomError("a request is due in the future")
    asked = Requested(record.channel, record.seq, body.party, body.due_at)
    requests.append(asked)
    return Event(events.EVIDENCE_REQUESTED, _ids(asked) | {"due_at": asked.due_at})


def answerable(requests: list[Requested], channel: str, role: str, seq: int) -> Requested:
    """The request #`seq` of `channel`, if `role` may answer it now: its party's, open.
    RoomError `not_found`, `not_your_request` or `request_closed` otherwise. Asked in the
    commit, and by an upload before its bytes come."""
    asked = find(requests, channel, seq)
    if asked is None:
        raise NotFound(f"no evidence request #{seq} in {channel}")
    if role != asked.party:
        raise NotYourRequest(f"evidence request #{asked.seq} was made of the {asked.party}")
    if asked.status != OPEN:
        raise RequestClosed(f"evidence request #{asked.seq} is closed: {asked.status}")
    return asked


def answer(requests: list[Requested], record: StoredMessage, body: FileBody) -> Event | None:
    """A file record: if it names a request, it must be its party's, open, in its channel;
    late is flagged, not refused. The event, or None for a file that answers nothing."""
    if body.request is None:
        return None
    asked = answerable(requests, record.channel, record.sender_role, body.request)
    late = clocks.parse(record.ts) > clocks.parse(asked.due_at)
    asked.answers.append(Answer(record.seq, body.file, record.ts, late))
    return Event(events.EVIDENCE_SUBMITTED, _ids(asked) | {"file": body.file, "late": late})


def review(requests: list[Requested], record: StoredMessage, body: EvidenceReviewBody) -> Event:
    """A moderator's verdict closes an open request; its event."""
    if record.sender_role != Role.MODERATOR:
        raise Forbidden("only a moderator reviews evidence")
    if body.verdict not in VERDICTS:
        raise RoomError(f"verdict is one of {', '.join(VERDICTS)}")
    if len(body.note) > MAX_NOTE:
        raise RoomError(f"a review's note is at most {MAX_NOTE} characters")
    asked = find(requests, record.channel, body.request)
    if asked is None:
        raise NotFound(f"no evidence request #{body.request} in {record.channel}")
    if asked.status != OPEN:
        raise RequestClosed(f"evidence request #{asked.seq} is closed: {asked.status}")
    asked.status = body.verdict
    late = any(a.late for a in asked.answers)
    reviewed = {"verdict": body.verdict, "answers": len(asked.answers), "late": late}
    return Event(events.EVIDENCE_REVIEWED, _ids(asked) | reviewed)


def summary(requests: list[Requested]) -> dict[str, int]:
    """A room's evidence requests in numbers, for reports: how many were made, are still
    open, were answered late (at least one late file), and were found not satisfied."""
    return {
        "evidence_requests": len(requests),
        "evidence_open": len(open_requests(requests)),
        "evidence_late": sum(any(a.late for a in r.answers) for r in requests),
        "evidence_not_satisfied": sum(r.status == "not_satisfied" for r in requests),
    }
