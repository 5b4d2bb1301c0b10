"""Redaction's rules without a server: the door, the pure rule (rooms.redaction), the
workflow's rule, the store's side of one batch (transcripts.redaction) and the rule a
bundle's redactions follow (Coverage)."""

import hashlib
import json
import os

import pytest
from msgspec.structs import replace

from rooms import door, redaction
from rooms.door import KnownRoom
from rooms.errors import Conflict, Forbidden, RoomError
from rooms.events import MESSAGE_REDACTED
from rooms.floor import Floor
from rooms.kinds import EDIT, MESSAGE, REDACTION, RETRACT
from rooms.ports import Member
from rooms.redaction import Coverage, Found
from rooms.visibility import JOINT, NOTES, ROOM, Role
from rooms.workflow import Workflow
from tests.records import Record, at
from transcripts import chain
from transcripts.envelope import RoomCipher
from transcripts.errors import Refused, Tampered, TranscriptError
from transcripts.redaction import BatchRedactions, Destroyed
from transcripts.store_types import Record as Stored

CLIENT = Member("c-1", Role.CLIENT)
MODERATOR = Member("m-1", Role.MODERATOR)
ASKED = redaction.body(4, "personal_data")


# -- the door ----------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.CLIENT, Role.FREELANCER, Role.AUDITOR])
def test_only_a_moderator_passes_the_door_with_a_redaction(role: Role) -> None:
    with pytest.raises(Forbidden):
        door.check(KnownRoom("r", "mediating", Floor()), Member("u", role), REDACTION, JOINT)
    door.check(KnownRoom("r", "mediating", Floor()), MODERATOR, REDACTION, JOINT)


def test_the_reason_is_a_code_never_free_text() -> None:
    assert json.loads(ASKED) == {"target": 4, "reason": "personal_data"}
    with pytest.raises(RoomError, match="reason"):
        redaction.body(4, "his card number is 4111")


# -- the pure rule -----------------------------------------------------------------


def test_a_moderator_redacts_a_message_and_its_edits_go_with_it() -> None:
    body = redaction.complete(Role.MODERATOR, JOINT, ASKED, Found(MESSAGE, False, (9, 6)))
    assert (body.target, body.reason, body.edits) == (4, "personal_data", [6, 9])


@pytest.mark.parametrize(
    ("role", "found", "error"),
    [
        (Role.CLIENT, Found(MESSAGE, False), Forbidden),  # only a moderator
        (Role.AUDITOR, Found(MESSAGE, False), Forbidden),
        (Role.MODERATOR, None, RoomError),  # no such record
        (Role.MODERATOR, Found(EDIT, False), RoomError),  # an edit goes with its message
        (Role.MODERATOR, Found(RETRACT, False), RoomError),
        (Role.MODERATOR, Found("file", False), RoomError),  # files: file_deleted
        (Role.MODERATOR, Found(MESSAGE, True), Conflict),  # not twice
    ],
)
def test_what_cannot_be_redacted(role: Role, found: Found | None, error: type[Exception]) -> None:
    with pytest.raises(error) as raised:
        redaction.complete(role, JOINT, ASKED, found)
    assert type(raised.value) is error


def test_a_malformed_redaction_is_invalid() -> None:
    for text in ("{}", '{"target":0,"reason":"abuse"}', '{"target":3,"reason":"nope"}'):
        with pytest.raises(RoomError):
            redaction.complete(Role.MODERATOR, JOINT, text, Found(MESSAGE, False))


# -- the workflow's rule, inside the commit ------------------------------------------


def record(member: Member, body: str, seq: int = 7) -> Record:
    return Record("r", JOINT, seq, "rd", member.user, member.role, body, REDACTION, at(5))


def test_the_workflow_counts_it_and_raises_an_event_without_the_text() -> None:
    workflow = Workflow()
    room = workflow.opened("mediating", at())
    completed = '{"target":4,"reason":"abuse","edits":[6]}'
    assert workflow.apply(room, record(MODERATOR, completed)) == []
    assert room.facts.redactions == 1
    [event] = room.raised
    assert event.topic == MESSAGE_REDACTED
    assert event.data == {
        "channel": JOINT,
        "seq": 4,
        "edits": [6],
        "reason": "abuse",
        "moderator": "m-1",
    }


def test_the_workflow_refuses_a_party_s_redaction() -> None:
    workflow = Workflow()
    room = workflow.opened("mediating", at())
    with pytest.raises(Forbidden):
        workflow.apply(room, record(CLIENT, '{"target":4,"reason":"abuse"}'))
    assert room.facts.redactions == 0 and not room.raised


# -- the store's side of one batch ---------------------------------------------------


CIPHER = RoomCipher("r", os.urandom(32))


