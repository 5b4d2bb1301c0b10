"""Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph, ...), through boto3.

boto3 is synchronous: every call runs in a worker thread, so the event loop
never waits on the network. A blob up to `part_bytes` is one PutObject;
a larger one is a multipart upload of `part_bytes` parts (S3 wants at
least 5 MiB for every part but the last), aborted if the pieces stop with
an error, so a refused upload leaves no object and no dangling parts. So an
upload holds at most one part in memory. Credentials come from boto3's
usual chain (AWS_ACCESS_KEY_ID, ..., instance roles).
"""

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from transcripts.blobs import READ_BYTES, BlobMissing, BlobUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MIN_PART_BYTES = 5 * 1024 * 1024


class S3BlobStore:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        part_bytes: int = 8 * 1024 * 1024,
        client: "S3Client | None" = None,
    ) -> None:
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"S3 parts must be at least {MIN_PART_BYTES} bytes")
        if client is None:
            import boto3  # only needed when S3 is configured

            client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region)
        self._s3 = client
        self.bucket = bucket
        self._prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._part_bytes = part_bytes

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def put(self, key: str, pieces: AsyncIterator[bytes]) -> int:
        buffer = bytearray()
        upload: _Multipart | None = None
        try:
            async for piece in pieces:
                buffer += piece
                while len(buffer) >= self._part_bytes:
                    upload = upload or await _Multipart.start(self._s3, self.bucket, self._key(key))
                    await upload.part(bytes(buffer[: self._part_bytes]))
                    del buffer[: self._part_bytes]
            if upload is None:
                await asyncio.to_thread(
                    self._s3.put_object, Bucket=self.bucket, Key=self._key(key), Body=bytes(buffer)
                )
                return len(buffer)
            if buffer:
                await upload.part(bytes(buffer))
            return await upload.complete()
        except BaseException as exc:
            if upload is not None:
                await asyncio.shield(upload.abort())
            if isinstance(exc, BotoCoreError | ClientError):
                raise BlobUnavailable(f"blob {key} not stored: {exc}") from exc
            raise

    async def get(self, key: str) -> AsyncIterator[bytes]:
        try:
            response = await asyncio.to_thread(
                self._s3.get_object, Bucket=self.bucket, Key=self._key(key)
            )
        except self._s3.exceptions.NoSuchKey:
            raise BlobMissing(f"no blob {key}") from None
        except (BotoCoreError, ClientError) as exc:
            raise BlobUnavailable(f"blob {key} not readable: {exc}") from exc
        body = response["Body"]
        try:
            while piece := await asyncio.to_thread(body.read, READ_BYTES):
                yield piece
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self._s3.delete_object, Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:  # an outage answers 503, like reads
            raise BlobUnavailable(f"blob {key} not deleted: {exc}") from exc

    async def exists(self, key: str) -> bool:
        try:
            await asyncio.to_thread(self._s3.head_object, Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return False
            raise BlobUnavailable(f"blob {key} not checked: {exc}") from exc
        except BotoCoreError as exc:
            raise BlobUnavailable(f"blob {key} not checked: {exc}") from exc
        return True

    async def close(self) -> None:
        await asyncio.to_thread(self._s3.close)


class _Multipart:
    def __init__(self, s3: "S3Client", bucket: str, key: str, upload_id: str) -> None:
        self._s3, self._bucket, self._key, self._id = s3, bucket, key, upload_id
        self._parts: list[dict[str, Any]] = []
        self._size = 0

    @classmethod
    async def start(cls, s3: "S3Client", bucket: str, key: str) -> "_Multipart":
        created = await asyncio.to_thread(s3.create_multipart_upload, Bucket=bucket, Key=key)
        return cls(s3, bucket, key, created["UploadId"])

    async def part(self, data: bytes) -> None:
        number = len(self._parts) + 1
        done = await asyncio.to_thread(
            self._s3.upload_part,
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._id,
            PartNumber=number,
            Body=data,
        )
        self._parts.append({"ETag": done["ETag"], "PartNumber": number})
        self._size += len(data)

    async def complete(self) -> int:
        await asyncio.to_thread(
            self._s3.complete_multipart_upload,
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._id,
            MultipartUpload={"Parts": self._parts},  # type: ignore[typeddict-item]
        )
        return self._size

    async def abort(self) -> None:
        await asyncio.to_thread(
            self._s3.abort_multipart_upload, Bucket=self._bucket, Key=self._key, UploadId=self._id
        )
