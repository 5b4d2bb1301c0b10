"""Stock tus clients: discovery, Upload-Metadata, creation-with-upload, the headers tus
asks of every answer; and tuspy, knowing nothing of our API but the endpoint, the room
token and the metadata, uploads in many chunks and resumes after a dropped connection."""

import asyncio
import base64
import json
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import pytest
from tusclient.client import TusClient
from tusclient.storage.filestorage import FileStorage

from mediation.http.uploads import parse_metadata
from tests.conftest import RunningServer
from tests.files import Resumable, bearer, download, named, pdf, sha256, staged, stored
from tests.test_resumable_uploads import resumable, settled_offset

KIB = 1024
TUS = {"tus-resumable": "1.0.0"}


def metadata(**values: str) -> dict[str, str]:
    """An Upload-Metadata header, as the spec spells it: `key base64`, comma-separated."""
    pairs = [f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items()]
    return {"upload-metadata": ",".join(pairs)}


def endpoint(server: RunningServer, room: str) -> str:
    return f"{server.base_url}/api/rooms/{room}/uploads"


async def tus_post(
    server: RunningServer,
    room: str,
    token: str,
    length: int,
    headers: dict[str, str],
    body: bytes | None = None,
) -> httpx.Response:
    sent = {**bearer(token), **TUS, "upload-length": str(length), **headers}
    if body is not None:
        sent["content-type"] = "application/offset+octet-stream"
    response: httpx.Response = await server.platform.http.post(
        f"/api/rooms/{room}/uploads", headers=sent, content=body
    )
    return response


def test_upload_metadata_is_read_as_the_spec_writes_it() -> None:
    assert parse_metadata("") == {}
    assert parse_metadata("filename d29ybGQ=,is_confidential,channel am9pbnQ") == {
        "filename": b"world",
        "is_confidential": b"",
        "channel": b"joint",  # unpadded base64 tolerated
    }
    for bad in ("filename not*base64", "a YQ==,a YQ==", ",a YQ==", "é YQ==", "a YQ== YQ=="):
        with pytest.raises(ValueError, match=r"."):
            parse_metadata(bad)


