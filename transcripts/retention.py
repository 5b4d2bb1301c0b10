"""Retention by crypto-shredding: destroy a closed room's data key, keep its ciphertext.

Without the data key the records and the sealed workflow facts (terms,
ratings: `sealed_facts`, also set to NULL) are unreadable everywhere, database
backups included once their copy of the wrapped key has aged out of them. A room
under legal hold is never shredded. Shredding is a compare-and-set, so a
hold placed or a room reopened meanwhile wins.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, update

from transcripts.database import Database
from transcripts.schema import rooms

CLOSED = "closed"


@dataclass(frozen=True)
class Due:
    room_id: str
    ticket: str
    closed_at: datetime


def _due(cutoff: datetime) -> ColumnElement[bool]:
    return (
        (rooms.c.state == CLOSED)
        & (rooms.c.closed_at < cutoff)
        & rooms.c.legal_hold.is_(None)
        & rooms.c.wrapped_key.is_not(None)
    )


async def due(db: Database, cutoff: datetime) -> list[Due]:
    """Closed rooms, closed before `cutoff`, not on hold, not yet shredded."""
    query = (
        select(rooms.c.id, rooms.c.ticket_provider, rooms.c.ticket_id, rooms.c.closed_at)
        .where(_due(cutoff))
        .order_by(rooms.c.closed_at)
    )
    async with db.read() as conn:
        return [
            Due(r.id, f"{r.ticket_provider}/{r.ticket_id}", r.closed_at)
            for r in (await conn.execute(query)).all()
        ]


async def shred(db: Database, room_id: str, cutoff: datetime) -> bool:
    """Destroy the room's data key if it is still due; whether it was destroyed."""
    async with db.write() as conn:
        result = await conn.execute(
            update(rooms)
            .where(rooms.c.id == room_id, _due(cutoff))
            .values(wrapped_key=None, sealed_facts=None, sealed_contacts=None)
        )
    return result.rowcount == 1


async def set_hold(db: Database, room_id: str, reason: str | None) -> bool:
    async with db.write() as conn:
        result = await conn.execute(
            update(rooms).where(rooms.c.id == room_id).values(legal_hold=reason)
        )
    return result.rowcount == 1


async def hold_of(db: Database, room_id: str) -> str | None:
    """The reason of the room's legal hold; None if there is none."""
    async with db.read() as conn:
        reason: str | None = await conn.scalar(
            select(rooms.c.legal_hold).where(rooms.c.id == room_id)
        )
    return reason
