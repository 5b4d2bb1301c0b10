"""Async engines for SQLite (embedded) and PostgreSQL (scale-out).

SQLite gets WAL and writer connections that take the write lock up front
(BEGIN IMMEDIATE), so a read-then-write transaction never fails half-way on
a lock upgrade: the engine's one for cold paths, and the appends' own
(`sqlite_writer`), a whole transaction per hop to its thread. PostgreSQL
uses one pooled engine for all.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from transcripts.sqlite_writer import SqliteWriter

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",  # an ack promises durability, even across power loss
    "PRAGMA busy_timeout=10000",
    "PRAGMA foreign_keys=ON",
    # a redacted record's old ciphertext is zeroed where its page frees it (no extra I/O)
    "PRAGMA secure_delete=FAST",
)


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


json_text = _json  # a value as JSON columns hold it (a query matching inside one)


JSON_CODEC = {  # JSON columns (tips, workflow facts) are written on every commit: msgspec
    "json_serializer": _json,
    "json_deserializer": msgspec.json.decode,
}


def _sqlite_engine(url: str, begin: str, **kwargs: Any) -> AsyncEngine:
    engine = create_async_engine(url, **JSON_CODEC, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.appender: SqliteWriter | None = None  # SQLite: the hot path's own writer
        if self.is_sqlite:
            self.writer = _sqlite_engine(url, "BEGIN IMMEDIATE", pool_size=1, max_overflow=0)
            self.reader = _sqlite_engine(url, "BEGIN")
            path = make_url(url).database
            if path and path != ":memory:":
                self.appender = SqliteWriter(path, SQLITE_PRAGMAS)
        else:
            self.writer = self.reader = create_async_engine(
                url, pool_size=10, max_overflow=10, pool_pre_ping=True, **JSON_CODEC
            )

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction, committed on clean exit."""
        async with self.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.reader.connect() as conn:
            yield conn

    async def close(self) -> None:
        if self.appender is not None:
            await self.appender.close()
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()
