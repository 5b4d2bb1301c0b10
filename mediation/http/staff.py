"""Staff tokens, so a moderator's console or an auditor's page never holds the API key,
and staff joining a room with a room token of their own."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mediation.contacts import names
from mediation.http.auth import PLATFORM, require_api_key, require_staff, services, spend
from mediation.http.errors import ApiError, read_json
from mediation.http.openapi import API_KEY, STAFF, Answer, Operation
from mediation.http.rooms import Name
from mediation.room_opening import AUDITOR_MAX_TTL, BadRequest, issue_token
from rooms.visibility import Role


class CreateStaffToken(Struct):
    user: Name
    role: Literal["moderator", "auditor", "observer"]
    ttl: Annotated[int, Meta(gt=0, le=24 * 3600)] | None = None
    purpose: Annotated[str, Meta(max_length=512)] = ""  # required for auditors


class StaffTokenOut(Struct):
    token: str
    expires_at: str
    user: str
    role: Literal["moderator", "auditor", "observer"]
    jti: str


class Joined(Struct):
    token: str
    expires_at: str
    room: str
    jti: str
    names: dict[str, str]  # user -> display name, of the room's people who have one


def _expiry(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat()


async def create_staff_token(request: Request) -> JSONResponse:
    """POST /api/staff/tokens (API key): a token for a moderator's or auditor's browser."""
    found = require_api_key(request)
    spend(found.abuse.minting, PLATFORM.user)
    body = await read_json(request, CreateStaffToken)
    role, ttl = Role(body.role), body.ttl
    if role is Role.AUDITOR:  # auditors read for a stated purpose, for a bounded time
        if not body.purpose.strip():
            raise ApiError(400, "invalid", "an auditor token needs a stated purpose")
        ttl = min(ttl or AUDITOR_MAX_TTL, AUDITOR_MAX_TTL)
    token, grant = found.tokens.mint_staff(body.user, role, ttl, body.purpose)
    expires = _expiry(grant.expires_at)
    return JSONResponse(
        {
            "token": token,
            "expires_at": expires,
            "user": body.user,
            "role": role.value,
            "jti": grant.jti,
        },
        201,
    )


async def join_room(request: Request) -> JSONResponse:
    """POST /api/rooms/{id}/join (staff token): a room token for the caller, in its role, and
    the people's display names (what a page that opens no socket, the audit page, shows)."""
    actor = require_staff(request, Role.MODERATOR, Role.AUDITOR, Role.OBSERVER)
    if actor.is_platform:
        raise ApiError(400, "invalid", "the platform mints room tokens with /tokens")
    found = services(request)
    spend(found.abuse.joining, actor.user)
    room = await found.store.room(request.path_params["room_id"])
    if room is None:
        raise ApiError(404, "not_found", "no such room")
    try:
        issued = issue_token(  # never outlives the staff token it is minted for
            found,
            room,
            actor.user,
            Role(actor.role),
            purpose=actor.purpose,
            not_after=actor.expires_at,
        )
    except BadRequest as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    return JSONResponse(
        {
            "token": issued.token,
            "expires_at": _expiry(issued.expires_at),
            "room": room.id,
            "jti": issued.jti,
            "names": names(await found.store.contacts(room.id)),
        },
        201,
    )


routes = [
    Route("/api/staff/tokens", create_staff_token, methods=["POST"]),
    Route("/api/rooms/{room_id}/join", join_room, methods=["POST"]),
]

operations = [
    Operation(
        "POST",
        "/api/staff/tokens",
        "Mint a staff token (moderator, auditor or observer)",
        (API_KEY,),
        (Answer(201, "the token", StaffTokenOut),),
        body=CreateStaffToken,
    ),
    Operation(
        "POST",
        "/api/rooms/{room_id}/join",
        "A room token for the staff token's own user and role (400 for the API key)",
        (STAFF,),
        (Answer(201, "the room token, and the people's names", Joined),),
        errors=(400, 403, 404),
    ),
]
