"""Reading stored records back: a channel's by seq, opened, for replays and gap fills;
a room's by position, sealed as stored, for exports and proofs.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select

from transcripts import redaction
from transcripts.database import Database
from transcripts.key_cache import KeyCache
from transcripts.schema import records
from transcripts.store_types import Record


class RecordReads:
    def __init__(self, db: Database, keys: KeyCache) -> None:
        self.db = db
        self._keys = keys

    async def rows_by_position(
        self, room_id: str, after: int, upto: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Stored rows, sealed, of every channel with after < position <= upto, in order."""
        query = (
            select(records)
            .where(
                records.c.room_id == room_id, records.c.position > after, records.c.position <= upto
            )
            .order_by(records.c.position)
            .limit(limit)
        )
        async with self.db.read() as conn:
            return (await conn.execute(query)).all()

    async def read(
        self, room_id: str, channel: str, after: int, upto: int, limit: int
    ) -> list[Record]:
        query = (
            select(records)
            .where(
                records.c.room_id == room_id,
                records.c.channel == channel,
                records.c.seq > after,
                records.c.seq <= upto,
            )
            .order_by(records.c.seq)
            .limit(limit)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        opened = [await self._keys.unseal(row) for row in rows]
        return await self.with_notices(room_id, opened)

    async def with_notices(self, room_id: str, opened: list[Record]) -> list[Record]:
        """Redacted records with their notice (who removed the text, when, why), read
        from the redaction records they name."""
        positions = {r.redacted_by for r in opened if r.redacted_by is not None}
        if not positions:
            return opened
        query = select(records).where(
            records.c.room_id == room_id, records.c.position.in_(sorted(positions))
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        by_position = {row.position: await self._keys.unseal(row) for row in rows}
        return redaction.resolve(opened, by_position)
