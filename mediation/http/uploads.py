"""Resumable uploads over HTTP: the tus protocol 1.0.0 (tus.io), its core and the
creation, creation-with-upload, termination and expiration extensions, so stock tus
clients (tuspy, tus-js-client, Uppy) upload with a room token and metadata alone:

    OPTIONS /api/rooms/{room}/uploads              -> Tus-Version, Tus-Extension, Tus-Max-Size
    POST    /api/rooms/{room}/uploads              Upload-Length: N
            Upload-Metadata: filename <base64>,channel <base64>
            [Content-Type: application/offset+octet-stream and the first bytes]
    HEAD    /api/rooms/{room}/uploads/{upload}     -> Upload-Offset, Upload-Length, ...
    PATCH   /api/rooms/{room}/uploads/{upload}     Upload-Offset: k, the next bytes
    DELETE  /api/rooms/{room}/uploads/{upload}

The older creation (`?channel=`, the name in Content-Disposition) still works. Errors are
our JSON, with `Tus-Resumable`. The request that brings the offset to the length
finishes the upload and answers 201 with the plain upload's JSON. Only the upload's own
uploader (the same user and role in the same room) sees it; to anyone else it is a 404.
"""

import base64
import binascii
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
    MAX_NAME,
    Handler,
    answering,
    api_error,
    name_of,
    record_file,
    writable,
)
from mediation.services import Services
from rooms.numbers import MAX_SEQ
from rooms.visibility import JOINT
from transcripts.content_types import Sniffer
from transcripts.errors import Tampered, TooLarge, TranscriptError, UnsupportedType
from transcripts.file_names import clean_name
from transcripts.uploads import OffsetConflict, UploadRow

log = logging.getLogger(__name__)

# The commit refused the file's link to its evidence request: no retry can store it.
NEVER_ANSWERS = frozenset({"not_found", "not_your_request", "request_closed"})

TUS_VERSION = "1.0.0"
PATCH_TYPE = "application/offset+octet-stream"
MAX_UNFINISHED = 8  # per person and room: staged bytes are disk an upload never finished holds
SWEEP_EACH = 10  # expired uploads removed per creation, so a long-running server keeps clean
EXTENSIONS = "creation,creation-with-upload,termination,expiration"


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


def parse_metadata(header: str) -> dict[str, bytes]:
    """tus `Upload-Metadata`: comma-separated pairs of a key and its base64 value, the value
    possibly absent (then empty); ValueError naming what is malformed."""
    found: dict[str, bytes] = {}
    if not header.strip():
        return found
    for pair in header.split(","):
        key, _, value = pair.strip().partition(" ")
        if not (key and key.isascii() and key.isprintable()):
            raise ValueError(f"bad key {key!r}")
        if key in found:
            raise ValueError(f"{key!r} given twice")
        try:  # padding is required by the spec, tolerated when missing
            found[key] = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        except binascii.Error:
            raise ValueError(f"{key!r} is not base64") from None
    return found


def _metadata(request: Request) -> dict[str, str]:
    """The creation's Upload-Metadata, its values as text."""
    try:
        raw = parse_metadata(request.headers.get("upload-metadata", ""))
        return {key: value.decode("utf-8") for key, value in raw.items()}
    except ValueError as exc:  # UnicodeDecodeError included
        raise ApiError(400, "invalid", f"Upload-Metadata: {exc}") from None


def _name(request: Request, meta: dict[str, str]) -> str:
    """The name: metadata `filename` (tus-js-client, Uppy), else `name`, else the
    Content-Disposition header; cleaned as every upload's name."""
    raw = meta.get("filename", meta.get("name"))
    if raw is None:
        return name_of(request)
    name = clean_name(raw)
    if not name or len(name) > MAX_NAME:
        raise ApiError(400, "invalid", f"Upload-Metadata filename: 1 to {MAX_NAME} printable chars")
    return name


def _channel(request: Request, meta: dict[str, str]) -> str:
    """Metadata `channel`, else the `channel` query parameter, else joint. Both given and
    different is refused: the channel decides who sees the file."""
    given, query = meta.get("channel"), request.query_params.get("channel")
    if given is not None and query is not None and given != query:
        raise ApiError(400, "invalid", "channel: Upload-Metadata and the query disagree")
    return given if given is not None else query if query is not None else JOINT


