"""The SQLite writer: one connection, a whole transaction in one plain function call.

Through an async driver every statement of a commit is a round trip to a
worker thread and back (a queue, a wake-up of the event loop, a GIL hand-off):
at a steady load, with small batches, those hops cost more than the work. Here
a transaction is one function run with the standard `sqlite3` driver:
BEGIN IMMEDIATE, its statements, COMMIT.

It runs on the event loop's own thread when the write lock is free at once.
On a thread it would hand the GIL back and forth on every statement (sqlite3
releases it around each step), and each hand-off costs more than the statement
(measured in docs/benchmarks.md); inline, the loop waits only for the COMMIT's
fsync. When another connection holds the lock (the SQLAlchemy engine's cold
paths, the CLI, another process), the transaction goes to the writer's own
thread, which waits for it (busy_timeout) while the loop goes on; so does the
first one, which opens the connection.

The WAL is checkpointed on the writer's thread too, every `CHECKPOINT_ROWS`
rows written (SQLite's own would run inside a COMMIT every 1,000 pages): a
checkpoint copies and syncs the database file, which the loop should not wait
for. Commits wait for it there: SQLite starts the WAL over only once a
checkpoint has copied all of it, and one run beside the commits (on a
connection of its own) never catches up, so the WAL grew without bound.
Same pragmas as every other connection (WAL, synchronous=FULL), except that
this one never waits for a lock inline.
"""

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)

CHECKPOINT_ROWS = 20_000  # rows written between two checkpoints of the WAL (on the thread)


class SqliteWriter:
    def __init__(self, path: str, pragmas: tuple[str, ...]) -> None:
        self._path = path
        self._pragmas = pragmas
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._conn: sqlite3.Connection | None = None  # opened on the writer's thread
        self._busy_timeout = 0  # ms the pragmas give: waited on the writer's thread only
        self._on_thread = 0  # transactions or checkpoints given to the thread, not done
        self._checkpoint: asyncio.Future[None] | None = None
        self._checkpointed_at = 0  # the connection's total_changes when the last one began

    async def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one write transaction; committed when it returns, rolled back
        when it raises."""
        conn = self._conn
        if conn is not None and not self._on_thread and self._locked_at_once(conn):
            result = self._run(conn, work)
        else:
            result = await self._on_writer_thread(self._wait_and_run, work)
        self._checkpoint_if_grown()
        return result

    def _locked_at_once(self, conn: sqlite3.Connection) -> bool:
        try:
            conn.execute("BEGIN IMMEDIATE")  # busy_timeout 0: refused at once when locked
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
                return False
            raise
        return True

    def _wait_and_run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._connection()
        conn.execute(f"PRAGMA busy_timeout={self._busy_timeout}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        finally:
            conn.execute("PRAGMA busy_timeout=0")
        return self._run(conn, work)

    def _run(self, conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work` inside the transaction BEGIN IMMEDIATE opened."""
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    async def _on_writer_thread(self, call: Callable[..., T], *args: object) -> T:
        self._on_thread += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, call, *args)
        finally:
            self._on_thread -= 1

    def _checkpoint_if_grown(self) -> None:
        if self._conn is None or (self._checkpoint is not None and not self._checkpoint.done()):
            return
        written = self._conn.total_changes
        if written - self._checkpointed_at >= CHECKPOINT_ROWS:
            self._checkpointed_at = written
            self._checkpoint = asyncio.ensure_future(self._on_writer_thread(self._checkpointed))
            self._checkpoint.add_done_callback(_retrieved)

    def _checkpointed(self) -> None:
        """Copy the WAL into the database file (PASSIVE: readers are not waited for, and
        what they still need stays in the WAL for a later one)."""
        self._connection().execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            try:
                for pragma in self._pragmas:
                    conn.execute(pragma)
                self._busy_timeout = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
                conn.execute("PRAGMA busy_timeout=0")
                conn.execute("PRAGMA wal_autocheckpoint=0")  # _checkpoint_if_grown does it
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    async def close(self) -> None:
        if self._checkpoint is not None:
            await asyncio.wait([self._checkpoint])
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _retrieved(done: "asyncio.Future[None]") -> None:
    """A failed checkpoint is tried again after the next `CHECKPOINT_ROWS` rows; a lasting
    cause (a full disk) fails the commits themselves."""
    if not done.cancelled() and (exc := done.exception()) is not None:
        log.warning("WAL checkpoint failed: %s", exc)
