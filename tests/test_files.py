"""The evidence locker: files in a room's channels, sealed, proven, and seen only by those
who see the channel."""

import asyncio
import base64
import hashlib
import json
import tracemalloc
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from mediation.config import Settings
from tests.conftest import RunningServer, ServerFactory
from tests.files import (
    PNG_HEAD,
    bearer,
    download,
    generated,
    generated_sha256,
    pdf,
    sha256,
    stored,
    upload,
)
from tests.peers import without_joins

CHANNELS = ("joint", "caucus:client", "caucus:freelancer", "notes")
PEOPLE = {"client": "c-1", "freelancer": "f-1", "moderator": "m-1", "auditor": "a-1"}
# The rules, written out here independently of rooms/visibility.py.
WRITES = {
    "client": {"joint", "caucus:client"},
    "freelancer": {"joint", "caucus:freelancer"},
    "moderator": {"joint", "caucus:client", "caucus:freelancer", "notes"},
    "auditor": set(),
}
READS = {
    "client": {"joint", "caucus:client"},
    "freelancer": {"joint", "caucus:freelancer"},
    "moderator": set(CHANNELS),
    "auditor": set(CHANNELS),
}


async def tokens(server: RunningServer, room: str) -> dict[str, str]:
    return {role: await server.platform.token(room, user, role) for role, user in PEOPLE.items()}


