"""What every way of uploading a file shares: who may attach where, the name rule,
how storage errors map to statuses, and the `file` record that makes it exist."""

import logging
from collections.abc import Awaitable, Callable

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from mediation.http.auth import Participant
from mediation.http.disposition import BadDisposition, disposition_name
from mediation.http.errors import ApiError, error_response
from mediation.services import Services
from rooms import door, evidence, records
from rooms.door import KnownRoom, Write
from rooms.errors import RoomError
from rooms.kinds import FILE
from rooms.ports import Draft
from transcripts.attachments import FileFacts
from transcripts.errors import TranscriptError
from transcripts.file_names import clean_name
from transcripts.locker import client_id

log = logging.getLogger(__name__)

MAX_NAME = 255
STATUS = {
    "too_large": 413,
    "unsupported_type": 415,
    "room_closed": 409,
    "conflict": 409,
    "tampered": 422,
    "invalid": 400,
    "forbidden": 403,
    "not_your_request": 403,
    "request_closed": 409,
}


def status_of(exc: TranscriptError) -> int:
    return STATUS.get(exc.code, 404 if exc.code == "not_found" else 503)


def api_error(exc: TranscriptError) -> ApiError:
    return ApiError(status_of(exc), exc.code, str(exc))


def name_of(request: Request) -> str:
    """The file's name, from the Content-Disposition header (never the URL: it is logged),
    cleaned: no control, bidi or invisible characters, never a path."""
    try:
        raw = disposition_name(request.headers.get("content-disposition", ""))
    except BadDisposition as exc:
        raise ApiError(400, "invalid", f"Content-Disposition: {exc}") from None
    name = clean_name(raw)
    if not name or len(name) > MAX_NAME:
        raise ApiError(
            400, "invalid", f"Content-Disposition filename: 1 to {MAX_NAME} printable chars"
        )
    return name


ROOM_STATUS = {
    "invalid": 400,
    "forbidden": 403,
    "room_closed": 409,
    "not_found": 404,
    "not_your_request": 403,
    "request_closed": 409,
}


async def through_door(found: Services, who: Participant, write: Write) -> Draft:
    """The draft of `write` by `who` through the one door (rooms.door), as the room is
    now (a muted party, or anyone in a paused room, attaches nothing either); refusals
    as HTTP errors."""
    room = KnownRoom(who.room.id, who.room.state, await found.hub.floor_of(who.room.id))
    try:
        return door.draft(room, who.member, write)
    except RoomError as exc:
        raise ApiError(ROOM_STATUS.get(exc.code, 400), exc.code, str(exc)) from None


async def writable(who: Participant, channel: str, found: Services, kind: str = FILE) -> None:
    """Whether `who` may write a `kind` record (a file's, by default) to `channel` now:
    asked before the bytes come."""
    await through_door(found, who, Write(kind, channel, "", ""))


def answering(found: Services, who: Participant, channel: str, request: int | None) -> None:
    """Whether `who` may answer the evidence request #`request` of `channel` (None: a file
    that answers none), as the room's facts were when the request came: asked before the
    bytes come, and decided again in the commit."""
    if request is None:
        return
    requests = found.workflow.load(who.room.state, who.room.workflow or {}).facts.evidence
    try:
        evidence.answerable(requests, channel, who.member.role, request)
    except RoomError as exc:
        raise ApiError(ROOM_STATUS.get(exc.code, 400), exc.code, str(exc)) from None


def facts_json(facts: FileFacts) -> dict[str, object]:
    answered = {} if facts.request is None else {"request": facts.request}
    return {
        "file": facts.file,
        "name": facts.name,
        "content_type": facts.content_type,
        "size": facts.size,
        "sha256": facts.sha256,
    } | answered


async def record_file(
    found: Services, who: Participant, channel: str, facts: FileFacts, request: int | None = None
) -> dict[str, object]:
    """Commit the stored file's record (answering the evidence request #`request` of its
    channel, if given); the upload's answer. If the record fails, the stored file goes
    (raising as it was)."""
    room_id = who.room.id
    facts = msgspec.structs.replace(facts, request=request)
    try:
        draft = await through_door(
            found, who, Write(FILE, channel, client_id(facts.file), records.encode(facts))
        )
        record = await found.committer.append(draft)
    except BaseException:
        await found.locker.discard(room_id, facts.file)
        raise
    try:
        await found.locker.committed(facts.file, record.position)
    except Exception as exc:  # the record is durable; the startup sweep fills this in
        log.warning("file %s stored, its position not yet: %s", facts.file, exc.__class__.__name__)
    return {**facts_json(facts), "channel": channel, "seq": record.seq}


Handler = Callable[[Request], Awaitable[Response]]


def closing_on_refusal(handler: Handler) -> Handler:
    """A refused upload closes its connection: its body may be unread (refused by its
    Content-Length, or by its first bytes), and a browser still sending it would wait on a
    full socket for ever; the close stops it, and it reads the answer that came first."""

    async def closing(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            response = error_response(exc.status, exc.code, str(exc), **exc.extra)
            response.headers["connection"] = "close"
            return response

    return closing
