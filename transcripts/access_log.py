"""The access log: who read or exported which transcript, when and why.

Append-only and hash-chained like a room's records, across the whole log:

    hash = SHA-256(prev_hash || SHA-256(entry))
    entry = ["mediation.access/1", position, ts, actor_user, actor_role,
             purpose, action, room_id]   (canonical JSON, as msgspec writes it)

Positions are gapless. Appends of one process take turns; two processes
racing for the same position collide on the primary key, and the loser
retries on top of the winner.
"""

import asyncio
import hashlib
import random
from dataclasses import asdict, dataclass, replace

import msgspec
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from transcripts.chain import GENESIS
from transcripts.database import Database
from transcripts.schema import access_log
from transcripts.store_types import utc_timestamp

TAG = "mediation.access/1"
RETRIES = 5


@dataclass(frozen=True, slots=True)
class Access:
    position: int
    ts: str
    actor_user: str
    actor_role: str
    purpose: str
    action: str
    room_id: str
    hash: bytes

    def entry(self) -> bytes:
        return msgspec.json.encode(
            [
                TAG,
                self.position,
                self.ts,
                self.actor_user,
                self.actor_role,
                self.purpose,
                self.action,
                self.room_id,
            ]
        )


def link(prev: bytes, access: Access) -> bytes:
    return hashlib.sha256(prev + hashlib.sha256(access.entry()).digest()).digest()


class AccessLog:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._turn = asyncio.Lock()

    async def append(
        self, actor_user: str, actor_role: str, purpose: str, action: str, room_id: str
    ) -> Access:
        async with self._turn:
            for attempt in range(RETRIES):
                try:
                    return await self._append(actor_user, actor_role, purpose, action, room_id)
                except IntegrityError:
                    if attempt == RETRIES - 1:
                        raise
                    await asyncio.sleep(random.uniform(0.001, 0.01) * (attempt + 1))
        raise AssertionError("unreachable")

    async def _append(
        self, actor_user: str, actor_role: str, purpose: str, action: str, room_id: str
    ) -> Access:
        async with self._db.write() as conn:
            last = (
                await conn.execute(
                    select(access_log.c.position, access_log.c.hash)
                    .order_by(access_log.c.position.desc())
                    .limit(1)
                )
            ).first()
            position, prev = (last.position, last.hash) if last else (0, GENESIS)
            draft = Access(
                position + 1, utc_timestamp(), actor_user, actor_role, purpose, action, room_id, b""
            )
            entry = replace(draft, hash=link(prev, draft))
            await conn.execute(insert(access_log).values(**asdict(entry)))
        return entry

    async def page(self, after: int, limit: int) -> list[Access]:
        query = (
            select(access_log)
            .where(access_log.c.position > after)
            .order_by(access_log.c.position)
            .limit(limit)
        )
        async with self._db.read() as conn:
            return [Access(**row._mapping) for row in (await conn.execute(query)).all()]
