"""Each ISO week's review assignments, made by every process, stored once.

Every process runs it (like the clock scheduler): the assignment is computed
from the same inputs with the same seed, and the table's unique key (week,
reviewer, room) keeps a pair another process stored first from being stored
twice. It runs at start and every REVIEW_TICK seconds, topping reviewers up
as rooms resolve during the week.
"""

import logging
from datetime import UTC, datetime

from mediation.config import Settings
from mediation.periodic import Periodic
from mediation.review.assignment import assign, week_bounds, week_of
from mediation.review.store import ReviewStore, candidates
from rooms import business_days
from rooms.workflow import Workflow
from transcripts.store import TranscriptStore

log = logging.getLogger(__name__)

REVIEW_TICK = 300.0  # seconds


class ReviewScheduler:
    def __init__(
        self, reviews: ReviewStore, store: TranscriptStore, workflow: Workflow, settings: Settings
    ) -> None:
        self.reviews = reviews
        self._store = store
        self._workflow = workflow
        self._settings = settings
        self.zone = business_days.zone(settings.calendar_timezone)
        self._every = Periodic(
            "review scheduler", lambda: self.assign(self.this_week()), REVIEW_TICK, wait_first=False
        )

    def this_week(self) -> str:
        return week_of(datetime.now(UTC), self.zone)

    def start(self) -> None:
        if self._settings.reviews_per_week:
            self._every.start()

    async def close(self) -> None:
        await self._every.close()

    async def assign(self, week: str) -> int:
        """Top every reviewer up to MEDIATION_REVIEWS_PER_WEEK rooms of the week; returns
        how many assignments this call stored. ValueError for a week that is not one."""
        start, end = week_bounds(week, self.zone)
        pool = await candidates(self._store, self._workflow, start, end)
        reviewers = self._settings.reviewers or sorted({c.moderator for c in pool})
        existing = [(a.reviewer, a.room_id) for a in await self.reviews.assignments(week)]
        pairs = assign(
            week,
            reviewers,
            pool,
            self._settings.reviews_per_week,
            existing,
            self._settings.review_seed,
        )
        moderator = {c.room: c.moderator for c in pool}
        return await self.reviews.add_assignments(
            week,
            [(reviewer, room, moderator[room]) for reviewer, room in pairs],
            self._settings.reviews_per_week,
        )
