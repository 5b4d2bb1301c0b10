"""Fresh databases for tests: a SQLite file, or a PostgreSQL database cloned from a template.

The template is migrated once per run; each test gets `CREATE DATABASE ...
TEMPLATE` (milliseconds) and it is dropped afterwards, so tests never see
each other's rooms and the shared server is left as it was found.
"""

import os
import secrets
from pathlib import Path
from typing import NoReturn

import asyncpg
import pytest
from sqlalchemy import insert

from mediation import migrate
from transcripts.database import Database
from transcripts.schema import records
from transcripts.store import TranscriptStore

ADMIN_URL = os.environ.get("MEDIATION_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def unavailable(what: str, why: Exception) -> NoReturn:
    """Skip on a developer's machine without the service; fail in CI, where it must be."""
    message = f"{what} is not reachable ({why.__class__.__name__}: {why})"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def sqlalchemy_url(database: str) -> str:
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}"


class PostgresDatabases:
    def __init__(self) -> None:
        self.prefix = "mediation_test_" + secrets.token_hex(4)
        self.template = self.prefix + "_template"
        self.created: list[str] = []
        self.ready = False

    async def _admin(self, statement: str) -> None:
        conn = await asyncpg.connect(ADMIN_URL, timeout=5)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    async def prepare(self) -> None:
        if self.ready:
            return
        await self._admin(f'CREATE DATABASE "{self.template}"')
        db = Database(sqlalchemy_url(self.template))
        try:
            await migrate.upgrade(db)
        finally:
            await db.close()
        self.ready = True

    async def create(self) -> str:
        await self.prepare()
        name = f"{self.prefix}_{len(self.created)}"
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return sqlalchemy_url(name)

    async def drop(self, url: str) -> None:
        await self._admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')

    async def drop_all(self) -> None:
        for name in [*self.created, self.template]:
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'mediation.db'}"


async def fresh_database(backend: str, directory: Path, postgres: PostgresDatabases) -> str:
    """A new, migrated database of `backend` ("sqlite": in `directory`; "postgresql": a new
    database, skipped without PostgreSQL, failed under CI), as a SQLAlchemy URL."""
    if backend == "sqlite":
        return sqlite_url(directory)
    try:
        return await postgres.create()
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)


async def take_next_seq(store: TranscriptStore, room_id: str, seq: int) -> None:
    """Corrupt a room: a stray row in `joint` takes `seq`, the one its next message would
    get, so committing that message fails on the database's own constraint."""
    async with store.db.write() as conn:
        await conn.execute(
            insert(records).values(
                room_id=room_id,
                position=99,
                channel="joint",
                seq=seq,
                kind="message",
                sender_user="x",
                sender_role="client",
                client_id="stray",
                ts="ts",
                sealed=b"\0",
                hash=b"\0",
            )
        )