async def test_discovery_answers_anyone_with_what_is_spoken(server: RunningServer) -> None:
    room = await server.platform.open_room("T-tus-options")
    http = server.platform.http
    for path in (f"/api/rooms/{room}/uploads", f"/api/rooms/{room}/uploads/f_whatever"):
        answer = await http.options(path)  # no credential: discovery says nothing of a room
        assert answer.status_code == 204, answer.text
        assert answer.headers["tus-resumable"] == "1.0.0"
        assert answer.headers["tus-version"] == "1.0.0"
        assert answer.headers["tus-extension"].split(",") == [
            "creation",
            "creation-with-upload",
            "termination",
            "expiration",
        ]
        assert answer.headers["tus-max-size"] == str(server.settings.files_max_bytes)
    preflight = await http.options(  # a foreign page's CORS preflight: still not allowed
        f"/api/rooms/{room}/uploads",
        headers={"origin": "https://elsewhere.example", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


async def test_every_answer_says_tus_resumable_and_other_versions_get_412(
    server: RunningServer,
) -> None:
    room, up = await resumable(server, "T-tus-412")
    url = await up.start(10 * KIB)
    http = server.platform.http
    old = {**bearer(up.token), "tus-resumable": "0.2.2"}
    refused = [
        await http.post(f"/api/rooms/{room}/uploads", headers={**old, "upload-length": "5"}),
        await http.head(url, headers=old),
        await http.patch(url, headers={**old, "upload-offset": "0"}, content=b"x"),
        await http.delete(url, headers=old),
    ]
    for answer in refused:
        assert answer.status_code == 412, answer.request.method
        assert answer.headers["tus-version"] == "1.0.0"
        assert answer.headers["tus-resumable"] == "1.0.0"
    assert await up.offset(url) == 0  # nothing was processed
    unauthenticated = await http.post(f"/api/rooms/{room}/uploads", headers=TUS)
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["tus-resumable"] == "1.0.0"
    gone = await up.delete(url)
    assert (gone.status_code, gone.headers["tus-resumable"]) == (204, "1.0.0")


async def test_metadata_names_the_file_and_its_channel(server: RunningServer) -> None:
    room = await server.platform.open_room("T-tus-meta")
    token = await server.platform.token(room, "c-1", "client")
    data = pdf(40 * KIB)
    name = "relevé 2024, déjà vu.pdf"
    made = await tus_post(
        server, room, token, len(data), metadata(filename=name, channel="caucus:client")
    )
    assert made.status_code == 201, made.text
    url = made.headers["location"]
    head = await server.platform.http.head(url, headers=bearer(token))
    assert parse_metadata(head.headers["upload-metadata"]) == {
        "filename": name.encode(),
        "channel": b"caucus:client",
    }
    done = await Resumable(server, room, token).patch(url, 0, data)
    assert done.status_code == 201, done.text
    facts = done.json()
    assert (facts["name"], facts["channel"], facts["sha256"]) == (
        name,
        "caucus:client",
        sha256(data),
    )
    other = await server.platform.token(room, "f-1", "freelancer")  # a caucus it cannot read
    assert (await download(server, room, other, facts["file"])).status_code == 404

    # `name` (Uppy also sends it) names it too; no channel at all is joint
    made = await tus_post(server, room, token, 5, metadata(name="note.txt", filetype="text/plain"))
    done = await Resumable(server, room, token).patch(made.headers["location"], 0, b"hello")
    assert (done.json()["name"], done.json()["channel"]) == ("note.txt", "joint")
    assert (await download(server, room, other, done.json()["file"])).content == b"hello"


async def test_bad_or_contradicting_metadata_is_refused(server: RunningServer) -> None:
    room = await server.platform.open_room("T-tus-bad-meta")
    token = await server.platform.token(room, "c-1", "client")
    cases = [
        {"upload-metadata": "filename ***"},
        {"upload-metadata": "filename " + base64.b64encode(b"\xff\xfe").decode()},  # not UTF-8
        metadata(filename="\u202e\u200b"),  # nothing left once cleaned
        metadata(filename="a.pdf", channel="notes"),  # a party does not write the notes
    ]
    for headers in cases:
        answer = await tus_post(server, room, token, 10, headers)
        assert answer.status_code in (400, 403), (headers, answer.text)
    mixed = await server.platform.http.post(
        f"/api/rooms/{room}/uploads",
        params={"channel": "joint"},
        headers={
            **bearer(token),
            "upload-length": "10",
            **metadata(filename="a.pdf", channel="caucus:client"),
        },
    )
    assert (mixed.status_code, mixed.json()["error"]["code"]) == (400, "invalid")
    assert await staged(server) == (0, 0)

    # the older way still works: ?channel= and Content-Disposition, no metadata
    old = await server.platform.http.post(
        f"/api/rooms/{room}/uploads",
        params={"channel": "caucus:client"},
        headers={**bearer(token), **named("old.pdf"), "upload-length": "10"},
    )
    assert old.status_code == 201, old.text
    head = await server.platform.http.head(old.headers["location"], headers=bearer(token))
    assert parse_metadata(head.headers["upload-metadata"])["channel"] == b"caucus:client"


async def test_creation_with_upload_stores_the_first_bytes_or_the_whole_file(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-tus-cwu")
    token = await server.platform.token(room, "c-1", "client")
    data = pdf(300 * KIB + 7)
    first = 100 * KIB + 3
    made = await tus_post(
        server, room, token, len(data), metadata(filename="part.pdf"), data[:first]
    )
    assert made.status_code == 201, made.text
    assert made.headers["upload-offset"] == str(first)
    assert made.json()["offset"] == first
    rest = await Resumable(server, room, token).patch(made.headers["location"], first, data[first:])
    assert rest.status_code == 201, rest.text
    assert (await download(server, room, token, rest.json()["file"])).content == data

    whole = await tus_post(server, room, token, len(data), metadata(filename="one.pdf"), data)
    assert whole.status_code == 201, whole.text
    assert whole.headers["upload-offset"] == str(len(data))
    facts = whole.json()
    assert facts["url"] == whole.headers["location"]
    assert (facts["file"], facts["name"], facts["sha256"]) == (
        facts["upload"],
        "one.pdf",
        sha256(data),
    )
    assert (await download(server, room, token, facts["file"])).content == data
    assert await staged(server) == (0, 0)


async def test_creation_with_upload_refusals_leave_nothing(server: RunningServer) -> None:
    room = await server.platform.open_room("T-tus-cwu-refused")
    token = await server.platform.token(room, "c-1", "client")
    before = await stored(server)
    html = b"<!doctype html><script>alert(1)</script>" + b" " * 5000
    refused = await tus_post(server, room, token, len(html), metadata(filename="a.png"), html)
    assert (refused.status_code, refused.json()["error"]["code"]) == (415, "unsupported_type")
    assert refused.headers["connection"] == "close"
    untyped = await server.platform.http.post(  # a body that is not the upload's bytes
        f"/api/rooms/{room}/uploads",
        headers={**bearer(token), "upload-length": "4", **metadata(filename="a.pdf")},
        content=b"%PDF",
    )
    assert untyped.status_code == 415, untyped.text
    longer = await tus_post(server, room, token, 50, metadata(filename="a.pdf"), pdf(100))
    assert (longer.status_code, longer.json()["error"]["code"]) == (413, "too_large")
    assert await staged(server) == (0, 0)
    assert await stored(server) == before


def tuspy_upload(
    url: str,
    token: str,
    path: Path,
    meta: dict[str, str],
    storage: Path | None = None,
    stop_at: int | None = None,
) -> tuple[str, int, bytes]:
    """tuspy as its README shows it (blocking, so run in a thread): the upload's URL,
    the offset it started from, and the last response's body."""
    client = TusClient(url, headers={"Authorization": f"Bearer {token}"})
    stored_urls = FileStorage(str(storage)) if storage else None  # type: ignore[no-untyped-call]
    uploader = client.uploader(
        str(path),
        chunk_size=96 * KIB + 1,  # not a multiple of anything on our side
        metadata=meta,
        store_url=stored_urls is not None,
        url_storage=stored_urls,
    )
    started: int = uploader.offset
    uploader.upload(stop_at=stop_at)
    if stored_urls:
        stored_urls.close()  # type: ignore[no-untyped-call]
    done = cast(Any, uploader)  # tuspy types its url and last request as None
    assert done.url is not None
    last: bytes = done.request.response_content
    return str(done.url), started, last


async def test_tuspy_uploads_in_many_chunks_with_nothing_but_metadata(
    server: RunningServer, tmp_path: Path
) -> None:
    room = await server.platform.open_room("T-tuspy")
    token = await server.platform.token(room, "c-1", "client")
    data = pdf(700 * KIB + 13)  # eight chunks, the last one short
    path = tmp_path / "evidence.pdf"
    path.write_bytes(data)
    meta = {"filename": "bank statement.pdf", "channel": "caucus:client"}
    url, started, last = await asyncio.to_thread(
        tuspy_upload, endpoint(server, room), token, path, meta
    )
    assert started == 0
    facts = json.loads(last)
    assert (facts["name"], facts["channel"], facts["size"], facts["sha256"]) == (
        "bank statement.pdf",
        "caucus:client",
        len(data),
        sha256(data),
    )
    assert url.rsplit("/", 1)[1] == facts["file"]  # the upload id becomes the file id
    got = await download(server, room, token, facts["file"])
    assert got.content == data
    assert await staged(server) == (0, 0)


async def test_tuspy_resumes_after_a_dropped_connection(
    server: RunningServer, tmp_path: Path
) -> None:
    room = await server.platform.open_room("T-tuspy-resume")
    token = await server.platform.token(room, "c-1", "client")
    data = pdf(600 * KIB + 5)
    path, storage = tmp_path / "contract.pdf", tmp_path / "tus-urls.json"
    path.write_bytes(data)
    meta = {"filename": "contract.pdf", "channel": "joint"}
    # the first run sends two chunks and the process dies; its URL is in tuspy's storage
    url, _, _ = await asyncio.to_thread(
        tuspy_upload, endpoint(server, room), token, path, meta, storage, 2 * (96 * KIB + 1)
    )
    # the next request's connection drops after part of its body
    up = Resumable(server, room, token)
    at = 2 * (96 * KIB + 1)
    await up.cut_patch(urlsplit(url).path, at, data[at : at + 50 * KIB + 9], 96 * KIB + 1)
    cut = await settled_offset(up, urlsplit(url).path, at + 50 * KIB + 9)
    # a new run finds the URL by the file's fingerprint, asks the offset, and sends the rest
    again, started, last = await asyncio.to_thread(
        tuspy_upload, endpoint(server, room), token, path, meta, storage
    )
    assert (again, started) == (url, cut)
    facts = json.loads(last)
    assert (facts["sha256"], facts["name"]) == (sha256(data), "contract.pdf")
    assert (await download(server, room, token, facts["file"])).content == data
    assert await staged(server) == (0, 0)
