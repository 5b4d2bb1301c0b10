"""Records numbered by a test instead of a store: the engine's unit tests hand these around.

A frozen dataclass satisfies `rooms.ports.StoredMessage` (read-only attributes), so the
workflow's rules and the hub see exactly the shape the transcript store gives them,
without a database behind it.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rooms.ports import Draft

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(seconds: float = 0) -> str:
    """`seconds` after T0, written as the store writes a commit's timestamp."""
    moment = T0 + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Record:
    room_id: str
    channel: str
    seq: int
    client_id: str
    sender_user: str
    sender_role: str
    body: str
    kind: str = "message"
    ts: str = ""
    origin: str = ""
    duplicate: bool = False


def numbered(draft: Draft, seq: int, ts: str) -> Record:
    """`draft` as committed with `seq` in its channel at `ts`."""
    return Record(
        draft.room_id,
        draft.channel,
        seq,
        draft.client_id,
        draft.sender_user,
        draft.sender_role,
        draft.body,
        draft.kind,
        ts,
        draft.origin,
    )
