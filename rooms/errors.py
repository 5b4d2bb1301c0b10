"""Domain errors. Each carries the stable wire code a client sees."""


class RoomError(Exception):
    code = "invalid"


class Forbidden(RoomError):
    code = "forbidden"


class NotFound(RoomError):
    code = "not_found"


class RoomClosed(RoomError):
    code = "room_closed"


class Conflict(RoomError):
    """The room is not in a state that allows this (already claimed, not mediating, ...)."""

    code = "conflict"


class Superseded(RoomError):
    """A proposal that is no longer the open one: countered, rejected or settled."""

    code = "superseded"


class Expired(RoomError):
    code = "expired"


class WindowClosed(RoomError):
    """An opt-in to arbitration after the window for it closed."""

    code = "window_closed"


class NotYourRequest(RoomError):
    """A file names an evidence request made of someone else (or of nobody: a moderator's)."""

    code = "not_your_request"


class RequestClosed(RoomError):
    """An evidence request already reviewed: it takes no more answers and no second verdict."""

    code = "request_closed"
