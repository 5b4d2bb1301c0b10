"""Stable error codes (in `error` frames) and WebSocket close codes.

These strings and numbers are a public contract: add new ones, never
change or reuse old ones. docs/protocol.md lists them all.
"""

from enum import IntEnum, StrEnum


class ErrorCode(StrEnum):
    UNAUTHORIZED = "unauthorized"  # bad or expired token; or no hello yet
    FORBIDDEN = "forbidden"  # authenticated, but not allowed to do this
    NOT_FOUND = "not_found"  # the room does not exist
    INVALID = "invalid"  # not a well-formed frame of this protocol
    TOO_LARGE = "too_large"  # body over the configured limit
    RATE_LIMITED = "rate_limited"  # slow down, then resend
    ROOM_CLOSED = "room_closed"  # the room is read-only now
    CONFLICT = "conflict"  # the room is not in a state that allows this (e.g. already claimed)
    SUPERSEDED = "superseded"  # that proposal is no longer the open one (countered, rejected)
    EXPIRED = "expired"  # that proposal's time ran out
    UNAVAILABLE = "unavailable"  # storage down: not stored, keep and resend later
    INTERNAL = "internal"  # a bug on our side: not stored, resend later
    TOO_MANY_CONNECTIONS = "too_many_connections"  # this person holds the most sockets allowed
    NOT_YOUR_REQUEST = "not_your_request"  # a file answers an evidence request made of another
    REQUEST_CLOSED = "request_closed"  # that evidence request was reviewed: it takes no more
    NOT_DECISION_MAKER = "not_decision_maker"  # only the side's decision-maker answers for it


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001  # server shutting down: reconnect (elsewhere) and resume
    MESSAGE_TOO_BIG = 1009  # a frame over the hard frame limit
    INTERNAL_ERROR = 1011  # stored data failed a check: an operator must look
    TRY_AGAIN_LATER = 1013  # storage unavailable: reconnect with backoff
    UNAUTHORIZED = 4401  # hello failed: token bad, expired, or for another room
    FORBIDDEN = 4403  # the token's user is not a participant of the room
    NOT_FOUND = 4404  # the room does not exist
    HELLO_TIMEOUT = 4408  # no hello in time
    TOO_SLOW = 4429  # the client read too slowly; resume with `since`
