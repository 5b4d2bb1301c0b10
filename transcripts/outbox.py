"""The outbox table: effects written in their record's commit, then claimed, finished,
retried or buried by the delivery workers of every process.

Rows of one destination and one room go out one at a time, in commit order:
a row is claimable only while no older row of its lane is pending. A claim
is a lease (`lease_until`), renewed while the delivery runs: a process that
dies mid-delivery leaves its rows to be claimed again once the lease runs out
(seconds, not the length of a destination's timeout), so nothing is lost; a delivery
that may have been applied before a crash or a timeout is marked `uncertain`,
and its destination looks before it sends again, so nothing is doubled.
On PostgreSQL the claim skips rows another process is claiming
(`FOR UPDATE SKIP LOCKED`); SQLite has one writer at a time anyway.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import and_, delete, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from transcripts.database import Database
from transcripts.schema import outbox, rooms
from transcripts.store_types import Effect

PENDING, DONE, DEAD = "pending", "done", "dead"
STATUSES = (PENDING, DONE, DEAD)

COLUMNS = (
    *("destination", "room_id", "topic", "event_id", "data", "status", "created_at"),
    *("next_attempt_at", "attempts", "uncertain"),
)
# For the SQLite writer's thread (plain sqlite3): the same row as `rows_of` makes.
SQLITE_INSERT = "INSERT INTO outbox ({}) VALUES ({})".format(  # noqa: S608  (our names)
    ", ".join(COLUMNS), ", ".join("?" * len(COLUMNS))
)


def rows_of(effects: Sequence[Effect], now: float | None = None) -> list[dict[str, Any]]:
    """The outbox rows for `effects`, due at once."""
    at = time.time() if now is None else now
    return [
        {
            "destination": e.destination,
            "room_id": e.room_id,
            "topic": e.topic,
            "event_id": e.event_id,
            "data": msgspec.json.encode(e.data).decode(),
            "status": PENDING,
            "created_at": at,
            "next_attempt_at": at,
            "attempts": 0,
            "uncertain": False,
        }
        for e in effects
    ]


def sqlite_params(effects: Sequence[Effect]) -> list[tuple[Any, ...]]:
    return [tuple(row[name] for name in COLUMNS) for row in rows_of(effects)]


async def insert_effects(conn: AsyncConnection, effects: Sequence[Effect]) -> None:
    """Write `effects` in the caller's transaction."""
    if effects:
        await conn.execute(insert(outbox), rows_of(effects))


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    destination: str
    room_id: str
    topic: str
    event_id: str
    data: dict[str, Any]
    status: str
    attempts: int
    uncertain: bool
    created_at: float
    next_attempt_at: float
    finished_at: float | None
    last_error: str | None

    def public(self) -> dict[str, Any]:
        """As the API lists it."""
        return {
            "id": self.id,
            "destination": self.destination,
            "room": self.room_id,
            "topic": self.topic,
            "event_id": self.event_id,
            "status": self.status,
            "attempts": self.attempts,
            "created_at": self.created_at,
            "next_attempt_at": self.next_attempt_at if self.status == PENDING else None,
            "finished_at": self.finished_at,
            "last_error": self.last_error,
        }


_ROW = (
    outbox.c.id,
    outbox.c.destination,
    outbox.c.room_id,
    outbox.c.topic,
    outbox.c.event_id,
    outbox.c.data,
    outbox.c.status,
    outbox.c.attempts,
    outbox.c.uncertain,
    outbox.c.created_at,
    outbox.c.next_attempt_at,
    outbox.c.finished_at,
    outbox.c.last_error,
)


def _row(raw: Any, abandoned: bool = False) -> OutboxRow:
    values = list(raw)
    values[5] = msgspec.json.decode(values[5])
    values[8] = bool(values[8]) or abandoned
    return OutboxRow(*values)


