"""The `mediation` command line: serve, demo, migrate, and the offline commands."""

import argparse
import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from mediation import demo, logs, migrate
from mediation.app import create_app
from mediation.config import Settings, SettingsError
from mediation.server import DrainingServer
from mediation.server_secrets import load_secrets
from transcripts.database import Database

log = logging.getLogger(__name__)


def serve(settings: Settings, workers: int) -> None:
    _migrate_apart(settings)
    if workers > 1:
        from mediation.workers import run_workers  # multiprocessing: only for --workers

        run_workers(settings, workers)
    else:
        DrainingServer(create_app(settings), settings).run()


def _migrate_apart(settings: Settings) -> None:
    """Bring a SQLite schema to head in a child process, `mediation migrate`. The server
    would migrate it itself, but Alembic, once imported, would hold ~11 MiB of its memory
    for good (mediation.migrate)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if asyncio.run(_sqlite_behind(settings)):
        done = subprocess.run(  # its logs go where ours do; its "schema at" line, not
            [sys.executable, "-m", "mediation", "migrate"], stdout=subprocess.DEVNULL, check=False
        )
        if done.returncode != 0:
            raise SystemExit(done.returncode)
        log.info("schema migrated to %s", migrate.HEAD)


async def _sqlite_behind(settings: Settings) -> bool:
    db = Database(settings.resolved_database_url)
    try:
        return db.is_sqlite and await migrate.current(db) != migrate.HEAD
    finally:
        await db.close()


async def _migrate(settings: Settings) -> None:
    db = Database(settings.resolved_database_url)
    try:
        await migrate.upgrade(db, load_secrets(settings).keyring)
        print(f"schema at {await migrate.current(db)}")
    finally:
        await db.close()


def _workers(value: str) -> int:
    """--workers (or MEDIATION_WORKERS): a whole number from 1."""
    if not value.strip().isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: expected an integer >= 1 (MEDIATION_WORKERS)")
    return int(value)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mediation", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_command = commands.add_parser("serve", help="run the server")
    serve_command.add_argument(
        "--workers",
        type=_workers,
        default=os.environ.get("MEDIATION_WORKERS", "1"),  # argparse converts a default too
        help="processes sharing the port (needs MEDIATION_REDIS_URL); default 1",
    )
    demo_command = commands.add_parser(
        "demo", help="run the server with a demo dispute; print one link to a page of its roles"
    )
    demo_command.add_argument(
        "--reset", action="store_true", help="open the dispute again for the next demo ticket"
    )
    demo_command.add_argument("--verbose", action="store_true", help="log every request")
    commands.add_parser("migrate", help="bring the database schema up to date")
    export = commands.add_parser("export", help="write a room's signed transcript bundle")
    export.add_argument("room")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.add_argument("--html", action="store_true", help="the printable HTML rendering")
    export.add_argument(
        "--with-files", type=Path, metavar="DIR", help="also write every file, as DIR/FILE_ID"
    )
    check = commands.add_parser(
        "verify", help="verify a bundle or a settlement offline; exit 0 intact, 1 not"
    )
    check.add_argument("bundle", type=Path, nargs="?", help="a transcript bundle (.jsonl)")
    check.add_argument(
        "--settlement",
        type=Path,
        metavar="FILE",
        help="a signed settlement document: checked alone, or against the bundle if given",
    )
    check.add_argument("--public-key", type=Path, required=True, help="Ed25519 public key, PEM")
    check.add_argument(
        "--files", type=Path, metavar="DIR", help="also check exported files (DIR/FILE_ID)"
    )
    keys = commands.add_parser("keys", help="key management")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    key_commands.add_parser("public", help="print the signing keys' public halves (PEM)")
    rotate = key_commands.add_parser(
        "rotate", help="add a new active key-encryption key and rewrap every room online"
    )
    rotate.add_argument("--signing", action="store_true", help="rotate the signing key instead")
    key_commands.add_parser("rewrap", help="rewrap every room under the active key")
    retire = key_commands.add_parser("retire", help="remove an old key no room needs any more")
    retire.add_argument("kek_id")
    keep = commands.add_parser("retention", help="crypto-shred closed rooms past retention")
    keep_commands = keep.add_subparsers(dest="retention_command", required=True)
    apply = keep_commands.add_parser("apply", help="shred what is due (legal holds are kept)")
    apply.add_argument("--dry-run", action="store_true", help="list what would be shredded")
    apply.add_argument("--older-than", type=int, help="days (default MEDIATION_RETENTION_DAYS)")
    args = parser.parse_args(argv)
    logs.configure()
    try:
        settings = Settings.from_env()
    except SettingsError as exc:  # one line naming the variable, not a traceback
        parser.exit(2, f"mediation: {exc}\n")
    if args.command == "serve":
        serve(settings, args.workers)
    elif args.command == "demo":
        asyncio.run(demo.run(settings, args.reset, args.verbose))
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
    else:
        sys.exit(_offline(settings, args))


def _offline(settings: Settings, args: argparse.Namespace) -> int:
    """The commands that work on stored data without a server: their modules (export,
    HTML rendering, verification, key rotation) are imported here, never by `serve`."""
    from mediation import offline

    if args.command == "export":
        return asyncio.run(_export(settings, args))
    if args.command == "verify" and args.settlement is not None:
        from mediation import offline_settlement

        return offline_settlement.verify_file(
            args.settlement, args.public_key, args.bundle, args.files
        )
    if args.command == "verify":
        if args.bundle is None:
            print("mediation verify: give a bundle, --settlement FILE, or both", file=sys.stderr)
            return 2
        return offline.verify_file(args.bundle, args.public_key, args.files)
    if args.command == "retention":
        return asyncio.run(offline.apply_retention(settings, args.dry_run, args.older_than))
    if args.keys_command == "rotate":
        return asyncio.run(offline.rotate(settings, args.signing))
    if args.keys_command == "rewrap":
        return asyncio.run(offline.rewrap(settings))
    if args.keys_command == "retire":
        return asyncio.run(offline.retire(settings, args.kek_id))
    return offline.print_public_keys(settings)


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    from mediation import offline  # see _offline

    if args.out is None:
        return await offline.export(
            settings, args.room, sys.stdout.buffer, args.html, args.with_files
        )
    with args.out.open("wb") as file:
        return await offline.export(settings, args.room, file, args.html, args.with_files)
