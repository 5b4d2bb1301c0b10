"""The `mediation` command line: serve, demo, migrate."""

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from mediation import logs, migrate
from mediation.app import create_app
from mediation.config import Settings
from mediation.rooms_service import RoomConflict, issue_token, open_room
from mediation.server import DrainingServer
from mediation.services import Services
from mediation.workers import run_workers
from rooms.visibility import Role
from transcripts.database import Database

DEMO_TICKET = "DEMO-1"
DEMO_TOKEN_TTL = 24 * 3600


def serve(settings: Settings, workers: int) -> None:
    if workers > 1:
        run_workers(settings, workers)
    else:
        DrainingServer(create_app(settings), settings).run()


async def _demo(settings: Settings) -> None:
    app = create_app(settings)
    server = DrainingServer(app, settings)
    running = asyncio.create_task(server.serve())
    while not server.started:
        if running.done():
            return await running
        await asyncio.sleep(0.05)
    services: Services = app.state.services
    try:
        room = await open_room(services, "local", DEMO_TICKET, "alice", "bob")
    except RoomConflict as exc:
        room = exc.existing
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    print(f"\nDispute room {room.id} for ticket local/{DEMO_TICKET}. Open each link:\n")
    for user, role in (("alice", Role.CLIENT), ("bob", Role.FREELANCER), ("mod-1", Role.MODERATOR)):
        issued = issue_token(services, room, user, role, DEMO_TOKEN_TTL)
        print(f"  {role.value:<11} {base}/#room={room.id}&token={issued.token}\n")
    sys.stdout.flush()
    await running


async def _migrate(settings: Settings) -> None:
    db = Database(settings.resolved_database_url)
    try:
        await migrate.upgrade(db)
        print(f"schema at {await migrate.current(db)}")
    finally:
        await db.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mediation", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_command = commands.add_parser("serve", help="run the server")
    serve_command.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("MEDIATION_WORKERS", "1")),
        help="processes sharing the port (needs MEDIATION_REDIS_URL); default 1",
    )
    commands.add_parser("demo", help="run the server with a demo dispute room; print join links")
    commands.add_parser("migrate", help="bring the database schema up to date")
    args = parser.parse_args(argv)
    logs.configure()
    settings = Settings.from_env()
    if args.command == "serve":
        serve(settings, args.workers)
    elif args.command == "demo":
        asyncio.run(_demo(settings))
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
