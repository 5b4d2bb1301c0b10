"""Liveness (the process answers), readiness (it can do its job), and metrics."""

from typing import Literal

from msgspec import Struct
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mediation.http.openapi import Answer, Operation
from mediation.services import Services


class Alive(Struct):
    status: Literal["ok"]


class Readiness(Struct):
    status: Literal["ready", "degraded", "unavailable"]
    database: Literal["ok", "down"]
    redis: Literal["ok", "down", "not configured"]


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """503 without a database (no message can be acked); 200 `degraded` without Redis,
    because sends are still acked and delivered on this process."""
    services: Services = request.app.state.services
    database = await services.database_ok()
    redis = (
        "not configured"
        if not services.settings.redis_url
        else ("ok" if services.broker.healthy else "down")
    )
    if not database:
        status = "unavailable"
    elif redis == "down":
        status = "degraded"
    else:
        status = "ready"
    return JSONResponse(
        {"status": status, "database": "ok" if database else "down", "redis": redis},
        200 if database else 503,
    )


async def metrics(request: Request) -> Response:
    services: Services = request.app.state.services
    return Response(services.metrics.render(), media_type=CONTENT_TYPE_LATEST)


routes = [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]

operations = [
    Operation("GET", "/healthz", "Liveness", (), (Answer(200, "alive", Alive),)),
    Operation(
        "GET",
        "/readyz",
        "Readiness: the database (and Redis, if configured)",
        (),
        (Answer(200, "ready or degraded", Readiness), Answer(503, "no database", Readiness)),
    ),
    Operation(
        "GET",
        "/metrics",
        "Prometheus metrics",
        (),
        (Answer(200, "the metrics", media="text/plain"),),
    ),
]
