"""Liveness: the process answers."""

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


routes = [Route("/healthz", healthz)]
