"""Where sealed files are kept: a small storage interface, and the local filesystem.

Blobs hold only ciphertext (see `attachments`); a store never sees a key.
`put` is all or nothing: the blob appears under its key only once every
piece is written (and, on disk, synced); if the pieces stop with an error,
nothing is left behind. The S3-compatible store is in `s3_blobs`.
"""

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar

from transcripts.errors import TranscriptError

READ_BYTES = 256 * 1024
T = TypeVar("T")


class BlobMissing(TranscriptError):
    code = "not_found"


class BlobUnavailable(TranscriptError):
    """The blob store failed (disk full, object storage down): nothing was stored."""

    code = "unavailable"


class BlobStore(Protocol):
    async def put(self, key: str, pieces: AsyncIterator[bytes]) -> int:
        """Store the pieces under `key`, all or nothing; the number of bytes stored."""
        ...

    def get(self, key: str) -> AsyncIterator[bytes]:
        """The blob's bytes in pieces; raises BlobMissing if there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob; no error if it is already gone."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def close(self) -> None: ...


class LocalBlobStore:
    """Blobs as files under one directory: `{root}/{key}`, written beside as `.part`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not key or ".." in key.split("/") or key.startswith("/"):
            raise ValueError(f"bad blob key {key!r}")
        return self.root / key

    async def put(self, key: str, pieces: AsyncIterator[bytes]) -> int:
        path = self._path(key)
        part = path.with_name(path.name + ".part")
        await _disk(key, path.parent.mkdir, parents=True, exist_ok=True)
        file = await _disk(key, part.open, "wb")
        written = 0
        try:
            async for piece in pieces:  # an error of the source passes through as it is
                await _disk(key, file.write, piece)
                written += len(piece)
            await _disk(key, _sync_and_close, file)
            await _disk(key, os.replace, part, path)
            await _disk(key, _sync_dir, path.parent)
        except BaseException:
            file.close()
            part.unlink(missing_ok=True)
            raise
        return written

    async def get(self, key: str) -> AsyncIterator[bytes]:
        try:
            file = await asyncio.to_thread(self._path(key).open, "rb")
        except FileNotFoundError:
            raise BlobMissing(f"no blob {key}") from None
        except OSError as exc:
            raise BlobUnavailable(f"blob {key} not readable: {exc.strerror}") from exc
        try:
            while piece := await _disk(key, file.read, READ_BYTES):
                yield piece
        finally:
            file.close()

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self._path(key).unlink, missing_ok=True)
        except NotADirectoryError:
            return  # no directory, no blob
        except OSError as exc:
            raise BlobUnavailable(f"blob {key} not deleted: {exc.strerror}") from exc

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).exists)

    async def close(self) -> None:
        return None


async def _disk(key: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`call` in a worker thread; a failure of the disk is the store being unavailable."""
    try:
        return await asyncio.to_thread(call, *args, **kwargs)
    except OSError as exc:
        raise BlobUnavailable(f"blob {key}: {exc.strerror or exc.__class__.__name__}") from exc


def _sync_and_close(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())
    file.close()


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
