"""POST /api/sign-in: a notice mail's single-use link, exchanged for a room token.

No credential is needed beyond the code itself (random, 192 bits, stored
only as a hash). A code opens the room once, within a day; every failure
counts against the caller's address like a bad token.
"""

from datetime import UTC, datetime
from typing import Annotated

from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mediation.http.auth import client_address, unthrottled
from mediation.http.errors import ApiError, read_json
from mediation.http.openapi import Answer, Operation
from mediation.room_opening import BadRequest, issue_token
from rooms.visibility import Role


class SignInBody(Struct, forbid_unknown_fields=True):
    code: Annotated[str, Meta(min_length=16, max_length=64, pattern=r"^[\w-]+$")]


class SignedIn(Struct):
    room: str
    token: str  # a room token
    user: str
    role: Role
    expires_at: str


async def sign_in(request: Request) -> JSONResponse:
    services = unthrottled(request)  # 429 for an address that failed too often
    address = client_address(request)
    body = await read_json(request, SignInBody)
    found = await services.sign_ins.redeem(body.code)
    room = None if found is None else await services.store.room(found.room_id)
    if found is None or room is None:
        services.abuse.auth_failures.failed(address)
        raise ApiError(401, "unauthorized", "this sign-in link was used or has expired")
    try:
        issued = issue_token(services, room, found.user, Role(found.role))
    except BadRequest as exc:  # e.g. no longer the room's party
        raise ApiError(403, "forbidden", str(exc)) from None
    return JSONResponse(
        {
            "room": issued.room,
            "token": issued.token,
            "user": issued.user,
            "role": issued.role.value,
            "expires_at": datetime.fromtimestamp(issued.expires_at, UTC).isoformat(),
        }
    )


routes = [Route("/api/sign-in", sign_in, methods=["POST"])]

operations = [
    Operation(
        "POST",
        "/api/sign-in",
        "Exchange a notice mail's single-use code for a room token",
        (),
        (Answer(200, "the room token", SignedIn),),
        errors=(401, 403, 429),
        body=SignInBody,
    ),
]