async def test_each_role_uploads_where_it_writes_and_downloads_where_it_reads(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-files")
    token = await tokens(server, room)
    uploaded: dict[str, tuple[str, bytes]] = {}  # channel -> (file id, bytes)
    for role in PEOPLE:
        for channel in CHANNELS:
            data = pdf(3000)
            response = await upload(server, room, token[role], data, f"{role}.pdf", channel)
            if channel in WRITES[role]:
                assert response.status_code == 201, (role, channel, response.text)
                facts = response.json()
                assert facts["sha256"] == sha256(data)
                assert (facts["size"], facts["content_type"]) == (3000, "application/pdf")
                assert facts["channel"] == channel
                uploaded.setdefault(channel, (facts["file"], data))
            else:
                assert response.status_code == 403, (role, channel, response.text)
                assert response.json()["error"]["code"] == "forbidden"
    assert set(uploaded) == set(CHANNELS)
    for role in PEOPLE:
        for channel, (file_id, data) in uploaded.items():
            response = await download(server, room, token[role], file_id)
            if channel in READS[role]:
                assert response.status_code == 200, (role, channel, response.text)
                assert response.content == data
            else:  # a file in a channel one cannot see does not exist, as far as one knows
                assert response.status_code == 404, (role, channel)
                assert response.json()["error"]["code"] == "not_found"


async def test_a_download_cannot_run_in_the_browser_and_states_its_hash(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-headers")
    token = await server.platform.token(room, "c-1", "client")
    data = b"work log, day 1: delivered the mock-ups\n"
    made = (await upload(server, room, token, data, "log <1>.txt")).json()
    assert made["content_type"] == "text/plain"
    response = await download(server, room, token, made["file"])
    assert response.content == data
    headers = response.headers
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''log%20%3C1%3E.txt" in headers["content-disposition"]
    assert headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in headers["content-security-policy"]
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert headers["repr-digest"] == f"sha-256=:{digest}:"


async def test_tokens_for_another_room_or_none_get_nothing(server: RunningServer) -> None:
    room = await server.platform.open_room("T-auth")
    other = await server.platform.open_room("T-auth-other")
    token = await server.platform.token(room, "c-1", "client")
    made = (await upload(server, room, token, pdf(100))).json()
    elsewhere = await server.platform.token(other, "c-1", "client")
    assert (await download(server, room, elsewhere, made["file"])).status_code == 403
    assert (await download(server, room, "not-a-token", made["file"])).status_code == 401
    assert (await upload(server, room, elsewhere, pdf(100))).status_code == 403
    api_key = server.platform.api_key  # the platform is no participant
    assert (await download(server, room, api_key, made["file"])).status_code == 401


async def test_the_file_event_reaches_exactly_the_sockets_that_see_its_channel(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-live")
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    await client.saw_join("f-1", "freelancer")
    moderator = await server.platform.token(room, "m-1", "moderator")
    data = pdf(5000)
    made = (await upload(server, room, moderator, data, "offer.pdf", "caucus:client")).json()
    event = await client.next("event")
    while event["kind"] != "file":
        event = await client.next("event")
    assert event["channel"] == "caucus:client"
    assert (event["file"], event["name"], event["sha256"]) == (
        made["file"],
        "offer.pdf",
        sha256(data),
    )
    assert (event["size"], event["content_type"], event["seq"]) == (
        5000,
        "application/pdf",
        made["seq"],
    )
    assert event["sender"] == {"user": "m-1", "role": "moderator"}
    assert [f for f in without_joins(await freelancer.drain()) if f["type"] == "event"] == []


@pytest.mark.parametrize(
    ("name", "content", "detected"),
    [
        (
            "photo.png",
            b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>",
            "text/html",
        ),
        ("photo.png", b"\x7fELF\x02\x01\x01\x00" + bytes(200), "application/x-executable"),
        ("photo.png", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200), "application/x-msdownload"),
        ("photo.png", bytes(range(256)) * 4, "application/octet-stream"),
    ],
    ids=["html", "elf", "windows-exe", "unknown-binary"],
)
async def test_the_real_type_is_read_from_the_bytes_and_a_wrong_one_leaves_nothing(
    server: RunningServer, name: str, content: bytes, detected: str
) -> None:
    room = await server.platform.open_room("T-type")
    token = await server.platform.token(room, "c-1", "client")
    response = await upload(server, room, token, content, name)
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert error["code"] == "unsupported_type"
    assert detected in error["message"]
    assert await stored(server) == (0, 0, [])
    png = await upload(server, room, token, PNG_HEAD + bytes(100), "photo.png")  # the real thing
    assert png.json()["content_type"] == "image/png"


async def test_too_large_is_refused_while_streaming_and_leaves_nothing(
    start_server: ServerFactory, settings: Settings
) -> None:
    server = await start_server(replace(settings, files_max_bytes=256 * 1024))
    room = await server.platform.open_room("T-big")
    token = await server.platform.token(room, "c-1", "client")
    streamed = await upload(server, room, token, generated(300 * 1024))  # no Content-Length
    assert streamed.status_code == 413, streamed.text
    assert streamed.json()["error"]["code"] == "too_large"
    declared = await upload(server, room, token, pdf(300 * 1024))  # Content-Length says it
    assert declared.status_code == 413
    # its body is unread: the close lets a browser stop sending and read the 413
    assert declared.headers["connection"] == "close"
    assert await stored(server) == (0, 0, [])
    exact = await upload(server, room, token, pdf(256 * 1024))
    assert exact.status_code == 201


async def test_a_closed_room_refuses_uploads(server: RunningServer) -> None:
    room = await server.platform.open_room("T-closed")
    token = await server.platform.token(room, "c-1", "client")
    await server.services.store.set_state(room, "closed")
    response = await upload(server, room, token, pdf(1000))
    assert (response.status_code, response.json()["error"]["code"]) == (409, "room_closed")
    assert await stored(server) == (0, 0, [])


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_file_far_larger_than_its_buffers_streams_through_in_bounded_memory(
    start_server: ServerFactory, settings: Settings
) -> None:
    """Up and down, the server holds about a chunk or a read at a time, never the file.
    tracemalloc sees every Python allocation in this process, server and client alike."""
    size, bound = 48 * 1024 * 1024, 6 * 1024 * 1024  # 48 MiB through 64 KiB chunks
    server = await start_server(replace(settings, files_max_bytes=size))
    room = await server.platform.open_room("T-memory")
    token = await server.platform.token(room, "c-1", "client")
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        made = await upload(server, room, token, generated(size))
        upload_peak = tracemalloc.get_traced_memory()[1] - before
        assert made.status_code == 201, made.text
        assert made.json()["sha256"] == generated_sha256(size)
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        digest, got = hashlib.sha256(), 0
        async with server.platform.http.stream(
            "GET", f"/api/rooms/{room}/files/{made.json()['file']}", headers=bearer(token)
        ) as response:
            assert response.status_code == 200
            async for piece in response.aiter_bytes():
                digest.update(piece)
                got += len(piece)
        download_peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert (got, digest.hexdigest()) == (size, generated_sha256(size))
    assert upload_peak < bound, f"upload peaked at {upload_peak / 2**20:.1f} MiB"
    assert download_peak < bound, f"download peaked at {download_peak / 2**20:.1f} MiB"


def blob_path(server: RunningServer, room: str, file_id: str) -> Path:
    return server.settings.data_dir / "files" / room / file_id


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 1
    path.write_bytes(bytes(data))


async def test_a_tampered_blob_is_refused_at_download_and_at_export(server: RunningServer) -> None:
    room = await server.platform.open_room("T-tamper")
    token = await server.platform.token(room, "c-1", "client")
    made = (await upload(server, room, token, pdf(200 * 1024))).json()  # four chunks
    flip_byte(blob_path(server, room, made["file"]), 100_000)  # inside the second chunk
    response = await download(server, room, token, made["file"])
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "tampered"
    assert made["file"] in response.json()["error"]["message"]
    export = await server.platform.http.get(
        f"/api/rooms/{room}/export", headers=server.platform.auth
    )
    assert export.status_code == 422
    assert made["file"] in export.json()["error"]["message"]
    assert "position" in export.json()["error"]["message"]


async def test_a_blob_cut_short_or_swapped_is_refused(server: RunningServer) -> None:
    room = await server.platform.open_room("T-cut")
    token = await server.platform.token(room, "c-1", "client")
    first = (await upload(server, room, token, pdf(150 * 1024))).json()
    second = (await upload(server, room, token, pdf(150 * 1024))).json()
    path = blob_path(server, room, first["file"])
    frame = 64 * 1024 + 28
    path.write_bytes(path.read_bytes()[: 2 * frame])  # the final chunk removed
    assert (await download(server, room, token, first["file"])).status_code == 422
    other = blob_path(server, room, second["file"])
    path.write_bytes(other.read_bytes())  # another file's sealed bytes, same room and key
    assert (await download(server, room, token, first["file"])).status_code == 422
    assert (await download(server, room, token, second["file"])).status_code == 200


async def test_tampering_late_in_a_large_file_cuts_the_download_short(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-late")
    token = await server.platform.token(room, "c-1", "client")
    made = (await upload(server, room, token, pdf(3 * 1024 * 1024))).json()
    flip_byte(blob_path(server, room, made["file"]), 2 * 1024 * 1024 + 7)  # past the first MiB
    with pytest.raises(httpx.RemoteProtocolError):  # fewer bytes than Content-Length, then EOF
        await download(server, room, token, made["file"])


async def test_deleting_a_file_is_recorded_and_removes_its_blob(server: RunningServer) -> None:
    room = await server.platform.open_room("T-delete")
    token = await tokens(server, room)
    made = (await upload(server, room, token["client"], pdf(1000))).json()
    url = f"/api/rooms/{room}/files/{made['file']}"
    http = server.platform.http
    refused = await http.delete(url, headers=bearer(token["freelancer"]))
    assert refused.status_code == 403  # not the uploader, not a moderator
    await http.put(
        f"/api/rooms/{room}/legal-hold", json={"reason": "case 7"}, headers=server.platform.auth
    )
    held = await http.delete(url, headers=bearer(token["client"]))
    assert (held.status_code, held.json()["error"]["code"]) == (409, "legal_hold")
    await http.delete(f"/api/rooms/{room}/legal-hold", headers=server.platform.auth)
    deleted = await http.request(
        "DELETE", url, json={"reason": "wrong file"}, headers=bearer(token["client"])
    )
    assert deleted.status_code == 200, deleted.text
    assert not blob_path(server, room, made["file"]).exists()
    gone = await download(server, room, token["moderator"], made["file"])
    assert (gone.status_code, gone.json()["error"]["code"]) == (410, "deleted")
    export = await http.get(f"/api/rooms/{room}/export", headers=server.platform.auth)
    assert export.status_code == 200  # a deleted file is not a tampered one
    lines = [json.loads(line) for line in export.content.splitlines()]
    [listed] = lines[0]["files"]
    assert (listed["file"], listed["deleted"], listed["sha256"]) == (
        made["file"],
        True,
        made["sha256"],
    )
    kinds = [x["kind"] for x in lines[1:-1]]
    assert kinds[-2:] == ["file", "file_deleted"]


async def test_downloads_are_on_the_access_log_before_the_bytes(server: RunningServer) -> None:
    room = await server.platform.open_room("T-custody")
    token = await tokens(server, room)
    made = (await upload(server, room, token["client"], pdf(1000))).json()
    await download(server, room, token["freelancer"], made["file"])
    await download(server, room, token["auditor"], made["file"])
    log = await server.platform.http.get("/api/audit-log", headers=server.platform.auth)
    entries = [e for e in log.json()["entries"] if e["action"] == f"download:{made['file']}"]
    assert [(e["actor"]["user"], e["actor"]["role"]) for e in entries] == [
        ("f-1", "freelancer"),
        ("a-1", "auditor"),
    ]
    assert entries[1]["purpose"] == "quality review of the dispute"


async def test_a_muted_party_attaches_nothing_even_with_the_room_unloaded(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-muted")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    await moderator.send_json(
        {"type": "floor", "id": "mute-1", "action": "mute", "party": "client", "minutes": 5}
    )
    assert (await moderator.next("ack", "error"))["type"] == "ack"
    await moderator.close()
    for _ in range(100):  # the last socket gone, the process forgets the live room
        if room not in server.services.hub.rooms:
            break
        await asyncio.sleep(0.02)
    assert room not in server.services.hub.rooms
    client = await server.platform.token(room, "c-1", "client")
    muted = await upload(server, room, client, pdf(1000))
    assert (muted.status_code, muted.json()["error"]["code"]) == (403, "forbidden")
    assert "muted" in muted.json()["error"]["message"]
    freelancer = await server.platform.token(room, "f-1", "freelancer")
    assert (await upload(server, room, freelancer, pdf(1000))).status_code == 201


async def test_a_failing_blob_store_is_unavailable_and_leaves_no_row(server: RunningServer) -> None:
    room = await server.platform.open_room("T-disk")
    token = await server.platform.token(room, "c-1", "client")
    root = server.settings.data_dir / "files"
    root.mkdir(parents=True, exist_ok=True)
    (root / room).write_bytes(b"")  # a file where the room's directory should be
    response = await upload(server, room, token, pdf(1000))
    assert (response.status_code, response.json()["error"]["code"]) == (503, "unavailable")
    assert await stored(server) == (0, 0, [room])  # only what was in the way
