"""Resumable uploads: create, send at an offset, survive a dropped connection, finish into
a file that is exactly a plain upload's; only the uploader may touch it; refusals and
aborts leave nothing behind."""

import asyncio
import json
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from mediation.config import Settings
from tests.conftest import RunningServer, ServerFactory
from tests.files import (
    Resumable,
    bearer,
    download,
    export_with_files,
    generated,
    generated_sha256,
    mediation_cli,
    named,
    pdf,
    sha256,
    staged,
    stored,
    upload,
)
from transcripts.schema import uploads

KIB, MIB = 1024, 1024 * 1024


async def resumable(
    server: RunningServer, ticket: str, user: str = "c-1", role: str = "client"
) -> tuple[str, Resumable]:
    room = await server.platform.open_room(ticket)
    return room, Resumable(server, room, await server.platform.token(room, user, role))


async def settled_offset(up: Resumable, url: str, want: int, timeout: float = 20.0) -> int:
    """HEAD until the offset is `want` (the cut request commits after the client left)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (offset := await up.offset(url)) != want:
        assert asyncio.get_running_loop().time() < deadline, f"offset stuck at {offset}"
        await asyncio.sleep(0.1)
    return offset


async def test_a_cut_patch_resumes_from_heads_offset_into_the_original_file(
    server: RunningServer,
) -> None:
    room, up = await resumable(server, "T-resume")
    data = pdf(5 * MIB + 12_345)  # a 4 MiB segment, more chunks, and a tail: all kept
    made = await up.create(len(data))
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    assert made.headers["location"] == url
    assert (made.headers["upload-offset"], made.headers["upload-length"]) == ("0", str(len(data)))
    assert made.headers["tus-resumable"] == "1.0.0"
    cut = 4 * MIB + 300 * KIB + 777
    await up.cut_patch(url, 0, data[:cut], len(data))
    offset = await settled_offset(up, url, cut)  # every byte that arrived, not only chunks
    head = await up.head(url)
    assert head.headers["upload-length"] == str(len(data))
    assert "upload-expires" in head.headers
    root = server.settings.data_dir / "files" / room
    for blob in root.iterdir():  # staged as ciphertext, the tail's bytes included
        assert data[offset - 500 : offset] not in blob.read_bytes()
        assert data[100:600] not in blob.read_bytes()

    middle = offset + 200 * KIB + 5
    step = await up.patch(url, offset, data[offset:middle])
    assert step.status_code == 204, step.text
    assert step.headers["upload-offset"] == str(middle)
    done = await up.patch(url, middle, data[middle:])
    assert done.status_code == 201, done.text
    facts = done.json()
    assert (facts["size"], facts["sha256"], facts["content_type"]) == (
        len(data),
        sha256(data),
        "application/pdf",
    )
    assert (facts["name"], facts["channel"]) == ("evidence.pdf", "joint")
    got = await download(server, room, up.token, facts["file"])
    assert got.status_code == 200
    assert got.content == data
    assert await stored(server) == (1, 1, [f"{room}/{facts['file']}"])  # no staging left
    assert await staged(server) == (0, 0)
    assert (await up.head(url)).status_code == 404  # finished: it is a file now


async def test_a_wrong_offset_is_a_conflict_naming_the_current_one(server: RunningServer) -> None:
    _room, up = await resumable(server, "T-offset")
    data = pdf(150 * KIB)
    url = await up.start(len(data))
    assert (await up.patch(url, 0, data[: 70 * KIB])).status_code == 204
    for wrong in (0, 69 * KIB, 71 * KIB):
        response = await up.patch(url, wrong, data[wrong : wrong + 10])
        assert response.status_code == 409, (wrong, response.text)
        error = response.json()["error"]
        assert (error["code"], error["offset"]) == ("conflict", 70 * KIB)
        assert response.headers["upload-offset"] == str(70 * KIB)
    assert await up.offset(url) == 70 * KIB  # the refused bytes changed nothing
    done = await up.patch(url, 70 * KIB, data[70 * KIB :])
    assert done.status_code == 201, done.text
    assert done.json()["sha256"] == sha256(data)


async def test_two_patches_at_one_offset_cannot_both_land(server: RunningServer) -> None:
    room, up = await resumable(server, "T-race")
    data = pdf(300 * KIB)
    url = await up.start(len(data))
    first, second = await asyncio.gather(
        up.patch(url, 0, data[: 200 * KIB]), up.patch(url, 0, data[: 200 * KIB])
    )
    assert sorted([first.status_code, second.status_code]) == [204, 409]
    assert await up.offset(url) == 200 * KIB
    done = await up.patch(url, 200 * KIB, data[200 * KIB :])
    assert done.status_code == 201, done.text
    assert (await download(server, room, up.token, done.json()["file"])).content == data
    assert await staged(server) == (0, 0)


async def test_only_the_uploader_may_continue_inspect_or_abort_it(server: RunningServer) -> None:
    room, up = await resumable(server, "T-owner")
    data = pdf(100 * KIB)
    url = await up.start(len(data))
    assert (await up.patch(url, 0, data[: 40 * KIB])).status_code == 204
    for user, role in [("f-1", "freelancer"), ("m-1", "moderator"), ("a-1", "auditor")]:
        other = Resumable(server, room, await server.platform.token(room, user, role))
        assert (await other.head(url)).status_code == 404, role
        patched = await other.patch(url, 40 * KIB, data[40 * KIB :])
        assert (patched.status_code, patched.json()["error"]["code"]) == (404, "not_found")
        assert (await other.delete(url)).status_code == 404, role
    elsewhere = await server.platform.open_room("T-owner-2")  # same user, another room's token
    stranger = Resumable(server, room, await server.platform.token(elsewhere, "c-1", "client"))
    assert (await stranger.head(url)).status_code == 403
    assert await up.offset(url) == 40 * KIB  # untouched by all of them
    again = Resumable(server, room, await server.platform.token(room, "c-1", "client"))
    done = await again.patch(url, 40 * KIB, data[40 * KIB :])  # a fresh token, same person
    assert done.status_code == 201, done.text


DISALLOWED = pytest.mark.parametrize(  # bytes of types a room never accepts, however named
    ("content", "detected"),
    [
        (b"<!DOCTYPE html><html><script>alert(1)</script>" + b" " * (150 * KIB), "text/html"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + bytes(150 * KIB), "application/x-msdownload"),
    ],
    ids=["html", "windows-exe"],
)


@DISALLOWED
async def test_a_disallowed_type_is_refused_from_its_first_bytes(
    server: RunningServer, content: bytes, detected: str
) -> None:
    _room, up = await resumable(server, "T-type-early", "c-1", "client")
    url = await up.start(len(content), "photo.png")
    refused = await up.patch(url, 0, content[: 70 * KIB])  # the rest is never sent
    assert refused.status_code == 415, refused.text
    error = refused.json()["error"]
    assert (error["code"], detected in error["message"]) == ("unsupported_type", True)
    assert await stored(server) == (0, 0, [])
    assert await staged(server) == (0, 0)
    assert (await up.head(url)).status_code == 404


@DISALLOWED
async def test_a_disallowed_type_found_at_the_finish_leaves_nothing(
    server: RunningServer, content: bytes, detected: str
) -> None:
    _room, up = await resumable(server, "T-type", "c-1", "client")
    url = await up.start(len(content), "photo.png")
    first = 4 * KIB  # too few bytes to tell the type from: the finish decides
    assert (await up.patch(url, 0, content[:first])).status_code == 204
    assert (await up.patch(url, first, content[first : 70 * KIB])).status_code == 204
    assert await staged(server) == (1, 2)  # a whole chunk and a tail staged meanwhile
    refused = await up.patch(url, 70 * KIB, content[70 * KIB :])
    assert refused.status_code == 415, refused.text
    error = refused.json()["error"]
    assert error["code"] == "unsupported_type"
    assert detected in error["message"]
    assert await stored(server) == (0, 0, [])  # no file row, record, blob or piece
    assert await staged(server) == (0, 0)
    assert (await up.head(url)).status_code == 404


async def test_abort_removes_the_upload_and_everything_it_staged(server: RunningServer) -> None:
    _room, up = await resumable(server, "T-abort")
    data = pdf(200 * KIB)
    url = await up.start(len(data))
    assert (await up.patch(url, 0, data[: 150 * KIB])).status_code == 204
    _rows, _records, blobs = await stored(server)
    assert len(blobs) == 2  # a segment and a tail
    assert await staged(server) == (1, 2)
    assert (await up.delete(url)).status_code == 204
    assert await stored(server) == (0, 0, [])
    assert await staged(server) == (0, 0)
    assert (await up.head(url)).status_code == 404
    assert (await up.patch(url, 150 * KIB, data[150 * KIB :])).status_code == 404


async def test_too_large_is_refused_at_creation_and_past_the_length(
    start_server: ServerFactory, settings: Settings
) -> None:
    server = await start_server(replace(settings, files_max_bytes=256 * KIB))
    _room, up = await resumable(server, "T-big")
    over = await up.create(256 * KIB + 1)
    assert (over.status_code, over.json()["error"]["code"]) == (413, "too_large")
    assert await staged(server) == (0, 0)
    url = await up.start(100 * KIB)  # exactly the limit would do; this is less
    past = await up.patch(url, 0, pdf(100 * KIB + 1))
    assert (past.status_code, past.json()["error"]["code"]) == (413, "too_large")
    assert past.headers["connection"] == "close"  # its body was never read: do not wait on it
    assert await up.offset(url) == 0
    bad = await up.http.post(
        f"/api/rooms/{up.room}/uploads",
        headers={**bearer(up.token), **named("x.pdf"), "upload-length": "-5"},
    )
    assert bad.status_code == 400


async def test_the_same_rules_as_a_plain_upload_apply_at_creation_and_at_each_patch(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-rules")
    auditor = Resumable(server, room, await server.platform.token(room, "a-1", "auditor"))
    assert (await auditor.create(1000)).status_code == 403  # an auditor writes nowhere
    client = Resumable(server, room, await server.platform.token(room, "c-1", "client"))
    assert (await client.create(1000, channel="notes")).status_code == 403
    data = pdf(1000)
    url = await client.start(len(data))
    await server.services.store.set_state(room, "closed")
    closed = await client.patch(url, 0, data)
    assert (closed.status_code, closed.json()["error"]["code"]) == (409, "room_closed")
    assert (await client.create(1000)).status_code == 409


async def test_an_expired_upload_is_gone_and_swept_with_its_blobs(server: RunningServer) -> None:
    _room, up = await resumable(server, "T-expire")
    data = pdf(100 * KIB)
    url = await up.start(len(data))
    assert (await up.patch(url, 0, data[: 90 * KIB])).status_code == 204
    async with server.services.db.write() as conn:
        await conn.execute(
            update(uploads).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert (await up.head(url)).status_code == 404
    assert (await up.patch(url, 90 * KIB, data[90 * KIB :])).status_code == 404
    assert await server.services.uploads.sweep(datetime.now(UTC)) == 1
    assert await stored(server) == (0, 0, [])
    assert await staged(server) == (0, 0)


async def test_an_empty_file_finishes_like_a_plain_empty_upload(server: RunningServer) -> None:
    """Complete as created: tus clients send no PATCH for an empty file."""
    room, up = await resumable(server, "T-empty")
    done = await up.create(0, "empty.txt")
    assert done.status_code == 201, done.text
    assert done.headers["upload-offset"] == "0"
    assert (await up.head(done.headers["location"])).status_code == 404  # a file already
    plain = (await upload(server, room, up.token, b"", "empty.txt")).json()
    facts = done.json()
    assert (facts["size"], facts["sha256"], facts["content_type"]) == (
        0,
        plain["sha256"],
        plain["content_type"],
    )
    assert (await download(server, room, up.token, facts["file"])).content == b""


async def test_a_resumed_file_is_exported_and_verified_like_any_other(
    server: RunningServer,
) -> None:
    room, up = await resumable(server, "T-export")
    data = pdf(200 * KIB + 3)
    url = await up.start(len(data), "contract.pdf")
    for start, end in [(0, 10 * KIB), (10 * KIB, 130 * KIB), (130 * KIB, len(data))]:
        response = await up.patch(url, start, data[start:end])
    facts = response.json()
    export = await server.platform.http.get(
        f"/api/rooms/{room}/export", headers=server.platform.auth
    )
    assert export.status_code == 200  # the exporter proves every listed file first
    [listed] = json.loads(export.content.splitlines()[0])["files"]
    assert (listed["file"], listed["sha256"], listed["size"]) == (
        facts["file"],
        sha256(data),
        len(data),
    )
    assert (listed["name"], listed["uploader"]["user"]) == ("contract.pdf", "c-1")


async def test_a_request_failing_mid_segment_keeps_exactly_the_segments_stored(
    server: RunningServer,
) -> None:
    """The sealer runs ahead of the segment being written (a piece completes several
    chunks); the offset must count only chunks that are in a stored piece."""
    from transcripts.uploads import UploadRow, Uploads

    room = await server.platform.open_room("T-segments")
    chunk = server.services.locker.chunk_bytes
    staging = Uploads(server.services.locker, segment_bytes=3 * chunk)  # 3 chunks a piece
    data = pdf(10 * chunk + 99)
    row = await staging.create(room, ("c-1", "client"), "joint", "x.pdf", len(data))

    async def reread(row: UploadRow) -> UploadRow:
        """The upload as stored now, which must still be there."""
        found = await staging.get(room, row.id)
        assert found is not None
        return found

    async def failing() -> AsyncIterator[bytes]:
        yield data[: 4 * chunk]  # seals four chunks at once
        yield data[4 * chunk : 8 * chunk]
        raise ConnectionResetError  # an error, not a clean end: the open piece is lost

    with pytest.raises(ConnectionResetError):
        await staging.append(row, 0, failing())
    row = await reread(row)
    assert row.received == 6 * chunk  # two whole pieces of three chunks
    assert await staged(server) == (1, 2)  # the third piece's blob and row were removed

    async def rest() -> AsyncIterator[bytes]:
        yield data[6 * chunk :]

    assert await staging.append(row, 6 * chunk, rest()) == len(data)
    row = await reread(row)
    facts = await staging.finish(row, ["application/pdf"])
    assert (facts.size, facts.sha256) == (len(data), sha256(data))


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_mediation_verify_checks_a_resumed_file_like_any_other(
    server: RunningServer, tmp_path: Path
) -> None:
    room, up = await resumable(server, "T-verify")
    data = pdf(150 * KIB)
    url = await up.start(len(data), "contract.pdf")
    assert (await up.patch(url, 0, data[: 100 * KIB])).status_code == 204
    file_id = (await up.patch(url, 100 * KIB, data[100 * KIB :])).json()["file"]
    exported = await export_with_files(server, room, tmp_path)
    assert (exported.files / file_id).read_bytes() == data
    bundle, key, copies = exported.bundle, exported.public_key, exported.files
    args = ("verify", str(bundle), "--public-key", str(key), "--files", str(copies))
    run = mediation_cli(server)
    ok = await run(*args)
    assert (ok.returncode, "1 files match their hashes" in ok.stdout) == (0, True), ok.stdout
    (copies / file_id).write_bytes(data[:-1] + b"\x00")
    broken = await run(*args)
    assert broken.returncode == 1
    assert f"file {file_id} ('contract.pdf'" in broken.stdout


async def window(size: int, start: int, end: int) -> AsyncIterator[bytes]:
    """Bytes [start, end) of `generated(size)`, piece by piece: never whole in memory."""
    at = 0
    async for piece in generated(size):
        if at + len(piece) > start and at < end:
            yield piece[max(0, start - at) : end - at]
        at += len(piece)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_large_resumed_upload_stays_in_bounded_memory(
    start_server: ServerFactory, settings: Settings
) -> None:
    """Staging, the finish's read-back and re-sealing all hold a chunk or a read at a time."""
    size, bound = 32 * MIB, 6 * MIB
    server = await start_server(replace(settings, files_max_bytes=size))
    _room, up = await resumable(server, "T-resume-memory")
    url = await up.start(size)
    middle = 13 * MIB + 4321
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        assert (await up.patch(url, 0, window(size, 0, middle))).status_code == 204
        done = await up.patch(url, middle, window(size, middle, size))
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert done.status_code == 201, done.text
    assert done.json()["sha256"] == generated_sha256(size)
    assert peak < bound, f"the resumable upload peaked at {peak / 2**20:.1f} MiB"
