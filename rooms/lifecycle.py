"""The states a dispute room moves through."""

from enum import StrEnum


class State(StrEnum):
    WAITING = "waiting"  # parties in, no moderator yet
    MEDIATING = "mediating"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    CLOSED = "closed"


def accepts_writes(state: str) -> bool:
    return state != State.CLOSED
