"""Moderator profiles stored: read one or all, create or replace one."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, insert, select, update

from mediation.moderators.schema import moderators
from rooms.routing import Profile
from transcripts.database import Database


def _profile(row: Row[Any]) -> Profile:
    return Profile(row.user, tuple(row.languages), tuple(row.skills), row.tier)


class ProfileStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user: str) -> Profile | None:
        async with self._db.read() as conn:
            row = (await conn.execute(select(moderators).where(moderators.c.user == user))).first()
        return None if row is None else _profile(row)

    async def all(self) -> list[Profile]:
        async with self._db.read() as conn:
            rows = (await conn.execute(select(moderators).order_by(moderators.c.user))).all()
        return [_profile(row) for row in rows]

    async def put(self, profile: Profile, by: str) -> bool:
        """Create or replace the moderator's profile; True if it was created."""
        values: dict[str, Any] = {
            "languages": list(profile.languages),
            "skills": list(profile.skills),
            "tier": profile.tier,
            "updated_by": by,
            "updated_at": datetime.now(UTC),
        }
        async with self._db.write() as conn:
            changed = await conn.execute(
                update(moderators).where(moderators.c.user == profile.user).values(values)
            )
            if changed.rowcount:
                return False
            await conn.execute(insert(moderators).values(user=profile.user, **values))
        return True
