"""GET /api/outbox and POST /api/outbox/{id}/retry: what waits to leave, what never will.

Both take the API key. Dead letters (a destination refused for good, or a
row waited past MEDIATION_OUTBOX_MAX_AGE) are kept until retried by hand;
a retry puts the row back in its lane, tried at once.
"""

import time
from typing import Annotated, Literal

from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mediation.http.auth import require_api_key
from mediation.http.errors import ApiError
from mediation.http.openapi import API_KEY, Answer, Operation
from mediation.http.params import read_query
from rooms.numbers import MAX_SEQ


class Listing(Struct):
    status: Literal["pending", "dead", "done"] = "dead"
    limit: Annotated[int, Meta(ge=1, le=500)] = 100
    after: Annotated[int, Meta(ge=0, le=MAX_SEQ)] = 0  # the last id of the previous page
    room: Annotated[str, Meta(max_length=40)] | None = None


class OutboxRowOut(Struct):
    """A row as listed (transcripts.outbox.OutboxRow.public): never anybody's words."""

    id: int
    destination: str
    room: str
    topic: str
    event_id: str
    status: Literal["pending", "dead", "done"]
    attempts: int
    created_at: float  # unix seconds
    next_attempt_at: float | None
    finished_at: float | None
    last_error: str | None


class OutboxPage(Struct):
    rows: list[OutboxRowOut]
    next_after: int | None  # `after` for the next page; null on the last


async def listing(request: Request) -> JSONResponse:
    found = require_api_key(request)
    query = read_query(request, Listing)
    rows = await found.outbox.rows(query.status, query.limit, query.after, query.room)
    page = [row.public() for row in rows]
    more = len(rows) == query.limit
    return JSONResponse({"rows": page, "next_after": rows[-1].id if more else None})


async def retry(request: Request) -> JSONResponse:
    found = require_api_key(request)
    try:
        row_id = int(request.path_params["row_id"])
    except ValueError:
        raise ApiError(404, "not_found", "no such outbox row") from None
    row = await found.outbox.requeue(row_id, time.time())
    if row is None:
        raise ApiError(404, "not_found", "no dead letter with this id")
    found.outbox_worker.wake()
    return JSONResponse(row.public())


routes = [
    Route("/api/outbox", listing, methods=["GET"]),
    Route("/api/outbox/{row_id}/retry", retry, methods=["POST"]),
]

operations = [
    Operation(
        "GET",
        "/api/outbox",
        "Outbox rows by status, oldest first",
        (API_KEY,),
        (Answer(200, "a page", OutboxPage),),
        query=Listing,
    ),
    Operation(
        "POST",
        "/api/outbox/{row_id}/retry",
        "Put a dead letter back in its lane",
        (API_KEY,),
        (Answer(200, "the row", OutboxRowOut),),
        errors=(404,),
    ),
]
