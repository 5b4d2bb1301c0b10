"""The SQLite writer: one connection on one thread, a whole transaction per hop.

Through an async driver every statement of a commit is a round trip to a
worker thread and back (a queue, a wake-up of the event loop, a GIL hand-off):
at a steady load, with small batches, those hops cost more than the work.
Here a transaction is one plain function run on the writer's own thread with
the standard `sqlite3` driver: BEGIN IMMEDIATE, its statements, COMMIT, and a
single wake-up of the loop when it is durable.

Same pragmas as every other connection (WAL, synchronous=FULL, busy_timeout):
the other writers of the file (the SQLAlchemy engine's cold paths, the CLI,
another process) wait for the write lock on their own threads, never on the
event loop.
"""

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class SqliteWriter:
    def __init__(self, path: str, pragmas: tuple[str, ...]) -> None:
        self._path = path
        self._pragmas = pragmas
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._conn: sqlite3.Connection | None = None  # opened on the writer's thread

    async def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one write transaction on the writer's thread; committed when it
        returns, rolled back when it raises."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._run, work)

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            try:
                for pragma in self._pragmas:
                    conn.execute(pragma)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
