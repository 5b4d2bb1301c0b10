"""Fires response-clock alarms when they fall due: state in the database, not in timers.
It also closes a failed mediation whose window for arbitration passed (rooms.arbitration).

Every room row carries `due_at`, the moment its next alarm falls due,
moved by each commit. The scheduler polls for rooms past it and writes
their alarm records. Nothing lives only in memory: after a restart the
same query finds what fell due meanwhile. Every process may run it: an
alarm's client id names its clock and episode, so two processes writing
the same alarm store it once, and the commit refuses an alarm whose clock
has stopped since. Deadlines (rooms.deadlines) ride the same column: their
warnings and enforcements are written here too, under client ids naming the
deadline, and the commit refuses one for a deadline no longer open.
"""

import asyncio
import logging
from datetime import UTC, datetime

from mediation.periodic import Periodic
from mediation.sla.retiming import Retimed, write_due
from rooms.workflow import Workflow, alarm_record
from transcripts.errors import TranscriptError
from transcripts.group_commit import GroupCommitter
from transcripts.store import TranscriptStore

log = logging.getLogger(__name__)

ROOMS_PER_TICK = 200


class ClockScheduler:
    def __init__(
        self, store: TranscriptStore, committer: GroupCommitter, workflow: Workflow, tick: float
    ) -> None:
        self._store = store
        self._committer = committer
        self._workflow = workflow
        self._every = Periodic("clock scheduler", self.fire_due, tick, wait_first=False)

    def start(self) -> None:
        self._every.start()

    async def close(self) -> None:
        await self._every.close()

    async def fire_due(self) -> int:
        """Write every alarm due now, and every close a lapsed window calls for; returns how
        many were stored."""
        now = datetime.now(UTC)
        pending, early = [], []
        for row in await self._store.rooms_due(now, ROOMS_PER_TICK):
            room = self._workflow.load(row.state, row.workflow or {}, row.priority)
            drafts = [alarm_record(alarm).draft(row.id) for alarm in self._workflow.due(room, now)]
            drafts += [  # a lapsed arbitration window; deadline warnings and enforcements
                follow.draft(row.id)
                for follow in self._workflow.lapsed(room, now)
                + self._workflow.deadlines_due(room, now)
            ]
            if not drafts:  # its SLA policy grew since due_at was written (mediation.sla)
                early.append(
                    Retimed(row.id, row.position, self._workflow.queue_fields(room).due_at)
                )
            pending += [self._committer.append(draft) for draft in drafts]
        fired = 0
        for outcome in await asyncio.gather(*pending, return_exceptions=True):
            if isinstance(outcome, TranscriptError):
                log.info("alarm not stored: %s", outcome)  # e.g. the clock stopped meanwhile
            elif isinstance(outcome, BaseException):
                raise outcome
            elif not outcome.duplicate:
                fired += 1
        await write_due(self._store.db, early)
        return fired
