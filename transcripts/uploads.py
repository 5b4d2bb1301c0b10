"""Resumable uploads: a file received over several requests, then stored like any other.

An upload is staged as *pieces*, each a blob of its own: segments of whole
chunks sealed exactly as a stored file's, and at most one tail (the chunk
still filling, sealed; see `upload_sealing`). No plaintext rests anywhere.
A piece is written with an ordinary all-or-nothing `put`, so staging needs
nothing of a store beyond the BlobStore protocol: on S3 each piece is an
object of its own and the 5 MiB part rule never comes up.

The row's `received` is the offset. It moves only by compare-and-set, in the
transaction that makes a piece live, so of two requests at one offset one
wins and the other gets a conflict. A piece's row is written before its blob
and removed after it, so abort, finish and the expiry sweep find every blob,
even one a crash left half made.

The finish opens the staged chunks in order (each authenticated) and feeds
the plaintext to `Locker.receive`, the plain upload's own path: it sniffs,
hashes, seals anew and stores. So a finished file cannot differ from one
uploaded in one request, and no hash state has to outlive a request; the
price is one more read and write of the file.
"""

import logging
import secrets
from collections.abc import AsyncIterator, Collection
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from transcripts.attachments import FileFacts, unseal
from transcripts.envelope import RoomCipher
from transcripts.errors import Tampered, TranscriptError
from transcripts.locker import Locker
from transcripts.schema import upload_pieces, uploads
from transcripts.upload_sealing import ChunkSealer, name_aad, tail_aad

log = logging.getLogger(__name__)

TTL = timedelta(hours=24)  # an upload not finished by then is removed, pieces and all
SEGMENT_BYTES = 4 * 1024 * 1024  # sealed chunks per piece: what a crash mid-request can lose


class OffsetConflict(TranscriptError):
    """The request's offset is not the upload's (another request moved it, or the client
    lost track): `received` is where it stands."""

    code = "conflict"

    def __init__(self, message: str, received: int) -> None:
        super().__init__(message)
        self.received = received


@dataclass(frozen=True, slots=True)
class UploadRow:
    id: str  # also the file id it will have
    room_id: str
    uploader_user: str
    uploader_role: str
    channel: str
    sealed_name: bytes
    length: int
    received: int
    chunk_size: int
    created_at: datetime
    expires_at: datetime
    request: int | None = None  # the seq of the evidence request the file will answer


