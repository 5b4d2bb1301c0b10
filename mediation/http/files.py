"""The evidence locker over HTTP: upload, download and delete a room's files.

    POST   /api/rooms/{room}/files?channel=joint   raw body: the file
           Content-Disposition: attachment; filename*=UTF-8''contract.pdf
    GET    /api/rooms/{room}/files/{file}
    DELETE /api/rooms/{room}/files/{file}          JSON body (optional): {"reason": "..."}

A file's name and a deletion's reason never travel in the URL, which is logged.

Every call carries a room token (`Authorization: Bearer`). A file lives in
one channel, through its `file` record there, so it is seen by exactly those
who see the channel's messages; to anyone else it does not exist (404).
"""

import base64
import logging
import secrets
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import quote

from msgspec import Meta, Struct
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from mediation.http.auth import Participant, require_participant, services
from mediation.http.errors import ApiError, read_json
from mediation.http.file_rules import (
    answering,
    api_error,
    closing_on_refusal,
    name_of,
    record_file,
    through_door,
    writable,
)
from mediation.http.openapi import ROOM, Answer, Operation
from mediation.http.params import read_query
from mediation.services import Services
from rooms import records
from rooms.door import Write
from rooms.kinds import FILE_DELETED
from rooms.numbers import MAX_SEQ
from rooms.records import FileDeletedBody
from rooms.visibility import JOINT, Role, can_read
from transcripts import retention
from transcripts.attachments import FileFacts
from transcripts.blobs import BlobMissing, BlobUnavailable
from transcripts.errors import Shredded, Tampered, TranscriptError
from transcripts.file_names import download_name
from transcripts.locker import FileRow
from transcripts.store_types import Record

log = logging.getLogger(__name__)

VERIFY_AHEAD = 1024 * 1024  # a file up to this size is wholly proven before its first byte
MAX_REASON = 500  # characters of a deletion's reason kept


class Deletion(Struct, forbid_unknown_fields=True):
    reason: str = ""


class ChannelQuery(Struct):
    channel: str = JOINT
    # The seq (in `channel`) of the evidence request the file answers (rooms.evidence).
    request: Annotated[int, Meta(ge=1, le=MAX_SEQ)] | None = None


class FileOut(Struct):
    """A stored file's facts (file_rules.record_file), the answer to every upload."""

    file: str
    name: str
    content_type: str
    size: int
    sha256: str  # hex
    channel: str
    seq: int  # its `file` record's seq in the channel
    request: int | None = None  # the evidence request it answers (absent: none)


class FileDeleted(Struct):
    file: str
    deleted: bool
    seq: int


async def upload(request: Request) -> JSONResponse:
    room_id = request.path_params["room_id"]
    found = services(request)
    who = await require_participant(request, room_id)
    asked, name = read_query(request, ChannelQuery), name_of(request)
    channel = asked.channel
    await writable(who, channel, found)
    answering(found, who, channel, asked.request)
    limit = found.settings.files_max_bytes
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit():
        raise ApiError(400, "invalid", "Content-Length is not a number")
    if int(declared) > limit:
        raise ApiError(413, "too_large", f"the file is over the limit of {limit} bytes")
    file_id = "f_" + secrets.token_urlsafe(12)
    member = who.member
    try:
        facts = await found.locker.receive(
            room_id,
            file_id,
            (member.user, member.role),
            name,
            request.stream(),
            limit,
            found.settings.files_types,
        )
        made = await record_file(found, who, channel, facts, asked.request)
    except TranscriptError as exc:
        raise api_error(exc) from None
    return JSONResponse(made, 201)


async def _visible_file(
    found: Services, who: Participant, file_id: str
) -> tuple[FileRow, Record, FileFacts]:
    """The file, if it exists and the caller may see its channel; else 404, as if it did not."""
    room_id = who.room.id
    row = await found.locker.row(room_id, file_id)
    if row is None or row.position is None:
        raise ApiError(404, "not_found", f"no file {file_id} in room {room_id}")
    try:
        record, facts = await found.locker.facts(row)
    except Shredded:
        raise ApiError(404, "not_found", f"room {room_id} was shredded") from None
    except Tampered as exc:
        log.error("file refused: %s", exc, extra={"room": room_id})
        raise ApiError(422, "tampered", str(exc)) from None
    if not can_read(who.member.role, record.channel):
        raise ApiError(404, "not_found", f"no file {file_id} in room {room_id}")
    if row.deleted_at is not None:
        raise ApiError(410, "deleted", f"file {file_id} was deleted")
    return row, record, facts


