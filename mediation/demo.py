"""`mediation demo`: the server, a demo dispute for ticket local/DEMO-n, and one short
link to a local page (/demo) that opens each of the dispute's five roles in its own tab.

The page is a route of the demo's process only: `mediation serve` has no /demo. It
hands a moderator's and an auditor's tokens to whoever opens it, so the demo is for a
machine of one's own (it listens on MEDIATION_HOST, 127.0.0.1 by default).

Without `--verbose` the access log (mediation.http.request_log) is quiet, so the link
stays on screen. `--reset` opens the dispute again for a new ticket (DEMO-2, ...),
waiting for a moderator; earlier demo rooms stay as they were.
"""

import asyncio
import logging
import sys
from dataclasses import dataclass
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from mediation.app import create_app
from mediation.config import Settings
from mediation.http import request_log
from mediation.room_opening import AUDITOR_MAX_TTL, RoomConflict, issue_token, open_room
from mediation.server import DrainingServer
from mediation.services import Services
from rooms.visibility import Role
from transcripts.store_types import RoomRow

TICKET_PREFIX = "DEMO-"  # DEMO-1, and one more for each --reset
TOKEN_TTL = 24 * 3600
STAFF_TTL = 12 * 3600
PATH = "/demo"


@dataclass(frozen=True)
class Link:
    role: str
    who: str
    href: str  # relative to the server: the page is served by it


class DemoPage:
    """The /demo page: the room's five links, once the demo has minted them."""

    def __init__(self) -> None:
        self.room: RoomRow | None = None
        self.links: list[Link] = []

    @property
    def route(self) -> Route:
        return Route(PATH, self.page)

    async def page(self, request: Request) -> HTMLResponse:
        if self.room is None:
            return HTMLResponse("The demo room is still opening: reload.", 503)
        items = "\n".join(
            f'    <li><a href="{escape(link.href)}" target="_blank" rel="noopener">'
            f"{escape(link.role)}</a>: {escape(link.who)}</li>"
            for link in self.links
        )
        room = self.room
        body = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <title>Mediation demo</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/style.css">
</head>
<body>
<main class="demo">
  <h1>Mediation demo</h1>
  <p>Room <code>{escape(room.id)}</code> for ticket
    <code>{escape(room.ticket_provider)}/{escape(room.ticket_id)}</code>.
    Open each role in its own tab and talk to yourself:</p>
  <ul>
{items}
  </ul>
  <p><code>mediation demo --reset</code> starts the dispute over.</p>
</main>
</body>
</html>
"""
        return HTMLResponse(body, headers={"Cache-Control": "no-store"})


async def demo_room(services: Services, reset: bool) -> RoomRow:
    """The newest demo ticket's open room, or a new one; `reset` opens the dispute again
    under the next ticket (DEMO-2, DEMO-3, ...). The old room is left as it was: a room
    moves only by its records, and the rules close none that is still waiting."""
    number = 1
    while await services.tickets.get(f"{TICKET_PREFIX}{number + 1}") is not None:
        number += 1
    if reset and await services.tickets.get(f"{TICKET_PREFIX}{number}") is not None:
        number += 1
    try:
        return await open_room(services, "local", f"{TICKET_PREFIX}{number}", "alice", "bob")
    except RoomConflict as exc:
        return exc.existing


def links(services: Services, room: RoomRow) -> list[Link]:
    def join(user: str, role: Role) -> str:
        token = issue_token(services, room, user, role, TOKEN_TTL).token
        return f"/#room={room.id}&token={token}"

    console, _ = services.tokens.mint_staff("mod-1", Role.MODERATOR, STAFF_TTL)
    audit, _ = services.tokens.mint_staff(
        "auditor-1", Role.AUDITOR, AUDITOR_MAX_TTL, "demo: reading the demo dispute"
    )
    return [
        Link("client", "alice, who hired bob and is unhappy", join("alice", Role.CLIENT)),
        Link("freelancer", "bob, who did the work", join("bob", Role.FREELANCER)),
        Link("moderator", "mod-1 in the room", join("mod-1", Role.MODERATOR)),
        Link("console", "mod-1's queue and tools", f"/console.html#token={console}"),
        Link(
            "auditor", "auditor-1 reads and verifies the transcript", f"/audit.html#token={audit}"
        ),
    ]


async def run(settings: Settings, reset: bool = False, verbose: bool = False) -> None:
    if not verbose:  # the request log would scroll the link away
        logging.getLogger(request_log.__name__).setLevel(logging.WARNING)
    page = DemoPage()
    app = create_app(settings, extra_routes=[page.route])
    server = DrainingServer(app, settings)
    running = asyncio.create_task(server.serve())
    while not server.started:
        if running.done():
            return await running
        await asyncio.sleep(0.05)
    services: Services = app.state.services
    room = await demo_room(services, reset)
    page.links = links(services, room)
    page.room = room
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    print(
        f"\nDemo dispute for ticket local/{room.ticket_id}: room {room.id}, {room.state}.\n\n"
        f"    {base.rstrip('/')}{PATH}\n\n"
        "opens its client, freelancer, moderator, console and auditor, each in its own tab.\n"
        "Ctrl-C stops; `mediation demo --reset` starts over; --verbose logs every request.\n"
    )
    sys.stdout.flush()
    await running
