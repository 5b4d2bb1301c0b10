"""What the serving process leaves unimported: cold paths cost memory for the life of the
process (docs/benchmarks.md, "Memory"), so they are imported where they are used."""

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from mediation import cli, migrate
from mediation.config import Settings
from tests.databases import sqlite_url
from transcripts.database import Database
from transcripts.key_encryption_keys import Keyring, new_key

COLD = (
    "alembic",  # migrations, when the schema is behind
    "redis",  # MEDIATION_REDIS_URL
    "boto3",  # MEDIATION_FILES_STORE=s3://...
    "botocore",
    "httpx",  # the first webhook endpoint or Zendesk client made
    "holidays",  # the first deadline in business days, or a calendar configured
    "iso4217",  # the first settlement proposal
    "mediation.offline",  # export, verify, keys, retention
    "mediation.workers",  # serve --workers N
)


def imported_after(code: str) -> list[str]:
    """Which of COLD a fresh interpreter has imported after running `code`."""
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {COLD!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_head_names_the_newest_migration_script() -> None:
    assert migrate.head() == migrate.HEAD


def test_the_server_and_its_command_line_leave_the_cold_paths_unimported() -> None:
    assert imported_after("import mediation.cli\nmediation.cli.create_app()") == []


async def test_a_database_at_head_is_served_without_alembic(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path))
    try:
        await migrate.upgrade(db)
    finally:
        await db.close()
    prepare = (
        "import asyncio\n"
        "from mediation import migrate\n"
        "from transcripts.database import Database\n"
        "from transcripts.key_encryption_keys import Keyring, new_key\n"
        "async def main():\n"
        f"    db = Database({sqlite_url(tmp_path)!r})\n"
        "    await migrate.prepare(db, Keyring({'k': new_key()}, 'k'))\n"
        "    assert await migrate.current(db) == migrate.HEAD\n"
        "    await db.close()\n"
        "asyncio.run(main())"
    )
    assert imported_after(prepare) == []


async def test_serve_first_migrates_a_new_sqlite_database_in_a_child_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIATION_DATA_DIR", str(tmp_path / "data"))
    settings = Settings.from_env()
    await asyncio.to_thread(cli._migrate_apart, settings)  # it runs its own event loop
    db = Database(settings.resolved_database_url)
    try:
        assert await migrate.current(db) == migrate.HEAD
    finally:
        await db.close()


async def test_prepare_migrates_sqlite_and_refuses_a_postgresql_schema_behind(
    database_url: str,
) -> None:
    from alembic import command

    db = Database(database_url)
    keyring = Keyring({"k": new_key()}, "k")
    try:
        await migrate.upgrade(db)
        assert await migrate.current(db) == migrate.HEAD
        async with db.writer.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(migrate._config(c), "0007"))
        if db.is_sqlite:
            await migrate.prepare(db, keyring)
            assert await migrate.current(db) == migrate.HEAD
        else:
            behind = f"at 0007, this server needs {migrate.HEAD}"
            with pytest.raises(migrate.SchemaBehind, match=behind):
                await migrate.prepare(db, keyring)
    finally:
        await db.close()
