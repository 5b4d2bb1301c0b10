"""uvicorn's HTTP protocol with what the open internet needs and uvicorn lacks.

- A deadline for a request's headers: from the connection (or the first
  byte of a later request on it) until its headers are complete. A client
  that trickles a request line (slowloris) is answered 408 and closed.
- A cap on open connections (HTTP and WebSocket alike): past it a new
  connection is answered 503 and closed before any request is read.
- An address throttled for failed authentication (mediation.abuse) is
  answered 429 on its first bytes, unparsed: refusing it through the whole
  ASGI path (HTTP parse, handshake, routing, JSON) costs ~10x more, and a
  guesser makes hundreds of attempts a second. Only for a peer that is not
  a trusted proxy (uvicorn's forwarded_allow_ips): behind one, the client's
  address is only known from its headers, and the app checks it there.

Each refusal is counted by reason (the `mediation_connections_refused`
metric).
"""

import asyncio
import json
import math
from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any

from uvicorn.middleware.proxy_headers import _TrustedHosts
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mediation.abuse import Throttled

Refused = Callable[[str], None]  # counts one refusal, by reason
Throttle = Callable[[str], Throttled | None]  # a peer address's refusal, while throttled


def _answer(status: str, error: dict[str, object], *headers: str) -> bytes:
    """A whole HTTP response with our JSON error body, after which the connection closes."""
    body = json.dumps({"error": error}, separators=(",", ":")).encode()
    head = f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
    head += "".join(f"{header}\r\n" for header in headers)
    head += f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    return head.encode() + body


def too_many(refusal: Throttled) -> bytes:
    """429 in our error shape (mediation.http.errors.too_many), with Retry-After."""
    error = {
        "code": "rate_limited",
        "message": str(refusal),
        "retry_after_ms": refusal.retry_after_ms,
    }
    retry_after = f"retry-after: {max(1, math.ceil(refusal.retry_after))}"
    return _answer("429 Too Many Requests", error, retry_after)


@lru_cache(maxsize=8)
def _trusted(hosts: str | tuple[str, ...]) -> _TrustedHosts:
    """uvicorn's own test of a trusted proxy (its ProxyHeadersMiddleware's), made once."""
    return _TrustedHosts(hosts if isinstance(hosts, str) else list(hosts))


TOO_MANY = _answer(
    "503 Service Unavailable",
    {"code": "unavailable", "message": "too many connections: retry later"},
)
TOO_SLOW = _answer(
    "408 Request Timeout", {"code": "invalid", "message": "the request headers came too slowly"}
)


class GuardedHttp(HttpToolsProtocol):
    def __init__(
        self,
        *args: Any,
        header_timeout: float,
        max_connections: int,
        refused: Refused,
        throttle: Throttle,
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        self._header_timeout = header_timeout
        self._max_connections = max_connections
        self._refused = refused
        self._throttle = throttle
        self._headers_due: asyncio.TimerHandle | None = None
        self._throttled: bytes | None = None  # the 429 to answer the first bytes with

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self._max_connections:
            self._refuse("max_connections", TOO_MANY)
            return
        if self.client is not None and not self._behind_proxy(self.client[0]):
            refusal = self._throttle(self.client[0])
            if refusal is not None:
                self._throttled = too_many(refusal)
        self._expect_headers()

    def data_received(self, data: bytes) -> None:
        if self._throttled is not None:
            # answered once the request came in (not at once: closing with its bytes
            # unread would reset the connection, and the client might lose the 429)
            self._refuse("throttled", self._throttled)
            return
        super().data_received(data)

    def _behind_proxy(self, peer: str) -> bool:
        """Whether `peer` is a trusted proxy, whose client's address is in its headers."""
        if not self.config.proxy_headers:
            return False
        hosts = self.config.forwarded_allow_ips
        return peer in _trusted(hosts if isinstance(hosts, str) else tuple(hosts))

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


def guarded_http(
    header_timeout: float, max_connections: int, refused: Refused, throttle: Throttle
) -> Any:
    """What uvicorn.Config takes as `http`: it calls it to make each connection's protocol."""
    return partial(
        GuardedHttp,
        header_timeout=header_timeout,
        max_connections=max_connections,
        refused=refused,
        throttle=throttle,
    )
