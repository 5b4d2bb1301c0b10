"""The states a dispute room moves through, and who may move it.

    waiting --claim--> mediating --> resolved --> closed
                           |   ^--------.      ^
                           +--> escalated --> closed
                           |                   |
                           +--> mediation_failed --(a party opts in)--> arbitration
                                                                            |
                                       resolved <--(the arbitrator decides)-+

    waiting, escalated --(both parties accept a proposal: the server)--> resolved

Moderators move a room, with exceptions the server writes itself (`BY_SERVER`):
a party's opt-in to arbitration moves a failed mediation into `arbitration`, the
arbitrator's decision resolves it (rooms/arbitration.py), and both parties accepting
a proposal while the room waits (or is escalated) resolves it (rooms/self_serve.py).
A failed mediation nobody opted into is closed by a moderator, or by the server once
its window passed. Every move is a `state` record in the room's `room` channel, checked
against the room's current state inside the commit, so two moderators claiming at once
cannot both win.
"""

from enum import StrEnum


class State(StrEnum):
    WAITING = "waiting"  # parties in, no moderator yet
    MEDIATING = "mediating"
    RESOLVED = "resolved"
    ESCALATED = "escalated"  # handed to a higher tier, which claims it back into mediating
    CLOSED = "closed"  # read-only for ever (exportable, shreddable)
    MEDIATION_FAILED = "mediation_failed"  # the parties may opt in to arbitration, for a while
    ARBITRATION = "arbitration"  # an arbitrator decides; the decision resolves the room


NEXT: dict[str, frozenset[str]] = {
    State.WAITING: frozenset({State.MEDIATING, State.RESOLVED}),
    State.MEDIATING: frozenset({State.RESOLVED, State.ESCALATED, State.MEDIATION_FAILED}),
    State.ESCALATED: frozenset({State.MEDIATING, State.CLOSED, State.RESOLVED}),
    State.RESOLVED: frozenset({State.CLOSED}),
    State.CLOSED: frozenset(),
    State.MEDIATION_FAILED: frozenset({State.ARBITRATION, State.CLOSED}),
    State.ARBITRATION: frozenset({State.RESOLVED}),
}

# The moves only the server writes, each following the record that causes it: a party's
# `opt_in`, the arbitrator's `decision`, the parties' settlement of a room nobody mediates
# (rooms.self_serve). A moderator never makes them.
BY_SERVER = frozenset(
    {
        (State.MEDIATION_FAILED, State.ARBITRATION),
        (State.ARBITRATION, State.RESOLVED),
        (State.WAITING, State.RESOLVED),
        (State.ESCALATED, State.RESOLVED),
    }
)


def next_states(state: str) -> frozenset[str]:
    return NEXT.get(state, frozenset())


def moderator_moves(state: str) -> frozenset[str]:
    """Where a moderator's `transition` may take a room in `state`."""
    return frozenset(to for to in next_states(state) if (state, to) not in BY_SERVER)


def accepts_writes(state: str) -> bool:
    return state != State.CLOSED
