"""One socket's outgoing side: a bounded queue drained by a single writer.

Everything a client receives passes through here in order. A client that
falls `limit` frames behind is cut off with TOO_SLOW rather than let the
queue grow: it reconnects and resumes with `since`, and the room never
waits for it.

A socket that never says hello costs little: the queue and the events are
made when first needed.
"""

import asyncio
import itertools
import logging
from collections import deque

from starlette.websockets import WebSocket, WebSocketDisconnect

from mediation.metrics import Metrics
from mediation.protocol.codec import encode, to_frame
from mediation.protocol.codes import CloseCode
from mediation.protocol.frames import Error, EventFrame, Message, ServerFrame
from rooms.ports import Event

log = logging.getLogger(__name__)
_ids = itertools.count(1)


class Connection:
    __slots__ = (
        "_close",
        "_ended",
        "_limit",
        "_metrics",
        "_queue",
        "_wakeup",
        "_ws",
        "draining",
        "id",
    )

    def __init__(self, ws: WebSocket, node: str, limit: int, metrics: Metrics) -> None:
        self.id = f"{node}:{next(_ids)}"
        self._ws = ws
        self._metrics = metrics
        self._limit = limit
        self._queue: deque[Event | ServerFrame] | None = None
        self._wakeup: asyncio.Event | None = None  # once the writer runs
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

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    async def send_now(self, frame: ServerFrame) -> None:
        """Write before the writer runs (welcome and replay go first)."""
        self._count(frame)
        await self._ws.send_text(encode(frame))

    def _count(self, frame: ServerFrame) -> None:
        if isinstance(frame, Message | EventFrame):  # every transcript record delivered
            self._metrics.messages_out.inc()
        elif isinstance(frame, Error):
            self._metrics.errors.labels(frame.code).inc()

    async def write_loop(self) -> None:
        self._wakeup = wakeup = asyncio.Event()
        wakeup.set()  # what was queued before the writer ran goes first
        try:
            while True:
                await wakeup.wait()
                wakeup.clear()
                while self._queue:
                    await self.send_now(to_frame(self._queue.popleft()))
                if self._close is not None:
                    await self._ws.close(*self._close)
                    return
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the peer is gone; the reader notices too
