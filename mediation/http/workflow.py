"""The moderator queue, claiming a room from it, and a room's live clocks."""

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from mediation.http.auth import require_staff, services
from mediation.http.errors import ApiError, read_json
from mediation.http.openapi import API_KEY, STAFF, Answer, Operation
from mediation.http.params import read_query
from mediation.http.rooms import Name, RoomOut, room_json
from mediation.http.sla import targets_json
from mediation.moderators.profiles import ProfileStore
from mediation.services import room_info
from rooms import arbitration, clocks, door, routing, self_serve
from rooms.door import Write
from rooms.evidence import open_requests
from rooms.kinds import STATE
from rooms.lifecycle import State
from rooms.ports import Member
from rooms.visibility import ROOM, Role
from rooms.workflow import Workflow, state_body
from transcripts.errors import TranscriptError
from transcripts.store_types import RoomRow

QUEUE_LIMIT = 200
MAX_TIER = 2**31 - 1  # the column's range; tiers in use are small
KEEPALIVE = 15.0  # seconds between comments on an idle event stream
RECONNECT_MS = 2000
# a moderator's own rooms: every one not closed. A resolved room stays theirs to close (and
# open in their console: the console counts it under "My rooms"); a failed mediation too,
# until a party opts in
OPEN = (State.WAITING, State.MEDIATING, State.ESCALATED, State.RESOLVED, State.MEDIATION_FAILED)


class Claim(Struct):
    moderator: Name | None = None  # the platform names one; a moderator's token names itself


class OverdueClock(Struct):
    clock: str  # unclaimed | answer | reply
    party: str | None
    since: str


class ClockTargets(Struct):
    """Seconds before each clock's alarm: the SLA policy of the room's priority."""

    first_response: float
    answer: float
    reply: float


class OpenDeadline(Struct):
    deadline: int  # the seq of its `deadline` record in the room channel
    party: str
    due_at: str
    outcome: str  # accept_proposal | resolve | escalate


class OpenRequest(Struct):
    """An evidence request not reviewed yet (rooms.evidence): ids and dates, no words."""

    request: int  # its seq in `channel`
    channel: str
    party: str
    due_at: str
    answers: int  # files that answered it so far
    late: bool  # one of them came after due_at


class RoutingOut(Struct):
    match: bool  # speaks its language, its tier is theirs, no skill missing
    reasons: list[str]  # "speaks de", "tier 2 ≤ 2", "skill payments"; or what is missing


class QueueEntry(RoomOut):
    """A room as the queue shows it (`queue_entry`)."""

    waiting_since: str | None
    next_alarm_at: str | None
    overdue: list[OverdueClock]
    waiting: dict[str, str]
    awaiting_reply: dict[str, str]
    caucus: str | None
    offer: int | None
    targets: ClockTargets
    opt_in_until: str | None  # a failed mediation: the parties may opt in to arbitration until
    evidence_open: list[OpenRequest]
    deadlines: list[OpenDeadline] = []  # open deadlines with a default outcome, soonest first
    negotiating: bool = False  # an offer is open while it waits: the parties negotiate
    # for a moderator with a profile: can they take it, and why (rooms.routing)
    routing: RoutingOut | None = None


class QueueOut(Struct):
    rooms: list[QueueEntry]


class Claimed(Struct):
    room: str
    state: Literal["mediating"]
    moderator: str
    seq: int


def queue_entry(room: RoomRow, workflow: Workflow) -> dict[str, Any]:
    """A room as the queue shows it: who waits since when, and what is overdue."""
    facts = workflow.load(room.state, room.workflow or {}).facts
    kept = facts.clocks
    return {
        **room_json(room),
        "waiting_since": room.waiting_since.isoformat() if room.waiting_since else None,
        "next_alarm_at": room.due_at.isoformat() if room.due_at else None,
        "overdue": [
            {"clock": a.clock, "party": a.party, "since": a.since}
            for a in clocks.overdue(kept, room.state)
        ],
        "waiting": kept.waiting,  # party -> since when it waits for the moderator
        "awaiting_reply": kept.asked,  # party -> since when the moderator waits for it
        "caucus": facts.caucus,
        "offer": None if facts.offer is None else facts.offer.seq,
        "negotiating": self_serve.negotiating(room.state, facts.offer is not None),
        "targets": targets_json(workflow.targets_for(room.priority)),
        "opt_in_until": arbitration.opt_in_until(room.state, facts.arbitration),
        "deadlines": [
            {"deadline": d.seq, "party": d.party, "due_at": d.due_at, "outcome": d.outcome}
            for d in sorted(facts.deadlines.values(), key=lambda d: d.due_at)
        ],
        "evidence_open": [
            {
                "request": r.seq,
                "channel": r.channel,
                "party": r.party,
                "due_at": r.due_at,
                "answers": len(r.answers),
                "late": any(a.late for a in r.answers),
            }
            for r in open_requests(facts.evidence)
        ],
    }


