"""Who is calling: the platform (its API key), a staff member (a staff token), or an
auditor of one room (a room token). Every endpoint says which it accepts.

Credentials travel only in `Authorization: Bearer`, never in a URL. An address
that presents too many bad credentials is refused with 429 for a while, even
with a good one (mediation.abuse.AuthFailures)."""

import hmac
from dataclasses import dataclass

from starlette.requests import HTTPConnection, Request

from mediation.abuse import Quota, Throttled
from mediation.auth.tokens import InvalidToken
from mediation.http.errors import ApiError, too_many
from mediation.services import Services, room_info
from rooms.errors import Forbidden
from rooms.hub import admit
from rooms.ports import Member
from rooms.visibility import Role
from transcripts.store_types import RoomRow


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def _bearer(request: Request) -> str:
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    return presented if scheme.lower() == "bearer" else ""


def client_address(caller: HTTPConnection) -> str:
    """The caller's address: the peer's, or the one a trusted proxy forwarded."""
    return caller.client.host if caller.client else ""


def unthrottled(request: Request) -> Services:
    """The services, once the caller's address is not throttled for failed attempts."""
    found = services(request)
    try:
        found.abuse.auth_failures.check(client_address(request))
    except Throttled as exc:
        raise too_many(exc) from None
    return found


def _refused(request: Request, found: Services, message: str) -> ApiError:
    """401; a credential that was presented and is bad counts against the address."""
    if _bearer(request):
        found.abuse.auth_failures.failed(client_address(request))
    return ApiError(401, "unauthorized", message)


def require_api_key(request: Request) -> Services:
    found = unthrottled(request)
    if not _has_api_key(request, found):
        raise _refused(request, found, "a valid API key is required (Authorization: Bearer)")
    return found


def _has_api_key(request: Request, found: Services) -> bool:
    presented = _bearer(request).encode()
    return bool(presented) and hmac.compare_digest(presented, found.secrets.api_key.encode())


@dataclass(frozen=True)
class Actor:
    """Who acts: the platform (API key), or a person with the role a token gives them."""

    user: str
    role: str
    purpose: str
    expires_at: int = 0  # a staff token's expiry (unix seconds); 0 for the platform

    @property
    def is_platform(self) -> bool:
        return self is PLATFORM


PLATFORM = Actor("api-key", "platform", "")


def require_staff(request: Request, *roles: Role) -> Actor:
    """The platform, or a staff token of one of `roles`."""
    found = unthrottled(request)
    if _has_api_key(request, found):
        return PLATFORM
    try:
        grant = found.tokens.verify_staff(_bearer(request))
    except InvalidToken as exc:
        raise _refused(request, found, f"an API key or staff token is required: {exc}") from None
    if grant.role not in roles:
        raise ApiError(403, "forbidden", f"a {grant.role} may not do this")
    return Actor(grant.user, grant.role, grant.purpose, grant.expires_at)


async def require_reader(request: Request, room_id: str, action: str) -> Actor:
    found = unthrottled(request)
    if _has_api_key(request, found):
        return PLATFORM
    try:
        grant = found.tokens.verify(_bearer(request))
    except InvalidToken as exc:
        raise _refused(request, found, f"an API key or auditor token is required: {exc}") from None
    if grant.role is not Role.AUDITOR or grant.room_id != room_id:
        raise ApiError(403, "forbidden", f"only an auditor of room {room_id} may {action} it")
    return Actor(grant.user, grant.role, grant.purpose)


def spend(quota: Quota, caller: str) -> None:
    """One of the caller's minted tokens or joins; 429 past its quota."""
    try:
        quota.spend(caller)
    except Throttled as exc:
        raise too_many(exc) from None


@dataclass(frozen=True)
class Participant:
    """The verified holder of a room token, in that room."""

    member: Member
    purpose: str  # auditors state one; empty for others
    room: RoomRow


async def require_participant(request: Request, room_id: str) -> Participant:
    """The holder of a room token for `room_id` (parties: the room's own)."""
    found = unthrottled(request)
    try:
        grant = found.tokens.verify(_bearer(request))
    except InvalidToken as exc:
        raise _refused(request, found, f"a room token is required: {exc}") from None
    if grant.room_id != room_id:
        raise ApiError(403, "forbidden", f"this token is not for room {room_id}")
    room = await found.store.room(room_id)
    if room is None:
        raise ApiError(404, "not_found", "no such room")
    member = Member(grant.user, grant.role)
    try:
        admit(room_info(room), member)
    except Forbidden as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    return Participant(member, grant.purpose, room)


async def require_room_or_staff(request: Request, room_id: str) -> Actor:
    """The platform, a moderator's or an auditor's staff token, or any room token of
    `room_id` (a party, its moderator, an auditor of it)."""
    found = unthrottled(request)
    if _has_api_key(request, found):
        return PLATFORM
    try:
        grant = found.tokens.verify_staff(_bearer(request))
    except InvalidToken:
        who = await require_participant(request, room_id)
        return Actor(who.member.user, who.member.role, who.purpose)
    if grant.role not in (Role.MODERATOR, Role.AUDITOR):
        raise ApiError(403, "forbidden", f"a {grant.role} may not do this")
    return Actor(grant.user, grant.role, grant.purpose, grant.expires_at)