def _request(request: Request, meta: dict[str, str]) -> int | None:
    """Metadata `request`, else the `request` query parameter: the seq of the evidence
    request the file answers (none: it answers none). Both given and different is refused."""
    given, query = meta.get("request"), request.query_params.get("request")
    if given is not None and query is not None and given != query:
        raise ApiError(400, "invalid", "request: Upload-Metadata and the query disagree")
    raw = given if given is not None else query
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_SEQ:
        raise ApiError(400, "invalid", f"request: the seq of an evidence request, 1 to {MAX_SEQ}")
    return int(raw)


def _has_body(request: Request) -> bool:
    declared = request.headers.get("content-length")
    if declared is not None:
        return declared.strip() != "0"
    return "transfer-encoding" in request.headers


def _body_fits(request: Request, offset: int, length: int) -> None:
    if request.headers.get("content-type", "").split(";")[0].strip() != PATCH_TYPE:
        raise ApiError(415, "invalid", f"the upload's bytes come as Content-Type: {PATCH_TYPE}")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and offset + int(declared) > length:
        raise ApiError(413, "too_large", f"the body runs past Upload-Length {length}")


async def discovery(request: Request) -> Response:
    """tus discovery: what this server speaks. Anyone may ask; it says nothing of a room."""
    limit = services(request).settings.files_max_bytes
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": EXTENSIONS,
        "Tus-Max-Size": str(limit),
        "Cache-Control": "no-store",
    }
    return Response(status_code=204, headers=headers)


async def create(request: Request) -> JSONResponse:
    _version(request)
    room_id = request.path_params["room_id"]
    found = services(request)
    who = await require_participant(request, room_id)
    meta = _metadata(request)
    channel, name, asked = _channel(request, meta), _name(request, meta), _request(request, meta)
    await writable(who, channel, found)
    answering(found, who, channel, asked)
    length, limit = _number(request, "upload-length"), found.settings.files_max_bytes
    if length > limit:
        raise ApiError(413, "too_large", f"the file is over the limit of {limit} bytes")
    with_body = _has_body(request)
    if with_body:
        _body_fits(request, 0, length)
    member = who.member
    try:  # housekeeping: a failure here must not refuse the upload
        await found.uploads.sweep(datetime.now(UTC), SWEEP_EACH)
    except Exception as exc:
        log.warning("could not sweep expired uploads: %s", exc.__class__.__name__)
    try:
        if await found.uploads.unfinished(room_id, member.user) >= MAX_UNFINISHED:
            raise ApiError(429, "rate_limited", f"{MAX_UNFINISHED} unfinished uploads already")
        uploader = (member.user, member.role)
        row = await found.uploads.create(room_id, uploader, channel, name, length, asked)
    except TranscriptError as exc:
        raise api_error(exc) from None
    made: dict[str, object] = {}
    try:  # creation-with-upload; and an empty file is complete as created (no PATCH follows)
        if with_body:
            row, cut = await _stage(found, row, request)
            if cut:  # the client never learned the upload's URL: nobody could resume it
                raise ApiError(400, "invalid", "the creation's body was cut short")
        if row.received == row.length:
            made = await _finish(found, who, row)
    except BaseException:
        await _drop(found, row)
        raise
    body = {"upload": row.id, "url": _url(row), "offset": row.received, "length": length}
    return JSONResponse({**body, **made}, 201, headers={"Location": _url(row), **_tus(row)})


async def _own(request: Request) -> tuple[Services, Participant, UploadRow]:
    _version(request)
    room_id, upload_id = request.path_params["room_id"], request.path_params["upload_id"]
    found = services(request)
    who = await require_participant(request, room_id)
    row = await found.uploads.get(room_id, upload_id)
    member = who.member
    if row is None or (row.uploader_user, row.uploader_role) != (member.user, member.role):
        raise ApiError(404, "not_found", f"no upload {upload_id} of yours in room {room_id}")
    return found, who, row


def _encoded(value: str) -> str:
    return base64.b64encode(value.encode()).decode("ascii")


async def head(request: Request) -> Response:
    found, _who, row = await _own(request)
    try:
        name = await found.uploads.name(row)
    except TranscriptError as exc:
        raise api_error(exc) from None
    metadata = f"filename {_encoded(name)},channel {_encoded(row.channel)}"
    if row.request is not None:
        metadata += f",request {_encoded(str(row.request))}"
    return Response(status_code=200, headers={**_tus(row), "Upload-Metadata": metadata})


