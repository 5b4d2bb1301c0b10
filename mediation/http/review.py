"""Peer review over HTTP (mediation.review): the scorecard, the week's assignments, a
reviewer's inbox, the room read for review (access-logged, purpose "peer review"),
the review itself, the reviewed moderator's results, and the report.

Every read of a room or of reviews, and every change, is written to the access log:
`review_read` (the room's signed transcript), `review_submit`, `review_results`,
`scorecard_put`. A reviewed moderator sees their scores and comments, not who wrote
them; the API key sees everything.
"""

import statistics
from collections import defaultdict
from datetime import timedelta
from typing import Annotated, Any

from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mediation.http.auth import Actor, require_api_key, require_staff, services
from mediation.http.errors import ApiError, read_json
from mediation.http.openapi import API_KEY, STAFF, Answer, Operation
from mediation.http.params import read_query
from mediation.http.transcripts import ExportQuery, signed_transcript
from mediation.review.assignment import week_bounds, week_of, weighted
from mediation.review.scheduler import ReviewScheduler
from mediation.review.store import ReviewStore, Scorecard, resolution_seconds, resolved_rooms
from mediation.services import Services
from rooms.visibility import PARTIES, Role

MAX_CRITERIA = 20
PURPOSE = "peer review"
REPORT_WEEKS = 8  # the report's default span, back from now
MAX_REPORT_WEEKS = 53

Key = Annotated[str, Meta(pattern="^[a-z][a-z0-9_]{0,31}$")]
Week = Annotated[str, Meta(pattern="^[0-9]{4}-W[0-9]{2}$")]


class Criterion(Struct, forbid_unknown_fields=True):
    key: Key
    label: Annotated[str, Meta(min_length=1, max_length=80)]
    weight: float  # > 0: checked by hand for its own error code (`bad_weight`)
    description: Annotated[str, Meta(max_length=500)] = ""


class PutScorecard(Struct, forbid_unknown_fields=True):
    criteria: list[Criterion]  # 1-20, keys unique (`criteria_count`, `duplicate_criterion`)


class ScorecardOut(Struct):
    version: int | None  # None: the built-in scorecard, before any was set
    criteria: list[Criterion]
    created_by: str | None
    created_at: str | None
    editable: bool


class AssignQuery(Struct):
    week: Week | None = None  # default: this week


class Assigned(Struct):
    week: str
    assigned: int  # stored by this call


class AssignmentOut(Struct):
    id: int
    week: str
    room: str
    moderator: str  # the moderator reviewed
    reviewer: str
    assigned_at: str
    completed_at: str | None


class Inbox(Struct):
    assignments: list[AssignmentOut]  # newest week first


class SubmitReview(Struct, forbid_unknown_fields=True):
    scores: dict[str, int]  # every criterion of the active scorecard, 1-5
    comment: Annotated[str, Meta(max_length=5000)] = ""


class ReviewOut(Struct):
    assignment: int
    week: str
    room: str
    moderator: str
    reviewer: str | None  # shown to the API key only
    scorecard: int
    scores: dict[str, int]
    weighted: float
    comment: str
    submitted_at: str


class Results(Struct):
    reviews: list[ReviewOut]


class ReviewReportQuery(Struct, rename={"start": "from", "end": "to"}):
    start: Week | None = None  # first ISO week; default: 8 weeks back
    end: Week | None = None  # last ISO week, included; default: this week


class ReviewReportRow(Struct):
    moderator: str
    week: str
    reviews: int
    weighted: float | None  # mean of the reviews' weighted scores
    criteria: dict[str, float]  # mean score per criterion key
    rooms_resolved: int  # rooms resolved with them that week
    csat_average: float | None  # over the parties' ratings of those rooms
    csat_count: int
    median_resolution_seconds: float | None


class ReviewReport(Struct, rename={"start": "from", "end": "to"}):
    start: str
    end: str
    rows: list[ReviewReportRow]


