"""POST /api/revocations: revoke one token, or remove a person from a room.

Either way the tokens are refused from then on, at `hello` and on every
HTTP call, on every process, and their open sockets close with 4401 at once.
"""

import time
from datetime import UTC, datetime
from typing import Annotated

from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mediation.http.auth import require_api_key
from mediation.http.errors import ApiError, read_json
from mediation.http.openapi import API_KEY, Answer, Operation
from mediation.http.rooms import MAX_TOKEN_TTL, Name
from mediation.services import Services
from rooms.broker import Revoked


class Revoke(Struct, forbid_unknown_fields=True):
    jti: Annotated[str, Meta(min_length=1, max_length=64)] | None = None  # one token
    user: Name | None = None  # or every token of this user...
    room: Annotated[str, Meta(max_length=40)] = ""  # ...for this room (empty: any room)


class Revocation(Struct):
    jti: str | None
    user: str | None
    room: str | None
    issued_before: str  # ISO 8601: tokens issued up to this second are refused
    until: str  # kept until then


def _iso(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).isoformat()


def revocation(found: Services, jti: str = "", room: str = "", user: str = "") -> Revoked:
    """A revocation issued now: of token `jti`, or of `user`'s tokens for `room` (any room:
    empty), kept until every token it covers has expired, whatever lifetime it was minted
    with (also a side's member removed: mediation.http.members)."""
    now = int(time.time())
    until = now + max(MAX_TOKEN_TTL, found.settings.token_ttl) + found.tokens.leeway
    return Revoked(jti, room, user, now, until)


async def revoke(request: Request) -> JSONResponse:
    found = require_api_key(request)
    body = await read_json(request, Revoke)
    if (body.jti is None) == (body.user is None):
        raise ApiError(400, "invalid", "name either a token (jti) or a user (and a room)")
    if body.room and await found.store.room(body.room) is None:
        raise ApiError(404, "not_found", "no such room")
    if body.jti is not None:
        revoked = revocation(found, jti=body.jti)
    else:
        assert body.user is not None
        revoked = revocation(found, room=body.room, user=body.user)
    await found.revoker.revoke(revoked)
    return JSONResponse(
        {
            "jti": revoked.jti or None,
            "user": revoked.user or None,
            "room": revoked.room or None,
            "issued_before": _iso(revoked.issued_before),
            "until": _iso(revoked.until),
        },
        201,
    )


routes = [Route("/api/revocations", revoke, methods=["POST"])]

operations = [
    Operation(
        "POST",
        "/api/revocations",
        "Revoke a token (jti), or a person's tokens (user, room)",
        (API_KEY,),
        (Answer(201, "the revocation", Revocation),),
        errors=(404,),
        body=Revoke,
    ),
]
