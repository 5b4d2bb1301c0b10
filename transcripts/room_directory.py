"""The room directory: rooms' rows, created, found and listed (by id, by ticket, the
moderator queue, the alarms that fell due, the range a report covers), their state
and tips, each with its sealed workflow facts opened by the key cache.
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, case, insert, select, update
from sqlalchemy.sql import ColumnElement

from transcripts import chain, presence
from transcripts.database import Database, json_text
from transcripts.envelope import RoomCipher
from transcripts.errors import Shredded
from transcripts.key_cache import KEY_COLUMNS, KeyCache
from transcripts.key_encryption_keys import new_key
from transcripts.outbox import insert_effects
from transcripts.schema import rooms
from transcripts.sealed_facts import open_contacts, seal_contacts, seal_facts
from transcripts.store_types import CLOSED, PRIORITIES, RoomRow, Rules, utc_timestamp

ROOM_COLUMNS = (  # in RoomRow's field order
    rooms.c.id,
    rooms.c.ticket_provider,
    rooms.c.ticket_id,
    rooms.c.client_user,
    rooms.c.freelancer_user,
    rooms.c.state,
    rooms.c.created_at,
    rooms.c.position,
    rooms.c.priority,
    rooms.c.moderator,
    rooms.c.tier,
    rooms.c.waiting_since,
    rooms.c.due_at,
    rooms.c.workflow,
    rooms.c.wrapped_key.is_(None).label("shredded"),
    rooms.c.language,
    rooms.c.skills,
)


class RoomDirectory:
    def __init__(self, db: Database, keys: KeyCache, rules: Rules | None = None) -> None:
        self.db = db
        self._keys = keys
        self._rules = rules  # the workflow's: a new room's first facts; None: none

    async def set_state(self, room_id: str, state: str) -> None:
        closed_at = datetime.now(UTC) if state == CLOSED else None
        async with self.db.write() as conn:
            await conn.execute(
                update(rooms).where(rooms.c.id == room_id).values(state=state, closed_at=closed_at)
            )

    async def create_room(
        self,
        room_id: str,
        ticket_provider: str,
        ticket_id: str,
        client_user: str,
        freelancer_user: str,
        state: str,
        priority: str = "normal",
        contacts: list[dict[str, Any]] | None = None,
        language: str = "en",
        skills: Sequence[str] = (),
        calendar: str | None = None,
        acceptance: str | None = None,
    ) -> RoomRow:
        """A new room; `contacts` (how to reach its people) sealed under its new key;
        `language` and `skills` what the queue routes it by (rooms.routing); `calendar`:
        the holiday calendar its deadlines count business days in; `acceptance`: who
        accepts for a side."""
        self._keys.refresh_keyring()  # wrap under the key that is active now
        data_key = new_key()
        kek_id, wrapped = self._keys.keyring.wrap(room_id, data_key)
        now = datetime.now(UTC)
        ts = utc_timestamp(now)
        ruled = (
            None
            if self._rules is None
            else self._rules.opened(
                state,
                ts,
                ticket_provider,
                priority,
                {"client": client_user, "freelancer": freelancer_user},
                calendar=calendar,
                acceptance=acceptance,
            )
        )
        private, columns = ruled.columns() if ruled is not None else ({}, {})
        row = RoomRow(
            room_id,
            ticket_provider,
            ticket_id,
            client_user,
            freelancer_user,
            state,
            now,
            0,
            priority,
            **columns,
            language=language,
            skills=list(skills),
        )
        async with self.db.write() as conn:
            await conn.execute(
                insert(rooms).values(
                    id=row.id,
                    ticket_provider=row.ticket_provider,
                    ticket_id=row.ticket_id,
                    client_user=row.client_user,
                    freelancer_user=row.freelancer_user,
                    state=row.state,
                    created_at=row.created_at,
                    kek_id=kek_id,
                    wrapped_key=wrapped,
                    position=0,
                    chain_head=chain.GENESIS,
                    heads={},
                    priority=priority,
                    workflow=row.workflow or {},
                    sealed_facts=seal_facts(RoomCipher(room_id, data_key), private),
                    sealed_contacts=seal_contacts(RoomCipher(room_id, data_key), contacts or []),
                    moderator=row.moderator,
                    tier=row.tier,
                    waiting_since=row.waiting_since,
                    due_at=row.due_at,
                    language=row.language,
                    skills=row.skills,
                )
            )
            await presence.ensure(  # parties away from the start get notices too
                conn,
                room_id,
                [(client_user, "client"), (freelancer_user, "freelancer")],
                now.timestamp(),
            )
            if self._rules is not None:
                await insert_effects(conn, self._rules.created(row))
        return replace(row, workflow={**(row.workflow or {}), **private})

    async def room(self, room_id: str) -> RoomRow | None:
        return await self._one_room(rooms.c.id == room_id)

    async def queue(
        self,
        states: Sequence[str],
        limit: int,
        tier: int | None = None,
        moderator: str | None = None,
        languages: Sequence[str] | None = None,
    ) -> list[RoomRow]:
        """Rooms in `states`, most urgent first: by ticket priority, then by how long a
        party has waited (rooms nobody waits in come last); only those in `languages`
        when given (a moderator's, so the limit cannot hide the rooms they can take)."""
        where: list[ColumnElement[bool]] = [rooms.c.state.in_(states)]
        if tier is not None:
            where.append(rooms.c.tier == tier)
        if moderator is not None:
            where.append(_moderated_by(moderator))
        if languages is not None:
            where.append(rooms.c.language.in_(languages))
        rank = case({p: i for i, p in enumerate(PRIORITIES)}, value=rooms.c.priority, else_=2)
        query = (
            select(*ROOM_COLUMNS, *KEY_COLUMNS)
            .where(*where)
            .order_by(rank, rooms.c.waiting_since.is_(None), rooms.c.waiting_since, rooms.c.id)
            .limit(limit)
        )
        return await self._rooms(query)

    async def rooms_due(self, now: datetime, limit: int) -> list[RoomRow]:
        """Rooms with a response clock alarm due by `now`, the most overdue first."""
        query = (
            select(*ROOM_COLUMNS, *KEY_COLUMNS)
            .where(rooms.c.due_at <= now, rooms.c.state != CLOSED)
            .order_by(rooms.c.due_at)
            .limit(limit)
        )
        return await self._rooms(query)

    async def rooms_between(self, start: datetime, end: datetime, limit: int) -> list[RoomRow]:
        """Rooms opened in [start, end), oldest first: what reports cover."""
        query = (
            select(*ROOM_COLUMNS, *KEY_COLUMNS)
            .where(rooms.c.created_at >= start, rooms.c.created_at < end)
            .order_by(rooms.c.created_at, rooms.c.id)
            .limit(limit)
        )
        return await self._rooms(query)

    async def _rooms(self, query: Any) -> list[RoomRow]:
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [await self._room_row(row) for row in rows]

    async def _room_row(self, row: Row[*tuple[Any, ...]]) -> RoomRow:
        """A room read as ROOM_COLUMNS + KEY_COLUMNS, with its sealed facts opened."""
        found = RoomRow(*row[: len(ROOM_COLUMNS)])
        opened = await self._keys.open_facts(row.id, row.kek_id, row.wrapped_key, row.sealed_facts)
        return replace(found, workflow={**(found.workflow or {}), **opened}) if opened else found

    async def open_room_for_ticket(self, provider: str, ticket_id: str) -> RoomRow | None:
        return await self._one_room(
            (rooms.c.ticket_provider == provider)
            & (rooms.c.ticket_id == ticket_id)
            & (rooms.c.state != CLOSED)
        )

    async def rooms_for_ticket(self, provider: str, ticket_id: str) -> list[RoomRow]:
        """Every room a ticket has had, the newest first (only the newest may be open)."""
        query = (
            select(*ROOM_COLUMNS, *KEY_COLUMNS)
            .where(rooms.c.ticket_provider == provider, rooms.c.ticket_id == ticket_id)
            .order_by(rooms.c.created_at.desc())
        )
        return await self._rooms(query)

    async def contacts(self, room_id: str) -> list[dict[str, Any]]:
        """How to reach the room's people, opened; [] when none were given, the room is
        unknown or its key was destroyed (the contacts went with it)."""
        query = select(rooms.c.sealed_contacts).where(rooms.c.id == room_id)
        async with self.db.read() as conn:
            sealed = await conn.scalar(query)
        if sealed is None:
            return []
        try:
            return open_contacts(await self._keys.cipher(room_id), sealed)
        except Shredded:
            return []

    async def heads(self, room_id: str) -> dict[str, int]:
        async with self.db.read() as conn:
            heads = await conn.scalar(select(rooms.c.heads).where(rooms.c.id == room_id))
        return dict(heads or {})

    async def tip(self, room_id: str) -> tuple[int, bytes, bool] | None:
        """The room's last position and chain hash, and whether it was shredded."""
        query = select(
            rooms.c.position, rooms.c.chain_head, rooms.c.wrapped_key.is_(None).label("shredded")
        ).where(rooms.c.id == room_id)
        async with self.db.read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else (row.position, row.chain_head, bool(row.shredded))

    async def _one_room(self, where: Any) -> RoomRow | None:
        query = select(*ROOM_COLUMNS, *KEY_COLUMNS).where(where)
        async with self.db.read() as conn:
            row = (await conn.execute(query)).first()
        return await self._room_row(row) if row is not None else None


def _moderated_by(user: str) -> ColumnElement[bool]:
    """Rooms `user` leads, or helps in as a co-moderator: the clear facts' list
    (rooms.comoderators), as JSON text, holds the user's JSON string."""
    team = rooms.c.workflow["comoderators"].as_string()
    moderated: ColumnElement[bool] = (rooms.c.moderator == user) | team.contains(
        json_text(user), autoescape=True
    )
    return moderated
