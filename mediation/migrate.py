"""Schema migrations (Alembic), run from code so one command serves every backend.

The embedded SQLite default migrates itself at startup: a laptop run needs
no setup. PostgreSQL is migrated by `mediation migrate` (the Procfile's
release step); a server finding it behind refuses to start.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from transcripts.database import Database

SCRIPTS = Path(__file__).parent / "migrations"


class SchemaBehind(RuntimeError):
    pass


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(_config(connection), "head")


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


async def upgrade(db: Database) -> None:
    async with db.writer.begin() as conn:
        await conn.run_sync(_upgrade)


async def current(db: Database) -> str | None:
    async with db.reader.connect() as conn:
        return await conn.run_sync(_current)


async def prepare(db: Database) -> None:
    if db.is_sqlite:
        await upgrade(db)
        return
    found, wanted = await current(db), head()
    if found != wanted:
        raise SchemaBehind(
            f"database schema is at {found}, this server needs {wanted}: run `mediation migrate`"
        )