def _scheduler(found: Services) -> ReviewScheduler:
    if found.reviews is None:  # pragma: no cover - Services.start always makes one
        raise ApiError(503, "unavailable", "peer review is not running")
    return found.reviews


def _store(found: Services) -> ReviewStore:
    return _scheduler(found).reviews


def _card(card: Scorecard, editable: bool) -> dict[str, Any]:
    return {
        "version": card.id,
        "criteria": card.criteria,
        "created_by": card.created_by,
        "created_at": card.created_at.isoformat() if card.created_at else None,
        "editable": editable,
    }


def _may_edit(actor: Actor, found: Services) -> bool:
    return actor.is_platform or actor.user in found.settings.review_admins


async def get_scorecard(request: Request) -> JSONResponse:
    actor = require_staff(request, Role.MODERATOR)
    found = services(request)
    return JSONResponse(_card(await _store(found).scorecard(), _may_edit(actor, found)))


def check_criteria(criteria: list[Criterion]) -> None:
    if not 1 <= len(criteria) <= MAX_CRITERIA:
        raise ApiError(400, "criteria_count", f"a scorecard has 1 to {MAX_CRITERIA} criteria")
    keys = [c.key for c in criteria]
    if len(set(keys)) != len(keys):
        raise ApiError(400, "duplicate_criterion", "each criterion's key is used once")
    if any(not (0 < c.weight <= 1000) for c in criteria):
        raise ApiError(400, "bad_weight", "a weight is a positive number up to 1000")


async def put_scorecard(request: Request) -> JSONResponse:
    actor = require_staff(request, Role.MODERATOR)
    found = services(request)
    if not _may_edit(actor, found):
        raise ApiError(403, "forbidden", "only the API key and MEDIATION_REVIEW_ADMINS do this")
    body = await read_json(request, PutScorecard)
    check_criteria(body.criteria)
    criteria = [
        {"key": c.key, "label": c.label, "description": c.description, "weight": c.weight}
        for c in body.criteria
    ]
    card = await _store(found).put_scorecard(criteria, actor.user)
    await found.access_log.append(actor.user, actor.role, actor.purpose, "scorecard_put", "")
    return JSONResponse(_card(card, True))


async def run_assignment(request: Request) -> JSONResponse:
    found = require_api_key(request)
    scheduler = _scheduler(found)
    week = read_query(request, AssignQuery).week or scheduler.this_week()
    try:
        stored = await scheduler.assign(week)
    except ValueError:
        raise ApiError(400, "invalid", f"{week} is not an ISO week") from None
    return JSONResponse({"week": week, "assigned": stored})


def _assignment(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "week": row.week,
        "room": row.room_id,
        "moderator": row.moderator,
        "reviewer": row.reviewer,
        "assigned_at": row.assigned_at.isoformat(),
        "completed_at": row.completed_at.isoformat() if row.completed_at else None,
    }


async def inbox(request: Request) -> JSONResponse:
    """The caller's assignments (the API key: everyone's), newest week first."""
    actor = require_staff(request, Role.MODERATOR)
    found = services(request)
    rows = await _store(found).assignments(reviewer=None if actor.is_platform else actor.user)
    rows.sort(key=lambda r: (r.week, -r.id), reverse=True)
    return JSONResponse({"assignments": [_assignment(r) for r in rows]})


async def _mine(request: Request) -> tuple[Actor, Services, Any]:
    """The caller's own assignment named in the path (403 for anyone else's)."""
    actor = require_staff(request, Role.MODERATOR)
    found = services(request)
    try:
        number = int(request.path_params["assignment_id"])
    except ValueError:
        raise ApiError(404, "not_found", "no such assignment") from None
    row = await _store(found).assignment(number)
    if row is None:
        raise ApiError(404, "not_found", "no such assignment")
    if actor.is_platform or row.reviewer != actor.user:
        raise ApiError(403, "forbidden", "only its reviewer works on an assignment")
    return actor, found, row


