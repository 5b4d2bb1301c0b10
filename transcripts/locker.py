"""The evidence locker: files attached to a room, sealed, stored, proven.

What a file *is* (its name, type, size and SHA-256) is the body of its
`file` record in the room's transcript, so it is encrypted and in the hash
chain like any message. The `files` table only keeps storage bookkeeping
(who uploaded it, its chunk size, its record's position, whether its blob
was deleted): no name, no content, nothing in clear.

An upload inserts its row first (position NULL), streams the sealed chunks
into the blob store, and only then is its record committed (by the caller,
through the group committer) and the row marked with the record's position.
A refusal at any step removes what the earlier steps made. A crash in
between leaves a NULL row that `sweep` resolves later: kept if its record
was committed, otherwise removed with its blob.
"""

import logging
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update

from rooms.kinds import FILE
from transcripts.attachments import FileFacts, Sealer, facts_of, unseal
from transcripts.blobs import BlobStore
from transcripts.content_types import Sniffer
from transcripts.errors import Tampered, TooLarge
from transcripts.schema import files, records, rooms
from transcripts.store import TranscriptStore
from transcripts.store_types import Record

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024


def client_id(file_id: str) -> str:
    """The client id of a file's record: its idempotency key in the transcript."""
    return f"file:{file_id}"


@dataclass(frozen=True, slots=True)
class FileRow:
    id: str
    room_id: str
    uploader_user: str
    uploader_role: str
    chunk_size: int
    created_at: datetime
    position: int | None
    deleted_at: datetime | None


