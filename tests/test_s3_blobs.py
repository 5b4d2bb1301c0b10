"""The evidence locker on S3-compatible storage, against an S3 API server over HTTP.

The server is moto's (`moto[server]`): the S3 REST API on a local port, with
SigV4-signed requests, multipart uploads and their part-size rule. No MinIO or
Ceph can be installed on these machines (neither is on PyPI or Debian); see
docs/attachments.md for what this does and does not prove.
"""

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import boto3
import pytest

from mediation.config import Settings
from tests.conftest import RunningServer, ServerFactory, free_port
from tests.files import PDF_HEAD, download, generated, generated_sha256, pdf, sha256, upload

PREFIX = "mediation/test"
PART = 5 * 1024 * 1024

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class S3:
    endpoint: str
    bucket: str

    def client(self) -> "S3Client":
        return boto3.client("s3", endpoint_url=self.endpoint)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3]:
    from moto.server import ThreadedMotoServer

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-access-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    bucket = "evidence-" + secrets.token_hex(4)  # moto keeps its state per process: a fresh one
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    yield S3(endpoint, bucket)
    server.stop()


@pytest.fixture
async def s3_server(start_server: ServerFactory, settings: Settings, s3: S3) -> RunningServer:
    return await start_server(
        replace(
            settings,
            files_store=f"s3://{s3.bucket}/{PREFIX}",
            s3_endpoint_url=s3.endpoint,
            s3_part_bytes=PART,
            files_max_bytes=16 * 1024 * 1024,
        )
    )


def objects(s3: S3) -> list[str]:
    listed = s3.client().list_objects_v2(Bucket=s3.bucket)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def pending_uploads(s3: S3) -> list[str]:
    listed = s3.client().list_multipart_uploads(Bucket=s3.bucket)
    return [u["Key"] for u in listed.get("Uploads", [])]


async def test_small_and_multipart_files_round_trip(s3_server: RunningServer, s3: S3) -> None:
    room = await s3_server.platform.open_room("T-s3")
    token = await s3_server.platform.token(room, "c-1", "client")
    small = pdf(10_000)
    one = (await upload(s3_server, room, token, small)).json()
    size = 12 * 1024 * 1024  # three parts
    big = await upload(s3_server, room, token, generated(size))
    assert big.status_code == 201, big.text
    two = big.json()
    assert objects(s3) == sorted(f"{PREFIX}/{room}/{f['file']}" for f in (one, two))
    assert pending_uploads(s3) == []
    assert (await download(s3_server, room, token, one["file"])).content == small
    response = await download(s3_server, room, token, two["file"])
    assert sha256(response.content) == generated_sha256(size) == two["sha256"]
    plain = PDF_HEAD + small[len(PDF_HEAD) : 200]
    key = f"{PREFIX}/{room}/{one['file']}"
    stored = s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    assert plain not in stored  # ciphertext only


async def test_refusals_leave_no_object_and_no_dangling_parts(
    s3_server: RunningServer, s3: S3
) -> None:
    room = await s3_server.platform.open_room("T-s3-refused")
    token = await s3_server.platform.token(room, "c-1", "client")
    over = await upload(s3_server, room, token, generated(17 * 1024 * 1024))  # after 3 parts
    assert over.status_code == 413, over.text
    html = await upload(s3_server, room, token, b"<html><script>x()</script></html>", "a.png")
    assert html.status_code == 415
    assert objects(s3) == []
    assert pending_uploads(s3) == []  # the multipart upload was aborted


async def test_a_tampered_object_is_refused_and_a_deleted_one_removed(
    s3_server: RunningServer, s3: S3
) -> None:
    room = await s3_server.platform.open_room("T-s3-tamper")
    token = await s3_server.platform.token(room, "c-1", "client")
    made = (await upload(s3_server, room, token, pdf(100_000))).json()
    key = f"{PREFIX}/{room}/{made['file']}"
    sealed = bytearray(s3.client().get_object(Bucket=s3.bucket, Key=key)["Body"].read())
    sealed[50] ^= 1
    s3.client().put_object(Bucket=s3.bucket, Key=key, Body=bytes(sealed))
    response = await download(s3_server, room, token, made["file"])
    assert (response.status_code, response.json()["error"]["code"]) == (422, "tampered")
    export = await s3_server.platform.http.get(
        f"/api/rooms/{room}/export", headers=s3_server.platform.auth
    )
    assert export.status_code == 422
    deleted = await s3_server.platform.http.delete(
        f"/api/rooms/{room}/files/{made['file']}", headers={"authorization": f"Bearer {token}"}
    )
    assert deleted.status_code == 200
    assert objects(s3) == []


async def test_a_resumable_upload_stages_as_objects_and_leaves_only_the_file(
    s3_server: RunningServer, s3: S3
) -> None:
    from tests.files import Resumable

    room = await s3_server.platform.open_room("T-s3-resume")
    up = Resumable(s3_server, room, await s3_server.platform.token(room, "c-1", "client"))
    size = 11 * 1024 * 1024  # stored as two 5 MiB parts and a last one
    data = pdf(size)
    url = await up.start(size)
    cut = 4 * 1024 * 1024 + 70_000  # a 4 MiB segment, a one-chunk one, a tail: 3 objects
    await up.cut_patch(url, 0, data[:cut], size)
    for _ in range(200):
        if await up.offset(url) == cut:
            break
        await asyncio.sleep(0.1)
    assert await up.offset(url) == cut
    assert len(objects(s3)) == 3
    done = await up.patch(url, cut, data[cut:])
    assert done.status_code == 201, done.text
    made = done.json()
    assert made["sha256"] == sha256(data)
    assert objects(s3) == [f"{PREFIX}/{room}/{made['file']}"]  # the staging is gone
    assert pending_uploads(s3) == []
    assert (await download(s3_server, room, up.token, made["file"])).content == data
    aborted = await up.start(100_000)
    assert (await up.patch(aborted, 0, data[:90_000])).status_code == 204
    assert len(objects(s3)) == 3
    assert (await up.delete(aborted)).status_code == 204
    assert objects(s3) == [f"{PREFIX}/{room}/{made['file']}"]


async def test_an_unreachable_s3_answers_unavailable_for_every_operation(
    monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """A store whose endpoint is down says so (503 upstream), never a raw botocore error."""
    from botocore.config import Config

    from transcripts.blobs import BlobUnavailable
    from transcripts.s3_blobs import S3BlobStore

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-access-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    client = boto3.client(
        "s3",
        endpoint_url=dead,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    store = S3BlobStore("evidence", "p", client=client)

    async def one_piece() -> AsyncIterator[bytes]:
        yield b"x"

    for attempt in (
        store.delete("k"),
        store.exists("k"),
        store.put("k", one_piece()),
    ):
        with pytest.raises(BlobUnavailable):
            await attempt
