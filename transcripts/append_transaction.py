"""The append transaction: a batch of drafts committed at once (see `group_commit`).

It locks the tips of the rooms involved (in id order), reads the drafts already
stored under their idempotency keys and the messages amendments and redactions
name, lets `batch_numbering` decide every record (rules, numbers, chain, seal),
inserts them, moves the tips, writes the outbox rows the rules asked for and
empties the ciphertexts redactions destroy. Numbers
are assigned inside that transaction, so `seq` and `position` stay gapless
with any number of writers on any number of machines.

Two shells around the same decisions: on SQLite the whole transaction is one
function on the writer's thread (`sqlite_writer`, plain `sqlite3`, statements
prepared once); on PostgreSQL it runs on the async engine, rows locked FOR UPDATE.

The idempotency keys are not looked up first: the drafts are taken as new and
the unique (room, sender, client id) index is the check. A refused draft may be
a resend, whose answer is the original's ack: its own key is looked up in the
same transaction. A resend (a key already stored, refused or not) rolls the
transaction back, and the batch is decided again with every key looked up; the
SQLite shell forgets only that batch's warm rooms. Resends are rare; the lookup,
one index probe per draft, cost about a tenth of the CPU of a message
(docs/benchmarks.md).
"""

import functools
import operator
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import TextualSelect, bindparam, insert, select, text, tuple_, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from transcripts import outbox, redaction
from transcripts.batch_numbering import (
    TIP_COLUMNS,
    Numbered,
    Numbering,
    Target,
    TargetKey,
    TipRow,
    idempotency_keys,
    target_keys,
)
from transcripts.database import Database
from transcripts.errors import TranscriptError
from transcripts.key_cache import KeyCache
from transcripts.outbox import insert_effects
from transcripts.schema import records, rooms
from transcripts.store_types import DraftLike, Record, RuledRoom, Rules

NumberingOf = Callable[
    [
        Sequence[TipRow],
        Sequence[Any],
        Mapping[TargetKey, Target],
        Mapping[str, RuledRoom],
        Mapping[redaction.Key, Sequence[Any]],
    ],
    Numbering,
]
TIP_INDEX = {name: at for at, name in enumerate(TIP_COLUMNS)}
WARM_ROOMS = 4096  # rooms whose last commit the SQLite shell remembers
Appended = tuple[list[Record | TranscriptError], list[Record]]
RECORD_COLUMNS = tuple(c.name for c in records.c)


