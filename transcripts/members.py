"""Each side's people as the `members` table lists them: who was added or removed, when,
by whom (issue 17; the rules keep the current sides in the room's facts, rooms.members).

A room's `client_user` and `freelancer_user` are the first member of each side
without a row of their own: `listing` shows them added when the room opened,
and a removal of one of them writes their row then. Also here: a contact given
with an addition joins the room's sealed contacts (mediation.contacts).
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update

from transcripts import presence
from transcripts.database import Database
from transcripts.key_cache import KeyCache
from transcripts.schema import members as table
from transcripts.schema import presence as seen
from transcripts.schema import rooms
from transcripts.sealed_facts import open_contacts, seal_contacts
from transcripts.store_types import RoomRow

OPENED_BY = "opened"  # who added the first members: the room's opening


@dataclass(frozen=True, slots=True)
class Membership:
    user: str
    side: str
    decision_maker: bool
    added_at: float  # unix s
    added_by: str
    removed_at: float | None
    removed_by: str | None


async def added(
    db: Database, room_id: str, user: str, side: str, decision_maker: bool, by: str, at: float
) -> None:
    async with db.write() as conn:
        await conn.execute(
            insert(table).values(
                room_id=room_id,
                user=user,
                side=side,
                decision_maker=decision_maker,
                added_at=at,
                added_by=by,
            )
        )
        await presence.ensure(conn, room_id, [(user, side)], at)  # away from the start: noticed


async def removed(db: Database, room: RoomRow, user: str, side: str, by: str, at: float) -> None:
    """Mark the person's open row removed (a first member gets a row saying both); no more
    notices to them while away."""
    c = table.c
    async with db.write() as conn:
        p = seen.c
        await conn.execute(delete(seen).where(p.room_id == room.id, p.user == user, p.role == side))
        done = await conn.execute(
            update(table)
            .where(c.room_id == room.id, c.user == user, c.side == side, c.removed_at.is_(None))
            .values(removed_at=at, removed_by=by)
        )
        if done.rowcount == 0:
            await conn.execute(
                insert(table).values(
                    room_id=room.id,
                    user=user,
                    side=side,
                    decision_maker=False,
                    added_at=room.created_at.timestamp(),
                    added_by=OPENED_BY,
                    removed_at=at,
                    removed_by=by,
                )
            )


async def listing(db: Database, room: RoomRow) -> list[Membership]:
    """Every membership the room has had, the first members first, then by addition."""
    c = table.c
    query = select(
        c.user, c.side, c.decision_maker, c.added_at, c.added_by, c.removed_at, c.removed_by
    ).where(c.room_id == room.id)
    async with db.read() as conn:
        rows = [Membership(*row) for row in await conn.execute(query.order_by(c.id))]
    opened = room.created_at.timestamp()
    firsts = [
        Membership(user, side, False, opened, OPENED_BY, None, None)
        for user, side in ((room.client_user, "client"), (room.freelancer_user, "freelancer"))
        if not any(r.added_by == OPENED_BY and r.user == user and r.side == side for r in rows)
    ]
    return firsts + rows


async def sides_had(db: Database, room: RoomRow) -> dict[str, set[str]]:
    """Every person each side has had (removed ones too): who may have accepted for it."""
    had: dict[str, set[str]] = {}
    for m in await listing(db, room):
        had.setdefault(m.side, set()).add(m.user)
    return had


async def add_contact(db: Database, keys: KeyCache, room_id: str, contact: dict[str, Any]) -> None:
    """The room's sealed contacts with `contact` added (the last entry for a user wins)."""
    async with db.write() as conn:
        sealed = await conn.scalar(
            select(rooms.c.sealed_contacts).where(rooms.c.id == room_id).with_for_update()
        )
        cipher = await keys.cipher(room_id)
        kept = [c for c in open_contacts(cipher, sealed) if c.get("user") != contact["user"]]
        await conn.execute(
            update(rooms)
            .where(rooms.c.id == room_id)
            .values(sealed_contacts=seal_contacts(cipher, [*kept, contact]))
        )
