"""Schema migrations (Alembic), run from code so one command serves every backend.

The embedded SQLite default migrates itself at startup: a laptop run needs
no setup. PostgreSQL is migrated by `mediation migrate` (the Procfile's
release step); a server finding it behind refuses to start.

Alembic (with Mako) is ~11 MiB resident once imported, for the life of the
process. A server whose schema is at `HEAD` never needs it: the revision is
read with plain SQL, and Alembic is imported only to migrate.
"""

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from transcripts.database import Database
from transcripts.key_encryption_keys import Keyring

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPTS = Path(__file__).parent / "migrations"
HEAD = "0015"  # the newest revision in migrations/versions (a test holds the two together)


class SchemaBehind(RuntimeError):
    pass


def _config(connection: Connection | None = None, keyring: Keyring | None = None) -> "Config":
    from alembic.config import Config  # only to migrate: see the module's docstring

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    config.attributes["keyring"] = keyring  # for migrations that seal data under room keys
    return config


def _upgrade(connection: Connection, keyring: Keyring | None) -> None:
    from alembic import command  # only to migrate: see the module's docstring

    command.upgrade(_config(connection, keyring), "head")


def _current(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None  # a new, empty database
    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if revision is None else str(revision)


def head() -> str | None:
    """The newest revision as Alembic finds it in the scripts (HEAD should say the same)."""
    from alembic.script import ScriptDirectory  # reads every migration script

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
    found = await current(db)
    if found == HEAD:
        return
    if db.is_sqlite:
        await upgrade(db, keyring)
        return
    raise SchemaBehind(
        f"database schema is at {found}, this server needs {HEAD}: run `mediation migrate`"
    )
