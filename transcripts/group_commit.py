"""Group commit: many appends, one transaction, then every ack.

Drafts queue up while a commit is in flight and go together in the next
one, so the batch grows with the load and a lone message waits for nobody
(optionally `linger` a moment to gather more). After the commit the
`committed` callback sees every record in commit order, before any waiter
is woken: fan-out never depends on the sender still being around.

When storage fails, a sender's later messages must not be stored before
the one that failed: the failed draft's origin (its connection) is fenced,
so everything it has queued or still sends is refused too, until the
connection is gone and the client resends its backlog, in order, afresh.
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from transcripts.errors import StoreUnavailable, TranscriptError
from transcripts.store import DraftLike, Record, TranscriptStore

log = logging.getLogger(__name__)

Committed = Callable[[Sequence[Record]], None]
BatchObserver = Callable[[int, float], None]
Appended = tuple[list[Record | TranscriptError], list[Record]]


@dataclass(frozen=True, slots=True)
class GroupCommitConfig:
    max_batch: int = 512
    linger: float = 0.0  # seconds to wait for company once a batch has begun


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
            if self._config.linger and self._pending:
                await asyncio.sleep(self._config.linger)
            while self._pending:
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
        except IntegrityError:
            # One bad draft must not sink its neighbours: isolate it.
            if len(drafts) > 1:
                results: list[Record | TranscriptError] = []
                fresh: list[Record] = []
                for draft in drafts:
                    one, stored = await self._attempt([draft])
                    results += one
                    fresh += stored
                return results, fresh
            log.exception("append refused by the database")
            return [StoreUnavailable("the database refused this message")], []
        except Exception as exc:  # outage: nothing was committed
            log.warning("append batch failed: %s", exc.__class__.__name__)
            return [StoreUnavailable("the message store is unavailable") for _ in drafts], []