class Appender:
    def __init__(self, db: Database, keys: KeyCache, rules: Rules | None = None) -> None:
        self.db = db
        self._keys = keys
        self._rules = rules  # the workflow's, checked inside the commit; None: none
        self._sqlite = None if db.appender is None else SqliteAppends(db.writer.dialect)

    async def reachable(self) -> bool:
        """Whether the database answers a write transaction at all: after a failed commit,
        tells a storage outage from one record's own fault."""
        try:
            if self.db.appender is not None:
                await self.db.appender.transaction(lambda conn: conn.execute("SELECT 1"))
            else:
                async with self.db.write() as conn:
                    await conn.execute(select(1))
        except Exception:
            return False
        return True

    async def append_batch(self, drafts: Sequence[DraftLike]) -> Appended:
        """Commit `drafts` in one transaction. Returns a result (or refusal) per draft, in
        order, and every record stored, in commit order (with the rules' follow-ups)."""
        try:
            numbered = await self._append(drafts, probe=False)
        except _Unsure:  # rolled back: decided again, every key looked up first
            numbered = await self._append(drafts, probe=True)
        return numbered.results, numbered.fresh

    async def _append(self, drafts: Sequence[DraftLike], probe: bool) -> Numbered:
        """One transaction. `probe`: look every draft's idempotency key up before deciding.
        Without it the drafts are taken as new and the unique key is the check: raises
        `_Unsure`, rolled back, when a draft's key is already stored (a refused draft's
        is looked up: a resend, refused or not, is answered with the original)."""
        if self.db.appender is not None and self._sqlite is not None:
            sql = self._sqlite
            try:
                return await self.db.appender.transaction(
                    lambda conn: sql.append(conn, drafts, self._numbering, probe)
                )
            except _Unsure:  # rolled back to decide again: only the batch's rooms moved
                sql.forget({d.room_id for d in drafts})
                raise
            except BaseException:
                sql.forget()  # rolled back: what it kept of the rooms may be ahead of them
                raise
        async with self.db.write() as conn:
            return await self._append_async(conn, drafts, probe)

    def _numbering(
        self,
        tips: Sequence[TipRow],
        stored: Sequence[Any],
        targets: Mapping[TargetKey, Target],
        warm: Mapping[str, RuledRoom] | None = None,
        redacting: Mapping[redaction.Key, Sequence[Any]] | None = None,
    ) -> Numbering:
        return Numbering(self._keys, self._rules, tips, stored, targets, warm, redacting)

    async def _append_async(
        self, conn: AsyncConnection, drafts: Sequence[DraftLike], probe: bool
    ) -> Numbered:
        room_ids = sorted({d.room_id for d in drafts})
        locked = select(*(rooms.c[name] for name in TIP_COLUMNS)).where(rooms.c.id.in_(room_ids))
        locked = locked.order_by(rooms.c.id).with_for_update()
        tips = [TipRow(*row) for row in await conn.execute(locked)]
        stored = await _stored_async(conn, drafts) if probe else []
        targets: dict[TargetKey, Target] = {}
        wanted = target_keys(drafts)
        if wanted:
            r = records.c
            query = select(r.room_id, r.channel, r.seq, r.sender_user, r.kind, r.redacted_by)
            query = query.where(tuple_(r.room_id, r.channel, r.seq).in_(wanted))
            for row in await conn.execute(query):
                redacted = row.redacted_by is not None
                targets[(row.room_id, row.channel, row.seq)] = (row.sender_user, row.kind, redacted)
        redacting: dict[redaction.Key, Sequence[Any]] = {}
        for key in redaction.keys(drafts):
            redacting[key] = (await conn.execute(redaction.candidates(key))).all()
        numbered = self._numbering(tips, stored, targets, None, redacting).run(drafts)
        refused = [] if probe else _refused(drafts, numbered)
        if refused and await _stored_async(conn, refused):
            raise _Unsure
        await insert_effects(conn, numbered.effects)
        if numbered.fresh:
            try:
                await conn.execute(insert(records), [_record_row(r) for r in numbered.fresh])
            except IntegrityError:
                _unsure_unless(probe)
                raise
            for names, moved in _by_columns(numbered.moved).items():
                await conn.execute(
                    update(rooms)
                    .where(rooms.c.id == bindparam("b_id"))
                    .values({name: bindparam("b_" + name) for name in names}),
                    [{"b_" + name: value for name, value in row.items()} for row in moved],
                )
        if numbered.destroyed:  # after the inserts: a target may be in this very batch
            await conn.execute(redaction.DESTROY, [d.values() for d in numbered.destroyed])
        return numbered


