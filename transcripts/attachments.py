"""How a file is sealed: AES-256-GCM per chunk, under its room's data key.

A stored file is a sequence of frames, `nonce(12) || ciphertext || tag(16)`,
one per plaintext chunk of `chunk_size` bytes (the last one shorter, or
empty for an empty file). Each chunk's associated data is the canonical JSON

    ["mediation.file/1", room_id, file_id, index, final]

so a frame moved to another position, file or room, a file cut short (its
new last frame was not sealed as final) or extended does not open. Nonces
are random per chunk: at 64 KiB a chunk, a room would need 2^32 chunks
(256 TiB) before a repeat became a concern. The SHA-256 of the plaintext is
taken while sealing and checked again while opening.
"""

import hashlib
from collections.abc import AsyncIterator

import msgspec

from rooms.kinds import FILE, FILE_DELETED
from rooms.records import FileBody, FileDeletedBody, body_of
from transcripts.envelope import RoomCipher
from transcripts.errors import Tampered
from transcripts.key_encryption_keys import NONCE_BYTES

TAG = "mediation.file/1"
TAG_BYTES = 16
OVERHEAD = NONCE_BYTES + TAG_BYTES


FileFacts = FileBody  # the body of a `file` record: what the hash chain says about a file


def facts_of(body: str) -> FileFacts:
    """The facts a `file` record's body holds (rooms.records: the one record model)."""
    facts = body_of(FILE, body)
    assert isinstance(facts, FileFacts)
    return facts


def target_of(body: str) -> str:
    """The file a `file_deleted` record names."""
    deleted = body_of(FILE_DELETED, body)
    assert isinstance(deleted, FileDeletedBody)
    return deleted.file


def chunk_aad(room_id: str, file_id: str, index: int, final: bool) -> bytes:
    return msgspec.json.encode([TAG, room_id, file_id, index, final])


def seal_chunk(cipher: RoomCipher, file_id: str, index: int, final: bool, chunk: bytes) -> bytes:
    """One frame of a stored file: chunk `index` of `file_id`, final or not."""
    return cipher.seal(chunk, chunk_aad(cipher.room_id, file_id, index, final))


class Sealer:
    """Plaintext in, in pieces of any size; sealed frames out. Holds at most one chunk
    plus the piece being fed: a chunk is sealed only once more bytes show it is not last."""

    def __init__(self, cipher: RoomCipher, file_id: str, chunk_size: int) -> None:
        self._cipher, self._file_id, self._chunk = cipher, file_id, chunk_size
        self._buffer = bytearray()
        self._index = 0
        self.sha256 = hashlib.sha256()
        self.size = 0

    def feed(self, data: bytes) -> list[bytes]:
        self.sha256.update(data)
        self.size += len(data)
        self._buffer += data
        frames = []
        while len(self._buffer) > self._chunk:
            frames.append(self._seal(bytes(self._buffer[: self._chunk]), final=False))
            del self._buffer[: self._chunk]
        return frames

    def finish(self) -> bytes:
        frame = self._seal(bytes(self._buffer), final=True)
        self._buffer.clear()
        return frame

    def _seal(self, chunk: bytes, final: bool) -> bytes:
        self._index += 1
        return seal_chunk(self._cipher, self._file_id, self._index - 1, final, chunk)


async def unseal(
    cipher: RoomCipher,
    file_id: str,
    chunk_size: int,
    stored: AsyncIterator[bytes],
    sha256: str | None = None,
) -> AsyncIterator[bytes]:
    """The plaintext of a stored file, chunk by chunk, each authenticated before it is
    yielded. Raises Tampered at the first frame that does not open, at a missing end,
    and (given `sha256`, hex) if the whole does not hash to it."""
    frame_size = chunk_size + OVERHEAD
    buffer = bytearray()
    index = 0
    digest = hashlib.sha256()

    def opened(frame: bytes, final: bool) -> bytes:
        aad = chunk_aad(cipher.room_id, file_id, index, final)
        chunk = cipher.open(frame, aad, f"file {file_id} chunk {index}")
        digest.update(chunk)
        return chunk

    async for piece in stored:
        buffer += piece
        while len(buffer) > frame_size:  # more follows: this frame cannot be the last
            yield opened(bytes(buffer[:frame_size]), final=False)
            del buffer[:frame_size]
            index += 1
    if len(buffer) < OVERHEAD:
        raise Tampered(f"room {cipher.room_id} file {file_id}: cut short after chunk {index}")
    yield opened(bytes(buffer), final=True)
    if sha256 is not None and digest.hexdigest() != sha256:
        raise Tampered(f"room {cipher.room_id} file {file_id}: content does not match its sha256")
