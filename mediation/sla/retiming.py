"""Rooms' `due_at` moved when their SLA policy changes, and the watcher that notices.

The scheduler polls `due_at <= now`: a room whose column was written under an
older, longer target would be looked at too late. So when a process's cache
(`Policies.refresh`) finds a priority's targets changed, it recomputes the
due time of every open room of that priority from the clocks kept in clear on
its row and writes those that moved. Each write is conditional on the room's
position: a record committed meanwhile wrote its own due time. That record may
have been timed before the change reached this process's cache, so the room is
read again and re-timed until a write lands or the row already holds the time
the new targets give.

Every process does this when it notices a change, so a process that committed
under the old targets until its own re-read re-times what it wrote. The
scheduler covers the other direction (a due time now too early): a room it
finds with nothing due is re-timed there (`clock_scheduler`).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, bindparam, select, update

from mediation.periodic import Periodic
from mediation.sla.policies import Policies
from rooms.workflow import Workflow
from transcripts.database import Database
from transcripts.schema import rooms
from transcripts.store_types import CLOSED

log = logging.getLogger(__name__)

T = TypeVar("T")
PAGE = 1000  # rooms read per query while re-timing one priority
REREADS = 5  # reads of a room that records keep moving while it is re-timed


@dataclass(frozen=True, slots=True)
class Retimed:
    room_id: str
    position: int  # as read: written only if no record was committed since
    due_at: datetime | None


async def write_due(db: Database, moved: Sequence[Retimed]) -> int:
    """Write the rooms' new due times, each unless a record moved the room meanwhile."""
    return len(moved) - len(await _write_due(db, moved))


async def _write_due(db: Database, moved: Sequence[Retimed]) -> list[str]:
    """The rooms whose write a record committed meanwhile refused."""
    if not moved:
        return []
    statement = (
        update(rooms)
        .where(rooms.c.id == bindparam("b_id"), rooms.c.position == bindparam("b_position"))
        .values(due_at=bindparam("b_due"))
    )
    refused = []
    async with db.write() as conn:  # one statement each: an executemany's rowcount is not
        for m in moved:  # reliable (asyncpg reports none); policy changes are rare
            params = {"b_id": m.room_id, "b_position": m.position, "b_due": m.due_at}
            if not (await conn.execute(statement, params)).rowcount:
                refused.append(m.room_id)
    return refused


async def retime_priority(db: Database, workflow: Workflow, priority: str) -> int:
    """Recompute the due time of every open room of `priority`; how many moved."""
    moved, after = 0, ""
    while rows := await _open_rooms(db, priority, rooms.c.id > after):
        moved += await _retime(db, workflow, priority, rows)
        after = rows[-1].id
    return moved


async def _retime(
    db: Database, workflow: Workflow, priority: str, rows: Sequence[Row[*tuple[Any, ...]]]
) -> int:
    """Re-time `rows` by the current targets: a room a record moved since it was read
    is read again (that record may have been timed by the old targets)."""
    moved, again = 0, False
    for _ in range(REREADS):  # past them, a room records keep moving is left to their timing
        if not rows:
            break
        changed = []
        for row in rows:
            due = workflow.queue_fields(
                workflow.load(row.state, row.workflow or {}, priority)
            ).due_at
            if due != row.due_at:
                changed.append(Retimed(row.id, row.position, due))
            elif again:  # the record committed meanwhile was timed by the new targets
                moved += 1
        refused = await _write_due(db, changed)
        moved += len(changed) - len(refused)
        rows = await _open_rooms(db, priority, rooms.c.id.in_(refused)) if refused else []
        again = True
    return moved


async def _open_rooms(
    db: Database, priority: str, which: ColumnElement[bool]
) -> Sequence[Row[*tuple[Any, ...]]]:
    query = (
        select(rooms.c.id, rooms.c.state, rooms.c.workflow, rooms.c.position, rooms.c.due_at)
        .where(rooms.c.priority == priority, rooms.c.state != CLOSED, which)
        .order_by(rooms.c.id)
        .limit(PAGE)
    )
    async with db.read() as conn:
        return (await conn.execute(query)).all()


class PolicyWatcher:
    """Re-reads the policies every `tick` seconds and re-times what a change moved."""

    def __init__(self, policies: Policies, db: Database, workflow: Workflow, tick: float) -> None:
        self.policies = policies
        self._db = db
        self._workflow = workflow
        self._turn = asyncio.Lock()
        self._unfinished: list[str] = []  # priorities changed but not re-timed yet (an outage)
        # read at start by Services, so the first re-read waits a tick
        self._every = Periodic("sla policies", self.changed, tick, wait_first=True)

    def start(self) -> None:
        self._every.start()

    async def close(self) -> None:
        await self._every.close()

    async def changed(self) -> int:
        """Re-read now; how many rooms were re-timed."""
        async with self._turn:
            return await self._reread()

    async def change(self, write: Callable[[], Awaitable[T]]) -> tuple[T, int]:
        """Make a change (`write`) and apply it here at once: this process's own re-read
        cannot come between them, so the rooms it re-times are counted here."""
        async with self._turn:
            done = await write()
            return done, await self._reread()

    async def _reread(self) -> int:
        changed = await self.policies.refresh()
        self._unfinished += [p for p in changed if p not in self._unfinished]
        moved = 0
        while self._unfinished:
            moved += await retime_priority(self._db, self._workflow, self._unfinished[0])
            self._unfinished.pop(0)
        if moved:
            log.info("sla policies changed: %d rooms re-timed", moved)
        return moved
