"""One socket's outgoing side: frames written in order, a bounded queue for a slow client.

Everything a client receives passes through here in order. Under our server
(a `TextSender` in the scope) a frame pushed while nothing waits is handed
to the protocol at once (it leaves with the socket's other frames of this
turn of the loop); it waits in the queue only while the transport is paused
(its buffer over the high-water mark) or frames before it wait, and a writer
task, made only while something waits, drains the queue as the transport
takes more and writes the close. Under another server every frame goes
through the queue and Starlette's `send`.

A client that falls `limit` frames behind is cut off with TOO_SLOW rather
than let the queue grow: it reconnects and resumes with `since`, and the
room never waits for it.

A socket that never says hello costs little: the queue and the events are
made when first needed. Nor does an idle one: no writer task waits on it.
"""

import asyncio
import itertools
import logging
from collections import deque

from starlette.websockets import WebSocket, WebSocketDisconnect

from mediation.metrics import Metrics
from mediation.protocol.codec import LastEncoded, encode, to_frame
from mediation.protocol.codes import CloseCode
from mediation.protocol.frames import Error, EventFrame, Message, ServerFrame
from mediation.ws.text_sender import text_sender
from rooms.ports import Event

log = logging.getLogger(__name__)
_ids = itertools.count(1)
_encoded = LastEncoded()  # one for every socket: fan-out writes to them one after another
DELIVERIES = frozenset({Message, EventFrame})  # the frames that carry transcript records
# `_close` once a write failed: the peer left or the socket closed under us (never sent)
GONE = (1006, "")


class Connection:
    __slots__ = (
        "_close",
        "_ended",
        "_limit",
        "_live",
        "_metrics",
        "_queue",
        "_sender",
        "_writer",
        "_ws",
        "draining",
        "id",
    )

    def __init__(self, ws: WebSocket, node: str, limit: int, metrics: Metrics) -> None:
        self.id = f"{node}:{next(_ids)}"
        self._ws = ws
        self._sender = text_sender(ws.scope)
        self._metrics = metrics
        self._limit = limit
        self._queue: deque[Event | ServerFrame] | None = None
        self._live = False  # the welcome and the replay are out (`start`)
        self._writer: asyncio.Task[None] | None = None  # while frames wait, or the close
        self._close: tuple[int, str] | None = None
        self._ended: asyncio.Event | None = None
        self.draining = False

    @property
    def ended(self) -> asyncio.Event:
        """Set once the socket is closed and cleaned up."""
        if self._ended is None:
            self._ended = asyncio.Event()
        return self._ended

    def push(self, event: Event | ServerFrame) -> None:
        if self._close is not None:
            return
        sender = self._sender
        if (
            sender is not None
            and not self._queue
            and self._live  # the welcome and the replay went first
            and sender.writable.is_set()
        ):
            self._write_now(event)  # nothing waits before it
            return
        if self._queue is None:
            self._queue = deque()
        if len(self._queue) >= self._limit:
            log.info("connection %s too slow: cut off", self.id)
            self._metrics.slow_consumers.inc()
            self.close(CloseCode.TOO_SLOW, "too slow: reconnect and resume")
            return
        self._queue.append(event)
        self._wake()

    def close(self, code: int, reason: str) -> None:
        """Close after what is queued is written (TOO_SLOW drops the queue)."""
        if self._close is None:
            self._close = (code, reason)
            if code == CloseCode.TOO_SLOW and self._queue is not None:
                self._queue.clear()
            self._wake()

    def start(self) -> None:
        """The welcome and the replay are out (`send_now`): from here frames are pushed,
        and what was pushed meanwhile goes first."""
        self._live = True
        self._wake()

    async def finish(self) -> None:
        """Close normally (unless a close was asked already) once what waits is written,
        and wait until it is."""
        self.close(CloseCode.NORMAL, "")
        if self._writer is not None:
            await self._writer

    def _wake(self) -> None:
        """A writer for what waits, or for the close, if none runs yet."""
        if not self._live or self._writer is not None:
            return
        if self._queue or (self._close is not None and self._close is not GONE):
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def send_now(self, frame: ServerFrame) -> None:
        """Write before the writer runs (welcome and replay go first)."""
        sender = self._sender
        if sender is None:
            self._count(frame)
            await self._ws.send_text(encode(frame).decode())
            return
        if not sender.writable.is_set():
            await sender.writable.wait()
        self._write_now(frame)
        if self._close is GONE:
            raise WebSocketDisconnect(GONE[0])

    def _write_now(self, event: Event | ServerFrame) -> None:
        """Straight to the transport (`_sender` is set)."""
        assert self._sender is not None
        frame, data = _encoded(event)
        self._count(frame)
        if not self._sender.send_text(data):
            self._gone()

    def _gone(self) -> None:
        """The peer left or the socket closed under us: drop the rest, end the writer."""
        self._close = GONE
        if self._queue is not None:
            self._queue.clear()
        self._wake()

    def _count(self, frame: ServerFrame) -> None:
        # exact types: isinstance on msgspec Structs costs ~0.1 us a check, per frame here
        if type(frame) in DELIVERIES:  # every transcript record delivered
            self._metrics.messages_out.inc()
        elif type(frame) is Error:
            self._metrics.errors.labels(frame.code).inc()

    async def _write(self) -> None:
        try:
            await self._drain()
            if self._close is not None and self._close is not GONE:
                await self._ws.close(*self._close)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the peer is gone; the reader notices too
        finally:
            self._writer = None

    async def _drain(self) -> None:
        """Write what is queued, in order, as fast as the transport takes it."""
        sender = self._sender
        while self._queue:
            if sender is None:
                await self.send_now(to_frame(self._queue.popleft()))
            elif not sender.writable.is_set():
                await sender.writable.wait()  # meanwhile TOO_SLOW may empty the queue
            else:
                self._write_now(self._queue.popleft())
        self._queue = None  # drained: most sockets never queue again (made when needed)
