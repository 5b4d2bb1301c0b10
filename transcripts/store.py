"""The transcript store: rooms' keys and tips, and their sealed records.

Appends come in batches (see `group_commit`): one transaction locks the
tips of the rooms involved, numbers the records, seals and chains them,
inserts them, and moves the tips. Numbers are assigned inside that
transaction, so `seq` and `position` stay gapless with any number of
writers on any number of machines.
"""

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
from sqlalchemy import Row, bindparam, insert, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from transcripts import chain
from transcripts.database import Database
from transcripts.envelope import RoomCipher
from transcripts.errors import Refused, RoomNotWritable, Shredded, TranscriptError, UnknownRoom
from transcripts.keyring import Keyring, new_key
from transcripts.schema import records, rooms

MESSAGE = "message"
AMENDMENTS = ("edit", "retract")  # kinds whose body names a target message: {"target": seq}
STATE = "state"  # a room state change; body {"to": STATE, "reason": ...}
CLOSED = "closed"
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


@dataclass(slots=True)
class _Tip:
    position: int
    chain_head: bytes
    heads: dict[str, int]
    state: str


ROOM_COLUMNS = (  # in RoomRow's field order
    rooms.c.id,
    rooms.c.ticket_provider,
    rooms.c.ticket_id,
    rooms.c.client_user,
    rooms.c.freelancer_user,
    rooms.c.state,
    rooms.c.created_at,
    rooms.c.position,
)


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


def amendment_target(body: str) -> int:
    target = msgspec.json.decode(body).get("target")
    if not isinstance(target, int):
        raise ValueError("an amendment names its target message")
    return target