async def patch(request: Request) -> Response:
    found, who, row = await _own(request)
    offset = _number(request, "upload-offset")
    _body_fits(request, offset, row.length)
    if offset != row.received:
        return _conflict(row, row.received)
    await writable(who, row.channel, found)  # the room may have closed, the party been muted
    try:
        row, _cut = await _stage(found, row, request)
    except OffsetConflict as exc:
        return _conflict(row, exc.received)
    if row.received < row.length:
        return Response(status_code=204, headers=_tus(row))
    return JSONResponse(await _finish(found, who, row), 201, headers=_tus(row))


class _Body:
    """A request's body. A dropped connection ends it instead of failing it: every byte
    that arrived is kept, and the client resumes from the offset HEAD reports."""

    def __init__(self, request: Request) -> None:
        self.request, self.cut = request, False

    async def pieces(self) -> AsyncIterator[bytes]:
        try:
            async for piece in self.request.stream():
                yield piece
        except ClientDisconnect:
            self.cut = True
            log.info("upload body cut short by the client; keeping what arrived")


async def _stage(found: Services, row: UploadRow, request: Request) -> tuple[UploadRow, bool]:
    """Stage the request's body at the upload's offset; the row as it now stands, and
    whether the body was cut short. Raises OffsetConflict if another request moved it."""
    body = _Body(request)
    pieces = body.pieces()
    if row.received == 0:
        pieces = _sniffed(pieces, found.settings.files_types)
    try:
        received = await found.uploads.append(row, row.received, pieces)
    except OffsetConflict:
        raise
    except UnsupportedType as exc:  # known from the first bytes: no need to send the rest
        await _drop(found, row)
        raise api_error(exc) from None
    except TranscriptError as exc:
        raise api_error(exc) from None
    return replace(row, received=received), body.cut


async def _sniffed(body: AsyncIterator[bytes], allowed: Collection[str]) -> AsyncIterator[bytes]:
    """The first bytes' request body, each piece sniffed before it is staged: a disallowed
    type is refused from its first bytes, markup anywhere in this request when it arrives,
    not after all of the file did. The finish sniffs the whole file again, and decides."""
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


async def _finish(found: Services, who: Participant, row: UploadRow) -> dict[str, object]:
    """Store it as a file and record it; the file's JSON. A file that can never be stored
    (wrong type, tampered staging) goes with its upload; on a passing failure the upload
    stays, and a PATCH at the final offset with an empty body tries again."""
    try:
        facts = await found.uploads.finish(row, found.settings.files_types)
    except (UnsupportedType, Tampered, TooLarge) as exc:
        await _drop(found, row)
        raise api_error(exc) from None
    except TranscriptError as exc:
        raise api_error(exc) from None
    try:
        made = await record_file(found, who, row.channel, facts, row.request)
    except TranscriptError as exc:
        if exc.code in NEVER_ANSWERS:  # its evidence request closed meanwhile: it never will
            await _drop(found, row)
        raise api_error(exc) from None
    await _drop(found, row)
    return made


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
    return Response(status_code=204)


def tus_answer(handler: Handler, closing: bool = False) -> Handler:
    """Every answer says `Tus-Resumable`; a 412 also `Tus-Version`, what is spoken. With
    `closing`, a refusal closes the connection: the body may be unread (refused by its
    Content-Length, or by its first bytes), and a browser still sending it would wait on
    a full socket for ever; the close stops it, and it reads the answer that came first."""

    async def answering(request: Request) -> Response:
        try:
            response = await handler(request)
        except ApiError as exc:
            response = error_response(exc.status, exc.code, str(exc), **exc.extra)
            if exc.status == 412:
                response.headers["Tus-Version"] = TUS_VERSION
            if closing:
                response.headers["Connection"] = "close"
        response.headers["Tus-Resumable"] = TUS_VERSION
        return response

    return answering


COLLECTION, ONE = "/api/rooms/{room_id}/uploads", "/api/rooms/{room_id}/uploads/{upload_id}"
routes = [
    Route(COLLECTION, discovery, methods=["OPTIONS"]),
    Route(COLLECTION, tus_answer(create, closing=True), methods=["POST"]),
    Route(ONE, discovery, methods=["OPTIONS"]),
    Route(ONE, tus_answer(head), methods=["HEAD"]),
    Route(ONE, tus_answer(patch, closing=True), methods=["PATCH"]),
    Route(ONE, tus_answer(abort), methods=["DELETE"]),
]
