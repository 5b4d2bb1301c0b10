"""Who was last in a room when, and who is owed a notice: the `presence` table.

A person's row says when a socket of theirs was last open (`seen_at`, kept
fresh while one is, by every process that holds one) and how far the room
had got by then (`seen_position`): records after it are unread. The notice
scheduler asks for people away past a delay with something new since, and
`notify` marks one notified and writes its outbox rows in one transaction,
guarded so that two processes, or a restart, never send the same notice twice.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from transcripts.database import Database
from transcripts.outbox import insert_effects
from transcripts.schema import presence, records, rooms
from transcripts.store_types import CLOSED, Effect, utc_timestamp

# People per UPDATE: two bound values each, well under SQLite's 32,766 (and PostgreSQL's
# 65,535) a statement, with tens of thousands of sockets on a process.
SEEN_PER_STATEMENT = 1000


@dataclass(frozen=True, slots=True)
class Away:
    """Someone away long enough, in a room that moved on since."""

    room_id: str
    user: str
    role: str
    seen_at: float
    seen_position: int
    notified_position: int
    position: int  # the room's now
    provider: str  # its ticket's


@dataclass(frozen=True, slots=True)
class Unread:
    count: int
    newest: int  # position of the newest
    kinds: frozenset[str]
    last_sender: tuple[str, str]  # (user, role) of the newest


async def ensure(
    conn: AsyncConnection, room_id: str, people: Sequence[tuple[str, str]], now: float
) -> None:
    """Rows for `people` ((user, role)) as of `now` where they have none yet."""
    if not people:
        return
    rows = [
        {"room_id": room_id, "user": user, "role": role, "seen_at": now, "seen_position": 0}
        for user, role in people
    ]
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(insert(presence).values(rows).on_conflict_do_nothing())


class Presence:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def joined(self, room_id: str, user: str, role: str, now: float) -> None:
        async with self.db.write() as conn:
            await ensure(conn, room_id, [(user, role)], now)
        await self.seen([(room_id, user)], now)

    async def seen(self, people: Sequence[tuple[str, str]], now: float) -> None:
        """`people` ((room, user)) have a socket open now: all they may see is read."""
        if not people:
            return
        room = select(rooms.c.position).where(rooms.c.id == presence.c.room_id).scalar_subquery()
        position = func.coalesce(room, presence.c.seen_position)  # a row with no room: as is
        everyone = sorted(set(people))
        async with self.db.write() as conn:
            for at in range(0, len(everyone), SEEN_PER_STATEMENT):
                await conn.execute(
                    update(presence)
                    .where(
                        tuple_(presence.c.room_id, presence.c.user).in_(
                            everyone[at : at + SEEN_PER_STATEMENT]
                        )
                    )
                    .values(seen_at=now, seen_position=position)
                )

    async def left(self, room_id: str, user: str, at: float) -> None:
        """Their socket closed at `at`: they saw the records stored by then. Written when
        it is written (a record committed meanwhile stays unread), and never over a later
        sighting (they came back)."""
        stamp = utc_timestamp(datetime.fromtimestamp(at, UTC))
        r = records.c
        position = (
            select(func.coalesce(func.max(r.position), 0))
            .where(r.room_id == presence.c.room_id, r.ts <= stamp)
            .scalar_subquery()
        )
        async with self.db.write() as conn:
            await conn.execute(
                update(presence)
                .where(
                    presence.c.room_id == room_id,
                    presence.c.user == user,
                    presence.c.seen_at <= at,
                )
                .values(seen_at=at, seen_position=position)
            )

    async def away(self, before: float, notified_before: float, limit: int) -> list[Away]:
        """People not seen since `before`, not notified since `notified_before`, in open
        rooms that moved past both what they saw and their last notice."""
        p, r = presence.c, rooms.c
        query = (
            select(
                *(p.room_id, p.user, p.role, p.seen_at, p.seen_position, p.notified_position),
                *(r.position, r.ticket_provider),
            )
            .join_from(presence, rooms, r.id == p.room_id)
            .where(
                p.seen_at <= before,
                (p.notified_at.is_(None)) | (p.notified_at <= notified_before),
                r.position > p.seen_position,
                r.position > p.notified_position,
                r.state != CLOSED,
                r.wrapped_key.is_not(None),
                # a moderator hears only of the rooms that are theirs now
                (p.role != "moderator") | (p.user == r.moderator),
            )
            .order_by(p.seen_at)
            .limit(limit)
        )
        async with self.db.read() as conn:
            return [Away(*row) for row in await conn.execute(query)]

    async def unread(
        self, away: Away, channels: Sequence[str], kinds: Sequence[str]
    ) -> Unread | None:
        """What waits for them in `channels`, written by someone else, of `kinds`."""
        c = records.c
        where = and_(
            c.room_id == away.room_id,
            c.position > away.seen_position,
            c.channel.in_(channels),
            c.kind.in_(kinds),
            c.sender_user != away.user,
        )
        async with self.db.read() as conn:
            count, newest = (
                await conn.execute(select(func.count(), func.max(c.position)).where(where))
            ).one()
            if not count:
                return None
            found = await conn.execute(select(c.kind).where(where).distinct())
            last = (
                await conn.execute(
                    select(c.sender_user, c.sender_role).where(
                        c.room_id == away.room_id, c.position == newest
                    )
                )
            ).one()
        return Unread(int(count), int(newest), frozenset(k for (k,) in found), (last[0], last[1]))

    async def passed(self, away: Away) -> None:
        """Nothing new they may see up to the room's position now (notes, the other side's
        caucus): not asked about again until the room moves on."""
        p = presence.c
        async with self.db.write() as conn:
            await conn.execute(
                update(presence)
                .where(
                    p.room_id == away.room_id,
                    p.user == away.user,
                    p.notified_position < away.position,
                )
                .values(notified_position=away.position)
            )

    async def notify(
        self, away: Away, notified_before: float, now: float, effects: Sequence[Effect]
    ) -> bool:
        """Mark them notified as of the room's position and write `effects`, at once; False
        if another process (or an earlier run) did it first."""
        p = presence.c
        async with self.db.write() as conn:
            done = await conn.execute(
                update(presence)
                .where(
                    p.room_id == away.room_id,
                    p.user == away.user,
                    (p.notified_at.is_(None)) | (p.notified_at <= notified_before),
                    p.seen_at <= away.seen_at,  # they did not come back meanwhile
                )
                .values(notified_at=now, notified_position=away.position)
            )
            if done.rowcount != 1:
                return False
            await insert_effects(conn, effects)
        return True