class Uploads:
    def __init__(
        self, locker: Locker, segment_bytes: int = SEGMENT_BYTES, ttl: timedelta = TTL
    ) -> None:
        self.locker = locker
        self.db = locker.store.db
        self.blobs = locker.blobs
        self.segment_chunks = max(1, segment_bytes // locker.chunk_bytes)
        self.ttl = ttl

    async def create(
        self,
        room_id: str,
        uploader: tuple[str, str],
        channel: str,
        name: str,
        length: int,
        request: int | None = None,
    ) -> UploadRow:
        file_id = "f_" + secrets.token_urlsafe(12)
        cipher = await self.locker.store.room_cipher(room_id)
        now = datetime.now(UTC)
        row = UploadRow(
            file_id,
            room_id,
            uploader[0],
            uploader[1],
            channel,
            cipher.seal(name.encode(), name_aad(room_id, file_id)),  # no name in clear
            length,
            0,
            self.locker.chunk_bytes,
            now,
            now + self.ttl,
            request,
        )
        async with self.db.write() as conn:
            await conn.execute(insert(uploads).values(**asdict(row)))
        return row

    async def get(self, room_id: str, upload_id: str) -> UploadRow | None:
        """The upload, unless it does not exist or has expired."""
        query = select(uploads).where(
            uploads.c.id == upload_id,
            uploads.c.room_id == room_id,
            uploads.c.expires_at > datetime.now(UTC),
        )
        async with self.db.read() as conn:
            found = (await conn.execute(query)).first()
        return None if found is None else UploadRow(**found._mapping)

    async def unfinished(self, room_id: str, user: str) -> int:
        query = select(func.count()).where(
            uploads.c.room_id == room_id, uploads.c.uploader_user == user
        )
        async with self.db.read() as conn:
            return int(await conn.scalar(query) or 0)

    async def append(self, row: UploadRow, offset: int, body: AsyncIterator[bytes]) -> int:
        """Stage the body's bytes at `offset`; the new offset. A body that simply ends early
        (the caller turns a dropped connection into that) keeps all of its bytes."""
        if offset != row.received:
            raise OffsetConflict(f"upload {row.id} is at offset {row.received}", row.received)
        cipher = await self.locker.store.room_cipher(row.room_id)
        old_tail, head = await self._tail(row, cipher)
        sealer = ChunkSealer(cipher, row.id, row.chunk_size, row.length, row.received, head)
        frames = sealer.frames(body)
        superseded = [old_tail] if old_tail else []
        at, pending = row.received, []
        try:
            while (first := await anext(frames, None)) is not None:
                key = self._piece_key(row, "s", first[0])
                pending.append(key)
                await self._pending(row, key, first[0], tail=False)
                written = [first[0]]  # the sealer may be ahead: count what is in the blob
                await self.blobs.put(key, self._segment(first[1], frames, written))
                through = min((written[-1] + 1) * row.chunk_size, row.length)
                at = await self._commit(row, at, through, key, superseded)
                pending, superseded = [], []
            if sealer.received > at:  # bytes of a chunk not yet whole: the new tail
                key = self._piece_key(row, "t", sealer.index)
                pending.append(key)
                await self._pending(row, key, sealer.index, tail=True)
                await self.blobs.put(key, _one(sealer.seal_tail()))
                at = await self._commit(row, at, sealer.received, key, superseded)
                pending, superseded = [], []
        finally:
            await self._remove(pending)
        return at

    async def _segment(
        self, first: bytes, frames: AsyncIterator[tuple[int, bytes]], written: list[int]
    ) -> AsyncIterator[bytes]:
        yield first
        for _ in range(self.segment_chunks - 1):
            sealed = await anext(frames, None)
            if sealed is None:
                return
            yield sealed[1]
            written.append(sealed[0])

    async def name(self, row: UploadRow) -> str:
        """The file's name as given at creation (sealed at rest)."""
        cipher = await self.locker.store.room_cipher(row.room_id)
        return cipher.open(
            row.sealed_name, name_aad(row.room_id, row.id), f"upload {row.id}"
        ).decode()

    async def finish(self, row: UploadRow, allowed: Collection[str]) -> FileFacts:
        """Store the whole upload as a file (type and hash checked as for any upload);
        its facts for the record. The staged pieces stay until `remove`."""
        assert row.received == row.length
        cipher = await self.locker.store.room_cipher(row.room_id)
        name = await self.name(row)
        plain = unseal(cipher, row.id, row.chunk_size, self._staged(row)) if row.length else _none()
        uploader = (row.uploader_user, row.uploader_role)
        try:
            return await self.locker.receive(
                row.room_id, row.id, uploader, name, plain, row.length, allowed
            )
        except IntegrityError:  # its file row exists: another request is finishing it
            raise OffsetConflict(f"upload {row.id} is being finished", row.received) from None

    async def _staged(self, row: UploadRow) -> AsyncIterator[bytes]:
        query = (
            select(upload_pieces.c.key)
            .where(upload_pieces.c.upload_id == row.id, upload_pieces.c.live, ~upload_pieces.c.tail)
            .order_by(upload_pieces.c.first_chunk)
        )
        async with self.db.read() as conn:
            keys = list((await conn.scalars(query)).all())
        for key in keys:
            async for piece in self.blobs.get(key):
                yield piece

    async def remove(self, row: UploadRow) -> None:
        """Abort, or clean up after the finish: every piece's blob, then the rows."""
        query = select(upload_pieces.c.key).where(upload_pieces.c.upload_id == row.id)
        async with self.db.read() as conn:
            keys = list((await conn.scalars(query)).all())
        for key in keys:
            await self.blobs.delete(key)
        async with self.db.write() as conn:
            await conn.execute(delete(upload_pieces).where(upload_pieces.c.upload_id == row.id))
            await conn.execute(delete(uploads).where(uploads.c.id == row.id))

    async def sweep(self, now: datetime, limit: int | None = None) -> int:
        """Remove uploads expired by `now`, with their blobs; how many."""
        query = select(uploads).where(uploads.c.expires_at <= now).limit(limit)
        async with self.db.read() as conn:
            expired = [UploadRow(**found._mapping) for found in (await conn.execute(query)).all()]
        for row in expired:
            await self.remove(row)
        return len(expired)

    @staticmethod
    def _piece_key(row: UploadRow, kind: str, index: int) -> str:
        # Random per writer: two requests racing at one offset never share a blob.
        return f"{row.room_id}/{row.id}.{kind}{index}.{secrets.token_hex(6)}"

    async def _tail(self, row: UploadRow, cipher: RoomCipher) -> tuple[str | None, bytes]:
        """The live tail's key and plaintext, if the offset is inside a chunk."""
        index = row.received // row.chunk_size
        size = row.received - index * row.chunk_size
        if size == 0 or row.received == row.length:
            return None, b""
        query = select(upload_pieces.c.key).where(
            upload_pieces.c.upload_id == row.id, upload_pieces.c.live, upload_pieces.c.tail
        )
        async with self.db.read() as conn:
            key: str | None = await conn.scalar(query)
        if key is None:
            raise Tampered(f"upload {row.id}: the tail at offset {row.received} is missing")
        sealed = b"".join([piece async for piece in self.blobs.get(key)])  # under one chunk
        aad = tail_aad(row.room_id, row.id, index, size)
        return key, cipher.open(sealed, aad, f"upload {row.id} tail")

    async def _pending(self, row: UploadRow, key: str, first_chunk: int, tail: bool) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                insert(upload_pieces).values(
                    key=key, upload_id=row.id, first_chunk=first_chunk, tail=tail, live=False
                )
            )

    async def _commit(
        self, row: UploadRow, at: int, received: int, key: str, superseded: list[str]
    ) -> int:
        """Make `key` live and move the offset from `at` to `received`, if nobody moved it."""
        async with self.db.write() as conn:
            moved = await conn.execute(
                update(uploads)
                .where(uploads.c.id == row.id, uploads.c.received == at)
                .values(received=received)
            )
            if moved.rowcount == 1:
                await conn.execute(
                    update(upload_pieces).where(upload_pieces.c.key == key).values(live=True)
                )
                if superseded:
                    await conn.execute(
                        update(upload_pieces)
                        .where(upload_pieces.c.key.in_(superseded))
                        .values(live=False)
                    )
        if moved.rowcount != 1:
            now = await self.get(row.room_id, row.id)
            current = row.received if now is None else now.received
            raise OffsetConflict(f"upload {row.id} moved on to offset {current}", current)
        await self._remove(superseded)
        return received

    async def _remove(self, keys: list[str]) -> None:
        """Pieces that are not (or no longer) part of the upload: blob, then row. Never
        raises; what stays is removed with the upload."""
        for key in keys:
            try:
                await self.blobs.delete(key)
                async with self.db.write() as conn:
                    await conn.execute(delete(upload_pieces).where(upload_pieces.c.key == key))
            except Exception as exc:
                log.warning("upload piece %s not yet removed: %s", key, exc.__class__.__name__)


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _none() -> AsyncIterator[bytes]:
    return
    yield
