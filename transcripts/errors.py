"""Errors of the persistence layer, each with the stable wire code it maps to."""


class TranscriptError(Exception):
    code = "internal"


class Tampered(TranscriptError):
    """Stored bytes do not match what was written: refuse, never guess."""

    code = "tampered"


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
