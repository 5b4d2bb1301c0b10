"""Signed transcript exports, and the public keys that verify them."""

import logging
from typing import Annotated, Literal

from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from mediation.http.auth import Actor as AuthActor
from mediation.http.auth import require_api_key, require_reader, services
from mediation.http.errors import ApiError
from mediation.http.openapi import API_KEY, ROOM, Answer, Operation
from mediation.http.params import read_query
from mediation.services import Services
from mediation.transcript_html import POLICY as html_policy
from mediation.transcript_html import render
from rooms.numbers import MAX_SEQ
from transcripts.errors import Tampered, UnknownRoom
from transcripts.export import export_bundle
from transcripts.signing import public_pem

log = logging.getLogger(__name__)

MAX_AUDIT_PAGE = 5000


class ExportQuery(Struct):
    format: Literal["jsonl", "html"] = "jsonl"


class AuditPage(Struct):
    after: Annotated[int, Meta(ge=0, le=MAX_SEQ)] = 0  # the last position already read
    limit: Annotated[int, Meta(ge=1, le=MAX_AUDIT_PAGE)] = 500


class Actor(Struct):
    user: str
    role: str


class AuditEntry(Struct):
    position: int
    ts: str
    actor: Actor
    purpose: str
    action: str
    room: str | None
    hash: str  # hex SHA-256, chained


class AuditLog(Struct):
    entries: list[AuditEntry]
    next: int  # `after` for the next page


class SigningKey(Struct):
    id: str
    alg: Literal["Ed25519"]
    pem: str


class SigningKeys(Struct):
    active: str
    keys: list[SigningKey]


async def export(request: Request) -> StreamingResponse:
    room_id = request.path_params["room_id"]
    found = services(request)
    reader = await require_reader(request, room_id, action="export")
    asked = read_query(request, ExportQuery)
    return await signed_transcript(found, reader, room_id, asked.format, "export")


async def signed_transcript(
    found: Services, reader: AuthActor, room_id: str, fmt: str, action: str
) -> StreamingResponse:
    """The room's signed export, read by `reader` and written to the access log as
    `action` with the reader's purpose (an auditor's export, a peer review's read)."""
    try:
        lines = await export_bundle(found.store, found.signing(), room_id, found.locker)
    except UnknownRoom:
        raise ApiError(404, "not_found", "no such room") from None
    except Tampered as exc:  # only the platform and auditors export: positions may go
        log.error("export refused: %s", exc.detail, extra={"room": room_id})
        raise ApiError(422, "tampered", exc.detail) from None
    await found.access_log.append(reader.user, reader.role, reader.purpose, action, room_id)
    if fmt == "html":
        return StreamingResponse(
            render(lines),
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": html_policy},
        )
    return StreamingResponse(
        lines,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{room_id}.transcript.jsonl"'},
    )


async def audit_log(request: Request) -> JSONResponse:
    """GET /api/audit-log?after=N&limit=L: the access log, oldest first, with its chain."""
    found = require_api_key(request)
    asked = read_query(request, AuditPage)
    entries = await found.access_log.page(asked.after, asked.limit)
    return JSONResponse(
        {
            "entries": [
                {
                    "position": e.position,
                    "ts": e.ts,
                    "actor": {"user": e.actor_user, "role": e.actor_role},
                    "purpose": e.purpose,
                    "action": e.action,
                    "room": e.room_id,
                    "hash": e.hash.hex(),
                }
                for e in entries
            ],
            "next": entries[-1].position if entries else asked.after,
        }
    )


async def signing_keys(request: Request) -> JSONResponse:
    signing = services(request).signing()
    return JSONResponse(
        {
            "active": signing.active,
            "keys": [
                {"id": key_id, "alg": "Ed25519", "pem": public_pem(key)}
                for key_id, key in signing.public().items()
            ],
        }
    )


routes = [
    Route("/api/rooms/{room_id}/export", export),
    Route("/api/audit-log", audit_log),
    Route("/.well-known/mediation-signing-keys", signing_keys),
]

operations = [
    Operation(
        "GET",
        "/api/rooms/{room_id}/export",
        "A room's signed transcript (JSON lines, or HTML)",
        (API_KEY, ROOM),
        (Answer(200, "the transcript", media=("application/x-ndjson", "text/html")),),
        errors=(403, 404, 422),
        query=ExportQuery,
    ),
    Operation(
        "GET",
        "/api/audit-log",
        "The access log, oldest first, with its chain",
        (API_KEY,),
        (Answer(200, "a page", AuditLog),),
        query=AuditPage,
    ),
    Operation(
        "GET",
        "/.well-known/mediation-signing-keys",
        "The public keys that verify exports",
        (),
        (Answer(200, "the keys", SigningKeys),),
    ),
]
