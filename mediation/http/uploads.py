"""Resumable uploads over HTTP, shaped on the tus core protocol 1.0.0 (tus.io):

    POST   /api/rooms/{room}/uploads?channel=joint   Upload-Length: N
           Content-Disposition: attachment; filename*=UTF-8''big.pdf
    HEAD   /api/rooms/{room}/uploads/{upload}          -> Upload-Offset, Upload-Length
    PATCH  /api/rooms/{room}/uploads/{upload}          Upload-Offset: k, the next bytes
    DELETE /api/rooms/{room}/uploads/{upload}

tus's headers and semantics, so its clients' logic (ask the offset, send
from there) applies as is; the creation takes the plain upload's channel and
Content-Disposition name rather than `Upload-Metadata`, and errors are our
JSON. The PATCH that brings the offset to the length finishes the upload and answers 201
with the same JSON as the plain upload. Only the upload's own uploader (the
same user and role in the same room) sees it; to anyone else it is a 404.
"""

import logging
from collections.abc import AsyncIterator, Collection
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mediation.http.auth import Participant, require_participant, services
from mediation.http.errors import ApiError, error_response
from mediation.http.file_rules import (
    api_error,
    closing_on_refusal,
    name_of,
    record_file,
    writable,
)
from mediation.services import Services
from rooms.visibility import JOINT
from transcripts.content_types import Sniffer
from transcripts.errors import Tampered, TooLarge, TranscriptError, UnsupportedType
from transcripts.uploads import OffsetConflict, UploadRow

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
PATCH_TYPE = "application/offset+octet-stream"
MAX_UNFINISHED = 8  # per person and room: staged bytes are disk an upload never finished holds
SWEEP_EACH = 10  # expired uploads removed per creation, so a long-running server keeps clean


def _url(row: UploadRow) -> str:
    return f"/api/rooms/{row.room_id}/uploads/{row.id}"


def _tus(row: UploadRow) -> dict[str, str]:
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    return {
        "Tus-Resumable": TUS_VERSION,
        "Upload-Offset": str(row.received),
        "Upload-Length": str(row.length),
        "Upload-Expires": format_datetime(expires, usegmt=True),
        "Cache-Control": "no-store",
    }


def _number(request: Request, header: str) -> int:
    value = request.headers.get(header, "")
    if not (value.isascii() and value.isdigit()):
        raise ApiError(400, "invalid", f"{header} must be a number of bytes")
    return int(value)


def _version(request: Request) -> None:
    asked = request.headers.get("tus-resumable")
    if asked is not None and asked != TUS_VERSION:
        raise ApiError(412, "invalid", f"Tus-Resumable {asked!r}: only {TUS_VERSION} is spoken")


async def create(request: Request) -> JSONResponse:
    room_id = request.path_params["room_id"]
    found = services(request)
    who = await require_participant(request, room_id)
    _version(request)
    channel, name = request.query_params.get("channel", JOINT), name_of(request)
    await writable(who, channel, found)
    length, limit = _number(request, "upload-length"), found.settings.files_max_bytes
    if length > limit:
        raise ApiError(413, "too_large", f"the file is over the limit of {limit} bytes")
    member = who.member
    try:  # housekeeping: a failure here must not refuse the upload
        await found.uploads.sweep(datetime.now(UTC), SWEEP_EACH)
    except Exception as exc:
        log.warning("could not sweep expired uploads: %s", exc.__class__.__name__)
    try:
        if await found.uploads.unfinished(room_id, member.user) >= MAX_UNFINISHED:
            raise ApiError(429, "rate_limited", f"{MAX_UNFINISHED} unfinished uploads already")
        row = await found.uploads.create(room_id, (member.user, member.role), channel, name, length)
    except TranscriptError as exc:
        raise api_error(exc) from None
    body = {"upload": row.id, "url": _url(row), "offset": 0, "length": length}
    return JSONResponse(body, 201, headers={"Location": _url(row), **_tus(row)})


async def _own(request: Request) -> tuple[Services, Participant, UploadRow]:
    room_id, upload_id = request.path_params["room_id"], request.path_params["upload_id"]
    found = services(request)
    who = await require_participant(request, room_id)
    _version(request)
    row = await found.uploads.get(room_id, upload_id)
    member = who.member
    if row is None or (row.uploader_user, row.uploader_role) != (member.user, member.role):
        raise ApiError(404, "not_found", f"no upload {upload_id} of yours in room {room_id}")
    return found, who, row