async def download(request: Request) -> StreamingResponse:
    room_id, file_id = request.path_params["room_id"], request.path_params["file_id"]
    found = services(request)
    who = await require_participant(request, room_id)
    row, _record, facts = await _visible_file(found, who, file_id)
    chunks = found.locker.open(row, facts)
    head: list[bytes] = []
    try:  # prove the start (small files: all of it, hash included) before any header goes
        ahead = 0
        async for chunk in chunks:
            head.append(chunk)
            ahead += len(chunk)
            if ahead >= VERIFY_AHEAD:
                break
    except (Tampered, BlobMissing) as exc:
        log.error("download refused: %s", exc, extra={"room": room_id})
        raise ApiError(422, "tampered", f"file {file_id} fails its proof: {exc}") from None
    except BlobUnavailable as exc:
        raise ApiError(503, "unavailable", str(exc)) from None
    member = who.member
    try:  # who, when: on the chained access log before any byte leaves
        await found.access_log.append(
            member.user, member.role, who.purpose, f"download:{file_id}", room_id
        )
    except Exception as exc:
        log.error("download refused, access log unavailable: %s", exc.__class__.__name__)
        raise ApiError(503, "unavailable", "the access log cannot be written") from None
    return StreamingResponse(
        _rest(head, chunks, file_id), media_type=_media_type(facts), headers=_headers(facts)
    )


async def _rest(
    head: list[bytes], chunks: AsyncIterator[bytes], file_id: str
) -> AsyncIterator[bytes]:
    for chunk in head:
        yield chunk
    try:
        async for chunk in chunks:
            yield chunk
    except (Tampered, BlobMissing, BlobUnavailable) as exc:
        # Headers are gone: cut the connection short of Content-Length, which every
        # HTTP client reports as an incomplete body. The authenticated bytes so far stand.
        log.error("download of %s cut: %s", file_id, exc)
        raise


def _media_type(facts: FileFacts) -> str:
    text = facts.content_type.startswith("text/")
    return facts.content_type + ("; charset=utf-8" if text else "")


def _headers(facts: FileFacts) -> dict[str, str]:
    name = download_name(facts.name, facts.content_type)  # its extension fits its type
    fallback = "".join(c if c.isascii() and c not in '"\\' else "_" for c in name)
    digest = base64.b64encode(bytes.fromhex(facts.sha256)).decode()
    return {
        "Content-Length": str(facts.size),
        "Content-Disposition": (
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
        "Repr-Digest": f"sha-256=:{digest}:",
    }


async def remove(request: Request) -> JSONResponse:
    """The uploader, or a moderator, deletes a file: a `file_deleted` record, then the blob."""
    room_id, file_id = request.path_params["room_id"], request.path_params["file_id"]
    found = services(request)
    who = await require_participant(request, room_id)
    _row, record, _facts = await _visible_file(found, who, file_id)
    member = who.member
    uploader = (record.sender_user, record.sender_role) == (member.user, member.role)
    if not uploader and member.role is not Role.MODERATOR:
        raise ApiError(403, "forbidden", "only its uploader or a moderator deletes a file")
    await writable(who, record.channel, found, FILE_DELETED)
    hold = await retention.hold_of(found.db, room_id)
    if hold is not None:
        raise ApiError(409, "legal_hold", f"room {room_id} is under legal hold: {hold}")
    reason = (await read_json(request, Deletion, empty=Deletion())).reason[:MAX_REASON]
    body = records.encode(FileDeletedBody(file_id, reason))
    draft = await through_door(
        found, who, Write(FILE_DELETED, record.channel, f"file_deleted:{file_id}", body)
    )
    try:
        deleted = await found.committer.append(draft)
    except TranscriptError as exc:
        raise api_error(exc) from None
    try:
        await found.locker.mark_deleted(room_id, file_id)
    except Exception as exc:  # the record stands; the blob is unreachable through the API
        log.warning("file %s deleted, its blob not yet: %s", file_id, exc.__class__.__name__)
    return JSONResponse({"file": file_id, "deleted": True, "seq": deleted.seq})


routes = [
    Route("/api/rooms/{room_id}/files", closing_on_refusal(upload), methods=["POST"]),
    Route("/api/rooms/{room_id}/files/{file_id}", download, methods=["GET"]),
    Route("/api/rooms/{room_id}/files/{file_id}", remove, methods=["DELETE"]),
]

DISPOSITION = {
    "required": True,
    "schema": {"type": "string"},
    "description": "attachment; filename*=UTF-8''<the file's name>",
}

operations = [
    Operation(
        "POST",
        "/api/rooms/{room_id}/files",
        "Upload a file in one request",
        (ROOM,),
        (Answer(201, "the file's facts", FileOut),),
        errors=(400, 403, 404, 409, 413, 415, 422, 503),
        query=ChannelQuery,
        raw_body="application/octet-stream",
        headers={"Content-Disposition": DISPOSITION},
    ),
    Operation(
        "GET",
        "/api/rooms/{room_id}/files/{file_id}",
        "Download a file",
        (ROOM,),
        (Answer(200, "the file's bytes", media="application/octet-stream"),),
        errors=(403, 404, 410, 422, 503),
    ),
    Operation(
        "DELETE",
        "/api/rooms/{room_id}/files/{file_id}",
        "Delete a file (its uploader or a moderator)",
        (ROOM,),
        (Answer(200, "deleted", FileDeleted),),
        errors=(400, 403, 404, 409, 410, 422, 503),
        body=Deletion,
        body_optional=True,
    ),
]
