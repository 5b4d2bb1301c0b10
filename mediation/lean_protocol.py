"""The WebSocket protocol uvicorn runs for us, holding less for each open socket.

Thousands of sockets stay open and mostly idle, so what each one holds is
most of the server's memory (docs/benchmarks.md, "Memory"). On top of
`WebSocketProtocol` (direct text writes, how a failed connection closes), this one:

- empties the handshake's request and response once the socket is accepted:
  nothing reads them again, and their headers are ~4 KiB a socket (the ASGI
  scope keeps its own copy of the request's; websockets' parser keeps the
  request object itself until the socket closes, so its headers are cleared);
- receives into an `Inbox` instead of an `asyncio.Queue`: a Queue is four
  deques of 64 slots each (~3 KiB empty), here for one reader and the one or
  two messages uvicorn lets wait (it stops reading the socket until the app
  has taken the last one); and it knows when its reader waits with nothing
  queued, when a frame may be handed to the app at once (`on_text`);
- keeps "the transport may be written to" in a `Flag` instead of an
  `asyncio.Event` (another 64-slot deque), waited on only while a slow
  client's buffer is full;
- waits for its next keepalive ping on a `mediation.timers` timer, not a
  loop timer of its own, and pings only a line that stayed quiet for a whole
  interval: a peer that sent anything since the last one is there, and its
  traffic keeps the path's NAT and proxies awake as a ping would (at a steady
  load every socket of a busy room writes within the interval: 3,000 sockets
  were 150 pings and 150 pongs a second, each a syscall and a wake-up).
"""

import asyncio
from typing import Any

from uvicorn._types import ASGIReceiveEvent, ASGISendEvent

from mediation.timers import timers
from mediation.ws_protocol import WebSocketProtocol


class Inbox:
    """What uvicorn's protocol asks of its receive queue: put_nowait, get, empty."""

    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: list[ASGIReceiveEvent] = []
        self._waiters: list[asyncio.Future[None]] = []

    def put_nowait(self, item: ASGIReceiveEvent) -> None:
        self._items.append(item)
        _wake(self._waiters)

    async def get(self) -> ASGIReceiveEvent:
        while not self._items:
            await _wait(self._waiters)
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def awaited(self) -> bool:
        """Empty, and its reader waits on it."""
        return not self._items and bool(self._waiters)

    def qsize(self) -> int:
        return len(self._items)


class Flag:
    """asyncio.Event's is_set, set, clear and wait, for the rare waiter."""

    __slots__ = ("_value", "_waiters")

    def __init__(self) -> None:
        self._value = False
        self._waiters: list[asyncio.Future[None]] = []

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        self._value = True
        _wake(self._waiters)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        if not self._value:
            await _wait(self._waiters)
        return True


async def _wait(waiters: list[asyncio.Future[None]]) -> None:
    waiter = asyncio.get_running_loop().create_future()
    waiters.append(waiter)
    try:
        await waiter
    finally:
        if waiter in waiters:  # cancelled (a deadline) before it was woken
            waiters.remove(waiter)


def _wake(waiters: list[asyncio.Future[None]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
    waiters.clear()


class LeanSansIOProtocol(WebSocketProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inbox = Inbox()
        self.queue = self.inbox  # type: ignore[assignment]  # what uvicorn uses of a Queue
        self.writable = Flag()  # type: ignore[assignment]  # what uvicorn uses of an Event
        self.writable.set()
        self.heard = False  # the peer sent something since the last keepalive tick

    def data_received(self, data: bytes) -> None:
        self.heard = True
        super().data_received(data)

    def app_waiting(self) -> bool:
        return self.inbox.awaited()

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            self.request.headers.clear()  # the handshake is over: nothing reads them
            del self.request, self.response

    def schedule_ping(self) -> None:
        """uvicorn's, on the shared timers (the pong deadline, short-lived, stays its own)."""
        assert self.ping_interval is not None
        delay = max(0.0, self.ping_interval - self.last_ping_rtt)
        self.ping_timer = timers().call_later(delay, self.send_keepalive_ping)  # type: ignore[assignment]

    def send_keepalive_ping(self) -> None:
        """uvicorn's ping (and its pong deadline), for a line quiet since the last tick."""
        if self.heard:
            self.heard = False
            self.ping_timer = None
            self.schedule_ping()
            return
        super().send_keepalive_ping()
