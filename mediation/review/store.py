"""The peer review tables read and written (mediation.review.schema).

`candidates` finds the rooms a week's reviews choose from: resolved in the
four weeks up to the week's end, each with every moderator who had a hand in
it (its moderator per the facts, and every moderator who wrote in it: a claim
and a transfer are records of theirs, in clear columns, so nothing is unsealed).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from mediation.review.assignment import Candidate
from mediation.review.schema import review_assignments, reviews, scorecards
from rooms.clocks import seconds_between
from rooms.visibility import Role
from rooms.workflow import Facts, Workflow
from transcripts.database import Database
from transcripts.schema import records
from transcripts.store import TranscriptStore
from transcripts.store_types import RoomRow

POOL_DAYS = 28  # a week's reviews choose among rooms resolved this long before its end
OPENED_DAYS = 120  # ... and opened at most this long before (a bound on the scan)
MAX_ROOMS = 5000

DEFAULT_CRITERIA: list[dict[str, Any]] = [
    {
        "key": "empathy",
        "label": "Empathy",
        "description": "Both parties felt heard",
        "weight": 1.0,
    },
    {
        "key": "neutrality",
        "label": "Neutrality",
        "description": "Neither party was favoured",
        "weight": 1.0,
    },
    {
        "key": "accuracy",
        "label": "Accuracy of terms",
        "description": "The settlement's terms match what was agreed",
        "weight": 1.0,
    },
    {
        "key": "time",
        "label": "Time to resolution",
        "description": "No avoidable delay",
        "weight": 1.0,
    },
]


@dataclass(frozen=True, slots=True)
class Scorecard:
    id: int | None  # None: the built-in default, never stored
    criteria: list[dict[str, Any]]
    created_by: str | None
    created_at: datetime | None

    @property
    def weights(self) -> dict[str, float]:
        return {c["key"]: float(c["weight"]) for c in self.criteria}


@dataclass(frozen=True, slots=True)
class Resolved:
    """A resolved room as the reports see it."""

    row: RoomRow
    facts: Facts
    resolved_at: datetime


class ReviewStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- scorecards ---------------------------------------------------------------

    async def scorecard(self, version: int | None = None) -> Scorecard:
        """The active scorecard (or a given version); the built-in one before any is set."""
        where = scorecards.c.active if version is None else scorecards.c.id == version
        async with self.db.read() as conn:
            row = (await conn.execute(select(scorecards).where(where))).first()
        if row is None:
            return Scorecard(None, DEFAULT_CRITERIA, None, None)
        return Scorecard(row.id, list(row.criteria), row.created_by, row.created_at)

    async def put_scorecard(self, criteria: list[dict[str, Any]], by: str) -> Scorecard:
        now = datetime.now(UTC)
        async with self.db.write() as conn:
            await conn.execute(update(scorecards).values(active=False))
            made = await conn.execute(
                insert(scorecards).values(
                    criteria=criteria, created_by=by, created_at=now, active=True
                )
            )
        key = made.inserted_primary_key
        assert key is not None
        return Scorecard(int(key[0]), criteria, by, now)

    async def _stored_scorecard(self) -> int:
        """The active scorecard's id, storing the built-in one if none was ever set."""
        found = await self.scorecard()
        if found.id is not None:
            return found.id
        stored = await self.put_scorecard(DEFAULT_CRITERIA, "default")
        assert stored.id is not None
        return stored.id

    # -- assignments --------------------------------------------------------------

    async def assignments(self, week: str | None = None, reviewer: str | None = None) -> list[Any]:
        where = []
        if week is not None:
            where.append(review_assignments.c.week == week)
        if reviewer is not None:
            where.append(review_assignments.c.reviewer == reviewer)
        query = select(review_assignments).where(*where).order_by(review_assignments.c.id)
        async with self.db.read() as conn:
            return list((await conn.execute(query)).all())

    async def assignment(self, assignment_id: int) -> Any:
        query = select(review_assignments).where(review_assignments.c.id == assignment_id)
        async with self.db.read() as conn:
            return (await conn.execute(query)).first()

    async def add_assignments(
        self, week: str, pairs: list[tuple[str, str, str]], per_week: int
    ) -> int:
        """(reviewer, room, moderator) rows; a row another process wrote first is skipped
        (unique week, reviewer, room), and so is one for a reviewer who has `per_week`
        already (another process drew from a pool a room had just joined). Returns how
        many this call stored."""
        stored = 0
        mine = review_assignments.c
        for reviewer, room, moderator in pairs:
            try:
                async with self.db.write() as conn:
                    held = await conn.scalar(
                        select(func.count())
                        .select_from(review_assignments)
                        .where(mine.week == week, mine.reviewer == reviewer)
                    )
                    if (held or 0) >= per_week:
                        continue
                    await conn.execute(
                        insert(review_assignments).values(
                            week=week,
                            reviewer=reviewer,
                            room_id=room,
                            moderator=moderator,
                            assigned_at=datetime.now(UTC),
                        )
                    )
                stored += 1
            except IntegrityError:
                continue
        return stored

    # -- reviews ------------------------------------------------------------------

    async def submit(self, assignment_id: int, scores: dict[str, int], comment: str) -> bool:
        """Store the review and complete its assignment; False if it was already reviewed."""
        card = await self._stored_scorecard()
        now = datetime.now(UTC)
        try:
            async with self.db.write() as conn:
                done = await conn.execute(
                    update(review_assignments)
                    .where(
                        review_assignments.c.id == assignment_id,
                        review_assignments.c.completed_at.is_(None),
                    )
                    .values(completed_at=now)
                )
                if not done.rowcount:
                    return False
                await conn.execute(
                    insert(reviews).values(
                        assignment_id=assignment_id,
                        scorecard_id=card,
                        scores=scores,
                        comment=comment,
                        submitted_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def results(self, moderator: str | None = None) -> list[Any]:
        """Submitted reviews with their assignment and scorecard, oldest first."""
        where: list[Any] = []
        if moderator is not None:
            where.append(review_assignments.c.moderator == moderator)
        query = (
            select(
                reviews.c.assignment_id,
                reviews.c.scores,
                reviews.c.comment,
                reviews.c.submitted_at,
                review_assignments.c.week,
                review_assignments.c.reviewer,
                review_assignments.c.room_id,
                review_assignments.c.moderator,
                scorecards.c.id.label("scorecard_id"),
                scorecards.c.criteria,
            )
            .join(review_assignments, review_assignments.c.id == reviews.c.assignment_id)
            .join(scorecards, scorecards.c.id == reviews.c.scorecard_id)
            .where(*where)
            .order_by(reviews.c.submitted_at, reviews.c.assignment_id)
        )
        async with self.db.read() as conn:
            return list((await conn.execute(query)).all())


async def resolved_rooms(
    store: TranscriptStore, workflow: Workflow, start: datetime, end: datetime
) -> list[Resolved]:
    """Rooms resolved in [start, end) with a moderator, oldest resolution first."""
    opened = await store.rooms_between(start - timedelta(days=OPENED_DAYS), end, MAX_ROOMS)
    found = []
    for row in opened:
        facts = workflow.load(row.state, row.workflow or {}).facts
        at = facts.clocks.resolved_at
        if not at or not facts.moderator:
            continue
        when = datetime.fromisoformat(at)
        if start <= when < end:
            found.append(Resolved(row, facts, when))
    return sorted(found, key=lambda r: (r.resolved_at, r.row.id))


async def candidates(
    store: TranscriptStore, workflow: Workflow, week_start: datetime, week_end: datetime
) -> list[Candidate]:
    pool = await resolved_rooms(store, workflow, week_start - timedelta(days=POOL_DAYS), week_end)
    if not pool:
        return []
    hands: dict[str, set[str]] = defaultdict(set)
    query = (
        select(records.c.room_id, records.c.sender_user)
        .where(
            records.c.room_id.in_([r.row.id for r in pool]),
            records.c.sender_role == Role.MODERATOR,
        )
        .distinct()
    )
    async with store.db.read() as conn:
        for room_id, user in (await conn.execute(query)).all():
            hands[room_id].add(user)
    return [
        Candidate(
            r.row.id,
            r.facts.moderator or "",
            frozenset(hands[r.row.id] | {r.facts.moderator or ""}),
        )
        for r in pool
    ]


def resolution_seconds(resolved: Resolved) -> float | None:
    opened = resolved.facts.clocks.opened_at or resolved.row.created_at.isoformat()
    at = resolved.facts.clocks.resolved_at
    return None if at is None else seconds_between(opened, at)
