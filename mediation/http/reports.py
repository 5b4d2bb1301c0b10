"""GET /api/reports/rooms: clocks, outcomes and CSAT per room, as JSON or CSV."""

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mediation.http.auth import require_api_key
from mediation.http.errors import ApiError
from mediation.reports import as_csv, rooms_report

MAX_ROOMS = 5000
DEFAULT_DAYS = 30


def _day(request: Request, name: str, default: datetime) -> datetime:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "invalid", f"{name} must be an ISO 8601 date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def rooms(request: Request) -> Response:
    """Rooms opened in [from, to) (default: the last 30 days); `?format=csv` for a sheet."""
    services = require_api_key(request)
    now = datetime.now(UTC)
    end = _day(request, "to", now + timedelta(seconds=1))
    start = _day(request, "from", end - timedelta(days=DEFAULT_DAYS))
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError(400, "invalid", "format is json or csv")
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
        }
    )


routes = [Route("/api/reports/rooms", rooms)]