class Locker:
    def __init__(
        self, store: TranscriptStore, blobs: BlobStore, chunk_bytes: int = CHUNK_BYTES
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.chunk_bytes = chunk_bytes

    @staticmethod
    def key(room_id: str, file_id: str) -> str:
        return f"{room_id}/{file_id}"

    async def receive(
        self,
        room_id: str,
        file_id: str,
        uploader: tuple[str, str],
        name: str,
        pieces: AsyncIterator[bytes],
        max_bytes: int,
        allowed: Collection[str],
    ) -> FileFacts:
        """Seal and store an upload; its facts for the record. Raises TooLarge or
        UnsupportedType as soon as the bytes show it, leaving nothing behind."""
        async with self.store.db.write() as conn:
            await conn.execute(
                insert(files).values(
                    id=file_id,
                    room_id=room_id,
                    uploader_user=uploader[0],
                    uploader_role=uploader[1],
                    chunk_size=self.chunk_bytes,
                    created_at=datetime.now(UTC),
                )
            )
        sniffer, detected = Sniffer(allowed), list[str]()

        async def frames(sealer: Sealer) -> AsyncIterator[bytes]:
            received = 0
            async for piece in pieces:
                received += len(piece)
                if received > max_bytes:
                    raise TooLarge(f"the file is over the limit of {max_bytes} bytes")
                sniffer.feed(piece)  # refuses as soon as the bytes show a refused type
                for frame in sealer.feed(piece):
                    yield frame
            detected.append(sniffer.finish())  # the whole text decides: before the last frame
            yield sealer.finish()

        try:
            sealer = Sealer(await self.store.room_cipher(room_id), file_id, self.chunk_bytes)
            await self.blobs.put(self.key(room_id, file_id), frames(sealer))
        except BaseException:
            await self.discard(room_id, file_id)
            raise
        return FileFacts(file_id, name, detected[0], sealer.size, sealer.sha256.hexdigest())

    async def committed(self, file_id: str, position: int) -> None:
        async with self.store.db.write() as conn:
            await conn.execute(update(files).where(files.c.id == file_id).values(position=position))

    async def discard(self, room_id: str, file_id: str) -> None:
        """Undo an upload whose record was never committed: blob, then row. Never raises
        (it runs while another error is on its way): what it cannot remove stays for
        `sweep`, the row last, so a blob is never left without one."""
        try:
            await self.blobs.delete(self.key(room_id, file_id))
            async with self.store.db.write() as conn:
                await conn.execute(delete(files).where(files.c.id == file_id))
        except Exception as exc:
            log.warning("upload %s not yet cleaned up: %s", file_id, exc.__class__.__name__)

    async def row(self, room_id: str, file_id: str) -> FileRow | None:
        query = select(files).where(files.c.id == file_id, files.c.room_id == room_id)
        async with self.store.db.read() as conn:
            found = (await conn.execute(query)).first()
        return None if found is None else FileRow(**found._mapping)

    async def facts(self, row: FileRow) -> tuple[Record, FileFacts]:
        """A committed file's record (its channel, uploader, time) and what it says."""
        assert row.position is not None
        stored = await self.store.rows_by_position(row.room_id, row.position - 1, row.position, 1)
        record = await self.store.unseal(stored[0]) if stored else None
        if record is None or record.kind != FILE or record.client_id != client_id(row.id):
            raise Tampered(f"room {row.room_id} file {row.id}: its record is missing", row.position)
        return record, facts_of(record.body)

    def open(self, row: FileRow, facts: FileFacts) -> AsyncIterator[bytes]:
        """The file's plaintext, chunk by chunk, each proven; Tampered where it is not."""
        return self._open(row, facts)

    async def _open(self, row: FileRow, facts: FileFacts) -> AsyncIterator[bytes]:
        cipher = await self.store.room_cipher(row.room_id)
        stored = self.blobs.get(self.key(row.room_id, row.id))
        async for chunk in unseal(cipher, row.id, row.chunk_size, stored, facts.sha256):
            yield chunk

    async def prove(self, room_id: str, facts: FileFacts) -> None:
        """Read the whole stored file back: it opens, and hashes to what its record says."""
        row = await self.row(room_id, facts.file)
        if row is None or row.deleted_at is not None:
            raise Tampered(f"room {room_id} file {facts.file}: its stored copy is missing")
        async for _chunk in self.open(row, facts):
            pass

    async def mark_deleted(self, room_id: str, file_id: str) -> None:
        """After its `file_deleted` record: the row says so, then the blob goes."""
        async with self.store.db.write() as conn:
            await conn.execute(
                update(files).where(files.c.id == file_id).values(deleted_at=datetime.now(UTC))
            )
        await self.blobs.delete(self.key(room_id, file_id))

    async def purge_room(self, room_id: str) -> int:
        """A shredded room's blobs (unreadable already without the key): delete them all."""
        query = select(files.c.id).where(files.c.room_id == room_id, files.c.deleted_at.is_(None))
        async with self.store.db.read() as conn:
            ids = list((await conn.scalars(query)).all())
        for file_id in ids:
            await self.mark_deleted(room_id, file_id)
        return len(ids)

    async def shredded_with_files(self) -> list[str]:
        """Rooms whose data key is destroyed but whose blobs are not all deleted yet."""
        query = (
            select(files.c.room_id)
            .join(rooms, rooms.c.id == files.c.room_id)
            .where(rooms.c.wrapped_key.is_(None), files.c.deleted_at.is_(None))
            .distinct()
        )
        async with self.store.db.read() as conn:
            return list((await conn.scalars(query)).all())

    async def sweep(self, before: datetime) -> int:
        """Resolve uploads interrupted before `before`: keep those whose record was
        committed (fill in its position), remove the rest with their blobs."""
        async with self.store.db.read() as conn:
            stale = (
                await conn.execute(
                    select(files).where(files.c.position.is_(None), files.c.created_at < before)
                )
            ).all()
        removed = 0
        for found in stale:
            row = FileRow(**found._mapping)
            position = await self._record_position(row)
            if position is not None:
                await self.committed(row.id, position)
            else:
                await self.discard(row.room_id, row.id)
                removed += 1
        return removed

    async def _record_position(self, row: FileRow) -> int | None:
        query = select(records.c.position).where(
            records.c.room_id == row.room_id,
            records.c.sender_user == row.uploader_user,
            records.c.client_id == client_id(row.id),
        )
        async with self.store.db.read() as conn:
            position: int | None = await conn.scalar(query)
        return position
