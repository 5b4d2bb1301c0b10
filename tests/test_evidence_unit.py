"""Evidence requests (rooms.evidence) at the door and under the workflow's rules, without a
server: a request, its answers (late ones flagged, not refused), the review that closes
it, and every refusal with its wire code, the facts left as they were."""

import msgspec
import pytest

from mediation.notices import what_waits
from mediation.outbox.notice_text import notice
from rooms import door, events
from rooms.door import KnownRoom, Write
from rooms.errors import Forbidden, RoomError
from rooms.evidence import OPEN, Answer, Requested, open_requests, request_body, review_body
from rooms.floor import Floor
from rooms.kinds import EVIDENCE_REQUEST, EVIDENCE_REVIEW, FILE, FILE_DELETED, MESSAGE
from rooms.lifecycle import State
from rooms.ports import Draft, Member
from rooms.records import FileBody, FileDeletedBody, body_of, encode
from rooms.visibility import CAUCUS_CLIENT, CAUCUS_FREELANCER, CHANNELS, JOINT, NOTES, ROOM
from rooms.workflow import CLEAR_FACTS
from tests.records import Record, at
from tests.test_workflow_unit import AUDITOR, CLIENT, FREELANCER, MODERATOR, Mediation
from transcripts.evidence_ledger import Ledger
from transcripts.presence import Unread
from transcripts.record_line import RecordLine

DUE = at(3600)  # an hour after T0


def mediating() -> Mediation:
    m = Mediation()
    m.move(MODERATOR, State.MEDIATING)
    return m


def ask(m: Mediation, party: str = "client", channel: str = JOINT, seconds: float = 10) -> int:
    body = request_body(party, "the signed contract", DUE)
    return m.write(MODERATOR, EVIDENCE_REQUEST, channel, body, seconds)[0].seq


def file_body(file_id: str, request: int | None) -> str:
    return encode(FileBody(file_id, "contract.pdf", "application/pdf", 10, "ab" * 32, request))


def attach(
    m: Mediation, who: Member, request: int | None, seconds: float, channel: str = JOINT
) -> int:
    return m.write(who, FILE, channel, file_body(f"f_{seconds}", request), seconds)[0].seq


def requests(m: Mediation) -> list[Requested]:
    return m.room.facts.evidence


def test_an_old_file_body_encodes_byte_for_byte_as_before() -> None:
    old = '{"file":"f_1","name":"a.pdf","content_type":"application/pdf","size":3,"sha256":"00"}'
    body = body_of(FILE, old)
    assert isinstance(body, FileBody) and body.request is None
    assert encode(body) == old
    linked = FileBody("f_1", "a.pdf", "application/pdf", 3, "00", 7)
    assert encode(linked) == old[:-1] + ',"request":7}'


# -- the door ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [EVIDENCE_REQUEST, EVIDENCE_REVIEW])
@pytest.mark.parametrize("member", [CLIENT, FREELANCER, AUDITOR], ids=lambda m: m.role)
def test_only_a_moderator_asks_and_reviews_at_the_door(kind: str, member: Member) -> None:
    with pytest.raises(Forbidden):
        door.check(KnownRoom("r", "mediating", Floor()), member, kind, JOINT)


@pytest.mark.parametrize("kind", [EVIDENCE_REQUEST, EVIDENCE_REVIEW])
@pytest.mark.parametrize("channel", CHANNELS)
def test_a_moderator_asks_in_joint_or_a_caucus_only(kind: str, channel: str) -> None:
    now = KnownRoom("r", "mediating", Floor())
    if channel in (JOINT, CAUCUS_CLIENT, CAUCUS_FREELANCER):
        assert door.draft(now, MODERATOR, Write(kind, channel, "e1", "{}")).kind == kind
    else:
        with pytest.raises(RoomError) as refused:
            door.check(now, MODERATOR, kind, channel)
        assert refused.value.code == "invalid"


def test_a_closed_room_takes_no_request_at_the_door() -> None:
    with pytest.raises(RoomError) as refused:
        door.check(KnownRoom("r", "closed", Floor()), MODERATOR, EVIDENCE_REQUEST, JOINT)
    assert refused.value.code == "room_closed"


# -- the rules -----------------------------------------------------------------------


