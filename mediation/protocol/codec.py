"""Bytes <-> frames, and engine events -> frames."""

import logging
from typing import Any, cast, get_args

import msgspec

from mediation.protocol.codes import ErrorCode
from mediation.protocol.frames import (
    ClientFrame,
    EventFrame,
    Message,
    PresenceFrame,
    Removal,
    ServerFrame,
    TypingFrame,
    Who,
)
from rooms import records
from rooms.ports import Event, Presence, StoredMessage, Typing
from rooms.redaction import Removed

log = logging.getLogger(__name__)


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
        _removal(record),
    )


def _removal(record: StoredMessage) -> Removal | None:
    """The notice of a record whose text a moderator removed (read back with it)."""
    removed: Removed | None = getattr(record, "removed", None)
    if removed is None:
        return None
    return Removal(Who(removed.by, removed.role), removed.at, removed.reason)


def _event(record: StoredMessage) -> EventFrame:
    """An event frame: the record's header, and its body's fields (as the one record
    model decodes them) under their wire names. A kind this process does not know (a
    newer peer's, mid-upgrade) still goes out, with its header alone."""
    fields: dict[str, Any] = {}
    removal = _removal(record)
    try:
        body = records.body_of(record.kind, record.body or "{}")
    except records.BadBody:
        if removal is None:
            log.warning("a %s record's body has no known shape: sent without it", record.kind)
    else:
        written = msgspec.to_builtins(body)  # the fields its body holds, as stored
        fields = {name: getattr(body, name) for name in written}
    get = fields.get
    return EventFrame(
        record.seq,
        record.client_id,
        record.channel,
        record.kind,
        Who(record.sender_user, record.sender_role),
        record.ts,
        target=_first(get("target"), get("counters"), get("proposal")),
        body=get("text"),
        state=get("to"),
        reason=get("reason"),
        action=get("action"),
        party=get("party"),
        until=get("until"),
        terms=get("terms"),
        expires_at=get("expires_at"),
        answer=get("answer"),
        open=get("open"),
        moderator=get("moderator"),
        brief=get("brief"),
        rating=get("rating"),
        comment=get("comment"),
        clock=get("clock"),
        since=get("since"),
        file=get("file"),
        name=get("name"),
        content_type=get("content_type"),
        size=get("size"),
        sha256=get("sha256"),
        deadline=get("deadline"),
        due_at=get("due_at"),
        outcome=get("outcome"),
        cause=get("cause"),
        business_days=get("business_days"),
        calendar=get("calendar"),
        request=get("request"),
        item=get("item"),
        verdict=get("verdict"),
        note=get("note"),
        redacted=removal,
        added=get("added"),
        member=get("user"),
        side=get("side"),
        decision_maker=get("decision_maker"),
        by=get("by"),
    )


def _first(*values: int | None) -> int | None:
    return next((v for v in values if v is not None), None)