@dataclass(frozen=True, slots=True)
class Backlog:
    pending: int
    oldest_pending: float | None  # created_at of the oldest pending row
    dead: int


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(
        self, now: float, lease: float, limit: int, destinations: Sequence[str]
    ) -> list[OutboxRow]:
        """Up to `limit` rows due by `now`, each the oldest pending of its lane and not
        leased, leased to the caller for `lease` seconds."""
        older = outbox.alias("older")
        head_of_lane = ~exists().where(
            older.c.destination == outbox.c.destination,
            older.c.room_id == outbox.c.room_id,
            older.c.status == PENDING,
            older.c.id < outbox.c.id,
        )
        free = (outbox.c.lease_until.is_(None)) | (outbox.c.lease_until < now)
        query = (
            select(*_ROW, outbox.c.lease_until)
            .where(
                outbox.c.status == PENDING,
                outbox.c.next_attempt_at <= now,
                outbox.c.destination.in_(destinations),
                free,
                head_of_lane,
            )
            .order_by(outbox.c.id)
            .limit(limit)
        )
        async with self.db.write() as conn:
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(of=outbox, skip_locked=True)
            found = (await conn.execute(query)).all()
            # A lease that ran out unfinished: its holder died mid-delivery, maybe after
            # the other side applied it. The next attempt looks before it sends again.
            rows = [_row(raw[:-1], abandoned=raw[-1] is not None) for raw in found]
            for uncertain in (False, True):
                ids = [r.id for r in rows if r.uncertain is uncertain]
                if ids:
                    await conn.execute(
                        update(outbox)
                        .where(outbox.c.id.in_(ids))
                        .values(lease_until=now + lease, uncertain=uncertain)
                    )
        return rows

    async def tickets(self, room_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Each room's ticket: (provider, id)."""
        query = select(rooms.c.id, rooms.c.ticket_provider, rooms.c.ticket_id).where(
            rooms.c.id.in_(sorted(set(room_ids)))
        )
        async with self.db.read() as conn:
            return {
                row.id: (row.ticket_provider, row.ticket_id) for row in await conn.execute(query)
            }

    async def release(self, row_ids: Sequence[int]) -> None:
        """Rows whose delivery was cut short (a shutdown): free to claim at once, their next
        attempt looking first (the cut attempt may have reached the other side)."""
        if row_ids:
            async with self.db.write() as conn:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(sorted(row_ids)), outbox.c.status == PENDING)
                    .values(lease_until=None, uncertain=True)
                )

    async def renew(self, row_ids: Sequence[int], until: float) -> None:
        """Extend the leases of rows still being delivered (and still leased)."""
        if row_ids:
            async with self.db.write() as conn:
                await conn.execute(
                    update(outbox)
                    .where(
                        outbox.c.id.in_(sorted(row_ids)),
                        outbox.c.status == PENDING,
                        outbox.c.lease_until.is_not(None),
                    )
                    .values(lease_until=until)
                )

    async def delivered(self, row_id: int, now: float) -> None:
        await self._finish(row_id, DONE, now, None)

    async def buried(self, row_id: int, now: float, error: str) -> None:
        """A dead letter: kept, listed, retried only by hand."""
        await self._finish(row_id, DEAD, now, error)

    async def retry_at(self, row_id: int, at: float, error: str, uncertain: bool) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == row_id, outbox.c.status == PENDING)
                .values(
                    attempts=outbox.c.attempts + 1,
                    next_attempt_at=at,
                    lease_until=None,
                    last_error=error[:512],
                    uncertain=outbox.c.uncertain | uncertain,
                )
            )

    async def _finish(self, row_id: int, status: str, now: float, error: str | None) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == row_id, outbox.c.status == PENDING)
                .values(
                    status=status,
                    attempts=outbox.c.attempts + 1,
                    finished_at=now,
                    lease_until=None,
                    last_error=None if error is None else error[:512],
                )
            )

    async def requeue(self, row_id: int, now: float) -> OutboxRow | None:
        """A dead letter back in line, tried again at once; None unless it is dead."""
        async with self.db.write() as conn:
            done = await conn.execute(
                update(outbox)
                .where(outbox.c.id == row_id, outbox.c.status == DEAD)
                .values(status=PENDING, next_attempt_at=now, finished_at=None, lease_until=None)
            )
            if done.rowcount != 1:
                return None
            raw = (await conn.execute(select(*_ROW).where(outbox.c.id == row_id))).one()
        return _row(raw)

    async def rows(
        self, status: str, limit: int, after: int = 0, room_id: str | None = None
    ) -> list[OutboxRow]:
        where = [outbox.c.status == status, outbox.c.id > after]
        if room_id is not None:
            where.append(outbox.c.room_id == room_id)
        query = select(*_ROW).where(and_(*where)).order_by(outbox.c.id).limit(limit)
        async with self.db.read() as conn:
            return [_row(raw) for raw in await conn.execute(query)]

    async def prune(self, finished_before: float) -> int:
        """Forget delivered rows finished before then; dead letters stay until retried."""
        async with self.db.write() as conn:
            done = await conn.execute(
                delete(outbox).where(
                    outbox.c.status == DONE, outbox.c.finished_at < finished_before
                )
            )
        return int(done.rowcount or 0)

    async def backlog(self) -> Backlog:
        pending = select(func.count(), func.min(outbox.c.created_at)).where(
            outbox.c.status == PENDING
        )
        dead = select(func.count()).where(outbox.c.status == DEAD)
        async with self.db.read() as conn:
            count, oldest = (await conn.execute(pending)).one()
            buried = await conn.scalar(dead)
        return Backlog(int(count), oldest, int(buried or 0))