def _by_columns(moved: list[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """The rooms' updates grouped by the columns they set (one statement per group)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in moved:
        groups.setdefault(tuple(name for name in row if name != "id"), []).append(row)
    return groups


_record_values = operator.attrgetter(*RECORD_COLUMNS)  # a record's row, in column order
_tip_values = operator.attrgetter(*TIP_COLUMNS)


def _record_row(r: Record) -> dict[str, Any]:
    return {name: getattr(r, name) for name in RECORD_COLUMNS}


def _padded_size(count: int) -> int:
    return 1 << (count - 1).bit_length()


def _padded(keys: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The keys padded to a power of two (a repeated key matches nothing new), so a
    handful of statement shapes are prepared once."""
    return keys + [keys[-1]] * (_padded_size(len(keys)) - len(keys))


def _key_params(keys: list[tuple[str, str, str]]) -> dict[str, str]:
    """The keys bound as k{i}_0..2."""
    return {f"k{i}_{n}": v for i, key in enumerate(_padded(keys)) for n, v in enumerate(key)}


def _stored_text(size: int, placeholder: Callable[[int, int], str]) -> str:
    """Records matching `size` (room, sender, client id) keys.

    The keys are joined as a VALUES list: both databases then probe the unique
    (room, sender, client_id) index once per key, where a row-value IN scans (and
    gets slower as rooms grow), and one statement answers the whole batch.
    """
    wanted = ", ".join(
        "(" + ", ".join(placeholder(i, n) for n in range(3)) + ")" for i in range(size)
    )
    columns = ", ".join(f"records.{name}" for name in RECORD_COLUMNS)
    # Only our own column names and placeholders go into the text: the values are bound.
    sql = f"WITH wanted (room_id, sender_user, client_id) AS (VALUES {wanted}) "
    sql += f"SELECT {columns} FROM records JOIN wanted ON records.room_id = wanted.room_id"  # noqa: S608
    sql += " AND records.sender_user = wanted.sender_user AND records.client_id = wanted.client_id"
    return sql


@functools.lru_cache(maxsize=16)
def _lookup(size: int) -> TextualSelect:
    """The lookup for SQLAlchemy, keys bound as k{i}_0..2 (its `values()` recompiles its
    rows on every call, which cost more than the rest of the commit: hence text)."""
    return text(_stored_text(size, lambda i, n: f":k{i}_{n}")).columns(*records.c)


@functools.lru_cache(maxsize=16)
def _stored_sql(count: int) -> str:
    """The lookup for plain sqlite3, `count` keys padded, positional."""
    return _stored_text(_padded_size(count), lambda _i, _n: "?")


StoredRow = namedtuple("StoredRow", RECORD_COLUMNS)  # type: ignore[misc]  # a row, by name


class _Unsure(Exception):
    """A batch decided without looking its keys up may hold a draft stored before."""


def _refused(drafts: Sequence[DraftLike], numbered: Numbered) -> list[DraftLike]:
    """The drafts refused: any may be the resend of a stored one, whose answer is then
    the original's ack (a refused draft took no number: nothing else depends on it)."""
    results = zip(drafts, numbered.results, strict=True)
    return [draft for draft, result in results if isinstance(result, TranscriptError)]


async def _stored_async(conn: AsyncConnection, drafts: Sequence[DraftLike]) -> Sequence[Any]:
    """The records already stored under the drafts' idempotency keys (PostgreSQL)."""
    keys = idempotency_keys(drafts)
    return (await conn.execute(_lookup(_padded_size(len(keys))), _key_params(keys))).all()


def _unsure_unless(probe: bool) -> None:
    """A unique key refused the insert: most likely a draft stored before. Raise
    `_Unsure` to look the keys up, unless they were (then it is a fault: re-raised)."""
    if not probe:
        raise _Unsure


class SqliteAppends:
    """The append transaction's statements on plain `sqlite3`, run on the writer's thread.

    Values are converted as the SQLAlchemy schema does (its own processors, from the
    engine's dialect: JSON through msgspec, timestamps in SQLite's text format), so the
    rows read the same through either door. The statements are fixed text, one key per
    execution: SQLite's statement cache prepares each once and an indexed probe costs
    microseconds in-process.
    """

    TIPS = "SELECT {} FROM rooms WHERE id = ?".format(", ".join(TIP_COLUMNS))  # noqa: S608
    TARGET = (
        "SELECT sender_user, kind, redacted_by FROM records"
        " WHERE room_id = ? AND channel = ? AND seq = ?"
    )
    CANDIDATES = f"SELECT {', '.join(RECORD_COLUMNS)} FROM records WHERE {redaction.CANDIDATES}"  # noqa: S608
    INSERT = "INSERT INTO records ({}) VALUES ({})".format(  # noqa: S608
        ", ".join(RECORD_COLUMNS), ", ".join("?" * len(RECORD_COLUMNS))
    )

    def __init__(self, dialect: Dialect) -> None:
        def processor(name: str, kind: str) -> Callable[[Any], Any] | None:
            impl = rooms.c[name].type.dialect_impl(dialect)
            if kind == "bind":
                return impl.bind_processor(dialect)
            return impl.result_processor(dialect, None)

        self._read = {n: processor(n, "result") for n in TIP_COLUMNS}
        self._write = {c.name: processor(c.name, "bind") for c in rooms.c}
        # Each room as this shell's last commit left it: (its row as stored, read back,
        # ruled). A row that still reads the same is not decoded nor its rules loaded again.
        self._warm: dict[str, tuple[tuple[Any, ...], TipRow, RuledRoom | None]] = {}
        # SQLite's data_version as of that commit: while no other connection has committed
        # since, every warm room's row is exactly as it was left, and is not even read.
        self._version: int | None = None

    def forget(self, room_ids: Iterable[str] | None = None) -> None:
        """Drop what this shell kept of `room_ids` (all rooms: None), whose rules state a
        rolled-back batch may have moved ahead of their rows."""
        if room_ids is None:
            self._warm.clear()
            self._version = None
            return
        for room_id in room_ids:
            self._warm.pop(room_id, None)

    def append(
        self,
        conn: sqlite3.Connection,
        drafts: Sequence[DraftLike],
        numbering: NumberingOf,
        probe: bool,
    ) -> Numbered:
        """One append transaction on SQLite; `probe` as in `Appender._append`."""
        tips, raws, warm = [], {}, {}
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        alone = version == self._version  # no other writer since our last commit
        self._version = version  # (our own commits leave it as it is)
        for room_id in sorted({d.room_id for d in drafts}):
            kept = self._warm.get(room_id)
            raw = kept[0] if alone and kept is not None else None
            if raw is None:
                raw = conn.execute(self.TIPS, (room_id,)).fetchone()
            if raw is None:
                continue
            if kept is not None and kept[0] == raw:
                tips.append(kept[1])
                if kept[2] is not None:
                    warm[room_id] = kept[2]
            else:
                tips.append(TipRow(*self._converted(raw)))
            raws[room_id] = raw
        stored = self._stored(conn, drafts) if probe else []
        targets: dict[TargetKey, Target] = {}
        for target in target_keys(drafts):
            found = conn.execute(self.TARGET, target).fetchone()
            if found is not None:
                targets[target] = (found[0], found[1], found[2] is not None)
        redacting = {
            key: [StoredRow._make(row) for row in conn.execute(self.CANDIDATES, (*key, key[2]))]
            for key in redaction.keys(drafts)
        }
        batch = numbering(tips, stored, targets, warm, redacting)
        numbered = batch.run(drafts)
        refused = [] if probe else _refused(drafts, numbered)
        if refused and self._stored(conn, refused):
            raise _Unsure
        if numbered.effects:
            conn.executemany(outbox.SQLITE_INSERT, outbox.sqlite_params(numbered.effects))
        bound = [{n: self._bound(n, v) for n, v in row.items()} for row in numbered.moved]
        if numbered.fresh:
            try:
                conn.executemany(self.INSERT, map(_record_values, numbered.fresh))
            except sqlite3.IntegrityError:
                _unsure_unless(probe)
                raise
            for names, rows in _by_columns(bound).items():
                sets = ", ".join(f"{n} = ?" for n in names)
                conn.executemany(
                    f"UPDATE rooms SET {sets} WHERE id = ?",  # noqa: S608  (our column names)
                    [tuple(row[n] for n in (*names, "id")) for row in rows],
                )
        if numbered.destroyed:
            conn.executemany(redaction.DESTROY_SQL, [d.params() for d in numbered.destroyed])
        self._remember(tips, raws, numbered.moved, bound, batch.ruled())
        return numbered

    def _stored(self, conn: sqlite3.Connection, drafts: Sequence[DraftLike]) -> list[Any]:
        """The records already stored under the drafts' idempotency keys."""
        keys = idempotency_keys(drafts)
        params = [v for key in _padded(keys) for v in key]
        return [StoredRow._make(row) for row in conn.execute(_stored_sql(len(keys)), params)]

    def _remember(
        self,
        tips: list[TipRow],
        raws: dict[str, tuple[Any, ...]],
        moved: list[dict[str, Any]],
        bound: list[dict[str, Any]],
        ruled: dict[str, RuledRoom],
    ) -> None:
        """Keep each room as it will read after this commit (forgotten if it fails):
        `moved`, the columns written, as values and as `bound` for the database."""
        changes = {c["id"]: (c, as_bound) for c, as_bound in zip(moved, bound, strict=True)}
        for tip in tips:
            raw, row = raws[tip.id], tip
            change = changes.get(tip.id)
            if change is not None:
                stored, values = list(raw), list(_tip_values(tip))
                for name, value in change[0].items():
                    at = TIP_INDEX.get(name)
                    if at is not None:
                        stored[at], values[at] = change[1][name], value
                raw, row = tuple(stored), TipRow(*values)
            self._warm.pop(tip.id, None)  # re-inserted last: the oldest go first
            self._warm[tip.id] = (raw, row, ruled.get(tip.id))
        while len(self._warm) > WARM_ROOMS:
            del self._warm[next(iter(self._warm))]

    def _converted(self, row: tuple[Any, ...]) -> list[Any]:
        out = []
        for name, value in zip(TIP_COLUMNS, row, strict=True):
            process = self._read[name]
            out.append(value if process is None or value is None else process(value))
        return out

    def _bound(self, name: str, value: Any) -> Any:
        process = self._write[name]
        return value if process is None or value is None else process(value)
