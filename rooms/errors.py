"""Domain errors. Each carries the stable wire code a client sees."""


class RoomError(Exception):
    code = "invalid"


class Forbidden(RoomError):
    code = "forbidden"


class NotFound(RoomError):
    code = "not_found"


class RoomClosed(RoomError):
    code = "room_closed"
