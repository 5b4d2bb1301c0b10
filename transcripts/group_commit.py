"""Group commit: many appends, one transaction, then every ack.

Drafts queue up while a commit is in flight and go together in the next
one, so the batch grows with the load. Under a light load each commit would
carry one or two drafts and pay its fixed cost (a transaction, an fsync, a
thread hop) for each: a small batch lingers a moment (`linger`) for company.
After the commit the `committed` callback sees every record in commit order, before any waiter
is woken: fan-out never depends on the sender still being around.

Only a failure of storage itself fails a whole batch. A draft that fails on
its own (a value the database refuses, a bug: the database still answers)
is found by committing the batch in halves, and only it is refused: its
neighbours, from any room, are stored as if it had never been there.

When storage fails, a sender's later messages must not be stored before
the one that failed: the failed draft's origin (its connection) is fenced,
so everything it has queued or still sends is refused too, until the
connection is gone and the client resends its backlog, in order, afresh.
"""

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from transcripts.errors import StoreUnavailable, TranscriptError
from transcripts.store import TranscriptStore
from transcripts.store_types import DraftLike, Record

log = logging.getLogger(__name__)

Committed = Callable[[Sequence[Record]], None]
BatchObserver = Callable[[int, float], None]
Appended = tuple[list[Record | TranscriptError], list[Record]]


@dataclass(frozen=True, slots=True)
class GroupCommitConfig:
    max_batch: int = 512
    linger: float = 0.0  # seconds a small batch waits for company before it commits
    small: int = 16  # fewer drafts than this waiting: a small batch (more: it goes at once)


class GroupCommitter:
    def __init__(
        self,
        store: TranscriptStore,
        committed: Committed,
        config: GroupCommitConfig = GroupCommitConfig(),
        observe: BatchObserver | None = None,
    ) -> None:
        self._store = store
        self._committed = committed
        self._config = config
        self._observe = observe
        self._pending: list[tuple[DraftLike, asyncio.Future[Record]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._fenced: set[str] = set()

    def append(self, draft: DraftLike) -> asyncio.Future[Record]:
        if self._closing:
            raise StoreUnavailable("the server is shutting down")
        future: asyncio.Future[Record] = asyncio.get_running_loop().create_future()
        if draft.origin in self._fenced:
            future.set_exception(StoreUnavailable("an earlier message of yours was not stored"))
            return future
        self._pending.append((draft, future))
        self._wakeup.set()
        return future

    def forget(self, origin: str) -> None:
        """The connection is gone: its fence, if any, goes with it."""
        self._fenced.discard(origin)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit")

    async def close(self) -> None:
        """Commit everything already accepted, then stop. Safe to call twice."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                if self._config.linger and len(self._pending) < self._config.small:
                    await asyncio.sleep(self._config.linger)  # a light load: share one commit
                batch = self._pending[: self._config.max_batch]
                del self._pending[: self._config.max_batch]
                await self._commit(batch)
            if self._closing:
                return

    async def _commit(self, batch: list[tuple[DraftLike, asyncio.Future[Record]]]) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        results, fresh = await self._attempt([draft for draft, _ in batch])
        if self._observe is not None:
            self._observe(len(batch), loop.time() - started)
        self._committed(fresh)
        for (draft, future), result in zip(batch, results, strict=True):
            if isinstance(result, StoreUnavailable) and draft.origin:  # server-made: no fence
                self._fenced.add(draft.origin)
            if not future.done():
                if isinstance(result, Record):
                    future.set_result(result)
                else:
                    future.set_exception(result)
        if self._fenced:
            self._refuse_fenced()

    def _refuse_fenced(self) -> None:
        kept = []
        for draft, future in self._pending:
            if draft.origin in self._fenced:
                if not future.done():
                    future.set_exception(StoreUnavailable("an earlier message was not stored"))
            else:
                kept.append((draft, future))
        self._pending[:] = kept

    async def _attempt(self, drafts: list[DraftLike]) -> Appended:
        try:
            return await self._store.append_batch(drafts)
        except Exception as exc:  # nothing was committed: the transaction rolled back
            failure = exc
        if is_outage(failure) or not await self._store.reachable():
            log.warning("append batch failed: %s", failure.__class__.__name__)
            return [StoreUnavailable("the message store is unavailable") for _ in drafts], []
        if len(drafts) == 1:
            return [_refusal(failure)], []
        return await self._isolate(drafts)

    async def _isolate(self, drafts: list[DraftLike]) -> Appended:
        """One draft the store cannot take must not sink its neighbours: commit the two
        halves apart, in order, and so on down to the draft at fault. A sender whose
        draft met an outage in the first half has its later ones refused, not stored."""
        results: list[Record | TranscriptError] = []
        fresh: list[Record] = []
        half = len(drafts) // 2
        for part in (drafts[:half], drafts[half:]):
            lost = {
                draft.origin
                for draft, result in zip(drafts, results, strict=False)
                if isinstance(result, StoreUnavailable) and draft.origin
            }
            tried = [draft for draft in part if draft.origin not in lost]
            outcomes, stored = await self._attempt(tried) if tried else ([], [])
            answers = iter(outcomes)
            for draft in part:
                if draft.origin in lost:
                    results.append(StoreUnavailable("an earlier message was not stored"))
                else:
                    results.append(next(answers))
            fresh += stored
        return results, fresh


_OUTAGES = (
    OperationalError,
    sqlite3.OperationalError,  # the SQLite writer's own: locked past busy_timeout, disk I/O
    sqlite3.InterfaceError,
    InterfaceError,
    PoolTimeout,
    DisconnectionError,
    OSError,
    TimeoutError,
)


def is_outage(exc: Exception) -> bool:
    """Storage itself surely failed (database gone, connection lost, a timeout): the whole
    batch shares it. For anything else the store is asked whether it still answers: if it
    does, the failure (a value the database refuses, a bug) is some draft's own."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, _OUTAGES)


def _refusal(exc: Exception) -> TranscriptError:
    """Why a draft that fails on its own is not stored. Not `unavailable` (which closes its
    socket and counts as an outage) unless the database refused it: a race, resent later."""
    if isinstance(exc, IntegrityError | sqlite3.IntegrityError):
        log.error("append refused by the database", exc_info=exc)
        return StoreUnavailable("the database refused this message")
    if isinstance(exc, TranscriptError):  # e.g. its room was shredded
        return exc
    log.error("a message could not be stored", exc_info=exc)
    return TranscriptError("this message could not be stored: a fault on our side")
