"""GET /api/reports/rooms: clocks, outcomes and CSAT per room, as JSON or CSV."""

from datetime import UTC, datetime, timedelta
from typing import Literal

from msgspec import Struct
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mediation.http.auth import require_api_key
from mediation.http.errors import ApiError
from mediation.http.openapi import API_KEY, Answer, Operation
from mediation.http.params import read_query
from mediation.reports import as_csv, by_language, rooms_report

MAX_ROOMS = 5000
DEFAULT_DAYS = 30


class ReportQuery(Struct, rename={"start": "from", "end": "to"}):
    start: str | None = None  # ISO 8601 date or time; default: 30 days before `to`
    end: str | None = None  # default: now
    format: Literal["json", "csv"] = "json"


class ReportRow(Struct):
    """One room's row (mediation.reports.room_report); the CSV has the same columns."""

    room: str
    ticket_provider: str
    ticket_id: str
    state: str
    shredded: bool
    priority: str
    tier: int
    moderator: str | None
    opened_at: str
    claimed_at: str | None
    first_response_at: str | None
    first_response_seconds: float | None
    resolved_at: str | None
    resolution_seconds: float | None
    overdue_now: str
    settlement_amount: str | None
    settlement_currency: str | None
    settlement_milestone: str | None
    breaches_unclaimed: int
    breaches_answer: int
    breaches_reply: int
    longest_wait_client_seconds: float | None
    csat_client: int | None
    csat_client_comment: str | None
    longest_wait_freelancer_seconds: float | None
    csat_freelancer: int | None
    csat_freelancer_comment: str | None
    arbitration: str  # "", open, lapsed, requested, decided (rooms.arbitration.status)
    arbitration_party: str | None  # the party that opted in
    evidence_requests: int  # evidence requests made (rooms.evidence)
    evidence_open: int  # not reviewed yet
    evidence_late: int  # answered by at least one file after the due date
    evidence_not_satisfied: int  # reviewed: not satisfied
    deadlines_set: int = 0  # deadlines with a default outcome: set in the room
    deadlines_applied: int = 0  # fell due unanswered: their outcome applied
    deadlines_answered: int = 0  # cancelled by the party's answer in time
    redactions: int = 0  # messages whose text a moderator removed (docs/transcripts.md)
    language: str = "en"  # the room's language, a BCP 47 primary subtag (routing)
    skills: str = ""  # the skills it asked of its moderator, space-separated
    self_served: bool = False  # resolved by the parties with no moderator ever claiming it


class LanguageTally(Struct):
    rooms: int
    resolved: int
    escalated: int  # past tier 1
    breaches: int  # response clock breaches, all clocks


class Report(Struct, rename={"start": "from", "end": "to"}):
    start: str
    end: str
    rooms: list[ReportRow]
    truncated: bool
    languages: dict[str, LanguageTally] = {}  # the rooms, by language


def _day(raw: str, name: str) -> datetime:
    """A moment in UTC (a time without an offset is taken as UTC)."""
    try:
        moment = datetime.fromisoformat(raw)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # not a date; or past year 9999 or before 1 in UTC
        raise ApiError(400, "invalid", f"{name} must be an ISO 8601 date or time") from None


def _period(asked: ReportQuery) -> tuple[datetime, datetime]:
    now = datetime.now(UTC) + timedelta(seconds=1)
    end = now if asked.end is None else _day(asked.end, "to")
    if asked.start is not None:
        return _day(asked.start, "from"), end
    try:
        return end - timedelta(days=DEFAULT_DAYS), end
    except OverflowError:  # `to` within 30 days of year 1
        raise ApiError(400, "invalid", "to is too early to count 30 days back from") from None


async def rooms(request: Request) -> Response:
    """Rooms opened in [from, to) (default: the last 30 days); `?format=csv` for a sheet."""
    services = require_api_key(request)
    asked = read_query(request, ReportQuery)
    start, end = _period(asked)
    fmt = asked.format
    rows = await rooms_report(services.store, services.workflow, start, end, MAX_ROOMS)
    if fmt == "csv":
        return Response(
            as_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="rooms-report.csv"'},
        )
    return JSONResponse(
        {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "rooms": rows,
            "truncated": len(rows) == MAX_ROOMS,
            "languages": by_language(rows),
        }
    )


routes = [Route("/api/reports/rooms", rooms)]

operations = [
    Operation(
        "GET",
        "/api/reports/rooms",
        "Clocks, outcomes and CSAT per room opened in [from, to)",
        (API_KEY,),
        (Answer(200, "the report (JSON, or CSV with format=csv)", Report, media="text/csv"),),
        query=ReportQuery,
    ),
]
