"""Revoked tokens: one token by its `jti`, or every token a user holds for a room.

Each revocation is stored in the database (the truth, read at startup and
after a broker outage) and kept in memory by every process, where each
token check consults it. It is forgotten once every token it covers has
expired anyway.
"""

import time

from sqlalchemy import delete, insert, select

from mediation.auth.tokens import Grant
from rooms.broker import Revoked
from transcripts.database import Database
from transcripts.schema import revocations as table


class Revocations:
    """What this process knows to be revoked; call it with a grant to check that grant."""

    def __init__(self) -> None:
        self._tokens: dict[str, int] = {}  # jti -> kept until (unix s)
        self._people: dict[tuple[str, str], Revoked] = {}  # (room or "", user) -> latest

    def add(self, revoked: Revoked) -> None:
        self.forget_expired(int(time.time()))
        if revoked.jti:
            self._tokens[revoked.jti] = max(revoked.until, self._tokens.get(revoked.jti, 0))
            return
        key = (revoked.room, revoked.user)
        known = self._people.get(key)
        if known is None or known.issued_before <= revoked.issued_before:
            self._people[key] = revoked

    def __call__(self, grant: Grant) -> bool:
        if grant.jti and grant.jti in self._tokens:
            return True
        for room in (grant.room_id, ""):
            person = self._people.get((room, grant.user))
            if person is not None and grant.issued_at <= person.issued_before:
                return True
        return False

    def forget_expired(self, now: int) -> None:
        self._tokens = {jti: until for jti, until in self._tokens.items() if until > now}
        self._people = {key: r for key, r in self._people.items() if r.until > now}


async def save(db: Database, revoked: Revoked) -> None:
    async with db.write() as conn:
        await conn.execute(
            insert(table).values(
                jti=revoked.jti,
                room_id=revoked.room,
                user=revoked.user,
                issued_before=revoked.issued_before,
                expires_at=revoked.until,
            )
        )


async def load(db: Database) -> list[Revoked]:
    """Every revocation still in force, after deleting those that are not."""
    now = int(time.time())
    async with db.write() as conn:
        await conn.execute(delete(table).where(table.c.expires_at <= now))
        c = table.c
        rows = await conn.execute(
            select(c.jti, c.room_id, c.user, c.issued_before, c.expires_at).order_by(c.id)
        )
        return [Revoked(*row) for row in rows]
