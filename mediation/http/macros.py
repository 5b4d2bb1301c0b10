"""Macros: saved replies managed by the platform and moderators, rendered per room."""

import re
from typing import Annotated, Any

from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mediation.http.auth import require_staff, services
from mediation.http.errors import ApiError, read_json
from mediation.http.openapi import API_KEY, STAFF, Answer, Operation
from mediation.macros.store import BadMacro, Macro, MacroStore, render
from rooms.visibility import Role

MACRO_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class PutMacro(Struct):
    title: Annotated[str, Meta(min_length=1, max_length=200)]
    body: Annotated[str, Meta(min_length=1, max_length=8000)]


class MacroOut(Struct):
    name: str
    title: str
    body: str
    updated_by: str
    updated_at: str


class MacroList(Struct):
    macros: list[MacroOut]


class MacroSaved(Struct):
    name: str
    title: str
    body: str


class RenderedMacro(Struct):
    name: str
    title: str
    text: str  # the body, with this room's placeholders filled in


class RoomMacros(Struct):
    macros: list[RenderedMacro]


def _store(request: Request) -> MacroStore:
    return MacroStore(services(request).db)


def macro_json(macro: Macro) -> dict[str, Any]:
    return {
        "name": macro.name,
        "title": macro.title,
        "body": macro.body,
        "updated_by": macro.updated_by,
        "updated_at": macro.updated_at.isoformat(),
    }


async def list_macros(request: Request) -> JSONResponse:
    require_staff(request, Role.MODERATOR)
    return JSONResponse({"macros": [macro_json(m) for m in await _store(request).all()]})


async def put_macro(request: Request) -> JSONResponse:
    actor = require_staff(request, Role.MODERATOR)
    name = request.path_params["name"]
    if not MACRO_NAME.fullmatch(name):
        raise ApiError(400, "invalid", "a macro name is lowercase letters, digits, - and _")
    body = await read_json(request, PutMacro)
    try:
        created = await _store(request).put(name, body.title, body.body, actor.user)
    except BadMacro as exc:
        raise ApiError(400, "invalid", str(exc)) from None
    return JSONResponse(
        {"name": name, "title": body.title, "body": body.body}, 201 if created else 200
    )


async def delete_macro(request: Request) -> Response:
    require_staff(request, Role.MODERATOR)
    if not await _store(request).delete(request.path_params["name"]):
        raise ApiError(404, "not_found", "no such macro")
    return Response(status_code=204)


async def room_macros(request: Request) -> JSONResponse:
    """GET /api/rooms/{id}/macros: every macro with this room's placeholders filled in."""
    require_staff(request, Role.MODERATOR)
    found = services(request)
    room = await found.store.room(request.path_params["room_id"])
    if room is None:
        raise ApiError(404, "not_found", "no such room")
    facts = found.workflow.load(room.state, room.workflow or {}).facts
    terms = facts.offer.terms if facts.offer is not None else facts.settlement
    values = {
        "client": room.client_user,
        "freelancer": room.freelancer_user,
        "moderator": room.moderator or "",
        "ticket": room.ticket_id,
        "room": room.id,
        "amount": terms.amount if terms else "",
        "currency": terms.currency if terms else "",
    }
    return JSONResponse(
        {
            "macros": [
                {"name": m.name, "title": m.title, "text": render(m.body, values)}
                for m in await _store(request).all()
            ]
        }
    )


routes = [
    Route("/api/macros", list_macros),
    Route("/api/macros/{name}", put_macro, methods=["PUT"]),
    Route("/api/macros/{name}", delete_macro, methods=["DELETE"]),
    Route("/api/rooms/{room_id}/macros", room_macros),
]

operations = [
    Operation(
        "GET",
        "/api/macros",
        "Every macro",
        (API_KEY, STAFF),
        (Answer(200, "the macros", MacroList),),
        errors=(403,),
    ),
    Operation(
        "PUT",
        "/api/macros/{name}",
        "Create (201) or replace (200) a macro",
        (API_KEY, STAFF),
        (Answer(200, "replaced", MacroSaved), Answer(201, "created", MacroSaved)),
        errors=(400, 403),
        body=PutMacro,
    ),
    Operation(
        "DELETE",
        "/api/macros/{name}",
        "Delete a macro",
        (API_KEY, STAFF),
        (Answer(204, "deleted"),),
        errors=(403, 404),
    ),
    Operation(
        "GET",
        "/api/rooms/{room_id}/macros",
        "Every macro, rendered for the room",
        (API_KEY, STAFF),
        (Answer(200, "the rendered macros", RoomMacros),),
        errors=(403, 404),
    ),
]