async def read_room(request: Request) -> Response:
    """The assigned room's signed transcript, as an auditor reads it: access-logged as
    `review_read` with the purpose "peer review"."""
    actor, found, row = await _mine(request)
    fmt = read_query(request, ExportQuery).format
    reader = Actor(actor.user, actor.role, PURPOSE, actor.expires_at)
    return await signed_transcript(found, reader, row.room_id, fmt, "review_read")


def check_scores(scores: dict[str, int], card: Scorecard) -> None:
    wanted = set(card.weights)
    if set(scores) != wanted:
        raise ApiError(
            400, "invalid_scores", f"score exactly these criteria: {', '.join(sorted(wanted))}"
        )
    if any(not 1 <= s <= 5 for s in scores.values()):
        raise ApiError(400, "invalid_scores", "a score is a whole number from 1 to 5")


async def submit(request: Request) -> JSONResponse:
    actor, found, row = await _mine(request)
    body = await read_json(request, SubmitReview)
    store = _store(found)
    check_scores(body.scores, await store.scorecard())
    if not await store.submit(row.id, body.scores, body.comment):
        raise ApiError(409, "already_reviewed", "this assignment was reviewed already")
    await found.access_log.append(actor.user, actor.role, PURPOSE, "review_submit", row.room_id)
    [done] = [r for r in await store.results() if r.assignment_id == row.id]
    return JSONResponse(_review(done, show_reviewer=True), 201)


def _review(row: Any, show_reviewer: bool) -> dict[str, Any]:
    weights = {c["key"]: float(c["weight"]) for c in row.criteria}
    return {
        "assignment": row.assignment_id,
        "week": row.week,
        "room": row.room_id,
        "moderator": row.moderator,
        "reviewer": row.reviewer if show_reviewer else None,
        "scorecard": row.scorecard_id,
        "scores": row.scores,
        "weighted": weighted(row.scores, weights),
        "comment": row.comment,
        "submitted_at": row.submitted_at.isoformat(),
    }


async def results(request: Request) -> JSONResponse:
    """The reviews of the caller's work (the API key: everyone's); access-logged."""
    actor = require_staff(request, Role.MODERATOR)
    found = services(request)
    rows = await _store(found).results(moderator=None if actor.is_platform else actor.user)
    await found.access_log.append(actor.user, actor.role, PURPOSE, "review_results", "")
    return JSONResponse({"reviews": [_review(r, actor.is_platform) for r in rows]})


def _weeks(asked: ReviewReportQuery, scheduler: ReviewScheduler) -> tuple[str, str]:
    end = asked.end or scheduler.this_week()
    try:
        last_start, _ = week_bounds(end, scheduler.zone)
        if asked.start is None:
            start = week_of(last_start - timedelta(weeks=REPORT_WEEKS - 1), scheduler.zone)
        else:
            start = asked.start
        first_start, _ = week_bounds(start, scheduler.zone)
    except ValueError:
        raise ApiError(400, "invalid", "from and to are ISO weeks (2026-W49)") from None
    if not first_start <= last_start <= first_start + timedelta(weeks=MAX_REPORT_WEEKS):
        raise ApiError(400, "invalid", f"from is before to, at most {MAX_REPORT_WEEKS} weeks")
    return start, end


