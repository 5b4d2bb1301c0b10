"""Live updates of the moderator queue: who watches it, and telling them a room changed.

Any record can change a room's place in the queue (a claim, a party's
message starting its wait, an alarm), so every commit touches its rooms.
Touches are coalesced: a room is announced at most once per `interval`,
so a busy room costs a console a few re-reads a second, not one per
message. Announcements go to this process's watchers and, through the
broker, to every other process's.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

WATCHER_BACKLOG = 256  # a watcher this far behind only needs to re-read the queue once


class QueueFeed:
    def __init__(self, publish: Callable[[str], None], interval: float = 0.25) -> None:
        self._publish = publish  # to the other processes
        self._interval = interval
        self._watchers: set[asyncio.Queue[str | None]] = set()
        self._touched: set[str] = set()
        self._flush_at: asyncio.TimerHandle | None = None

    def touched(self, room_id: str) -> None:
        """A room changed here: announce it soon, to everyone."""
        self._touched.add(room_id)
        if self._flush_at is None:
            self._flush_at = asyncio.get_running_loop().call_later(self._interval, self._flush)

    def remote(self, room_id: str) -> None:
        """Another process announced a room (it coalesced already)."""
        self._tell(room_id)

    @contextlib.asynccontextmanager
    async def watch(self) -> AsyncIterator["asyncio.Queue[str | None]"]:
        """Room ids as they change; None once the server is shutting down."""
        changes: asyncio.Queue[str | None] = asyncio.Queue(WATCHER_BACKLOG)
        self._watchers.add(changes)
        try:
            yield changes
        finally:
            self._watchers.discard(changes)

    def close(self) -> None:
        for changes in self._watchers:
            with contextlib.suppress(asyncio.QueueFull):
                changes.put_nowait(None)

    def _flush(self) -> None:
        self._flush_at = None
        rooms, self._touched = self._touched, set()
        for room_id in sorted(rooms):
            self._tell(room_id)
            self._publish(room_id)

    def _tell(self, room_id: str) -> None:
        for changes in self._watchers:
            with contextlib.suppress(asyncio.QueueFull):  # it will re-read the whole queue
                changes.put_nowait(room_id)
