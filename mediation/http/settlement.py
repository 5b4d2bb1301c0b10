"""The signed settlement document of a settled room (docs/transcripts.md, "The
settlement"): its exact bytes, built from the stored records when asked for."""

import logging

from msgspec import Struct
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mediation.http.auth import require_room_or_staff, services
from mediation.http.errors import ApiError
from mediation.http.openapi import API_KEY, JSON, ROOM, STAFF, Answer, Operation
from transcripts.errors import Shredded, Tampered, UnknownRoom
from transcripts.settlement_artifact import NotSettled
from transcripts.settlement_reads import signed

log = logging.getLogger(__name__)

NOT_SETTLED = "not_settled"  # a stable code: the room has no settlement (yet)


class SettlementParty(Struct):
    role: str
    user: str


class SettlementTicket(Struct):
    provider: str
    id: str


class SettlementTerms(Struct):
    amount: str
    currency: str
    text: str
    milestone: str | None


class SettlementProposal(Struct):
    position: int
    channel: str
    seq: int
    by: SettlementParty
    ts: str
    hash: str


class SettlementAcceptance(Struct):
    role: str
    user: str
    at: str
    position: int
    hash: str


class SettlementRecord(Struct):
    position: int
    ts: str
    hash: str


class SettlementChainHead(Struct):
    position: int
    hash: str


class SettlementDocument(Struct):
    """The document as served: canonical JSON (keys sorted), Ed25519-signed."""

    format: str
    room: str
    ticket: SettlementTicket
    parties: list[SettlementParty]
    terms: SettlementTerms
    proposal: SettlementProposal
    acceptances: list[SettlementAcceptance]
    resolution: SettlementRecord
    chain_head: SettlementChainHead
    issued_at: str
    key_id: str
    signature: str


async def settlement(request: Request) -> Response:
    room_id = request.path_params["room_id"]
    found = services(request)
    reader = await require_room_or_staff(request, room_id)
    try:
        document = await signed(found.store, found.signing(), room_id)
    except (UnknownRoom, Shredded):
        raise ApiError(404, "not_found", "no such room") from None
    except NotSettled:
        raise ApiError(404, NOT_SETTLED, "this room has not been settled") from None
    except Tampered as exc:
        log.error("settlement refused: %s", exc.detail, extra={"room": room_id})
        raise ApiError(422, "tampered", str(exc)) from None
    await found.access_log.append(reader.user, reader.role, reader.purpose, "settlement", room_id)
    return Response(
        document,
        media_type=JSON,
        headers={"Content-Disposition": f'attachment; filename="{room_id}.settlement.json"'},
    )


routes = [Route("/api/rooms/{room_id}/settlement", settlement)]

operations = [
    Operation(
        "GET",
        "/api/rooms/{room_id}/settlement",
        "A settled room's signed settlement document",
        (API_KEY, STAFF, ROOM),
        (Answer(200, "the document, byte for byte as signed", SettlementDocument),),
        errors=(403, 404, 422),
    ),
]
