"""Key rotation: rewrap every room's data key under the active KEK, online.

Only the wrapping changes, never the data key, so messages need no
re-encryption and live rooms carry on. Each room is rewrapped with a
compare-and-set on its current KEK id, and passes repeat until no room is
left under an old key (a room may be opened mid-pass).
"""

from sqlalchemy import func, select, update

from transcripts.database import Database
from transcripts.key_encryption_keys import Keyring
from transcripts.schema import rooms

PAGE = 500
MAX_PASSES = 10


async def rewrap_all(db: Database, keyring: Keyring) -> int:
    """Rewrap every room not yet under `keyring.active`; the number rewrapped."""
    done = 0
    for _ in range(MAX_PASSES):
        moved = await _one_pass(db, keyring)
        done += moved
        if moved == 0:
            return done
    return done


async def _one_pass(db: Database, keyring: Keyring) -> int:
    moved, after = 0, ""
    while True:
        query = (
            select(rooms.c.id, rooms.c.kek_id, rooms.c.wrapped_key)
            .where(
                rooms.c.id > after,
                rooms.c.kek_id != keyring.active,
                rooms.c.wrapped_key.is_not(None),
            )
            .order_by(rooms.c.id)
            .limit(PAGE)
        )
        async with db.read() as conn:
            page = (await conn.execute(query)).all()
        if not page:
            return moved
        async with db.write() as conn:
            for row in page:
                data_key = keyring.unwrap(row.id, row.kek_id, row.wrapped_key)
                kek_id, wrapped = keyring.wrap(row.id, data_key)
                result = await conn.execute(
                    update(rooms)
                    .where(rooms.c.id == row.id, rooms.c.kek_id == row.kek_id)
                    .values(kek_id=kek_id, wrapped_key=wrapped)
                )
                moved += result.rowcount
        after = page[-1].id


async def rooms_under(db: Database, kek_id: str) -> int:
    """How many rooms still need `kek_id` to be read."""
    query = select(func.count()).where(rooms.c.kek_id == kek_id, rooms.c.wrapped_key.is_not(None))
    async with db.read() as conn:
        return int(await conn.scalar(query) or 0)
