"""The SQLite writer: inline on the loop while the write lock is free, on its own thread
(the loop going on) while another connection holds it, the WAL checkpointed off the loop."""

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from transcripts.database import SQLITE_PRAGMAS
from transcripts.sqlite_writer import CHECKPOINT_ROWS, SqliteWriter


@pytest.fixture
async def writer(tmp_path: Path) -> AsyncIterator[SqliteWriter]:
    opened = SqliteWriter(str(tmp_path / "w.db"), SQLITE_PRAGMAS)
    await opened.transaction(lambda c: c.execute("CREATE TABLE t (n INTEGER, pad BLOB)"))
    yield opened
    await opened.close()


def insert(rows: int, start: int = 0) -> Callable[[sqlite3.Connection], int]:
    """Inserts `rows` rows; returns the thread it ran on."""

    def work(conn: sqlite3.Connection) -> int:
        conn.executemany(
            "INSERT INTO t VALUES (?, ?)", [(start + n, bytes(200)) for n in range(rows)]
        )
        return threading.get_ident()

    return work


def count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        found: int = conn.execute("SELECT count(*) FROM t").fetchone()[0]
    return found


async def test_a_transaction_runs_on_the_loop_s_thread_while_the_lock_is_free(
    writer: SqliteWriter, tmp_path: Path
) -> None:
    assert await writer.transaction(insert(3)) == threading.get_ident()
    assert count(tmp_path / "w.db") == 3


async def test_while_another_connection_holds_the_lock_the_loop_goes_on_and_it_commits_after(
    writer: SqliteWriter, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "w.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    waiting = asyncio.create_task(writer.transaction(insert(2)))
    ticks = 0
    for _ in range(10):  # the loop is not stuck in the writer's busy wait
        await asyncio.sleep(0.02)
        ticks += 1
    assert ticks == 10 and not waiting.done()
    other.execute("COMMIT")
    other.close()
    assert await asyncio.wait_for(waiting, 5) != threading.get_ident()  # on its thread
    assert count(tmp_path / "w.db") == 2
    assert await writer.transaction(insert(1, 2)) == threading.get_ident()  # inline again


async def test_a_failed_transaction_rolls_back_on_either_path(
    writer: SqliteWriter, tmp_path: Path
) -> None:
    def half_then_fail(conn: sqlite3.Connection) -> None:
        insert(5)(conn)
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await writer.transaction(half_then_fail)
    other = sqlite3.connect(tmp_path / "w.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    failing = asyncio.create_task(writer.transaction(half_then_fail))
    await asyncio.sleep(0.05)
    other.execute("COMMIT")
    other.close()
    with pytest.raises(ValueError, match="refused"):
        await failing
    assert count(tmp_path / "w.db") == 0
    await writer.transaction(insert(1))  # the connection is usable: no transaction left open
    assert count(tmp_path / "w.db") == 1


async def test_the_wal_is_checkpointed_into_the_database_file_off_the_loop(
    writer: SqliteWriter, tmp_path: Path
) -> None:
    database = tmp_path / "w.db"
    before = database.stat().st_size
    for start in range(0, CHECKPOINT_ROWS + 100, 100):
        await writer.transaction(insert(100, start))
    for _ in range(50):
        if database.stat().st_size > before + CHECKPOINT_ROWS * 200:
            break
        await asyncio.sleep(0.1)
    assert database.stat().st_size > before + CHECKPOINT_ROWS * 200  # the rows' pages copied
    assert count(database) == CHECKPOINT_ROWS + 100


async def test_the_wal_starts_over_after_each_checkpoint_however_busy_the_writer(
    writer: SqliteWriter, tmp_path: Path
) -> None:
    """SQLite starts the WAL over only once a checkpoint has copied all of it: one run
    beside the commits never catches up with them (tried: the WAL grew by a gigabyte in
    25 s of saturated load), so commits wait for it on the writer's thread."""
    for start in range(0, CHECKPOINT_ROWS * 4, 500):
        await writer.transaction(insert(500, start))
        await asyncio.sleep(0)  # the loop goes round between commits, as when serving
    rows_bytes = CHECKPOINT_ROWS * 200
    assert (tmp_path / "w.db-wal").stat().st_size < 2 * rows_bytes
    assert count(tmp_path / "w.db") == CHECKPOINT_ROWS * 4
