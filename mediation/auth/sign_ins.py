"""Single-use sign-in links: what a notice mail carries instead of a credential.

The link holds a random code; only its hash is stored. Exchanged once, within
its lifetime (at most 24 h), for a room token of the usual lifetime; a second
use, a stale or an unknown code all get the same refusal. A link forwarded or
leaked after use opens nothing.
"""

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from transcripts.database import Database
from transcripts.schema import sign_ins as table

MAX_TTL = 24 * 3600


@dataclass(frozen=True, slots=True)
class SignIn:
    room_id: str
    user: str
    role: str


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class SignIns:
    def __init__(self, db: Database, ttl: int = MAX_TTL) -> None:
        self.db = db
        self.ttl = min(ttl, MAX_TTL)

    async def create(self, room_id: str, user: str, role: str) -> str:
        """A fresh code for `user` in `room_id`; expired ones are cleared on the way."""
        code, now = secrets.token_urlsafe(24), time.time()
        async with self.db.write() as conn:
            await conn.execute(delete(table).where(table.c.expires_at < now))
            await conn.execute(
                insert(table).values(
                    code_hash=_hash(code),
                    room_id=room_id,
                    user=user,
                    role=role,
                    expires_at=now + self.ttl,
                )
            )
        return code

    async def redeem(self, code: str) -> SignIn | None:
        """Who the code signs in, once; None if unknown, used or expired."""
        digest, now = _hash(code), time.time()
        c = table.c
        async with self.db.write() as conn:
            done = await conn.execute(
                update(table)
                .where(c.code_hash == digest, c.used_at.is_(None), c.expires_at >= now)
                .values(used_at=now)
            )
            if done.rowcount != 1:
                return None
            row = (
                await conn.execute(select(c.room_id, c.user, c.role).where(c.code_hash == digest))
            ).one()
        return SignIn(row.room_id, row.user, row.role)