def test_a_request_is_kept_open_in_the_sealed_facts_and_raises_its_event() -> None:
    m = mediating()
    seq = ask(m)
    assert requests(m) == [Requested(JOINT, seq, "client", DUE)]
    assert [r.seq for r in open_requests(requests(m))] == [seq]
    clear, sealed = m.workflow.dump(m.room)
    assert "evidence" not in CLEAR_FACTS and "evidence" not in clear
    assert sealed["evidence"] == [{"channel": JOINT, "seq": seq, "party": "client", "due_at": DUE}]
    assert "the signed contract" not in str(sealed)  # the words stay in the record
    raised = m.room.raised[-1]
    assert raised.topic == events.EVIDENCE_REQUESTED
    assert raised.data == {"request": seq, "channel": JOINT, "party": "client", "due_at": DUE}


def test_an_answer_in_time_is_linked_and_not_late() -> None:
    m = mediating()
    seq = ask(m)
    file_seq = attach(m, CLIENT, seq, 60)
    assert requests(m)[0].answers == [Answer(file_seq, "f_60", at(60), False)]
    assert m.room.raised[-1].topic == events.EVIDENCE_SUBMITTED
    assert m.room.raised[-1].data["late"] is False


def test_an_answer_after_the_due_date_is_taken_and_flagged_late() -> None:
    m = mediating()
    seq = ask(m)
    file_seq = attach(m, CLIENT, seq, 3601)  # one second past due
    assert requests(m)[0].answers == [Answer(file_seq, "f_3601", at(3601), True)]
    assert requests(m)[0].status == OPEN
    assert m.room.raised[-1].data == {
        "request": seq,
        "channel": JOINT,
        "party": "client",
        "file": "f_3601",
        "late": True,
    }


def test_a_file_answering_nothing_changes_nothing() -> None:
    m = mediating()
    ask(m)
    before = len(m.room.raised)
    attach(m, CLIENT, None, 60)
    assert requests(m)[0].answers == [] and len(m.room.raised) == before


def test_the_other_party_cannot_answer_a_request_not_its_own() -> None:
    m = mediating()
    seq = ask(m, "client")
    m.refused("not_your_request", FREELANCER, FILE, JOINT, file_body("f_x", seq), 60)
    m.refused("not_your_request", MODERATOR, FILE, JOINT, file_body("f_y", seq), 60)


def test_an_answer_names_a_request_of_its_own_channel() -> None:
    m = mediating()
    seq = ask(m, "client", CAUCUS_CLIENT)
    m.refused("not_found", CLIENT, FILE, JOINT, file_body("f_x", seq), 60)
    m.refused("not_found", CLIENT, FILE, CAUCUS_CLIENT, file_body("f_x", seq + 5), 60)
    attach(m, CLIENT, seq, 60, CAUCUS_CLIENT)
    assert len(requests(m)[0].answers) == 1


def test_a_review_closes_the_request_whatever_its_verdict() -> None:
    for verdict in ("satisfied", "not_satisfied"):
        m = mediating()
        seq = ask(m)
        attach(m, CLIENT, seq, 3601)
        m.write(MODERATOR, EVIDENCE_REVIEW, JOINT, review_body(seq, verdict, "ok"), 4000)
        assert requests(m)[0].status == verdict and open_requests(requests(m)) == []
        assert m.room.raised[-1].topic == events.EVIDENCE_REVIEWED
        assert m.room.raised[-1].data == {
            "request": seq,
            "channel": JOINT,
            "party": "client",
            "verdict": verdict,
            "answers": 1,
            "late": True,
        }
        m.refused("request_closed", CLIENT, FILE, JOINT, file_body("f_z", seq), 4100)
        again = review_body(seq, "satisfied", "")
        m.refused("request_closed", MODERATOR, EVIDENCE_REVIEW, JOINT, again, 4100)


def test_a_review_names_an_existing_request_and_a_known_verdict() -> None:
    m = mediating()
    seq = ask(m)
    for code, who, body in [
        ("invalid", MODERATOR, review_body(seq, "maybe", "")),
        ("not_found", MODERATOR, review_body(seq + 9, "satisfied", "")),
        ("invalid", MODERATOR, review_body(seq, "satisfied", "n" * 2001)),
        ("forbidden", CLIENT, review_body(seq, "satisfied", "")),
    ]:
        m.refused(code, who, EVIDENCE_REVIEW, JOINT, body)


