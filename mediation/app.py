"""The application factory: routes, error handlers, and the lifespan that wires services."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount, WebSocketRoute
from starlette.staticfiles import StaticFiles

from mediation.config import Settings
from mediation.http import (
    files,
    health,
    macros,
    reports,
    revocations,
    rooms,
    staff,
    transcripts,
    uploads,
    workflow,
)
from mediation.http.errors import ApiError, api_error, http_error, internal_error
from mediation.http.request_log import RequestLog
from mediation.http.security_headers import SecurityHeaders
from mediation.services import Services
from mediation.ws.endpoint import serve_socket

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.services = await Services.start(settings)
        try:
            yield
        finally:
            await app.state.services.stop()

    return Starlette(
        routes=[
            *health.routes,
            *rooms.routes,
            *transcripts.routes,
            *workflow.routes,
            *reports.routes,
            *staff.routes,
            *macros.routes,
            *files.routes,
            *uploads.routes,
            *revocations.routes,
            WebSocketRoute("/ws", serve_socket),
            Mount("/", StaticFiles(directory=FRONTEND, html=True), name="frontend"),
        ],
        middleware=[
            Middleware(RequestLog),  # outermost: it sees the status that went out
            Middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors),
        ],
        exception_handlers={
            ApiError: api_error,
            HTTPException: http_error,
            Exception: internal_error,  # the last resort: JSON 500 `internal`
        },
        lifespan=lifespan,
    )
