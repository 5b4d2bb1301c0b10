"""The one record model (rooms.records): every kind's body has one shape, decoded once."""

import pytest

from mediation.protocol.codec import message
from mediation.protocol.frames import EventFrame
from rooms import kinds
from rooms.records import (
    BODIES,
    Amendment,
    BadBody,
    FloorBody,
    Joined,
    StateBody,
    Terms,
    body_of,
    encode,
)
from tests.records import Record as StoredRecord


def test_every_kind_but_a_message_has_a_body_shape() -> None:
    named = {v for k, v in vars(kinds).items() if k.isupper() and isinstance(v, str)}
    named -= {kinds.MESSAGE, kinds.SYSTEM_USER, kinds.SYSTEM_ROLE}
    assert set(BODIES) == named


@pytest.mark.parametrize(
    ("kind", "body", "text"),
    [
        (kinds.JOINED, Joined(), "{}"),
        (kinds.RETRACT, Amendment(3), '{"target":3}'),
        (kinds.EDIT, Amendment(3, "fixed"), '{"target":3,"text":"fixed"}'),
        (kinds.STATE, StateBody("mediating", "claimed"), '{"to":"mediating","reason":"claimed"}'),
        (
            kinds.STATE,
            StateBody("resolved", terms=Terms("10.00", "EUR"), proposal=4),
            '{"to":"resolved","terms":{"amount":"10.00","currency":"EUR"},"proposal":4}',
        ),
        (
            kinds.FLOOR,
            FloorBody("pause", None, "2026-01-01T00:00:00+00:00", ""),
            '{"action":"pause","party":null,"until":"2026-01-01T00:00:00+00:00","reason":""}',
        ),
    ],
)
def test_bodies_are_written_as_stored_and_read_back(kind: str, body: object, text: str) -> None:
    assert encode(body) == text  # type: ignore[arg-type]  # each a Body
    assert body_of(kind, text) == body


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (kinds.EDIT, '{"target":0}'),  # no seq we could have given
        (kinds.EDIT, '{"target":9007199254740992}'),  # past what a JSON number holds exactly
        (kinds.STATE, "{}"),
        (kinds.CAUCUS, '{"party":"client","open":"yes"}'),
        (kinds.MESSAGE, "hello"),  # a message is text, not a shaped body
        ("unheard-of", "{}"),
    ],
)
def test_a_body_not_of_its_kinds_shape_is_refused(kind: str, text: str) -> None:
    with pytest.raises(BadBody):
        body_of(kind, text)


def test_an_event_frame_carries_its_bodys_fields_under_their_wire_names() -> None:
    record = StoredRecord(
        "r_1", "room", 4, "c-1", "m-1", "moderator", '{"to":"mediating"}', "state"
    )
    frame = message(record)
    assert isinstance(frame, EventFrame)
    assert (frame.state, frame.reason, frame.kind, frame.seq) == ("mediating", None, "state", 4)


def test_a_kind_this_process_does_not_know_goes_out_with_its_header_alone() -> None:
    """A newer peer's record, mid-upgrade: delivered, never a crash of the reader's socket."""
    record = StoredRecord("r_1", "room", 5, "c-2", "m-1", "moderator", '{"x":1}', "vote")
    frame = message(record)
    assert isinstance(frame, EventFrame)
    assert (frame.kind, frame.seq, frame.state, frame.body) == ("vote", 5, None, None)
