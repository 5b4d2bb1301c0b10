"""The application factory: routes, error handlers, and the lifespan that wires services."""

from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from mediation.config import Settings
from mediation.http import (
    files,
    health,
    integrations,
    macros,
    members,
    openapi,
    outbox,
    reports,
    review,
    revocations,
    rooms,
    settlement,
    sign_in,
    sla,
    staff,
    transcripts,
    upload_operations,
    uploads,
    workflow,
)
from mediation.http import moderators as moderator_profiles
from mediation.http.errors import ApiError, api_error, http_error, internal_error
from mediation.http.request_log import RequestLog
from mediation.http.security_headers import SecurityHeaders
from mediation.services import Services
from mediation.ws.endpoint import serve_socket


def _frontend() -> Path:
    """The web app: mediation/frontend/ in an installed wheel (package data), the
    repository's top-level frontend/ in a checkout (editable install, PYTHONPATH)."""
    here = Path(__file__).resolve().parent
    installed = here / "frontend"
    return installed if installed.is_dir() else here.parent / "frontend"


FRONTEND = _frontend()
SOCKET_PATH = "/ws"
OPERATIONS = [  # what /openapi.json describes: each module's routes, as it declares them
    *health.operations,
    *rooms.operations,
    *transcripts.operations,
    *workflow.operations,
    *reports.operations,
    *staff.operations,
    *macros.operations,
    *files.operations,
    *upload_operations.operations,
    *revocations.operations,
    *sla.operations,
    *outbox.operations,
    *sign_in.operations,
    *integrations.operations,
    *settlement.operations,
    *review.operations,
    *members.operations,
    *moderator_profiles.operations,
]


def create_app(
    settings: Settings | None = None, extra_routes: Sequence[BaseRoute] = ()
) -> Starlette:
    """The app; `extra_routes` go before the web app's catch-all (the demo's page)."""
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
            *sla.routes,
            *outbox.routes,
            *sign_in.routes,
            *integrations.routes,
            *settlement.routes,
            *review.routes,
            *members.routes,
            *moderator_profiles.routes,
            *openapi.routes(OPERATIONS, SOCKET_PATH),
            WebSocketRoute(SOCKET_PATH, serve_socket),
            *extra_routes,
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


class SocketsFirst:
    """The ASGI app uvicorn runs: a socket on /ws goes straight to its endpoint, through
    the access log only; everything else to the Starlette app, as before.

    A socket stays open for hours, and every ASGI layer it passes keeps a suspended
    frame (and some a WebSocket object) for as long: ~5 KiB a socket for Starlette's
    application, error and exception middleware, router, route and session wrappers.
    None of them acts on a socket: the security headers are for HTTP, the exception
    handlers answer what only HTTP routes raise, and an unhandled error reaches
    uvicorn either way. `__call__` returns the callee's coroutine instead of awaiting
    it, so this adds no frame of its own (uvicorn must be told: interface="asgi3").
    """

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self._socket = RequestLog(self._serve_socket)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] == "websocket" and scope["path"] == SOCKET_PATH:
            scope["app"] = self.app  # where the endpoint finds the services
            return self._socket(scope, receive, send)
        return self.app(scope, receive, send)

    @staticmethod
    def _serve_socket(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        return serve_socket(WebSocket(scope, receive, send))