def utc_timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TranscriptStore:
    def __init__(
        self,
        db: Database,
        keyring: Keyring,
        reload: Callable[[], Keyring] | None = None,
        next_states: Callable[[str], Collection[str]] = lambda _state: (),
    ) -> None:
        self.db = db
        self.keyring = keyring
        self._next_states = next_states  # the workflow's rules, checked inside the commit
        self._reload = reload  # re-reads the keyring: keys may rotate while we run
        self._ciphers: dict[str, tuple[RoomCipher, float]] = {}  # with when it was loaded

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
    ) -> RoomRow:
        self.refresh_keyring()  # wrap under the key that is active now
        kek_id, wrapped = self.keyring.wrap(room_id, new_key())
        row = RoomRow(
            room_id,
            ticket_provider,
            ticket_id,
            client_user,
            freelancer_user,
            state,
            datetime.now(UTC),
            0,
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
                )
            )
        return row

    async def room(self, room_id: str) -> RoomRow | None:
        return await self._one_room(rooms.c.id == room_id)

    async def rooms_in_state(self, state: str, limit: int) -> list[RoomRow]:
        """Rooms in `state`, longest waiting first."""
        query = (
            select(*ROOM_COLUMNS)
            .where(rooms.c.state == state)
            .order_by(rooms.c.created_at)
            .limit(limit)
        )
        async with self.db.read() as conn:
            return [RoomRow(*row) for row in (await conn.execute(query)).all()]

    async def open_room_for_ticket(self, provider: str, ticket_id: str) -> RoomRow | None:
        return await self._one_room(
            (rooms.c.ticket_provider == provider)
            & (rooms.c.ticket_id == ticket_id)
            & (rooms.c.state != CLOSED)
        )

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

    async def append_batch(self, drafts: Sequence[DraftLike]) -> list[Record | TranscriptError]:
        """Commit `drafts` in one transaction; a result (or refusal) per draft, in order."""
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
                known[(draft.room_id, draft.sender_user, draft.client_id)] = outcome
                fresh.append(outcome)
                results.append(outcome)
            if fresh:
                await self._insert(conn, fresh, tips)
        return results

    async def _check_target(
        self, conn: AsyncConnection, draft: DraftLike
    ) -> TranscriptError | None:
        """An edit or retraction must name a message of its own sender in the same channel."""
        target = amendment_target(draft.body)
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

    async def _number(self, tips: dict[str, _Tip], draft: DraftLike) -> Record | TranscriptError:
        """Give `draft` its numbers, chain link and ciphertext."""
        tip = tips.get(draft.room_id)
        if tip is None:
            return UnknownRoom(f"no room {draft.room_id}")
        if tip.state == CLOSED:
            return RoomNotWritable(f"room {draft.room_id} is closed")
        if draft.kind == STATE:
            target = msgspec.json.decode(draft.body).get("to")
            if target not in self._next_states(tip.state):
                return Refused("conflict", f"room {draft.room_id} is {tip.state}: not -> {target}")
            tip.state = target
        tip.position += 1
        seq = tip.heads[draft.channel] = tip.heads.get(draft.channel, 0) + 1
        record = Record(
            draft.room_id,
            tip.position,
            draft.channel,
            seq,
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
        head, body = header_of(record), draft.body.encode()
        tip.chain_head = chain.link(tip.chain_head, head, body)
        cipher = await self._cipher(draft.room_id)
        return replace(record, hash=tip.chain_head, sealed=cipher.seal(body, head))

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
        moved = {r.room_id for r in fresh}
        await conn.execute(
            update(rooms)
            .where(rooms.c.id == bindparam("b_id"))
            .values(
                position=bindparam("b_position"),
                chain_head=bindparam("b_chain_head"),
                heads=bindparam("b_heads"),
                state=bindparam("b_state"),
                closed_at=bindparam("b_closed_at"),
            ),
            [
                {
                    "b_id": room_id,
                    "b_position": tips[room_id].position,
                    "b_chain_head": tips[room_id].chain_head,
                    "b_heads": tips[room_id].heads,
                    "b_state": tips[room_id].state,
                    "b_closed_at": datetime.now(UTC) if tips[room_id].state == CLOSED else None,
                }
                for room_id in sorted(moved)
            ],
        )

    async def _lock_tips(self, conn: AsyncConnection, room_ids: list[str]) -> dict[str, _Tip]:
        query = (
            select(rooms.c.id, rooms.c.position, rooms.c.chain_head, rooms.c.heads, rooms.c.state)
            .where(rooms.c.id.in_(room_ids))
            .order_by(rooms.c.id)
            .with_for_update()
        )
        return {
            row.id: _Tip(row.position, row.chain_head, dict(row.heads), row.state)
            for row in (await conn.execute(query)).all()
        }

    async def _stored(
        self, conn: AsyncConnection, drafts: Sequence[DraftLike]
    ) -> dict[tuple[str, str, str], Record]:
        """Records already stored under the drafts' idempotency keys.

        One select per (room, sender), joined with UNION ALL: `room = AND sender =
        AND client_id IN` is served by the unique index on both databases, where a
        row-value IN over all three columns scans (and gets slower as rooms grow).
        """
        wanted: dict[tuple[str, str], set[str]] = {}
        for d in drafts:
            wanted.setdefault((d.room_id, d.sender_user), set()).add(d.client_id)
        selects = [
            select(records).where(
                records.c.room_id == room_id,
                records.c.sender_user == sender,
                records.c.client_id.in_(sorted(client_ids)),
            )
            for (room_id, sender), client_ids in wanted.items()
        ]
        query = selects[0] if len(selects) == 1 else union_all(*selects)
        rows = (await conn.execute(query)).all()
        return {
            (row.room_id, row.sender_user, row.client_id): await self.unseal(row) for row in rows
        }

    async def unseal(self, row: "SealedFields | Row[Any]") -> Record:
        """A stored row (or a record from another process) with its body decrypted."""
        cipher = await self._cipher(row.room_id)
        where = f"position {row.position} ({row.channel} #{row.seq})"
        body = cipher.open(row.sealed, header_of(row), where)
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

    async def _cipher(self, room_id: str) -> RoomCipher:
        """The room's data key, cached for CIPHER_TTL so a shredding reaches every process."""
        cached = self._ciphers.get(room_id)
        if cached is not None and time.monotonic() - cached[1] < CIPHER_TTL:
            return cached[0]
        query = select(rooms.c.kek_id, rooms.c.wrapped_key).where(rooms.c.id == room_id)
        async with self.db.read() as conn:
            key_row = (await conn.execute(query)).one()
        if key_row.wrapped_key is None:
            self._ciphers.pop(room_id, None)
            raise Shredded(f"room {room_id}: its transcript was destroyed under retention")
        if key_row.kek_id not in self.keyring.keks:
            self.refresh_keyring()  # rewrapped under a key added since we started
        cipher = RoomCipher(
            room_id, self.keyring.unwrap(room_id, key_row.kek_id, key_row.wrapped_key)
        )
        self._ciphers[room_id] = (cipher, time.monotonic())
        return cipher

    async def _one_room(self, where: Any) -> RoomRow | None:
        query = select(*ROOM_COLUMNS).where(where)
        async with self.db.read() as conn:
            row = (await conn.execute(query)).first()
        return RoomRow(*row) if row is not None else None
