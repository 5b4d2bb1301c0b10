"""Who reviews which room this week, and what a review's scores weigh: pure.

A reviewer is never given a room they had a hand in: the room's moderator per
its facts and every moderator who wrote in it (a claim, a transfer, a message).
Rooms are spread fairly: each round gives every reviewer one room, as a matching
that prefers the least reviewed rooms (a room is reviewed twice in a week only when
no other is left for someone), ties broken by an order drawn from the seed and the
week, so the same inputs give the same assignments on every process. Assignments
already made count: running it again tops a reviewer up to N and changes nothing else.
"""

import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Candidate:
    """A resolved room, and every moderator who had a hand in it."""

    room: str
    moderator: str  # the moderator it was resolved with: the one reviewed
    involved: frozenset[str]


def week_of(moment: datetime, zone: ZoneInfo) -> str:
    """The ISO week a moment falls in, in the zone: `2026-W49`."""
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(week: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) of an ISO week, in the zone. ValueError if the
    text is not a week."""
    year, _, number = week.partition("-W")
    monday = date.fromisocalendar(int(year), int(number), 1)
    start = datetime(monday.year, monday.month, monday.day, tzinfo=zone)
    return start, start + timedelta(days=7)


def assign(
    week: str,
    reviewers: Iterable[str],
    rooms: Sequence[Candidate],
    per_week: int,
    existing: Iterable[tuple[str, str]] = (),
    seed: str = "",
) -> list[tuple[str, str]]:
    """New (reviewer, room) pairs so each reviewer has up to `per_week` rooms this week."""
    rng = random.Random(f"{seed}:{week}")
    order = sorted(set(reviewers))
    rng.shuffle(order)
    ranked = sorted(rooms, key=lambda c: c.room)
    rng.shuffle(ranked)
    load: Counter[str] = Counter()
    mine: dict[str, set[str]] = {r: set() for r in order}
    for reviewer, room in existing:
        load[room] += 1
        mine.setdefault(reviewer, set()).add(room)
    new: list[tuple[str, str]] = []
    for _ in range(per_week):  # round by round: each reviewer takes one room a round
        eligible = {
            reviewer: [
                c.room
                for c in ranked
                if reviewer not in c.involved
                and c.moderator != reviewer
                and c.room not in mine[reviewer]
            ]
            for reviewer in order
            if len(mine[reviewer]) < per_week
        }
        matched = {reviewer: room for room, reviewer in _match(eligible, load).items()}
        load.update(matched.values())
        for reviewer in order:
            options = eligible.get(reviewer)
            if reviewer not in matched and options:  # no room of its own left: one twice
                matched[reviewer] = min(options, key=lambda r: (load[r], options.index(r)))
                load[matched[reviewer]] += 1
        for reviewer in order:
            if reviewer in matched:
                mine[reviewer].add(matched[reviewer])
                new.append((reviewer, matched[reviewer]))
    return new


def _match(eligible: dict[str, list[str]], load: Counter[str]) -> dict[str, str]:
    """One room per reviewer, the least reviewed rooms first: a maximum matching over
    rooms of load <= L for L rising (augmenting paths), so a room is taken twice only
    when no reviewer can be given another. Returns room -> reviewer."""
    match: dict[str, str] = {}

    def augment(reviewer: str, ceiling: int, seen: set[str]) -> bool:
        for room in eligible[reviewer]:
            if load[room] > ceiling or room in seen:
                continue
            seen.add(room)
            if room not in match or augment(match[room], ceiling, seen):
                match[room] = reviewer
                return True
        return False

    for ceiling in sorted({load[room] for rooms in eligible.values() for room in rooms}):
        for reviewer in eligible:
            if reviewer not in match.values():
                augment(reviewer, ceiling, set())
    return match


def weighted(scores: Mapping[str, int], weights: Mapping[str, float]) -> float:
    """The weighted mean of the scores (1-5) over the criteria they share with the weights."""
    total = sum(weights[k] for k in scores if k in weights)
    if not total:
        return 0.0
    return round(sum(scores[k] * weights[k] for k in scores if k in weights) / total, 3)
