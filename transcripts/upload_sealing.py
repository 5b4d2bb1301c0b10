"""How a resumable upload seals what it receives, before the file is whole.

Every chunk whose bytes have all arrived is sealed at once, exactly as a
stored file's chunk (`attachments.seal_chunk`: room, file, index, final).
The final flag is known in advance because the upload declared its length.
The bytes of the chunk still filling (the *tail*) are sealed under their own
associated data, which names the offset they start at and how many they
are, so a tail can be neither moved, cut, nor passed off as a stored chunk.
"""

from collections.abc import AsyncIterator

import msgspec

from transcripts.attachments import seal_chunk
from transcripts.envelope import RoomCipher
from transcripts.errors import TooLarge

TAIL_TAG = "mediation.upload-tail/1"
NAME_TAG = "mediation.upload-name/1"


def tail_aad(room_id: str, file_id: str, index: int, size: int) -> bytes:
    return msgspec.json.encode([TAIL_TAG, room_id, file_id, index, size])


def name_aad(room_id: str, file_id: str) -> bytes:
    return msgspec.json.encode([NAME_TAG, room_id, file_id])


def last_chunk(length: int, chunk_size: int) -> int:
    """The index of a file's final chunk (an empty file has one, empty: index 0)."""
    return max(0, (length - 1) // chunk_size)


class ChunkSealer:
    """Plaintext in from offset `received`, sealed chunks out, each `(index, frame)`.
    Holds the open chunk (the tail it starts from, plus what arrives) and one piece."""

    def __init__(
        self,
        cipher: RoomCipher,
        file_id: str,
        chunk_size: int,
        length: int,
        received: int,
        tail: bytes,
    ) -> None:
        self._cipher, self._file_id = cipher, file_id
        self._chunk, self._length = chunk_size, length
        self._last = last_chunk(length, chunk_size)
        self.received = received
        # Once every byte is in, every chunk is sealed (an empty file's too: it is
        # staged by nothing and sealed at the finish).
        self.index = self._last + 1 if received == length else received // chunk_size
        self.buffer = bytearray(tail)  # the bytes from index * chunk_size to received
        assert len(self.buffer) == received - min(self.index * chunk_size, length)

    async def frames(self, body: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, bytes]]:
        async for piece in body:
            if self.received + len(piece) > self._length:
                raise TooLarge(f"the body runs past the declared length of {self._length} bytes")
            self.buffer += piece
            self.received += len(piece)
            for sealed in self._ready():
                yield sealed

    def _ready(self) -> list[tuple[int, bytes]]:
        ready = []
        while self.index <= self._last:
            end = min((self.index + 1) * self._chunk, self._length)
            if self.received < end:
                break
            size = end - self.index * self._chunk
            final = self.index == self._last
            chunk = bytes(self.buffer[:size])
            frame = seal_chunk(self._cipher, self._file_id, self.index, final, chunk)
            ready.append((self.index, frame))
            del self.buffer[:size]
            self.index += 1
        return ready

    def seal_tail(self) -> bytes:
        aad = tail_aad(self._cipher.room_id, self._file_id, self.index, len(self.buffer))
        return self._cipher.seal(bytes(self.buffer), aad)
