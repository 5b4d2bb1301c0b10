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
from transcripts.key_encryption_keys import Keyring

SCRIPTS = Path(__file__).parent / "migrations"


class SchemaBehind(RuntimeError):
    pass


def _config(connection: Connection | None = None, keyring: Keyring | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    config.attributes["keyring"] = keyring  # for migrations that seal data under room keys
    return config


def _upgrade(connection: Connection, keyring: Keyring | None) -> None:
    command.upgrade(_config(connection, keyring), "head")


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


async def upgrade(db: Database, keyring: Keyring | None = None) -> None:
    """Bring the schema to head. Without `keyring`, a migration that must seal existing
    rooms' data under their keys (0007) fails, saying so; a database without rooms does not
    need it."""
    async with db.writer.begin() as conn:
        await conn.run_sync(_upgrade, keyring)


async def current(db: Database) -> str | None:
    async with db.reader.connect() as conn:
        return await conn.run_sync(_current)


async def prepare(db: Database, keyring: Keyring) -> None:
    if db.is_sqlite:
        await upgrade(db, keyring)
        return
    found, wanted = await current(db), head()
    if found != wanted:
        raise SchemaBehind(
            f"database schema is at {found}, this server needs {wanted}: run `mediation migrate`"
        )