class QueueQuery(Struct):
    tier: Annotated[int, Meta(ge=1, le=MAX_TIER)] | None = None
    moderator: Name | None = None


async def queue(request: Request) -> JSONResponse:
    """GET /api/queue: rooms waiting for a moderator (new or escalated), most urgent first;
    `?tier=2` for one tier, `?moderator=m-1` for the rooms not yet closed that moderator
    leads or co-moderates (resolved ones included). Observers read it too (a trainee picks
    a room to shadow). A moderator with a profile sees the rooms they can take first, each
    with its `routing` fit (rooms.routing)."""
    actor = require_staff(request, Role.MODERATOR, Role.OBSERVER)
    found = services(request)
    asked = read_query(request, QueueQuery)
    states = OPEN if asked.moderator else (State.WAITING, State.ESCALATED)
    rooms = await found.store.queue(states, QUEUE_LIMIT, tier=asked.tier, moderator=asked.moderator)
    profile = None
    if not actor.is_platform and asked.moderator is None:
        profile = await ProfileStore(found.db).get(actor.user)
    if profile is None:  # the API key, a moderator's own rooms, or no profile: as it was
        return JSONResponse({"rooms": [queue_entry(room, found.workflow) for room in rooms]})
    spoken = await found.store.queue(  # theirs first, so the limit cannot hide them
        states, QUEUE_LIMIT, tier=asked.tier, languages=profile.languages
    )
    merged = list({room.id: room for room in [*spoken, *rooms]}.values())
    ranked = routing.order(profile, merged, need)[:QUEUE_LIMIT]
    return JSONResponse(
        {
            "rooms": [
                queue_entry(room, found.workflow) | {"routing": fit.json()} for room, fit in ranked
            ]
        }
    )


def need(room: RoomRow) -> routing.Need:
    return routing.Need(room.language, room.tier, tuple(room.skills))


async def claim(request: Request) -> JSONResponse:
    """POST /api/rooms/{id}/claim: the moderator takes the room; of two at once, one wins."""
    actor = require_staff(request, Role.MODERATOR)
    found = services(request)
    room_id = request.path_params["room_id"]
    body = await read_json(request, Claim) if actor.is_platform else Claim(actor.user)
    if body.moderator is None:
        raise ApiError(400, "invalid", "name the moderator who claims the room")
    row = await found.store.room(room_id)
    if row is None:
        raise ApiError(404, "not_found", "no such room")
    body_text = state_body(State.MEDIATING, "claimed from the queue")
    move = Write(STATE, ROOM, "claim:" + secrets.token_hex(8), body_text)
    draft = door.draft(room_info(row), Member(body.moderator, Role.MODERATOR), move)
    try:
        record = await found.committer.append(draft)
    except TranscriptError as exc:
        status = 409 if exc.code in ("conflict", "room_closed") else 503
        raise ApiError(status, exc.code, str(exc)) from None
    return JSONResponse(
        {"room": room_id, "state": State.MEDIATING, "moderator": body.moderator, "seq": record.seq}
    )


async def queue_events(request: Request) -> StreamingResponse:
    """GET /api/queue/events: Server-Sent Events, `event: queue` with {"room": id} whenever a
    room's place in the queue may have changed, on any process; the console re-reads."""
    require_staff(request, Role.MODERATOR, Role.OBSERVER)
    feed = services(request).hub.queue

    async def stream() -> AsyncIterator[str]:
        yield f"retry: {RECONNECT_MS}\n: watching the queue\n\n"
        async with feed.watch() as changes:
            while True:
                try:  # asyncio.timeout, not wait_for: on 3.11 that can lose a cancel
                    async with asyncio.timeout(KEEPALIVE):
                        room_id = await changes.get()
                except TimeoutError:
                    yield ": keep-alive\n\n"  # proxies close idle streams
                    continue
                if room_id is None:  # shutting down: EventSource reconnects elsewhere
                    return
                yield f"event: queue\ndata: {json.dumps({'room': room_id})}\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


routes = [
    Route("/api/queue", queue),
    Route("/api/queue/events", queue_events),
    Route("/api/rooms/{room_id}/claim", claim, methods=["POST"]),
]

operations = [
    Operation(
        "GET",
        "/api/queue",
        "Rooms waiting for a moderator, most urgent first",
        (API_KEY, STAFF),
        (Answer(200, "the queue", QueueOut),),
        errors=(403,),
        query=QueueQuery,
    ),
    Operation(
        "GET",
        "/api/queue/events",
        "Server-Sent Events: `queue` whenever a room's place may have changed",
        (API_KEY, STAFF),
        (Answer(200, "the event stream", media="text/event-stream"),),
        errors=(403,),
    ),
    Operation(
        "POST",
        "/api/rooms/{room_id}/claim",
        "Claim a room from the queue (the API key names the moderator)",
        (API_KEY, STAFF),
        (Answer(200, "claimed", Claimed),),
        errors=(403, 404, 409, 503),
        body=Claim,
    ),
]
