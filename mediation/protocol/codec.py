"""Bytes <-> frames, and engine events -> frames."""

from typing import cast, get_args

import msgspec

from mediation.protocol.codes import ErrorCode
from mediation.protocol.frames import (
    ClientFrame,
    EventFrame,
    Message,
    PresenceFrame,
    ServerFrame,
    TypingFrame,
    Who,
)
from rooms.ports import Event, Presence, StoredMessage, Typing
from rooms.settlement import Terms


class FrameError(Exception):
    def __init__(self, code: ErrorCode, message: str, frame_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.frame_id = frame_id


class _IdOnly(msgspec.Struct):
    id: str | None = None


_frame_decoder: msgspec.json.Decoder[ClientFrame] = msgspec.json.Decoder(ClientFrame)
_decode_frame = _frame_decoder.decode
_decode_id = msgspec.json.Decoder(_IdOnly).decode
_encode = msgspec.json.Encoder().encode


# Besides DecodeError, the parser raises RecursionError on JSON nested past its depth
# (even in a field the frame ignores) and UnicodeEncodeError on a lone surrogate.
_UNREADABLE = (msgspec.DecodeError, RecursionError, UnicodeEncodeError)


def decode(data: str) -> ClientFrame:
    """The frame `data` holds; FrameError `invalid` for anything else, whatever it is."""
    try:
        return _decode_frame(data)
    except msgspec.DecodeError as exc:
        raise FrameError(ErrorCode.INVALID, str(exc), _frame_id(data)) from None
    except (RecursionError, UnicodeEncodeError):
        raise FrameError(ErrorCode.INVALID, "not a frame: nested too deep, or not text") from None


def _frame_id(data: str) -> str | None:
    """The `id` of a rejected frame, if it has a readable one, so the error can name it."""
    try:
        return _decode_id(data).id
    except _UNREADABLE:
        return None


def encode(frame: ServerFrame) -> bytes:
    """The frame as JSON text, UTF-8 encoded: what a text frame carries."""
    return _encode(frame)


class LastEncoded:
    """Events -> (frame, its bytes), remembering the last: fan-out pushes one record to
    every reader of its channel in a row (LiveRoom._deliver), so it is converted and
    encoded once, not once per socket. It holds the event itself (a strong reference):
    `is` cannot take a new event for a freed one whose id it got."""

    __slots__ = ("_data", "_event", "_frame")

    def __init__(self) -> None:
        self._event: object = None
        self._frame: ServerFrame | None = None
        self._data = b""

    def __call__(self, event: Event | ServerFrame) -> tuple[ServerFrame, bytes]:
        if event is not self._event or self._frame is None:
            self._frame = to_frame(event)
            self._data = encode(self._frame)
            self._event = event
        return self._frame, self._data


_SERVER_FRAMES = frozenset(get_args(ServerFrame))


def to_frame(event: Event | ServerFrame) -> ServerFrame:
    # by exact type: isinstance against the union of frames (msgspec Structs) took ~1 us
    # to fail for each engine event
    if type(event) in _SERVER_FRAMES:
        return cast(ServerFrame, event)
    if isinstance(event, Presence):
        return PresenceFrame(event.user, event.role, event.online)
    if isinstance(event, Typing):
        return TypingFrame(event.user, event.role, event.channel)
    return message(cast(StoredMessage, event))


def message(record: StoredMessage) -> Message | EventFrame:
    """A record as the frame that carries it: `message` for messages, `event` otherwise."""
    if record.kind != "message":
        return _event(record)
    return Message(
        record.seq,
        record.client_id,
        record.channel,
        Who(record.sender_user, record.sender_role),
        record.body,
        record.ts,
    )


class _Payload(msgspec.Struct):
    """The JSON body of a record that is not a message: the union of every kind's fields."""

    target: int | None = None
    text: str | None = None
    to: str | None = None
    reason: str | None = None
    action: str | None = None
    party: str | None = None
    until: str | None = None
    terms: Terms | None = None
    expires_at: str | None = None
    counters: int | None = None
    proposal: int | None = None
    answer: str | None = None
    open: bool | None = None
    moderator: str | None = None
    brief: str | None = None
    rating: int | None = None
    comment: str | None = None
    clock: str | None = None
    since: str | None = None
    file: str | None = None
    name: str | None = None
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None


_decode_payload = msgspec.json.Decoder(_Payload).decode


def _event(record: StoredMessage) -> EventFrame:
    p = _decode_payload(record.body) if record.body else _Payload()
    return EventFrame(
        record.seq,
        record.client_id,
        record.channel,
        record.kind,
        Who(record.sender_user, record.sender_role),
        record.ts,
        target=_first(p.target, p.counters, p.proposal),
        body=p.text,
        state=p.to,
        reason=p.reason,
        action=p.action,
        party=p.party,
        until=p.until,
        terms=p.terms,
        expires_at=p.expires_at,
        answer=p.answer,
        open=p.open,
        moderator=p.moderator,
        brief=p.brief,
        rating=p.rating,
        comment=p.comment,
        clock=p.clock,
        since=p.since,
        file=p.file,
        name=p.name,
        content_type=p.content_type,
        size=p.size,
        sha256=p.sha256,
    )


def _first(*values: int | None) -> int | None:
    return next((v for v in values if v is not None), None)
