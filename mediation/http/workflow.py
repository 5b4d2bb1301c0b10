"""The moderator queue and claiming a room from it."""

import secrets

from msgspec import Struct
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mediation.http.auth import require_api_key
from mediation.http.errors import ApiError, read_json
from mediation.http.rooms import Name, room_json
from rooms.hub import state_change
from rooms.lifecycle import State
from rooms.ports import Member
from rooms.visibility import Role
from transcripts.errors import TranscriptError

QUEUE_LIMIT = 200


class Claim(Struct):
    moderator: Name


async def queue(request: Request) -> JSONResponse:
    """GET /api/queue: rooms waiting for a moderator, the longest waiting first."""
    services = require_api_key(request)
    waiting = await services.store.rooms_in_state(State.WAITING, QUEUE_LIMIT)
    return JSONResponse({"rooms": [room_json(room) for room in waiting]})


async def claim(request: Request) -> JSONResponse:
    """POST /api/rooms/{id}/claim: the moderator takes the room; of two at once, one wins."""
    services = require_api_key(request)
    room_id = request.path_params["room_id"]
    body = await read_json(request, Claim)
    if await services.store.room(room_id) is None:
        raise ApiError(404, "not_found", "no such room")
    draft = state_change(
        room_id,
        Member(body.moderator, Role.MODERATOR),
        "claim:" + secrets.token_hex(8),
        State.MEDIATING,
        "claimed from the queue",
        origin="",
    )
    try:
        record = await services.committer.append(draft)
    except TranscriptError as exc:
        status = 409 if exc.code in ("conflict", "room_closed") else 503
        raise ApiError(status, exc.code, str(exc)) from None
    return JSONResponse(
        {"room": room_id, "state": State.MEDIATING, "moderator": body.moderator, "seq": record.seq}
    )


routes = [
    Route("/api/queue", queue),
    Route("/api/rooms/{room_id}/claim", claim, methods=["POST"]),
]
