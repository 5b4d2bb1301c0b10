"""Saved replies: stored by name, rendered for one room with its placeholders filled.

Placeholders use `string.Template` (`${client}`): it substitutes names and
nothing else, where `str.format` would let a macro reach into attributes.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from string import Template
from typing import Any

from sqlalchemy import delete, insert, select, update

from mediation.macros.schema import macros
from transcripts.database import Database

PLACEHOLDERS = ("client", "freelancer", "moderator", "ticket", "room", "amount", "currency")


class BadMacro(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Macro:
    name: str
    title: str
    body: str
    updated_by: str
    updated_at: datetime


def check(body: str) -> None:
    template = Template(body)
    if not template.is_valid():
        raise BadMacro("a macro's $ must start a ${placeholder}; write $$ for a dollar sign")
    unknown = sorted(set(template.get_identifiers()) - set(PLACEHOLDERS))
    if unknown:
        known = ", ".join("${" + p + "}" for p in PLACEHOLDERS)
        raise BadMacro(f"unknown placeholder(s) {', '.join(unknown)}; known: {known}")


def render(body: str, values: dict[str, str]) -> str:
    """The macro's text for a room; a value the room does not have yet renders empty."""
    return Template(body).substitute({p: values.get(p, "") for p in PLACEHOLDERS})


class MacroStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[Macro]:
        async with self._db.read() as conn:
            rows = (await conn.execute(select(macros).order_by(macros.c.name))).all()
        return [Macro(*row) for row in rows]

    async def put(self, name: str, title: str, body: str, by: str) -> bool:
        """Create or replace; True if it was created."""
        check(body)
        values: dict[str, Any] = {
            "title": title,
            "body": body,
            "updated_by": by,
            "updated_at": datetime.now(UTC),
        }
        async with self._db.write() as conn:
            changed = await conn.execute(update(macros).where(macros.c.name == name).values(values))
            if changed.rowcount:
                return False
            await conn.execute(insert(macros).values(name=name, **values))
        return True

    async def delete(self, name: str) -> bool:
        async with self._db.write() as conn:
            return bool((await conn.execute(delete(macros).where(macros.c.name == name))).rowcount)
