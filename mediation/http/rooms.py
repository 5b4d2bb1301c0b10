"""/api/rooms: open a room for a ticket, look rooms up, mint participant tokens."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mediation.contacts import Contacts
from mediation.http.auth import PLATFORM, require_api_key, require_staff, spend
from mediation.http.auth import services as service_of
from mediation.http.errors import ApiError, read_json
from mediation.http.openapi import API_KEY, STAFF, Answer, Operation
from mediation.http.params import read_query
from mediation.room_opening import BadRequest, RoomConflict, issue_token, open_room
from rooms import business_days
from rooms.errors import RoomError
from rooms.routing import LANGUAGE_TAG, MAX_SKILLS, SKILL
from rooms.visibility import Role
from transcripts import retention
from transcripts.store_types import RoomRow

Name = Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[\w.@:+-]+$")]
MAX_TOKEN_TTL = 7 * 24 * 3600  # the longest a room token may be asked for


Provider = Annotated[str, Meta(min_length=1, max_length=32)]
Language = Annotated[str, Meta(max_length=35, pattern=LANGUAGE_TAG)]  # "de", "de-AT"
Skills = Annotated[
    list[Annotated[str, Meta(pattern=SKILL)]], Meta(max_length=MAX_SKILLS)
]  # lowercase tags


class TicketRef(Struct):
    provider: Provider
    id: Name


class TicketQuery(Struct):
    provider: Provider
    ticket: Name


class CreateRoom(Struct):
    ticket: TicketRef
    client: Name
    freelancer: Name
    priority: Literal["urgent", "high", "normal", "low"] = "normal"  # the ticket's
    people: Contacts = []  # how to reach them while away: sealed, never echoed back
    # the holiday calendar its deadlines count business days in: the parties' country,
    # optionally with a subdivision ("DE", "US-CA"); null: MEDIATION_CALENDAR_COUNTRY
    calendar: Annotated[str, Meta(min_length=2, max_length=16)] | None = None
    # who accepts a proposal for a side of several people (docs/http.md#members); null:
    # MEDIATION_SIDE_ACCEPTANCE
    acceptance: Literal["any", "decision_maker"] | None = None
    language: Language | None = None  # else the first party's locale, else the setting
    skills: Skills = []  # what the room asks of its moderator: "payments", "design"


class CreateToken(Struct):
    user: Name
    role: Role
    ttl: Annotated[int, Meta(gt=0, le=MAX_TOKEN_TTL)] | None = None
    purpose: Annotated[str, Meta(max_length=512)] = ""  # required for auditors


class TicketOut(Struct):
    provider: str
    id: str


class RoomOut(Struct):
    """A room, as `room_json` answers it."""

    id: str
    ticket: TicketOut
    state: Literal[
        "waiting",
        "mediating",
        "resolved",
        "escalated",
        "closed",
        "mediation_failed",
        "arbitration",
    ]
    client: str
    freelancer: str
    created_at: str  # ISO 8601
    priority: Literal["urgent", "high", "normal", "low"]
    tier: int
    moderator: str | None
    calendar: str | None  # its holiday calendar; null: the deployment's
    language: str  # BCP 47 primary subtag
    skills: list[str]


class RoomList(Struct):
    rooms: list[RoomOut]


class TokenOut(Struct):
    token: str
    expires_at: str  # ISO 8601
    room: str
    user: str
    role: Role
    jti: str


class HoldOut(Struct):
    room: str
    legal_hold: str | None  # the reason; null once lifted


def room_json(room: RoomRow) -> dict[str, Any]:
    return {
        "id": room.id,
        "ticket": {"provider": room.ticket_provider, "id": room.ticket_id},
        "state": room.state,
        "client": room.client_user,
        "freelancer": room.freelancer_user,
        "created_at": room.created_at.isoformat(),
        "priority": room.priority,
        "tier": room.tier,
        "moderator": room.moderator,
        "calendar": (room.workflow or {}).get("calendar"),
        "language": room.language,
        "skills": room.skills,
    }


def _calendar(name: str | None) -> str | None:
    """The room's holiday calendar, normalised ("us-ca" -> "US-CA"); 400 for one the
    holidays package does not know."""
    if name is None:
        return None
    try:
        country, subdivision = business_days.calendar_of(name)
    except RoomError as exc:
        raise ApiError(400, "invalid", str(exc)) from None
    return country if subdivision is None else f"{country}-{subdivision}"


async def create_room(request: Request) -> JSONResponse:
    services = require_api_key(request)
    body = await read_json(request, CreateRoom)
    try:
        room = await open_room(
            services,
            body.ticket.provider,
            body.ticket.id,
            body.client,
            body.freelancer,
            body.priority,
            body.people,
            calendar=_calendar(body.calendar),
            acceptance=body.acceptance,
            language=body.language,
            skills=body.skills,
        )
    except BadRequest as exc:
        raise ApiError(400, "invalid", str(exc)) from None
    except RoomConflict as exc:
        raise ApiError(409, "conflict", str(exc), room=exc.existing.id) from None
    services.hub.queue.touched(room.id)  # a new room waits: consoles show it at once
    return JSONResponse(room_json(room), 201, headers={"Location": f"/api/rooms/{room.id}"})


async def get_room(request: Request) -> JSONResponse:
    services = require_api_key(request)
    room = await services.store.room(request.path_params["room_id"])
    if room is None:
        raise ApiError(404, "not_found", "no such room")
    return JSONResponse(room_json(room))


async def find_rooms(request: Request) -> JSONResponse:
    """GET /api/rooms?provider=local&ticket=T-1: the ticket's rooms, the newest (and only
    possibly open) first."""
    require_staff(request, Role.MODERATOR, Role.AUDITOR)
    services = service_of(request)
    asked = read_query(request, TicketQuery)
    found = await services.store.rooms_for_ticket(asked.provider, asked.ticket)
    return JSONResponse({"rooms": [room_json(room) for room in found]})


async def create_token(request: Request) -> JSONResponse:
    services = require_api_key(request)
    spend(services.abuse.minting, PLATFORM.user)
    room = await services.store.room(request.path_params["room_id"])
    if room is None:
        raise ApiError(404, "not_found", "no such room")
    body = await read_json(request, CreateToken)
    try:
        issued = issue_token(services, room, body.user, body.role, body.ttl, body.purpose)
    except BadRequest as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    return JSONResponse(
        {
            "token": issued.token,
            "expires_at": datetime.fromtimestamp(issued.expires_at, UTC).isoformat(),
            "room": issued.room,
            "user": issued.user,
            "role": issued.role.value,
            "jti": issued.jti,
        },
        201,
    )


class LegalHold(Struct):
    reason: Annotated[str, Meta(min_length=1, max_length=512)]


async def legal_hold(request: Request) -> JSONResponse:
    """PUT places a hold (retention never shreds the room), DELETE lifts it."""
    services = require_api_key(request)
    room_id = request.path_params["room_id"]
    reason = None
    if request.method == "PUT":
        reason = (await read_json(request, LegalHold)).reason
    if not await retention.set_hold(services.db, room_id, reason):
        raise ApiError(404, "not_found", "no such room")
    return JSONResponse({"room": room_id, "legal_hold": reason})


routes = [
    Route("/api/rooms", create_room, methods=["POST"]),
    Route("/api/rooms", find_rooms, methods=["GET"]),
    Route("/api/rooms/{room_id}", get_room, methods=["GET"]),
    Route("/api/rooms/{room_id}/tokens", create_token, methods=["POST"]),
    Route("/api/rooms/{room_id}/legal-hold", legal_hold, methods=["PUT", "DELETE"]),
]

operations = [
    Operation(
        "POST",
        "/api/rooms",
        "Open a room for a ticket",
        (API_KEY,),
        (Answer(201, "the room", RoomOut, headers=("Location",)),),
        errors=(409,),
        body=CreateRoom,
    ),
    Operation(
        "GET",
        "/api/rooms",
        "Every room of a ticket, newest first",
        (API_KEY, STAFF),
        (Answer(200, "the rooms", RoomList),),
        errors=(403,),
        query=TicketQuery,
    ),
    Operation(
        "GET",
        "/api/rooms/{room_id}",
        "A room",
        (API_KEY,),
        (Answer(200, "the room", RoomOut),),
        errors=(404,),
    ),
    Operation(
        "POST",
        "/api/rooms/{room_id}/tokens",
        "Mint a room token",
        (API_KEY,),
        (Answer(201, "the token", TokenOut),),
        errors=(403, 404),
        body=CreateToken,
    ),
    Operation(
        "PUT",
        "/api/rooms/{room_id}/legal-hold",
        "Place a legal hold",
        (API_KEY,),
        (Answer(200, "the hold", HoldOut),),
        errors=(404,),
        body=LegalHold,
    ),
    Operation(
        "DELETE",
        "/api/rooms/{room_id}/legal-hold",
        "Lift a legal hold",
        (API_KEY,),
        (Answer(200, "no hold", HoldOut),),
        errors=(404,),
    ),
]
