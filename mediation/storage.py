"""The blob store the settings name: the local filesystem, or S3-compatible storage."""

from urllib.parse import urlsplit

from mediation.config import Settings
from transcripts.blobs import BlobStore, LocalBlobStore


def open_blobs(settings: Settings) -> BlobStore:
    """`MEDIATION_FILES_STORE`: empty for `data_dir/files`, or `s3://bucket/prefix`."""
    if not settings.files_store:
        return LocalBlobStore(settings.data_dir / "files")
    url = urlsplit(settings.files_store)
    if url.scheme != "s3" or not url.netloc:
        raise ValueError(f"MEDIATION_FILES_STORE must be s3://bucket/prefix, not {url.geturl()!r}")
    from transcripts.s3_blobs import S3BlobStore  # botocore and boto3: only when configured

    return S3BlobStore(
        url.netloc,
        url.path,
        endpoint_url=settings.s3_endpoint_url or None,
        region=settings.s3_region or None,
        part_bytes=settings.s3_part_bytes,
    )