def row(position: int, seq: int, kind: str, body: str, channel: str = JOINT) -> Stored:
    header = ("r", position, channel, seq, kind, "c-1", "client", f"c{seq}")
    head = chain.header(*header, at())
    sealed = CIPHER.seal(body.encode(), head)
    return Stored(*header, "", at(), b"h" * 32, sealed)


def draft(body: str, role: Role = Role.MODERATOR) -> Stored:
    return Stored("r", 0, JOINT, 0, REDACTION, "m-1", role, "rd", body, "", b"", b"")


def numbered_redaction(body: str, position: int) -> Stored:
    header = ("r", position, JOINT, 9, REDACTION, "m-1", "moderator", "rd")
    return Stored(*header, body, at(), b"", b"")


def test_the_store_lists_the_message_s_edits_and_destroys_them_all() -> None:
    rows = [
        row(4, 4, MESSAGE, "card 4111"),
        row(5, 5, MESSAGE, "another"),
        row(6, 6, EDIT, '{"target":4,"text":"card 4112"}'),
        row(7, 7, EDIT, '{"target":5,"text":"other edit"}'),
        row(8, 8, RETRACT, '{"target":4}'),
    ]
    batch = BatchRedactions({("r", JOINT, 4): rows})
    completed = batch.complete(draft(ASKED), CIPHER)
    assert not isinstance(completed, TranscriptError)
    assert json.loads(completed.body) == {"target": 4, "reason": "personal_data", "edits": [6]}
    destroyed = batch.numbered(numbered_redaction(completed.body, 9))
    digest = hashlib.sha256
    assert destroyed == [
        Destroyed("r", JOINT, 4, digest(b"card 4111").digest(), 9),
        Destroyed("r", JOINT, 6, digest(b'{"target":4,"text":"card 4112"}').digest(), 9),
    ]
    assert batch.gone(("r", JOINT, 4)) and not batch.gone(("r", JOINT, 5))
    again = batch.complete(draft(ASKED), CIPHER)  # later in the same batch
    assert isinstance(again, Refused) and again.code == "conflict"


def test_a_message_numbered_earlier_in_the_same_batch_can_be_redacted() -> None:
    batch = BatchRedactions({("r", JOINT, 4): []})  # the store found nothing yet
    fresh = Stored("r", 4, JOINT, 4, MESSAGE, "c-1", "client", "m", "oops", at(), b"", b"")
    batch.numbered(fresh)
    completed = batch.complete(draft(ASKED), CIPHER)
    assert not isinstance(completed, TranscriptError)
    [gone] = batch.numbered(numbered_redaction(completed.body, 5))
    assert gone.body_sha256 == hashlib.sha256(b"oops").digest()


def test_a_row_that_does_not_open_fails_this_redaction_not_the_batch() -> None:
    stored = row(4, 4, MESSAGE, "card 4111")
    altered = replace(stored, sealed=stored.sealed[:-1] + bytes([stored.sealed[-1] ^ 1]))
    batch = BatchRedactions({("r", JOINT, 4): [altered]})
    assert isinstance(batch.complete(draft(ASKED), CIPHER), Tampered)


def test_the_store_refuses_what_the_rule_refuses() -> None:
    batch = BatchRedactions({("r", JOINT, 4): [row(4, 4, EDIT, '{"target":1,"text":"x"}')]})
    refused = batch.complete(draft(ASKED), CIPHER)
    assert isinstance(refused, Refused) and refused.code == "invalid"
    party = batch.complete(draft(ASKED, Role.CLIENT), CIPHER)
    assert isinstance(party, Refused) and party.code == "forbidden"


# -- the bundle's rule ----------------------------------------------------------------


def test_a_bodiless_record_needs_a_redaction_naming_it() -> None:
    ok = Coverage()
    ok.bodiless(JOINT, 4, MESSAGE, 5)
    ok.bodiless(JOINT, 6, EDIT, 7)
    ok.redaction(JOINT, '{"target":4,"reason":"abuse","edits":[6]}')
    ok.finish()
    assert ok.redactions == 1

    unnamed = Coverage()
    unnamed.bodiless(JOINT, 4, MESSAGE, 5)
    with pytest.raises(ValueError, match="no redaction names it"):
        unnamed.finish()


@pytest.mark.parametrize(
    ("channel", "body"),
    [
        (NOTES, '{"target":4,"reason":"abuse"}'),  # another channel's #4
        (JOINT, '{"target":5,"reason":"abuse"}'),  # a record that kept its body
        (JOINT, '{"target":4,"reason":"abuse","edits":[4]}'),  # a message as an edit
        (ROOM, "not json"),
    ],
)
def test_a_redaction_names_only_bodiless_records_before_it(channel: str, body: str) -> None:
    coverage = Coverage()
    coverage.bodiless(JOINT, 4, MESSAGE, 5)
    with pytest.raises(ValueError, match=r"names|redaction"):
        coverage.redaction(channel, body)
