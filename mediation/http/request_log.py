"""The access log: one line per request or socket, ours instead of uvicorn's.

It holds the method, the path (never the query string: no credential, file
name or reason may reach a log through a URL), the status, the duration and
the client's address (the one a trusted proxy forwarded, uvicorn's
`--forwarded-allow-ips`). A socket's line is written when it ends: its status
is 101 once accepted, and its duration is how long it stayed open.
"""

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})  # polled every few seconds: DEBUG


def status_of(message: Message, current: int) -> int:
    """The status a sent ASGI message gives the exchange (`current` if none)."""
    kind = message["type"]
    if kind in ("http.response.start", "websocket.http.response.start"):
        status: int = message["status"]
        return status
    if kind == "websocket.accept":
        return 101
    if kind == "websocket.close" and not current:  # closed before accepting: uvicorn's 403
        return 403
    return current


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 0

        async def sending(message: Message) -> None:
            nonlocal status
            status = status_of(message, status)
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except BaseException:
            status = status or 500
            raise
        finally:
            _line(scope, status, (time.perf_counter() - started) * 1000)


def _line(scope: Scope, status: int, duration_ms: float) -> None:
    method = scope["method"] if scope["type"] == "http" else "WEBSOCKET"
    path: str = scope["path"]
    client = scope.get("client")
    fields: dict[str, Any] = {
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(duration_ms, 1),
        "client": client[0] if client else "",
    }
    level = logging.DEBUG if path in PROBES else logging.INFO
    log.log(level, "%s %s %d", method, path, status, extra=fields)
