"""Test-side helpers for the evidence locker: sample files, uploads, downloads, what is stored."""

import asyncio
import hashlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import func, select

from tests.conftest import RunningServer
from transcripts.schema import files, records, upload_pieces, uploads

PDF_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def pdf(size: int) -> bytes:
    """A file that is a PDF by its bytes, `size` long."""
    return PDF_HEAD + os.urandom(size - len(PDF_HEAD))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def named(name: str) -> dict[str, str]:
    """An upload's name, as the Content-Disposition header states it (RFC 8187)."""
    return {"content-disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}"}


async def upload(
    server: RunningServer,
    room: str,
    token: str,
    content: bytes | AsyncIterator[bytes],
    name: str = "evidence.pdf",
    channel: str = "joint",
) -> httpx.Response:
    response: httpx.Response = await server.platform.http.post(
        f"/api/rooms/{room}/files",
        params={"channel": channel},
        content=content,
        headers={**bearer(token), **named(name)},
        timeout=60,
    )
    return response


async def download(server: RunningServer, room: str, token: str, file_id: str) -> httpx.Response:
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


async def stored(server: RunningServer) -> tuple[int, int, list[str]]:
    """(file rows, file records, blob files on disk incl. partial ones) of the whole server."""
    async with server.services.db.read() as conn:
        rows = await conn.scalar(select(func.count()).select_from(files))
        kinds = await conn.scalar(
            select(func.count()).select_from(records).where(records.c.kind == "file")
        )
    root = server.settings.data_dir / "files"
    blobs = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    return int(rows or 0), int(kinds or 0), blobs


async def staged(server: RunningServer) -> tuple[int, int]:
    """(unfinished uploads, their staged pieces) of the whole server."""
    async with server.services.db.read() as conn:
        made = await conn.scalar(select(func.count()).select_from(uploads))
        pieces = await conn.scalar(select(func.count()).select_from(upload_pieces))
    return int(made or 0), int(pieces or 0)


class Resumable:
    """One person's resumable uploads in one room, over the server's HTTP API."""

    def __init__(self, server: RunningServer, room: str, token: str) -> None:
        self.server, self.room, self.token = server, room, token
        self.http: httpx.AsyncClient = server.platform.http

    async def create(
        self, length: int, name: str = "evidence.pdf", channel: str = "joint"
    ) -> httpx.Response:
        return await self.http.post(
            f"/api/rooms/{self.room}/uploads",
            params={"channel": channel},
            headers={
                **bearer(self.token),
                **named(name),
                "upload-length": str(length),
                "tus-resumable": "1.0.0",
            },
        )

    async def start(self, length: int, name: str = "evidence.pdf") -> str:
        made = await self.create(length, name)
        assert made.status_code == 201, made.text
        url: str = made.json()["url"]
        return url

    async def head(self, url: str) -> httpx.Response:
        return await self.http.head(url, headers=bearer(self.token))

    async def offset(self, url: str) -> int:
        response = await self.head(url)
        assert response.status_code == 200, response.status_code
        return int(response.headers["upload-offset"])

    async def patch(
        self, url: str, offset: int, content: bytes | AsyncIterator[bytes]
    ) -> httpx.Response:
        return await self.http.patch(
            url,
            content=content,
            headers={
                **bearer(self.token),
                "upload-offset": str(offset),
                "content-type": "application/offset+octet-stream",
                "tus-resumable": "1.0.0",
            },
            timeout=120,
        )

    async def delete(self, url: str) -> httpx.Response:
        return await self.http.delete(url, headers=bearer(self.token))

    async def cut_patch(self, url: str, offset: int, sent: bytes, declared: int) -> None:
        """A PATCH over a raw socket that promises `declared` bytes, sends `sent`, waits
        for the server to read them, and hangs up."""
        _reader, writer = await asyncio.open_connection("127.0.0.1", self.server.settings.port)
        head = (
            f"PATCH {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.token}\r\n"
            f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Tus-Resumable: 1.0.0\r\nContent-Length: {declared}\r\n\r\n"
        )
        writer.write(head.encode() + sent)
        await writer.drain()
        await asyncio.sleep(1.0)
        writer.close()
        await writer.wait_closed()


def mediation_cli(
    server: RunningServer,
) -> Callable[..., Awaitable[subprocess.CompletedProcess[str]]]:
    """`python -m mediation ARGS` against the server's data directory, off the event loop."""
    env = {"MEDIATION_DATA_DIR": str(server.settings.data_dir), "PATH": "/usr/bin:/bin"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mediation", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    async def in_thread(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(run, *args)

    return in_thread


@dataclass(frozen=True)
class ExportedWithFiles:
    bundle: Path
    files: Path
    public_key: Path


async def export_with_files(server: RunningServer, room: str, into: Path) -> ExportedWithFiles:
    """`mediation export ROOM --with-files`, and the signing key to verify it with."""
    run = mediation_cli(server)
    pem = into / "key.pem"
    pem.write_text((await run("keys", "public")).stdout.split("\n", 1)[1])
    out, copies = into / "room.jsonl", into / "files"
    exported = await run("export", room, "--out", str(out), "--with-files", str(copies))
    assert exported.returncode == 0, exported.stderr
    return ExportedWithFiles(out, copies, pem)


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
