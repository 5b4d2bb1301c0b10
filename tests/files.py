"""Test-side helpers for the evidence locker: sample files, uploads, downloads, what is stored."""

import hashlib
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
from sqlalchemy import func, select

from transcripts.schema import files, records

PDF_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def pdf(size: int) -> bytes:
    """A file that is a PDF by its bytes, `size` long."""
    return PDF_HEAD + os.urandom(size - len(PDF_HEAD))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def upload(
    server: Any,
    room: str,
    token: str,
    content: bytes | AsyncIterator[bytes],
    name: str = "evidence.pdf",
    channel: str = "joint",
) -> httpx.Response:
    response: httpx.Response = await server.platform.http.post(
        f"/api/rooms/{room}/files",
        params={"channel": channel, "name": name},
        content=content,
        headers=bearer(token),
        timeout=60,
    )
    return response


async def download(server: Any, room: str, token: str, file_id: str) -> httpx.Response:
    response: httpx.Response = await server.platform.http.get(
        f"/api/rooms/{room}/files/{file_id}", headers=bearer(token), timeout=60
    )
    return response


async def generated(
    size: int, piece: int = 64 * 1024, head: bytes = PDF_HEAD
) -> AsyncIterator[bytes]:
    """`size` bytes of a PDF-looking file, made piece by piece: never whole in memory.
    The content is a repeatable function of the offset, so `generated_sha256` knows it."""
    yield head
    sent = len(head)
    while sent < size:
        n = min(piece, size - sent)
        yield _filler(sent, n)
        sent += n


def _filler(offset: int, n: int) -> bytes:
    block = hashlib.sha256(offset.to_bytes(8, "big")).digest() * (n // 32 + 1)
    return block[:n]


def generated_sha256(size: int, piece: int = 64 * 1024, head: bytes = PDF_HEAD) -> str:
    digest = hashlib.sha256(head)
    sent = len(head)
    while sent < size:
        n = min(piece, size - sent)
        digest.update(_filler(sent, n))
        sent += n
    return digest.hexdigest()


async def stored(server: Any) -> tuple[int, int, list[str]]:
    """(file rows, file records, blob files on disk incl. partial ones) of the whole server."""
    async with server.services.db.read() as conn:
        rows = await conn.scalar(select(func.count()).select_from(files))
        kinds = await conn.scalar(
            select(func.count()).select_from(records).where(records.c.kind == "file")
        )
    root = server.settings.data_dir / "files"
    blobs = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return int(rows or 0), int(kinds or 0), blobs


def minimal_pdf(text: str, padding: int = 0) -> bytes:
    """A valid one-page PDF showing `text`, with a correct cross-reference table."""
    stream = f"BT /F1 18 Tf 40 90 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    out += b"% " + b"x" * padding + b"\n" if padding else b""
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
