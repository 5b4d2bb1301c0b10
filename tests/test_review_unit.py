"""Peer review's pure rules: who reviews which room (never their own, never one they had
a hand in, spread fairly, the same on every process), and the weighted score."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mediation.review.assignment import Candidate, assign, week_bounds, week_of, weighted

MODERATORS = ["m-ana", "m-bo", "m-cy", "m-di"]


def pool(rooms_each: int = 3) -> list[Candidate]:
    return [
        Candidate(f"r-{m}-{i}", m, frozenset({m})) for m in MODERATORS for i in range(rooms_each)
    ]


def test_a_reviewer_never_gets_a_room_of_their_own() -> None:
    rooms = pool()
    by_room = {c.room: c for c in rooms}
    for seed in ("", "a", "b", "c"):
        pairs = assign("2026-W49", MODERATORS, rooms, 3, seed=seed)
        assert len(pairs) == 3 * len(MODERATORS)
        for reviewer, room in pairs:
            assert by_room[room].moderator != reviewer


def test_a_room_a_reviewer_claimed_or_was_transferred_is_not_theirs_to_review() -> None:
    # m-bo resolved both; m-ana claimed the first before transferring it to m-bo
    rooms = [
        Candidate("r-1", "m-bo", frozenset({"m-bo", "m-ana"})),
        Candidate("r-2", "m-bo", frozenset({"m-bo"})),
    ]
    assert assign("2026-W49", ["m-ana"], rooms, 2) == [("m-ana", "r-2")]
    assert assign("2026-W49", ["m-bo"], rooms, 2) == []  # nothing of anyone else's


def test_rooms_are_spread_so_none_is_reviewed_twice_while_another_waits() -> None:
    rooms = pool(rooms_each=2)  # 8 rooms, 4 reviewers x 2 = 8 reviews
    pairs = assign("2026-W49", MODERATORS, rooms, 2, seed="s")
    reviewed = [room for _, room in pairs]
    assert sorted(reviewed) == sorted(c.room for c in rooms)  # each exactly once


def test_three_moderators_with_a_room_each_review_every_room_once_whatever_the_seed() -> None:
    rooms = pool(rooms_each=1)[:3]
    for seed in map(str, range(50)):  # a greedy pick leaves a room out for some orders
        pairs = assign("2026-W49", MODERATORS[:3], rooms, 1, seed=seed)
        assert sorted(room for _, room in pairs) == sorted(c.room for c in rooms), seed


def test_a_room_is_reviewed_twice_only_when_a_reviewer_has_no_other() -> None:
    rooms = [
        Candidate("moved", "m-bo", frozenset({"m-ana", "m-bo"})),  # m-ana claimed, m-bo resolved
        Candidate("theirs", "m-cy", frozenset({"m-cy"})),
    ]
    pairs = assign("2026-W49", ["m-ana", "m-bo", "m-cy"], rooms, 1, seed="s")
    assert sorted(pairs) == [("m-ana", "theirs"), ("m-bo", "theirs"), ("m-cy", "moved")]


def test_the_draw_is_deterministic_and_changes_with_the_seed_or_week() -> None:
    rooms = pool()
    first = assign("2026-W49", MODERATORS, rooms, 2, seed="s")
    assert assign("2026-W49", list(reversed(MODERATORS)), rooms[::-1], 2, seed="s") == first
    others = {
        tuple(assign(week, MODERATORS, rooms, 2, seed=seed))
        for week, seed in (("2026-W49", "t"), ("2026-W50", "s"), ("2026-W49", "u"))
    }
    assert any(other != tuple(first) for other in others)


def test_running_it_again_tops_up_and_changes_nothing_made() -> None:
    rooms = pool()
    made = assign("2026-W49", MODERATORS, rooms, 1, seed="s")
    assert assign("2026-W49", MODERATORS, rooms, 1, made, seed="s") == []
    more = assign("2026-W49", MODERATORS, rooms, 2, made, seed="s")
    assert len(more) == len(MODERATORS)
    everyone = made + more
    assert len(set(everyone)) == len(everyone)  # no pair twice
    for reviewer in MODERATORS:
        assert len([p for p in everyone if p[0] == reviewer]) == 2


def test_weighted_scores() -> None:
    weights = {"empathy": 2.0, "neutrality": 1.0, "time": 1.0}
    assert weighted({"empathy": 5, "neutrality": 1, "time": 3}, weights) == 3.5
    assert weighted({"empathy": 4}, {"empathy": 0.5}) == 4.0
    assert weighted({}, weights) == 0.0


def test_weeks_are_iso_weeks_in_the_configured_zone() -> None:
    sunday_night_utc = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # Sunday of 2026-W49
    assert week_of(sunday_night_utc, ZoneInfo("UTC")) == "2026-W49"
    assert week_of(sunday_night_utc, ZoneInfo("Europe/Berlin")) == "2026-W50"  # Monday there
    start, end = week_bounds("2026-W49", ZoneInfo("UTC"))
    assert (start.isoformat(), (end - start).days) == ("2026-11-30T00:00:00+00:00", 7)
    with pytest.raises(ValueError, match="week"):
        week_bounds("2026-W54", ZoneInfo("UTC"))
