"""The append transaction: a batch of drafts committed at once (see `group_commit`).

It locks the tips of the rooms involved (in id order), finds drafts already stored
under their idempotency keys, checks amendments' targets, numbers each record under
the workflow's rules, seals and chains it, inserts the batch and moves the tips.
Numbers are assigned inside that transaction, so `seq` and `position` stay gapless
with any number of writers on any number of machines.
"""

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import TextualSelect, bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from transcripts import chain
from transcripts.database import Database
from transcripts.errors import Refused, RoomNotWritable, TranscriptError, UnknownRoom
from transcripts.key_cache import KEY_COLUMNS, KeyCache
from transcripts.schema import records, rooms
from transcripts.store_types import (
    AMENDMENTS,
    CLOSED,
    MESSAGE,
    DraftLike,
    Record,
    RuledRoom,
    Rules,
    amendment_target,
    header_of,
    utc_timestamp,
)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Tip:
    position: int
    chain_head: bytes
    heads: dict[str, int]
    state: str
    ruled: RuledRoom | None


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


class Appender:
    def __init__(self, db: Database, keys: KeyCache, rules: Rules | None = None) -> None:
        self.db = db
        self._keys = keys
        self._rules = rules  # the workflow's, checked inside the commit; None: none

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
        cipher = await self._keys.cipher(draft.room_id)
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
            columns["sealed_facts"] = await self._keys.seal_facts(room_id, private)
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
                ruled = self._rules.load(row.state, await self._keys.facts_of(row))
            tips[row.id] = _Tip(row.position, row.chain_head, dict(row.heads), row.state, ruled)
        return tips

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
            (row.room_id, row.sender_user, row.client_id): await self._keys.unseal(row)
            for row in rows
        }
