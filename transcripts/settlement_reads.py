"""The settlement document of a room, built from its stored records when asked for.

Nothing is stored for it: the document is a pure function of the records
(transcripts.settlement_artifact) and the signing key, so the download, the
webhook and a rebuild next year give the same bytes under the same key. The
records it names are proven as the export proves them, over their segment:
each one opens under its header and links to the record before it (the record
just before the proposal gives the first link's predecessor).
"""

from typing import Any

from sqlalchemy import select

from rooms import kinds
from rooms.lifecycle import State
from rooms.records import BadBody, StateBody, body_of
from rooms.visibility import JOINT, ROOM
from transcripts import members
from transcripts.errors import Tampered, UnknownRoom
from transcripts.export import walk
from transcripts.record_line import RecordLine
from transcripts.schema import records
from transcripts.settlement_artifact import NotSettled, settlement_of, sign
from transcripts.signing import SigningKeys
from transcripts.store import TranscriptStore
from transcripts.store_types import Record

# What a settlement names: the proposal, the acceptances (by default too: a deadline and
# its application), the resolution.
NAMED = frozenset(
    {kinds.PROPOSAL, kinds.RESPONSE, kinds.STATE, kinds.DEADLINE, kinds.DEADLINE_APPLIED}
)


async def settlement(store: TranscriptStore, room_id: str) -> dict[str, Any]:
    """The room's settlement, unsigned: UnknownRoom, NotSettled (no settlement, or not
    yet), Shredded (its key destroyed), or Tampered (a record does not hold)."""
    room = await store.room(room_id)
    if room is None:
        raise UnknownRoom(f"no room {room_id}")
    if room.state not in (State.RESOLVED, State.CLOSED):
        raise NotSettled(f"room {room_id} is {room.state}: not settled")
    found = await _resolution(store, room_id)
    if found is None:
        raise NotSettled(f"room {room_id} was not resolved by a settlement")
    resolution, proposal = found
    offered = await store.read(room_id, JOINT, proposal - 1, proposal, 1)
    if not offered:
        raise Tampered(f"room {room_id}: proposal #{proposal} is missing")
    segment = await _proven(store, room_id, offered[0].position, resolution.position)
    parties = {"client": room.client_user, "freelancer": room.freelancer_user}
    ticket = (room.ticket_provider, room.ticket_id)
    sides = await members.sides_had(store.db, room)
    return settlement_of(room_id, ticket, parties, [RecordLine.of(r) for r in segment], sides)


async def signed(store: TranscriptStore, signing: SigningKeys, room_id: str) -> bytes:
    """The room's settlement document, signed with the active key."""
    return sign(await settlement(store, room_id), signing)


async def _resolution(store: TranscriptStore, room_id: str) -> tuple[Record, int] | None:
    """The system's `resolved` state record that names a proposal (a room resolves once)."""
    query = (
        select(records)
        .where(
            records.c.room_id == room_id,
            records.c.channel == ROOM,
            records.c.kind == kinds.STATE,
            records.c.sender_role == kinds.SYSTEM_ROLE,
        )
        .order_by(records.c.position.desc())
    )
    async with store.db.read() as conn:
        rows = (await conn.execute(query)).all()
    for row in rows:
        record = await store.unseal(row)
        try:
            body = body_of(record.kind, record.body)
        except BadBody:
            continue
        if isinstance(body, StateBody) and body.to == State.RESOLVED and body.proposal:
            return record, body.proposal
    return None


async def _proven(store: TranscriptStore, room_id: str, first: int, last: int) -> list[Record]:
    """The records a settlement names from `first` to `last`, every record between them
    opened and linked to the one before (as the export proves them)."""
    return [record async for record in walk(store, room_id, last, first) if record.kind in NAMED]
