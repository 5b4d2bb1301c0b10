"""Errors of the persistence layer, each with the stable wire code it maps to."""


class TranscriptError(Exception):
    code = "internal"


class Tampered(TranscriptError):
    """Stored bytes do not match what was written: refuse, never guess.

    The message may go to anyone who reads the record: it names at most the
    record's channel and seq. Where the record sits room-wide (its position,
    which would tell a party how much was said in channels it does not see)
    stays in `position`, `detail` and the traceback's notes: for operators,
    and for staff and auditors, who see every channel anyway."""

    code = "tampered"

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position
        if position is not None:
            self.add_note(f"at position {position} of the room")

    @property
    def detail(self) -> str:
        """The message with the record's room-wide position, for operators and staff."""
        return str(self) if self.position is None else f"{self} (position {self.position})"


class RoomNotWritable(TranscriptError):
    code = "room_closed"


class UnknownRoom(TranscriptError):
    code = "not_found"


class Refused(TranscriptError):
    """The database's own rules refuse this record (e.g. editing someone else's message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Shredded(TranscriptError):
    """The room's data key was destroyed under the retention policy: nothing can be read."""

    code = "not_found"


class StoreUnavailable(TranscriptError):
    code = "unavailable"


class TooLarge(TranscriptError):
    """A file over the configured maximum size."""

    code = "too_large"


class UnsupportedType(TranscriptError):
    """A file whose bytes are not of an allowed type, whatever its name says."""

    code = "unsupported_type"