def test_a_request_is_made_by_a_moderator_in_mediation_of_a_party_due_later() -> None:
    m = Mediation()  # waiting: nobody mediates yet
    body = request_body("client", "receipts", DUE)
    m.refused("conflict", MODERATOR, EVIDENCE_REQUEST, JOINT, body)
    m.move(MODERATOR, State.MEDIATING)
    m.refused("forbidden", CLIENT, EVIDENCE_REQUEST, JOINT, body)
    m.refused("invalid", MODERATOR, EVIDENCE_REQUEST, CAUCUS_FREELANCER, body)
    m.refused("invalid", MODERATOR, EVIDENCE_REQUEST, NOTES, body)
    m.refused("invalid", MODERATOR, EVIDENCE_REQUEST, ROOM, body)
    nobody = request_body("moderator", "receipts", DUE)
    m.refused("invalid", MODERATOR, EVIDENCE_REQUEST, JOINT, nobody)
    blank = encode_request("client", "   ", DUE)
    m.refused("invalid", MODERATOR, EVIDENCE_REQUEST, JOINT, blank)
    past = request_body("client", "receipts", at(5))
    m.refused("invalid", MODERATOR, EVIDENCE_REQUEST, JOINT, past, seconds=5)
    loose = encode_request("client", "receipts", "2025-03-01T10:00:00+00:00")
    m.refused("invalid", MODERATOR, EVIDENCE_REQUEST, JOINT, loose)
    assert requests(m) == []


def test_a_due_date_is_read_with_its_zone_and_kept_in_utc() -> None:
    body = body_of(EVIDENCE_REQUEST, request_body("client", " x ", "2025-03-01T12:00:00+02:00"))
    assert msgspec.to_builtins(body) == {
        "party": "client",
        "item": "x",
        "due_at": "2025-03-01T10:00:00.000Z",
    }
    for bad in ("tomorrow", "2025-03-01T12:00:00"):
        with pytest.raises(RoomError):
            request_body("client", "x", bad)


def encode_request(party: str, item: str, due_at: str) -> str:
    """A request body as a client could forge it: not made canonical."""
    return msgspec.json.encode({"party": party, "item": item, "due_at": due_at}).decode()


def test_an_away_party_is_mailed_that_evidence_is_asked_in_each_language() -> None:
    waiting = Unread(2, 9, frozenset({MESSAGE, EVIDENCE_REQUEST}), ("m-1", "moderator"))
    assert what_waits(waiting) == "evidence"
    words = {"en": "a request for evidence", "fr": "une demande de pièces"}
    words |= {"es": "una solicitud de pruebas", "de": "eine Anforderung von Nachweisen"}
    for locale, phrase in words.items():
        mail = notice(
            locale=locale, name="Ada", sender="moderator", kind="evidence", unread=2, link="x"
        )
        assert phrase in mail.plain and phrase in mail.html


# -- the export's derived section ----------------------------------------------------


class Logged(Mediation):
    """A mediation that keeps every record it numbered (none is refused in these tests)."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: list[Record] = []

    def record(self, draft: Draft, seconds: float) -> Record:
        numbered = super().record(draft, seconds)
        self.kept.append(numbered)
        return numbered


def test_the_ledger_lists_each_request_with_its_files_late_deleted_and_review() -> None:
    m = Logged()
    m.move(MODERATOR, State.MEDIATING)
    seq = ask(m)
    other = ask(m, "freelancer", CAUCUS_FREELANCER)
    attach(m, CLIENT, seq, 60)
    attach(m, CLIENT, seq, 3700)  # late
    attach(m, CLIENT, None, 3800)  # answers nothing
    m.write(CLIENT, FILE_DELETED, JOINT, encode(FileDeletedBody("f_60", "wrong one")), 3900)
    m.write(MODERATOR, EVIDENCE_REVIEW, JOINT, review_body(seq, "satisfied", "fine"), 4000)
    ledger = Ledger()
    for position, record in enumerate(m.kept, start=1):
        ledger.take(
            RecordLine(
                position,
                record.channel,
                record.seq,
                record.kind,
                record.sender_user,
                record.sender_role,
                record.ts,
                record.body,
                "",
            )
        )
    first, second = ledger.entries()
    assert (first["seq"], first["item"], first["status"]) == (
        seq,
        "the signed contract",
        "satisfied",
    )
    answers = [(a["file"], a["late"], a["deleted"]) for a in first["answers"]]
    assert answers == [("f_60", False, True), ("f_3700", True, False)]
    assert (first["review"]["verdict"], first["review"]["note"]) == ("satisfied", "fine")
    assert (second["seq"], second["channel"], second["status"]) == (
        other,
        CAUCUS_FREELANCER,
        "open",
    )
    assert second["answers"] == [] and second["review"] is None