async def head(request: Request) -> Response:
    _found, _who, row = await _own(request)
    return Response(status_code=200, headers=_tus(row))


async def patch(request: Request) -> Response:
    found, who, row = await _own(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != PATCH_TYPE:
        raise ApiError(415, "invalid", f"a PATCH body is Content-Type: {PATCH_TYPE}")
    offset = _number(request, "upload-offset")
    if offset != row.received:
        return _conflict(row, row.received)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and offset + int(declared) > row.length:
        raise ApiError(413, "too_large", f"the body runs past Upload-Length {row.length}")
    await writable(who, row.channel, found)  # the room may have closed, the party been muted
    body = _body(request)
    if offset == 0:
        body = _sniffed(body, found.settings.files_types)
    try:
        received = await found.uploads.append(row, offset, body)
    except OffsetConflict as exc:
        return _conflict(row, exc.received)
    except UnsupportedType as exc:  # known from the first bytes: no need to send the rest
        await _drop(found, row)
        raise api_error(exc) from None
    except TranscriptError as exc:
        raise api_error(exc) from None
    row = replace(row, received=received)
    if received < row.length:
        return Response(status_code=204, headers=_tus(row))
    return await _finish(found, who, row)


async def _body(request: Request) -> AsyncIterator[bytes]:
    """The PATCH body. A dropped connection ends it instead of failing it: every byte
    that arrived is kept, and the client resumes from the offset HEAD reports."""
    try:
        async for piece in request.stream():
            yield piece
    except ClientDisconnect:
        log.info("upload PATCH cut short by the client; keeping what arrived")


async def _sniffed(body: AsyncIterator[bytes], allowed: Collection[str]) -> AsyncIterator[bytes]:
    """The first PATCH's body, each piece sniffed before it is staged: a disallowed type is
    refused from its first bytes, markup anywhere in this PATCH when it arrives, not after
    all of the file did. The finish sniffs the whole file again, and decides."""
    sniffer = Sniffer(allowed)
    async for piece in body:
        sniffer.feed(piece)
        yield piece


def _conflict(row: UploadRow, received: int) -> JSONResponse:
    response = error_response(
        409, "conflict", f"upload {row.id} is at offset {received}", offset=received
    )
    response.headers.update(_tus(replace(row, received=received)))
    return response


async def _finish(found: Services, who: Participant, row: UploadRow) -> JSONResponse:
    """Store it as a file and record it. A file that can never be stored (wrong type,
    tampered staging) goes with its upload; on a passing failure the upload stays, and a
    PATCH at the final offset with an empty body tries again."""
    try:
        facts = await found.uploads.finish(row, found.settings.files_types)
    except (UnsupportedType, Tampered, TooLarge) as exc:
        await _drop(found, row)
        raise api_error(exc) from None
    except TranscriptError as exc:
        raise api_error(exc) from None
    try:
        made = await record_file(found, who, row.channel, facts)
    except TranscriptError as exc:
        raise api_error(exc) from None
    await _drop(found, row)
    return JSONResponse(made, 201, headers=_tus(row))


async def _drop(found: Services, row: UploadRow) -> None:
    try:
        await found.uploads.remove(row)
    except Exception as exc:  # what stays, the expiry sweep removes
        log.warning("upload %s: staging not removed: %s", row.id, exc.__class__.__name__)


async def abort(request: Request) -> Response:
    found, _who, row = await _own(request)
    try:
        await found.uploads.remove(row)
    except TranscriptError as exc:
        raise api_error(exc) from None
    return Response(status_code=204, headers={"Tus-Resumable": TUS_VERSION})


routes = [
    Route("/api/rooms/{room_id}/uploads", create, methods=["POST"]),
    Route("/api/rooms/{room_id}/uploads/{upload_id}", head, methods=["HEAD"]),
    Route("/api/rooms/{room_id}/uploads/{upload_id}", closing_on_refusal(patch), methods=["PATCH"]),
    Route("/api/rooms/{room_id}/uploads/{upload_id}", abort, methods=["DELETE"]),
]
