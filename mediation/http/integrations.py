"""POST /api/integrations/zendesk: a Zendesk trigger's webhook opens the ticket's room.

Signed by Zendesk, not by our API key: `X-Zendesk-Webhook-Signature` is checked
against `MEDIATION_ZENDESK_WEBHOOK_SECRET` over the timestamp header and the raw
body, and a timestamp over 5 minutes away is refused (401). Without both
`MEDIATION_ZENDESK_URL` and the secret the endpoint does not exist (404). The
room for ("zendesk", ticket_id) is opened (201), or the open one answered (200):
a repeated or replayed webhook opens nothing more.
"""

import re
import time
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mediation.contacts import Contacts
from mediation.http.auth import client_address, unthrottled
from mediation.http.auth import services as service_of
from mediation.http.errors import ApiError
from mediation.http.openapi import ZENDESK, Answer, Operation
from mediation.http.rooms import Name, RoomOut, room_json
from mediation.room_opening import BadRequest, RoomConflict, open_room
from mediation.tickets.zendesk import PROVIDER, verify_webhook
from rooms.routing import MAX_SKILLS, SKILL, primary_language, skills_of

MAX_BODY = 16 * 1024  # a trigger's JSON: ids, a subject, a few people
SIGNATURE = "x-zendesk-webhook-signature"
TIMESTAMP = "x-zendesk-webhook-signature-timestamp"

TicketId = Annotated[str, Meta(pattern=r"^[0-9]{1,20}$")]
Priority = Literal["urgent", "high", "normal", "low"]


class ZendeskTicket(Struct):
    """The trigger's body. `{{ticket.id}}` may come quoted or bare; `{{ticket.priority}}`
    renders as Zendesk shows it ("Normal") or blank when unset."""

    ticket_id: TicketId | Annotated[int, Meta(ge=1)]
    client: Name
    freelancer: Name
    priority: Annotated[str, Meta(max_length=16)] = ""
    subject: Annotated[str, Meta(max_length=512)] = ""
    people: Contacts = []
    # Routing: a locale ("de", "de-AT"; a rendered placeholder that is none, such as a
    # language's name, is ignored: the parties' locales decide), and the ticket's tags as
    # `{{ticket.tags}}` renders them, space-separated: `skill_payments` -> skill payments.
    language: Annotated[str, Meta(max_length=64)] = ""
    tags: Annotated[str, Meta(max_length=4096)] = ""


SKILL_TAG = "skill_"  # the prefix of the Zendesk tags that name a room's skills


def skills_of_tags(rendered: str) -> list[str]:
    """The skills the ticket's tags name (`skill_payments`), at most MAX_SKILLS; a tag
    that makes no skill tag is left out."""
    named = [tag.removeprefix(SKILL_TAG) for tag in rendered.split() if tag.startswith(SKILL_TAG)]
    return [skill for skill in skills_of(named) if re.match(SKILL, skill)][:MAX_SKILLS]


def priority_of(rendered: str) -> Priority:
    value = rendered.strip().lower() or "normal"
    if value in ("-", "none"):
        return "normal"
    if value not in ("urgent", "high", "normal", "low"):
        raise ApiError(422, "invalid", "priority is one of urgent, high, normal, low")
    return value  # type: ignore[return-value]  # checked just above


async def _body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise ApiError(413, "too_large", f"request body over {MAX_BODY} bytes")
    return body


async def zendesk_webhook(request: Request) -> JSONResponse:
    services = service_of(request)
    settings = services.settings
    if not (settings.zendesk_url and settings.zendesk_webhook_secret):
        raise ApiError(404, "not_found", "the Zendesk integration is not configured")
    unthrottled(request)  # 429 for an address that failed too often
    address = client_address(request)
    body = await _body(request)
    signature, timestamp = request.headers.get(SIGNATURE), request.headers.get(TIMESTAMP)
    if not signature or not timestamp:
        raise ApiError(401, "unauthorized", "Zendesk's webhook signature headers are required")
    if not verify_webhook(settings.zendesk_webhook_secret, timestamp, body, signature, time.time()):
        services.abuse.auth_failures.failed(address)
        raise ApiError(401, "unauthorized", "bad or stale Zendesk webhook signature")
    try:
        ticket = msgspec.json.decode(body, type=ZendeskTicket)
    except msgspec.DecodeError as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    try:
        room = await open_room(
            services,
            PROVIDER,
            str(ticket.ticket_id),
            ticket.client,
            ticket.freelancer,
            priority_of(ticket.priority),
            ticket.people,
            ticket.subject,
            language=primary_language(ticket.language.strip()),
            skills=skills_of_tags(ticket.tags),
        )
    except BadRequest as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    except RoomConflict as exc:
        return JSONResponse(room_json(exc.existing), 200)
    services.hub.queue.touched(room.id)  # a new room waits: consoles show it at once
    return JSONResponse(room_json(room), 201, headers={"Location": f"/api/rooms/{room.id}"})


routes = [Route("/api/integrations/zendesk", zendesk_webhook, methods=["POST"])]

operations = [
    Operation(
        "POST",
        "/api/integrations/zendesk",
        "A Zendesk trigger opens (201) or finds (200) the room of a ticket",
        (ZENDESK,),
        (Answer(200, "the open room", RoomOut), Answer(201, "the new room", RoomOut)),
        errors=(404, 422),
        body=ZendeskTicket,
    ),
]
