"""The states a dispute room moves through, and who may move it.

    waiting --claim--> mediating --> resolved --> closed
                           |   ^--------.
                           +--> escalated --> closed

Only moderators move a room. Every move is a `state` record in the room's
`room` channel, checked against the room's current state inside the commit,
so two moderators claiming at once cannot both win.
"""

from enum import StrEnum


class State(StrEnum):
    WAITING = "waiting"  # parties in, no moderator yet
    MEDIATING = "mediating"
    RESOLVED = "resolved"
    ESCALATED = "escalated"  # handed to a higher tier, which claims it back into mediating
    CLOSED = "closed"  # read-only for ever (exportable, shreddable)


NEXT: dict[str, frozenset[str]] = {
    State.WAITING: frozenset({State.MEDIATING}),
    State.MEDIATING: frozenset({State.RESOLVED, State.ESCALATED}),
    State.ESCALATED: frozenset({State.MEDIATING, State.CLOSED}),
    State.RESOLVED: frozenset({State.CLOSED}),
    State.CLOSED: frozenset(),
}


def next_states(state: str) -> frozenset[str]:
    return NEXT.get(state, frozenset())


def accepts_writes(state: str) -> bool:
    return state != State.CLOSED
