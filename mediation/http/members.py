"""/api/rooms/{id}/members: the people of each side of a room (rooms.members).

Adding or removing a person is a record in the room channel in the server's
voice (`member_added`, `member_removed`), decided by the workflow on the
room's locked row, then listed in the `members` table (transcripts.members).
A removal revokes every token the person holds for the room, on every process,
the way POST /api/revocations does: their sockets close with 4401 at once and
their tokens are refused from then on; a token for a side is minted only for
its current members.
"""

import secrets
import time
from datetime import UTC, datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mediation.contacts import Email, Locale
from mediation.http.auth import PLATFORM, Actor, require_staff, services
from mediation.http.errors import ApiError, read_json
from mediation.http.openapi import API_KEY, STAFF, Answer, Operation
from mediation.http.revocations import revocation
from mediation.http.rooms import Name
from mediation.services import Services
from rooms import door, members, records
from rooms.door import Write
from rooms.kinds import MEMBER_ADDED, MEMBER_REMOVED
from rooms.records import MemberBody
from rooms.visibility import ROOM, Role
from transcripts import members as table
from transcripts.errors import TranscriptError
from transcripts.store_types import RoomRow

Side = Literal["client", "freelancer"]


class AddMember(Struct, forbid_unknown_fields=True):
    user: Name
    side: Side
    decision_maker: bool = False  # the side's decision-maker from now on
    # how to reach them while away (mediation.contacts): sealed, never echoed back
    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    email: Email | None = None
    locale: Locale = "en"


class MemberOut(Struct):
    user: str
    side: Side
    decision_maker: bool  # the side's decision-maker now
    added_at: str  # ISO 8601
    added_by: str  # "platform", a moderator's id, or "opened" (the room's first members)
    removed_at: str | None
    removed_by: str | None


class MemberList(Struct):
    room: str
    acceptance: Literal["any", "decision_maker"]  # who accepts a proposal for a side
    members: list[MemberOut]  # every membership the room has had, removed ones too


class MemberChanged(Struct):
    room: str
    user: str
    side: Side
    seq: int  # of the member_added or member_removed record in the room channel


def _iso(unix: float | None) -> str | None:
    return None if unix is None else datetime.fromtimestamp(unix, UTC).isoformat()


async def _room(request: Request) -> tuple[Services, Actor, RoomRow]:
    """The platform, or the room's own moderator (a staff token), and the room."""
    actor = require_staff(request, Role.MODERATOR)
    found = services(request)
    room = await found.store.room(request.path_params["room_id"])
    if room is None:
        raise ApiError(404, "not_found", "no such room")
    if not actor.is_platform and room.moderator != actor.user:
        raise ApiError(403, "forbidden", "only the room's moderator changes its members")
    return found, actor, room


async def _commit(found: Services, room: RoomRow, kind: str, body: MemberBody) -> int:
    write = Write(kind, ROOM, f"{kind}:{secrets.token_hex(8)}", records.encode(body))
    try:
        record = await found.committer.append(door.system_draft(room.id, write))
    except TranscriptError as exc:
        status = 409 if exc.code in ("conflict", "room_closed") else 503
        if exc.code == "invalid":
            status = 400
        raise ApiError(status, exc.code, str(exc)) from None
    return record.seq


async def add_member(request: Request) -> JSONResponse:
    found, actor, room = await _room(request)
    asked = await read_json(request, AddMember)
    by = "platform" if actor is PLATFORM else actor.user
    body = MemberBody(asked.user, asked.side, by, asked.decision_maker)
    seq = await _commit(found, room, MEMBER_ADDED, body)
    now = time.time()
    await table.added(found.db, room.id, asked.user, asked.side, asked.decision_maker, by, now)
    if asked.name is not None or asked.email is not None:
        contact = {"user": asked.user, "locale": asked.locale}
        contact |= {k: v for k, v in (("name", asked.name), ("email", asked.email)) if v}
        await table.add_contact(found.db, found.store.keys, room.id, contact)
    changed = {"room": room.id, "user": asked.user, "side": asked.side, "seq": seq}
    return JSONResponse(changed, 201)


async def remove_member(request: Request) -> JSONResponse:
    found, actor, room = await _room(request)
    side, user = request.path_params["side"], request.path_params["user"]
    if side not in ("client", "freelancer"):
        raise ApiError(404, "not_found", "a side is client or freelancer")
    by = "platform" if actor is PLATFORM else actor.user
    seq = await _commit(found, room, MEMBER_REMOVED, MemberBody(user, side, by))
    await found.revoker.revoke(revocation(found, room=room.id, user=user))  # sockets close now
    await table.removed(found.db, room, user, side, by, time.time())
    return JSONResponse({"room": room.id, "user": user, "side": side, "seq": seq})


async def list_members(request: Request) -> JSONResponse:
    found, _, room = await _room(request)
    facts = room.workflow or {}
    sides = members.sides_of(facts.get("sides"))
    parties = {"client": room.client_user, "freelancer": room.freelancer_user}
    listed = []
    for m in await table.listing(found.db, room):
        decides = m.removed_at is None and members.side_of(sides, parties, m.side).decision_maker
        listed.append(
            {
                "user": m.user,
                "side": m.side,
                "decision_maker": decides == m.user,
                "added_at": _iso(m.added_at),
                "added_by": m.added_by,
                "removed_at": _iso(m.removed_at),
                "removed_by": m.removed_by,
            }
        )
    acceptance = facts.get("acceptance", members.ANY)
    return JSONResponse({"room": room.id, "acceptance": acceptance, "members": listed})


routes = [
    Route("/api/rooms/{room_id}/members", add_member, methods=["POST"]),
    Route("/api/rooms/{room_id}/members", list_members, methods=["GET"]),
    Route("/api/rooms/{room_id}/members/{side}/{user}", remove_member, methods=["DELETE"]),
]

operations = [
    Operation(
        "POST",
        "/api/rooms/{room_id}/members",
        "Add a person to a side of the room",
        (API_KEY, STAFF),
        (Answer(201, "added", MemberChanged),),
        errors=(403, 404, 409, 503),
        body=AddMember,
    ),
    Operation(
        "GET",
        "/api/rooms/{room_id}/members",
        "Each side's people, and who was removed",
        (API_KEY, STAFF),
        (Answer(200, "the members", MemberList),),
        errors=(403, 404),
    ),
    Operation(
        "DELETE",
        "/api/rooms/{room_id}/members/{side}/{user}",
        "Remove a person from a side: their sockets close, their tokens are refused",
        (API_KEY, STAFF),
        (Answer(200, "removed", MemberChanged),),
        errors=(403, 404, 409, 503),
    ),
]
