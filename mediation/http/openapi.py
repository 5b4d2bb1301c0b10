"""The OpenAPI 3.1 document (`GET /openapi.json`), built from what the handlers use.

Each route module lists its `operations` beside its `routes`: method, path, the
credentials it takes, the query Struct it reads with `read_query`, the body
Struct it reads with `read_json`, and its answers (Structs or raw media types).
The schemas are msgspec's own (`msgspec.json.schema_components`), so the
document says what the server validates. Errors are the one envelope,
`{"error": {"code", "message"}}`, with the stable codes.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mediation.protocol import asyncapi
from mediation.protocol.codes import ErrorCode

API_KEY, STAFF, ROOM, ZENDESK = "apiKey", "staffToken", "roomToken", "zendeskSignature"
HTTP_CODES = (
    *("tampered", "deleted", "legal_hold", "unsupported_type", "method_not_allowed"),
    "not_settled",
    *("criteria_count", "duplicate_criterion", "bad_weight", "invalid_scores"),  # peer review
    "already_reviewed",
)
REF = "#/components/schemas/{name}"
JSON = "application/json"
ID = r"^[A-Za-z0-9_.:-]{1,64}$"  # what room, file and upload ids look like

SECURITY_SCHEMES = {
    API_KEY: {
        "type": "http",
        "scheme": "bearer",
        "description": "The platform's API key (`mediation keys`, MEDIATION_API_KEY).",
    },
    STAFF: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A staff token (POST /api/staff/tokens): a moderator or an auditor.",
    },
    ROOM: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A room token (POST /api/rooms/{room_id}/tokens or /join): one person.",
    },
    ZENDESK: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Zendesk-Webhook-Signature",
        "description": "Zendesk's webhook signature, with X-Zendesk-Webhook-Signature-Timestamp.",
    },
}

ERRORS = {
    400: "invalid: a malformed body, query parameter or header",
    401: "unauthorized: no valid credential",
    403: "forbidden: this credential may not do this",
    404: "not_found (or not_settled: the room has no settlement)",
    409: "conflict, room_closed, legal_hold or already_reviewed",
    410: "deleted",
    412: "invalid: an unsupported Tus-Resumable version",
    413: "too_large",
    415: "unsupported_type, or invalid: a wrong Content-Type",
    422: "tampered (stored bytes fail their proof), or invalid",
    429: "rate_limited: wait `Retry-After` seconds",
    503: "unavailable: storage down, try again later",
}


@dataclass(frozen=True)
class Answer:
    """One answer: a status, and its body's schema (a type msgspec describes) or media."""

    status: int
    description: str
    schema: Any = None  # a JSON body's type; None: no JSON body
    media: str | tuple[str, ...] = ()  # other media types it may come as (not JSON)
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    auth: tuple[str, ...]  # any one of these security schemes; () for none
    answers: tuple[Answer, ...]
    errors: tuple[int, ...] = ()  # error statuses beyond those the credentials, query, body add
    query: type | None = None
    body: type | None = None  # a JSON body, read with `read_json`
    body_optional: bool = False  # the body (JSON or raw) may be left out
    raw_body: str | None = None  # a body of this media type, read as bytes (files)
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)  # request headers

    def error_statuses(self) -> set[int]:
        found = set(self.errors)
        if self.auth:
            found |= {401, 429}
        if self.query is not None:
            found.add(400)
        if self.body is not None:
            found |= {400, 413}
        return found


class ErrorBody(msgspec.Struct):
    code: str
    message: str  # human-readable English: may change, never parse it
    retry_after_ms: int | None = None  # rate_limited: how long to wait
    room: str | None = None  # conflict on opening a room: the open one
    offset: int | None = None  # an upload's conflict: the offset it is at


class ErrorEnvelope(msgspec.Struct):
    error: ErrorBody


def document(operations: Iterable[Operation], version: str = "1") -> dict[str, Any]:
    ops = list(operations)
    types: list[Any] = [ErrorEnvelope]
    for op in ops:
        types += [t for t in (op.query, op.body) if t is not None]
        types += [a.schema for a in op.answers if a.schema is not None]
    schemas, components = msgspec.json.schema_components(types, ref_template=REF)
    of = {id(t): s for t, s in zip(types, schemas, strict=True)}
    components["ErrorBody"]["properties"]["code"] = {
        "enum": sorted([c.value for c in ErrorCode] + list(HTTP_CODES))
    }
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, of, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Mediation rooms",
            "version": version,
            "description": "Three-way dispute mediation: rooms, tokens, queue, files, exports. "
            "The real-time protocol is in /asyncapi.json.",
        },
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
    }


def _operation(op: Operation, of: dict[int, Any], components: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": f"{op.method.lower()}_{op.path}",
        "summary": op.summary,
        "security": [{name: []} for name in op.auth],
        "parameters": _parameters(op, of, components),
        "responses": {},
    }
    if op.body is not None:
        out["requestBody"] = {
            "required": not op.body_optional,
            "content": {"application/json": {"schema": of[id(op.body)]}},
        }
    elif op.raw_body is not None:
        out["requestBody"] = {
            "required": not op.body_optional,
            "content": {op.raw_body: {"schema": {"type": "string", "format": "binary"}}},
        }
    for answer in op.answers:
        response: dict[str, Any] = {"description": answer.description}
        content = {}
        if answer.schema is not None:
            content[JSON] = {"schema": of[id(answer.schema)]}
        for media in (answer.media,) if isinstance(answer.media, str) else answer.media:
            content[media] = {"schema": {"type": "object" if media == JSON else "string"}}
        if content:
            response["content"] = content
        if answer.headers:
            response["headers"] = {h: {"schema": {"type": "string"}} for h in answer.headers}
        out["responses"][str(answer.status)] = response
    envelope = {"$ref": REF.format(name="ErrorEnvelope")}
    for status in sorted(op.error_statuses()):
        out["responses"].setdefault(
            str(status),
            {"description": ERRORS[status], "content": {"application/json": {"schema": envelope}}},
        )
    return out


def _parameters(op: Operation, of: dict[int, Any], components: dict[str, Any]) -> list[Any]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": ID}}
        for name in _path_names(op.path)
    ]
    if op.query is not None:
        struct = components[of[id(op.query)]["$ref"].rsplit("/", 1)[1]]
        required = set(struct.get("required", ()))
        params += [
            {"name": name, "in": "query", "required": name in required, "schema": schema}
            for name, schema in struct["properties"].items()
        ]
    params += [{"name": name, "in": "header", **spec} for name, spec in sorted(op.headers.items())]
    return params


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


DOCUMENTS = [
    Operation(
        "GET",
        "/openapi.json",
        "This document: OpenAPI 3.1",
        (),
        (Answer(200, "the document", media="application/json"),),
    ),
    Operation(
        "GET",
        "/asyncapi.json",
        "The WebSocket protocol v1 (/ws): AsyncAPI 3.0",
        (),
        (Answer(200, "the document", media="application/json"),),
    ),
]


def routes(operations: Sequence[Operation], socket_path: str) -> list[Route]:
    """GET /openapi.json (of `operations` and these two) and GET /asyncapi.json."""
    built = {
        "/openapi.json": lambda: document([*operations, *DOCUMENTS]),
        "/asyncapi.json": lambda: asyncapi.document(socket_path),
    }
    encoded: dict[str, bytes] = {}

    async def serve(request: Request) -> Response:
        path = request.url.path
        if path not in encoded:  # built once, at the first request
            encoded[path] = msgspec.json.encode(built[path]())
        return Response(encoded[path], media_type="application/json")

    return [Route(path, serve, methods=["GET"]) for path in built]
