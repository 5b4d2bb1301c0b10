"""uvicorn's HTTP protocol with what the open internet needs and uvicorn lacks.

- A deadline for a request's headers: from the connection (or the first
  byte of a later request on it) until its headers are complete. A client
  that trickles a request line (slowloris) is answered 408 and closed.
- A cap on open connections (HTTP and WebSocket alike): past it a new
  connection is answered 503 and closed before any request is read.

Each refusal is counted by reason (the `mediation_connections_refused`
metric).
"""

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

Refused = Callable[[str], None]  # counts one refusal, by reason


def _answer(status: str, code: str, message: str) -> bytes:
    body = f'{{"error":{{"code":"{code}","message":"{message}"}}}}'.encode()
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


TOO_MANY = _answer("503 Service Unavailable", "unavailable", "too many connections: retry later")
TOO_SLOW = _answer("408 Request Timeout", "invalid", "the request headers came too slowly")


class GuardedHttp(HttpToolsProtocol):
    def __init__(
        self, *args: Any, header_timeout: float, max_connections: int, refused: Refused, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self._header_timeout = header_timeout
        self._max_connections = max_connections
        self._refused = refused
        self._headers_due: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self._max_connections:
            self._refuse("max_connections", TOO_MANY)
            return
        self._expect_headers()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._expect_headers()  # a later request on a kept-alive connection

    def on_headers_complete(self) -> None:
        self._headers_came()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_came()
        super().connection_lost(exc)

    def _expect_headers(self) -> None:
        if self._headers_due is None:
            self._headers_due = self.loop.call_later(self._header_timeout, self._too_slow)

    def _headers_came(self) -> None:
        if self._headers_due is not None:
            self._headers_due.cancel()
            self._headers_due = None

    def _too_slow(self) -> None:
        self._headers_due = None
        self._refuse("header_timeout", TOO_SLOW)

    def _refuse(self, reason: str, answer: bytes) -> None:
        self._refused(reason)
        if not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()


def guarded_http(header_timeout: float, max_connections: int, refused: Refused) -> Any:
    """What uvicorn.Config takes as `http`: it calls it to make each connection's protocol."""
    return partial(
        GuardedHttp,
        header_timeout=header_timeout,
        max_connections=max_connections,
        refused=refused,
    )