async def report(request: Request) -> JSONResponse:
    """Per moderator and ISO week: the reviews' scores (by the week they were assigned
    for), next to CSAT and the median time to resolution of the rooms they resolved
    that week."""
    found = require_api_key(request)
    scheduler = _scheduler(found)
    start, end = _weeks(read_query(request, ReviewReportQuery), scheduler)
    since, _ = week_bounds(start, scheduler.zone)
    _, until = week_bounds(end, scheduler.zone)
    cells: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"scores": defaultdict(list), "weighted": [], "csat": [], "times": [], "n": 0}
    )
    for row in await _store(found).results():
        if not start <= row.week <= end:
            continue
        cell = cells[(row.moderator, row.week)]
        cell["weighted"].append(weighted(row.scores, {c["key"]: c["weight"] for c in row.criteria}))
        for key, score in row.scores.items():
            cell["scores"][key].append(score)
    for room in await resolved_rooms(found.store, found.workflow, since, until):
        cell = cells[(room.facts.moderator or "", week_of(room.resolved_at, scheduler.zone))]
        cell["n"] += 1
        cell["csat"] += [room.facts.csat[p].rating for p in sorted(PARTIES) if p in room.facts.csat]
        seconds = resolution_seconds(room)
        if seconds is not None:
            cell["times"].append(seconds)
    rows = [
        {
            "moderator": moderator,
            "week": week,
            "reviews": len(cell["weighted"]),
            "weighted": _mean(cell["weighted"]),
            "criteria": {k: _mean(v) for k, v in sorted(cell["scores"].items())},
            "rooms_resolved": cell["n"],
            "csat_average": _mean(cell["csat"]),
            "csat_count": len(cell["csat"]),
            "median_resolution_seconds": (
                round(statistics.median(cell["times"]), 3) if cell["times"] else None
            ),
        }
        for (moderator, week), cell in sorted(cells.items())
    ]
    return JSONResponse({"from": start, "to": end, "rows": rows})


def _mean(values: list[Any]) -> Any:
    return round(statistics.fmean(values), 3) if values else None


routes = [
    Route("/api/review/scorecard", get_scorecard),
    Route("/api/review/scorecard", put_scorecard, methods=["PUT"]),
    Route("/api/review/assign", run_assignment, methods=["POST"]),
    Route("/api/review/inbox", inbox),
    Route("/api/review/assignments/{assignment_id}/transcript", read_room),
    Route("/api/review/assignments/{assignment_id}", submit, methods=["POST"]),
    Route("/api/review/results", results),
    Route("/api/reports/reviews", report),
]

operations = [
    Operation(
        "GET",
        "/api/review/scorecard",
        "The active peer review scorecard",
        (API_KEY, STAFF),
        (Answer(200, "the scorecard", ScorecardOut),),
        errors=(403,),
    ),
    Operation(
        "PUT",
        "/api/review/scorecard",
        "A new version of the scorecard, active from now",
        (API_KEY, STAFF),
        (Answer(200, "the new version", ScorecardOut),),
        errors=(403,),
        body=PutScorecard,
    ),
    Operation(
        "POST",
        "/api/review/assign",
        "Make the week's review assignments now (idempotent)",
        (API_KEY,),
        (Answer(200, "how many were stored", Assigned),),
        query=AssignQuery,
    ),
    Operation(
        "GET",
        "/api/review/inbox",
        "The caller's review assignments",
        (API_KEY, STAFF),
        (Answer(200, "the assignments", Inbox),),
        errors=(403,),
    ),
    Operation(
        "GET",
        "/api/review/assignments/{assignment_id}/transcript",
        "The assigned room's signed transcript, access-logged for peer review",
        (STAFF,),
        (Answer(200, "the transcript", media=("application/x-ndjson", "text/html")),),
        errors=(403, 404, 422),
        query=ExportQuery,
    ),
    Operation(
        "POST",
        "/api/review/assignments/{assignment_id}",
        "Submit the review of an assignment, once",
        (STAFF,),
        (Answer(201, "the review", ReviewOut),),
        errors=(403, 404, 409),
        body=SubmitReview,
    ),
    Operation(
        "GET",
        "/api/review/results",
        "Reviews of the caller's work (the API key: all)",
        (API_KEY, STAFF),
        (Answer(200, "the reviews", Results),),
        errors=(403,),
    ),
    Operation(
        "GET",
        "/api/reports/reviews",
        "Review scores per moderator, criterion and ISO week, with CSAT and resolution time",
        (API_KEY,),
        (Answer(200, "the report", ReviewReport),),
        query=ReviewReportQuery,
    ),
]
