"""`clocks.next_due`, asked of every room in every commit, against its definition: the
earliest due time of the pending alarms (`pending`, `due_at`), over every combination
of state, waiting and asked parties and fired episodes."""

from datetime import datetime, timedelta
from itertools import product

import pytest

from rooms.clocks import ANSWER, REPLY, UNCLAIMED, Clocks, Targets, due_at, next_due, pending

TARGETS = Targets(first_response=60, answer=300, reply=7200)
T0 = datetime.fromisoformat("2026-12-02T10:00:00.000Z")


def at(seconds: int) -> str:
    return (
        (T0 + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def defined(clocks: Clocks, state: str) -> datetime | None:
    return min((due_at(a, TARGETS) for a in pending(clocks, state)), default=None)


EPISODES: list[dict[str, str]] = [
    {},
    {"client": at(10)},
    {"freelancer": at(5)},
    {"client": at(40), "freelancer": at(20)},
]


@pytest.mark.parametrize(
    ("state", "waiting", "asked", "fire"),
    list(
        product(
            ["waiting", "escalated", "mediating", "resolved", "mediation_failed"],
            EPISODES,
            EPISODES,
            [(), (UNCLAIMED,), (ANSWER, "client"), (REPLY, "freelancer"), (ANSWER, "freelancer")],
        )
    ),
)
def test_next_due_is_the_earliest_pending_alarm(
    state: str, waiting: dict[str, str], asked: dict[str, str], fire: tuple[str, ...]
) -> None:
    clocks = Clocks(opened_at=at(0), queued_at=at(3), waiting=dict(waiting), asked=dict(asked))
    if fire == (UNCLAIMED,):
        clocks.fired[UNCLAIMED] = at(3)
    elif fire:
        clock, party = fire
        episodes = waiting if clock == ANSWER else asked
        # the running episode's start, or an older episode's
        clocks.fired[f"{clock}:{party}"] = episodes.get(party, at(999))
    assert next_due(clocks, state, TARGETS) == defined(clocks, state)


def test_a_room_never_queued_counts_from_its_opening() -> None:
    clocks = Clocks(opened_at=at(0))
    assert next_due(clocks, "waiting", TARGETS) == T0 + timedelta(seconds=60)
    assert next_due(Clocks(), "waiting", TARGETS) is None
