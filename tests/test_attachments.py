"""The sealed chunk format of files, and reading a file's real type: no server needed."""

import hashlib
import io
import os
import zipfile
from collections.abc import AsyncIterator

import pytest

from transcripts.attachments import OVERHEAD, Sealer, unseal
from transcripts.content_types import detect
from transcripts.envelope import RoomCipher
from transcripts.errors import Tampered
from transcripts.key_encryption_keys import new_key

CHUNK = 1024
KEY = new_key()


def sealed(data: bytes, file_id: str = "f_1", room: str = "r_1") -> list[bytes]:
    sealer = Sealer(RoomCipher(room, KEY), file_id, CHUNK)
    frames = []
    for start in range(0, len(data), 700):  # pieces that do not line up with chunks
        frames += sealer.feed(data[start : start + 700])
    return [*frames, sealer.finish()]


async def opened(frames: list[bytes], file_id: str = "f_1", sha256: str | None = None) -> bytes:
    async def stored() -> AsyncIterator[bytes]:
        blob = b"".join(frames)
        for start in range(0, len(blob), 333):
            yield blob[start : start + 333]

    cipher = RoomCipher("r_1", KEY)
    return b"".join([c async for c in unseal(cipher, file_id, CHUNK, stored(), sha256)])


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 5 * CHUNK + 17])
async def test_every_size_round_trips_in_chunk_sized_frames(size: int) -> None:
    data = os.urandom(size)
    frames = sealed(data)
    assert len(frames) == max(1, -(-size // CHUNK))
    assert all(len(f) == CHUNK + OVERHEAD for f in frames[:-1])
    assert await opened(frames, sha256=hashlib.sha256(data).hexdigest()) == data


async def test_frames_reordered_cut_extended_or_moved_do_not_open() -> None:
    frames = sealed(os.urandom(4 * CHUNK + 10))
    other_file = sealed(os.urandom(4 * CHUNK + 10), file_id="f_2")
    other_room = sealed(os.urandom(4 * CHUNK + 10), room="r_2")
    cases = {
        "reordered": [frames[1], frames[0], *frames[2:]],
        "last frame removed": frames[:-1],
        "cut at a full frame": frames[:2],
        "a frame appended": [*frames, frames[-1]],
        "a frame of another file": [frames[0], other_file[1], *frames[2:]],
        "a frame of another room": [frames[0], other_room[1], *frames[2:]],
        "a byte short": [*frames[:-1], frames[-1][:-1]],
        "nothing": [],
    }
    for name, broken in cases.items():
        try:
            await opened(broken)
        except Tampered:
            continue
        pytest.fail(f"{name}: opened")


async def test_a_different_whole_fails_its_sha256() -> None:
    with pytest.raises(Tampered, match="sha256"):
        await opened(sealed(b"the real contract"), sha256=hashlib.sha256(b"another").hexdigest())


def zipped(files: dict[str, str]) -> bytes:
    """A zip archive of `files`, the same bytes on every run (a fixed date in each entry),
    so the parameters below name the same tests in every process (pytest-xdist)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), text)
    return out.getvalue()


def office(kind: str) -> bytes:
    return zipped({"[Content_Types].xml": "<Types/>", f"{kind}/document.xml": "<x/>"})


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.4\n...", "application/pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (office("word"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (office("xl"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (zipped({"logs/day1.txt": "worked 8h"}), "application/zip"),
        ("Arbeitszeit: 8 h, Übergabe erfolgt\n".encode(), "text/plain"),
        ("cut in the middle of é".encode()[:-1], "text/plain"),
        (b"\xef\xbb\xbf  <!doctype html><p>hi", "text/html"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' onload='x()'/>", "text/html"),
        (b"notes\n<script>steal()</script>", "text/html"),
        (b"text with a NUL\x00 byte", "application/octet-stream"),
        (b"\xc3\x28 not utf-8", "application/octet-stream"),
    ],
)
def test_the_type_comes_from_the_bytes(head: bytes, expected: str) -> None:
    assert detect(head) == expected
