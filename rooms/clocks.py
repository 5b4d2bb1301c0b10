"""Response clocks: who is waiting for whom, since when, and which alarms are due.

Clocks are advanced by the room's own records, inside the commit, so every
process and every restart agrees on them. Three alarms exist:

- `unclaimed`: the room has waited in the queue past the first-response target;
- `answer`: a party has waited past the answer target for the moderator;
- `reply`: the moderator has waited past the reply target for a party
  (the party gets a reminder).

An alarm fires once per episode (identified by when the episode began) and
is cleared when the clock stops, so the next episode can fire again.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from rooms.visibility import JOINT, PARTIES, Role, caucus_of

UNCLAIMED, ANSWER, REPLY = "unclaimed", "answer", "reply"


@dataclass(frozen=True, slots=True)
class Targets:
    """Seconds before each alarm fires (configured per deployment)."""

    first_response: float = 15 * 60
    answer: float = 30 * 60
    reply: float = 24 * 3600
    arbitration_window: float = 7 * 24 * 3600  # to opt in to arbitration once mediation failed
    # business days a party has to answer the other party's proposal before it stands as
    # accepted (a deadline the server sets, rooms.deadlines.by_policy); None: no such rule
    proposal_answer_days: int | None = None


class Clocks(msgspec.Struct, omit_defaults=True):
    opened_at: str = ""
    queued_at: str | None = None  # waiting for a moderator (new or escalated) since
    claimed_at: str | None = None
    first_response_at: str | None = None
    resolved_at: str | None = None
    waiting: dict[str, str] = {}  # party -> since when it waits for the moderator
    asked: dict[str, str] = {}  # party -> since when the moderator waits for it
    longest_wait: dict[str, float] = {}  # party -> seconds, the longest answer wait so far
    fired: dict[str, str] = {}  # alarm key -> the episode start it fired for
    breaches: dict[str, int] = {}  # clock -> how many times it passed its target


@dataclass(frozen=True, slots=True)
class Alarm:
    clock: str  # unclaimed | answer | reply
    party: str | None
    since: str  # when the episode began

    @property
    def key(self) -> str:
        return _key(self.clock, self.party)


def _key(clock: str, party: str | None) -> str:
    """What `fired` files an alarm under."""
    return clock if party is None else f"{clock}:{party}"


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts)


def seconds_between(start: str, end: str) -> float:
    return (parse(end) - parse(start)).total_seconds()


def on_message(clocks: Clocks, channel: str, role: str, ts: str) -> None:
    """A message was written: start or stop the answer and reply clocks it concerns."""
    if role in PARTIES and channel in (JOINT, caucus_of(role)):
        clocks.waiting.setdefault(role, ts)
        clocks.asked.pop(role, None)
        clocks.fired.pop(f"{REPLY}:{role}", None)
    elif role == Role.MODERATOR and (channel == JOINT or channel.startswith("caucus:")):
        if clocks.first_response_at is None:
            clocks.first_response_at = ts
        for party in _addressed(channel):
            since = clocks.waiting.pop(party, None)
            if since is not None:
                waited = seconds_between(since, ts)
                clocks.longest_wait[party] = max(clocks.longest_wait.get(party, 0.0), waited)
                clocks.fired.pop(f"{ANSWER}:{party}", None)
            clocks.asked.setdefault(party, ts)


def _addressed(channel: str) -> tuple[str, ...]:
    return tuple(sorted(PARTIES)) if channel == JOINT else (channel.removeprefix("caucus:"),)


def running(clocks: Clocks, state: str) -> list[Alarm]:
    """The alarms that could fire in `state`, each with the start of its episode."""
    return [Alarm(clock, party, since) for clock, party, since in _episodes(clocks, state)]


def _episodes(clocks: Clocks, state: str) -> Iterator[tuple[str, str | None, str]]:
    """(clock, party, since) of each alarm that could fire in `state`."""
    if state in ("waiting", "escalated"):
        since = clocks.queued_at or clocks.opened_at
        if since:
            yield UNCLAIMED, None, since
    elif state == "mediating":
        for party, since in sorted(clocks.waiting.items()):
            yield ANSWER, party, since
        for party, since in sorted(clocks.asked.items()):
            yield REPLY, party, since


_TARGETS = {UNCLAIMED: "first_response", ANSWER: "answer", REPLY: "reply"}  # Targets' fields


def target(alarm: Alarm, targets: Targets) -> float:
    seconds: float = getattr(targets, _TARGETS[alarm.clock])
    return seconds


def pending(clocks: Clocks, state: str) -> list[Alarm]:
    """Running alarms that have not fired for their episode yet."""
    return [a for a in running(clocks, state) if clocks.fired.get(a.key) != a.since]


def due_at(alarm: Alarm, targets: Targets) -> datetime:
    return parse(alarm.since) + timedelta(seconds=target(alarm, targets))


def next_due(clocks: Clocks, state: str, targets: Targets) -> datetime | None:
    """When the scheduler should look at this room next (None: nothing is running):
    the earliest `due_at` of the `pending` alarms, found without making them (every
    commit asks it of each room it writes to)."""
    due = None
    for clock, party, since in _episodes(clocks, state):
        if clocks.fired.get(_key(clock, party)) != since:
            at = parse(since) + timedelta(seconds=getattr(targets, _TARGETS[clock]))
            if due is None or at < due:
                due = at
    return due


def overdue(clocks: Clocks, state: str) -> list[Alarm]:
    """Alarms that fired for an episode still running: the room is flagged."""
    return [a for a in running(clocks, state) if clocks.fired.get(a.key) == a.since]
