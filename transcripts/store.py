"""The transcript store: rooms' keys and tips, and their sealed records.

Appends come in batches (see `group_commit`): one transaction locks the
tips of the rooms involved, numbers the records, seals and chains them,
inserts them, and moves the tips. Numbers are assigned inside that
transaction, so `seq` and `position` stay gapless with any number of
writers on any number of machines.
"""

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol

import msgspec
from sqlalchemy import Row, TextualSelect, bindparam, case, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from transcripts import chain
from transcripts.database import Database
from transcripts.envelope import RoomCipher
from transcripts.errors import Refused, RoomNotWritable, Shredded, TranscriptError, UnknownRoom
from transcripts.key_encryption_keys import Keyring, new_key
from transcripts.numbers import MAX_SEQ
from transcripts.schema import records, rooms
from transcripts.sealed_facts import FactsSeals, seal_facts

log = logging.getLogger(__name__)

MESSAGE = "message"
AMENDMENTS = ("edit", "retract")  # kinds whose body names a target message: {"target": seq}
CLOSED = "closed"
PRIORITIES = ("urgent", "high", "normal", "low")  # Zendesk's ticket priorities, most urgent first
CIPHER_TTL = 60.0  # seconds a process keeps a room's data key before looking again


class DraftLike(Protocol):
    @property
    def room_id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def sender_user(self) -> str: ...
    @property
    def sender_role(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def kind(self) -> str: ...


class RuledRoom(Protocol):
    """One room under the workflow's rules, for the length of one commit."""

    @property
    def state(self) -> str: ...

    def apply(self, record: "Record") -> Sequence[DraftLike]:
        """Check `record` (numbered, not yet stored) and take it into account: raise
        Refused to keep it out; return records the server adds right after it."""
        ...

    def columns(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """What to write with the tip: the facts to seal under the room's data key, and
        the room columns (`workflow`, the facts kept in clear, and the queue's)."""
        ...


class Rules(Protocol):
    """The workflow's rules, supplied from above and applied inside every commit, on the
    locked tip: racing claims, settlements and alarms are decided exactly once."""

    def load(self, state: str, workflow: dict[str, Any]) -> RuledRoom:
        """The room with its facts: those kept in clear and the sealed ones, opened."""
        ...

    def opened(self, state: str, ts: str) -> RuledRoom: ...


class SealedFields(Protocol):
    """A record as stored: header fields, chain hash and ciphertext."""

    @property
    def room_id(self) -> str: ...
    @property
    def position(self) -> int: ...
    @property
    def channel(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def sender_user(self) -> str: ...
    @property
    def sender_role(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def ts(self) -> str: ...
    @property
    def hash(self) -> bytes: ...
    @property
    def sealed(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Record:
    room_id: str
    position: int
    channel: str
    seq: int
    kind: str
    sender_user: str
    sender_role: str
    client_id: str
    body: str
    ts: str
    hash: bytes
    sealed: bytes  # the ciphertext as stored: what may travel between processes
    origin: str = ""
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class RoomRow:
    id: str
    ticket_provider: str
    ticket_id: str
    client_user: str
    freelancer_user: str
    state: str
    created_at: datetime
    position: int
    priority: str = "normal"
    moderator: str | None = None
    tier: int = 1
    waiting_since: datetime | None = None
    due_at: datetime | None = None
    workflow: dict[str, Any] | None = None  # the facts: in clear and sealed, opened
    shredded: bool = False  # its data key was destroyed under retention: nothing is readable


@dataclass(slots=True)
class _Tip:
    position: int
    chain_head: bytes
    heads: dict[str, int]
    state: str
    ruled: RuledRoom | None


ROOM_COLUMNS = (  # in RoomRow's field order
    rooms.c.id,
    rooms.c.ticket_provider,
    rooms.c.ticket_id,
    rooms.c.client_user,
    rooms.c.freelancer_user,
    rooms.c.state,
    rooms.c.created_at,
    rooms.c.position,
    rooms.c.priority,
    rooms.c.moderator,
    rooms.c.tier,
    rooms.c.waiting_since,
    rooms.c.due_at,
    rooms.c.workflow,
    rooms.c.wrapped_key.is_(None).label("shredded"),
)
KEY_COLUMNS = (rooms.c.kek_id, rooms.c.wrapped_key, rooms.c.sealed_facts)  # to open the facts


def header_of(record: "SealedFields | Record | Row[Any]") -> bytes:
    """The canonical header of a record, or of a stored row (same field names)."""
    return chain.header(
        record.room_id,
        record.position,
        record.channel,
        record.seq,
        record.kind,
        record.sender_user,
        record.sender_role,
        record.client_id,
        record.ts,
    )


class _Amendment(msgspec.Struct):
    target: Annotated[int, msgspec.Meta(ge=1, le=MAX_SEQ)]


_decode_amendment = msgspec.json.Decoder(_Amendment).decode


def amendment_target(body: str) -> int:
    """The seq an edit or retraction names; ValueError unless it is one we could have given."""
    try:
        return _decode_amendment(body).target
    except msgspec.DecodeError:
        raise ValueError("an amendment names its target message by its seq") from None


def utc_timestamp(at: datetime | None = None) -> str:
    moment = at or datetime.now(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@functools.lru_cache(maxsize=16)
def _lookup(size: int) -> TextualSelect:
    """Records matching `size` (room, sender, client id) keys bound as k{i}_0..2."""
    wanted = ", ".join(f"(:k{i}_0, :k{i}_1, :k{i}_2)" for i in range(size))
    columns = ", ".join(f"records.{c.name}" for c in records.c)
    # Only our own column names and placeholders go into the text: the values are bound.
    sql = f"WITH wanted (room_id, sender_user, client_id) AS (VALUES {wanted}) "
    sql += f"SELECT {columns} FROM records JOIN wanted ON records.room_id = wanted.room_id"  # noqa: S608
    sql += " AND records.sender_user = wanted.sender_user AND records.client_id = wanted.client_id"
    return text(sql).columns(*records.c)


class TranscriptStore:
    def __init__(
        self,
        db: Database,
        keyring: Keyring,
        reload: Callable[[], Keyring] | None = None,
        rules: Rules | None = None,
    ) -> None:
        self.db = db
        self.keyring = keyring
        self._rules = rules  # the workflow's, checked inside the commit; None: none
        self._reload = reload  # re-reads the keyring: keys may rotate while we run
        self._ciphers: dict[str, tuple[RoomCipher, float]] = {}  # with when it was loaded
        self._facts = FactsSeals()

    async def set_state(self, room_id: str, state: str) -> None:
        closed_at = datetime.now(UTC) if state == CLOSED else None
        async with self.db.write() as conn:
            await conn.execute(
                update(rooms).where(rooms.c.id == room_id).values(state=state, closed_at=closed_at)
            )

    def refresh_keyring(self) -> None:
        if self._reload is not None:
            self.keyring = self._reload()

    async def create_room(
        self,
        room_id: str,
        ticket_provider: str,
        ticket_id: str,
        client_user: str,
        freelancer_user: str,
        state: str,
        priority: str = "normal",
    ) -> RoomRow:
        self.refresh_keyring()  # wrap under the key that is active now
        data_key = new_key()
        kek_id, wrapped = self.keyring.wrap(room_id, data_key)
        now = datetime.now(UTC)
        ruled = None if self._rules is None else self._rules.opened(state, utc_timestamp(now))
        private, columns = ruled.columns() if ruled is not None else ({}, {})
        row = RoomRow(
            room_id,
            ticket_provider,
            ticket_id,
            client_user,
            freelancer_user,
            state,
            now,
            0,
            priority,
            **columns,
        )
        async with self.db.write() as conn:
            await conn.execute(
                insert(rooms).values(
                    id=row.id,
                    ticket_provider=row.ticket_provider,
                    ticket_id=row.ticket_id,
                    client_user=row.client_user,
                    freelancer_user=row.freelancer_user,
                    state=row.state,
                    created_at=row.created_at,
                    kek_id=kek_id,
                    wrapped_key=wrapped,
                    position=0,
                    chain_head=chain.GENESIS,
                    heads={},
                    priority=priority,
                    workflow=row.workflow or {},
                    sealed_facts=seal_facts(RoomCipher(room_id, data_key), private),
                    moderator=row.moderator,
                    tier=row.tier,
                    waiting_since=row.waiting_since,
                    due_at=row.due_at,
                )
            )
        return replace(row, workflow={**(row.workflow or {}), **private})

    async def room(self, room_id: str) -> RoomRow | None:
        return await self._one_room(rooms.c.id == room_id)

    async def queue(
        self,
        states: Sequence[str],
        limit: int,
        tier: int | None = None,
        moderator: str | None = None,
    ) -> list[RoomRow]:
        """Rooms in `states`, most urgent first: by ticket priority, then by how long a
        party has waited (rooms nobody waits in come last)."""
        where: list[ColumnElement[bool]] = [rooms.c.state.in_(states)]
        if tier is not None:
            where.append(rooms.c.tier == tier)
        if moderator is not None:
            where.append(rooms.c.moderator == moderator)
        rank = case({p: i for i, p in enumerate(PRIORITIES)}, value=rooms.c.priority, else_=2)
        query = (
            select(*ROOM_COLUMNS, *KEY_COLUMNS)
            .where(*where)
            .order_by(rank, rooms.c.waiting_since.is_(None), rooms.c.waiting_since, rooms.c.id)
            .limit(limit)
        )
        return await self._rooms(query)

    async def rooms_due(self, now: datetime, limit: int) -> list[RoomRow]:
        """Rooms with a response clock alarm due by `now`, the most overdue first."""
        query = (
            select(*ROOM_COLUMNS, *KEY_COLUMNS)
            .where(rooms.c.due_at <= now, rooms.c.state != CLOSED)
            .order_by(rooms.c.due_at)
            .limit(limit)
        )
        return await self._rooms(query)

    async def rooms_between(self, start: datetime, end: datetime, limit: int) -> list[RoomRow]:
        """Rooms opened in [start, end), oldest first: what reports cover."""
        query = (
            select(*ROOM_COLUMNS, *KEY_COLUMNS)
            .where(rooms.c.created_at >= start, rooms.c.created_at < end)
            .order_by(rooms.c.created_at, rooms.c.id)
            .limit(limit)
        )
        return await self._rooms(query)

    async def _rooms(self, query: Any) -> list[RoomRow]:
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [await self._room_row(row) for row in rows]

    async def _room_row(self, row: Row[*tuple[Any, ...]]) -> RoomRow:
        """A room read as ROOM_COLUMNS + KEY_COLUMNS, with its sealed facts opened."""
        found = RoomRow(*row[: len(ROOM_COLUMNS)])
        opened = await self._open_facts(row.id, row.kek_id, row.wrapped_key, row.sealed_facts)
        return replace(found, workflow={**(found.workflow or {}), **opened}) if opened else found

    async def open_room_for_ticket(self, provider: str, ticket_id: str) -> RoomRow | None:
        return await self._one_room(
            (rooms.c.ticket_provider == provider)
            & (rooms.c.ticket_id == ticket_id)
            & (rooms.c.state != CLOSED)
        )

    async def rooms_for_ticket(self, provider: str, ticket_id: str) -> list[RoomRow]:
        """Every room a ticket has had, the newest first (only the newest may be open)."""
        query = (
            select(*ROOM_COLUMNS, *KEY_COLUMNS)
            .where(rooms.c.ticket_provider == provider, rooms.c.ticket_id == ticket_id)
            .order_by(rooms.c.created_at.desc())
        )
        return await self._rooms(query)

    async def heads(self, room_id: str) -> dict[str, int]:
        async with self.db.read() as conn:
            heads = await conn.scalar(select(rooms.c.heads).where(rooms.c.id == room_id))
        return dict(heads or {})

    async def tip(self, room_id: str) -> tuple[int, bytes, bool] | None:
        """The room's last position and chain hash, and whether it was shredded."""
        query = select(
            rooms.c.position, rooms.c.chain_head, rooms.c.wrapped_key.is_(None).label("shredded")
        ).where(rooms.c.id == room_id)
        async with self.db.read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else (row.position, row.chain_head, bool(row.shredded))

    async def rows_by_position(
        self, room_id: str, after: int, upto: int, limit: int
    ) -> Sequence[Row[Any]]:
        """Stored rows, sealed, of every channel with after < position <= upto, in order."""
        query = (
            select(records)
            .where(
                records.c.room_id == room_id, records.c.position > after, records.c.position <= upto
            )
            .order_by(records.c.position)
            .limit(limit)
        )
        async with self.db.read() as conn:
            return (await conn.execute(query)).all()

    async def read(
        self, room_id: str, channel: str, after: int, upto: int, limit: int
    ) -> list[Record]:
        query = (
            select(records)
            .where(
                records.c.room_id == room_id,
                records.c.channel == channel,
                records.c.seq > after,
                records.c.seq <= upto,
            )
            .order_by(records.c.seq)
            .limit(limit)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [await self.unseal(row) for row in rows]

    async def reachable(self) -> bool:
        """Whether the database answers a write transaction at all: after a failed commit,
        tells a storage outage from one record's own fault."""
        try:
            async with self.db.write() as conn:
                await conn.execute(select(1))
        except Exception:
            return False
        return True

    async def append_batch(
        self, drafts: Sequence[DraftLike]
    ) -> tuple[list[Record | TranscriptError], list[Record]]:
        """Commit `drafts` in one transaction. Returns a result (or refusal) per draft, in
        order, and every record stored, in commit order (with the rules' follow-ups)."""
        results: list[Record | TranscriptError] = []
        async with self.db.write() as conn:
            tips = await self._lock_tips(conn, sorted({d.room_id for d in drafts}))
            known = await self._stored(conn, drafts)
            fresh: list[Record] = []
            for draft in drafts:
                result = known.get((draft.room_id, draft.sender_user, draft.client_id))
                if result is not None:
                    results.append(replace(result, origin=draft.origin, duplicate=True))
                    continue
                refusal = (  # only amendments need a look at their target
                    await self._check_target(conn, draft) if draft.kind in AMENDMENTS else None
                )
                outcome = refusal or await self._number(tips, draft)
                if isinstance(outcome, TranscriptError):
                    results.append(outcome)
                    continue
                known[(draft.room_id, draft.sender_user, draft.client_id)] = outcome[0]
                fresh.extend(outcome)
                results.append(outcome[0])
            if fresh:
                await self._insert(conn, fresh, tips)
        return results, fresh

    async def _check_target(
        self, conn: AsyncConnection, draft: DraftLike
    ) -> TranscriptError | None:
        """An edit or retraction must name a message of its own sender in the same channel."""
        try:
            target = amendment_target(draft.body)
        except ValueError as exc:  # the protocol bounds it too: this is a caller's bug
            return Refused("invalid", str(exc))
        row = (
            await conn.execute(
                select(records.c.sender_user, records.c.kind).where(
                    records.c.room_id == draft.room_id,
                    records.c.channel == draft.channel,
                    records.c.seq == target,
                )
            )
        ).first()
        if row is None or row.kind != MESSAGE:
            return Refused("invalid", f"no message #{target} in {draft.channel} to {draft.kind}")
        if row.sender_user != draft.sender_user:
            return Refused("forbidden", f"only its sender may {draft.kind} message #{target}")
        return None

    async def _number(
        self, tips: dict[str, _Tip], draft: DraftLike
    ) -> list[Record] | TranscriptError:
        """Give `draft` its numbers, chain link and ciphertext, once the rules allow it;
        then the same for the records the rules add after it."""
        tip = tips.get(draft.room_id)
        if tip is None:
            return UnknownRoom(f"no room {draft.room_id}")
        if tip.state == CLOSED:
            return RoomNotWritable(f"room {draft.room_id} is closed")
        record = Record(
            draft.room_id,
            tip.position + 1,
            draft.channel,
            tip.heads.get(draft.channel, 0) + 1,
            draft.kind,
            draft.sender_user,
            draft.sender_role,
            draft.client_id,
            draft.body,
            utc_timestamp(),
            b"",
            b"",
            draft.origin,
        )
        follow_ups: Sequence[DraftLike] = ()
        if tip.ruled is not None:
            try:
                follow_ups = tip.ruled.apply(record)
            except Refused as refusal:
                return refusal
            tip.state = tip.ruled.state
        tip.position, tip.heads[record.channel] = record.position, record.seq
        head, body = header_of(record), draft.body.encode()
        tip.chain_head = chain.link(tip.chain_head, head, body)
        cipher = await self._cipher(draft.room_id)
        stored = [replace(record, hash=tip.chain_head, sealed=cipher.seal(body, head))]
        for follow_up in follow_ups:
            outcome = await self._number(tips, follow_up)
            if isinstance(outcome, TranscriptError):  # the rules vouched for it: a bug
                log.error("follow-up %s refused: %s", follow_up.kind, outcome)
                continue
            stored.extend(outcome)
        return stored

    async def _insert(
        self, conn: AsyncConnection, fresh: list[Record], tips: dict[str, _Tip]
    ) -> None:
        rows = [
            {
                "room_id": r.room_id,
                "position": r.position,
                "channel": r.channel,
                "seq": r.seq,
                "kind": r.kind,
                "sender_user": r.sender_user,
                "sender_role": r.sender_role,
                "client_id": r.client_id,
                "ts": r.ts,
                "sealed": r.sealed,
                "hash": r.hash,
            }
            for r in fresh
        ]
        await conn.execute(insert(records), rows)
        room_ids = sorted({r.room_id for r in fresh})
        moved = [await self._tip_columns(room_id, tips[room_id]) for room_id in room_ids]
        columns = moved[0].keys() - {"id"}
        await conn.execute(
            update(rooms)
            .where(rooms.c.id == bindparam("b_id"))
            .values({name: bindparam("b_" + name) for name in columns}),
            [{"b_" + name: value for name, value in row.items()} for row in moved],
        )

    async def _tip_columns(self, room_id: str, tip: _Tip) -> dict[str, Any]:
        """What a commit writes back to a room's row: the tip, and the workflow's columns
        with its facts sealed (once per room per batch)."""
        columns: dict[str, Any] = {
            "id": room_id,
            "position": tip.position,
            "chain_head": tip.chain_head,
            "heads": tip.heads,
            "state": tip.state,
            "closed_at": datetime.now(UTC) if tip.state == CLOSED else None,
        }
        if tip.ruled is not None:
            private, ruled = tip.ruled.columns()
            columns |= ruled
            columns["sealed_facts"] = self._facts.seal(await self._cipher(room_id), private)
        return columns

    async def _lock_tips(self, conn: AsyncConnection, room_ids: list[str]) -> dict[str, _Tip]:
        query = (
            select(
                rooms.c.id,
                rooms.c.position,
                rooms.c.chain_head,
                rooms.c.heads,
                rooms.c.state,
                rooms.c.workflow,
                *KEY_COLUMNS,
            )
            .where(rooms.c.id.in_(room_ids))
            .order_by(rooms.c.id)
            .with_for_update()
        )
        tips = {}
        for row in (await conn.execute(query)).all():
            ruled = None
            if self._rules is not None:
                ruled = self._rules.load(row.state, await self._facts_of(row))
            tips[row.id] = _Tip(row.position, row.chain_head, dict(row.heads), row.state, ruled)
        return tips

    async def _facts_of(self, row: Row[*tuple[Any, ...]]) -> dict[str, Any]:
        """The room's facts: those in clear, and the sealed ones opened (once per batch)."""
        opened = await self._open_facts(row.id, row.kek_id, row.wrapped_key, row.sealed_facts)
        return {**row.workflow, **opened}

    async def _open_facts(
        self, room_id: str, kek_id: str, wrapped_key: bytes | None, sealed: bytes | None
    ) -> dict[str, Any]:
        if sealed is None or wrapped_key is None:  # none yet, or shredded: gone with the key
            return {}
        return self._facts.open(await self._cipher(room_id, (kek_id, wrapped_key)), sealed)

    async def _stored(
        self, conn: AsyncConnection, drafts: Sequence[DraftLike]
    ) -> dict[tuple[str, str, str], Record]:
        """Records already stored under the drafts' idempotency keys.

        The keys are joined as a VALUES list: both databases then probe the
        unique (room, sender, client_id) index once per key, where a row-value
        IN scans (and gets slower as rooms grow). The statement is text, padded
        to a power of two of keys, so a handful of shapes are compiled once:
        SQLAlchemy's `values()` recompiles its rows on every call, which cost
        more than the rest of the commit.
        """
        keys = sorted({(d.room_id, d.sender_user, d.client_id) for d in drafts})
        size = 1 << (len(keys) - 1).bit_length()
        keys += [keys[-1]] * (size - len(keys))  # a repeated key matches nothing new
        params = {f"k{i}_{n}": v for i, key in enumerate(keys) for n, v in enumerate(key)}
        rows = (await conn.execute(_lookup(size), params)).all()
        return {
            (row.room_id, row.sender_user, row.client_id): await self.unseal(row) for row in rows
        }

    async def unseal(self, row: "SealedFields | Row[Any]") -> Record:
        """A stored row (or a record from another process) with its body decrypted."""
        cipher = await self._cipher(row.room_id)
        where = f"{row.channel} #{row.seq}"  # what its readers know; the position goes apart
        body = cipher.open(row.sealed, header_of(row), where, row.position)
        return Record(
            row.room_id,
            row.position,
            row.channel,
            row.seq,
            row.kind,
            row.sender_user,
            row.sender_role,
            row.client_id,
            body.decode(),
            row.ts,
            row.hash,
            row.sealed,
        )

    async def room_cipher(self, room_id: str) -> RoomCipher:
        """The room's data key, for what is sealed beside its records (files). Raises
        Shredded once the key is destroyed."""
        return await self._cipher(room_id)

    async def _cipher(
        self, room_id: str, key: tuple[str, bytes | None] | None = None
    ) -> RoomCipher:
        """The room's data key, cached for CIPHER_TTL so a shredding reaches every process;
        `key` is its (kek_id, wrapped_key) when the caller has just read them."""
        cached = self._ciphers.get(room_id)
        if cached is not None and time.monotonic() - cached[1] < CIPHER_TTL:
            return cached[0]
        if key is None:
            query = select(rooms.c.kek_id, rooms.c.wrapped_key).where(rooms.c.id == room_id)
            async with self.db.read() as conn:
                key_row = (await conn.execute(query)).one()
            key = (key_row.kek_id, key_row.wrapped_key)
        kek_id, wrapped_key = key
        if wrapped_key is None:
            self._ciphers.pop(room_id, None)
            self._facts.forget(room_id)
            raise Shredded(f"room {room_id}: its transcript was destroyed under retention")
        if kek_id not in self.keyring.keks:
            self.refresh_keyring()  # rewrapped under a key added since we started
        cipher = RoomCipher(room_id, self.keyring.unwrap(room_id, kek_id, wrapped_key))
        self._ciphers[room_id] = (cipher, time.monotonic())
        return cipher

    async def _one_room(self, where: Any) -> RoomRow | None:
        query = select(*ROOM_COLUMNS, *KEY_COLUMNS).where(where)
        async with self.db.read() as conn:
            row = (await conn.execute(query)).first()
        return await self._room_row(row) if row is not None else None
