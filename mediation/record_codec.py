"""Committed records as they travel between processes: sealed, never in clear.

What crosses Redis is exactly what the database stores (header fields and
the AES-GCM ciphertext); the receiving process opens it with the room's
data key, which also proves it was not altered on the way.
"""

import msgspec

from rooms.ports import StoredMessage
from transcripts.store import TranscriptStore
from transcripts.store_types import Record


class _SealedRecord(msgspec.Struct, array_like=True):
    room_id: str
    position: int
    channel: str
    seq: int
    kind: str
    sender_user: str
    sender_role: str
    client_id: str
    ts: str
    hash: bytes
    sealed: bytes


_SEALED_FIELDS = _SealedRecord.__struct_fields__  # the stored row's names, in wire order
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_SealedRecord).decode


class SealedRecordCodec:
    def __init__(self, store: TranscriptStore) -> None:
        self._store = store

    def encode(self, record: StoredMessage) -> bytes:
        assert isinstance(record, Record), "only committed records travel"
        return _encode(_SealedRecord(*(getattr(record, f) for f in _SEALED_FIELDS)))

    async def decode(self, data: bytes) -> Record:
        return await self._store.unseal(_decode(data))
