"""Opening rooms for tickets and minting their tokens: the rules the HTTP API and CLI share."""

import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from mediation.config import Settings
from mediation.contacts import Contact, stored
from mediation.services import Services, room_info
from mediation.tickets.providers import TicketProviders
from rooms.errors import Forbidden
from rooms.hub import admit
from rooms.lifecycle import State
from rooms.ports import Member
from rooms.routing import primary_language, skills_of
from rooms.visibility import Role
from transcripts.store_types import RoomRow


class RoomConflict(Exception):
    def __init__(self, existing: RoomRow) -> None:
        super().__init__(
            f"ticket {existing.ticket_provider}/{existing.ticket_id} already has open room "
            f"{existing.id}"
        )
        self.existing = existing


class BadRequest(Exception):
    pass


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: int
    room: str
    user: str
    role: Role
    jti: str  # revocable by it: POST /api/revocations


async def open_room(
    services: Services,
    provider: str,
    ticket_id: str,
    client: str,
    freelancer: str,
    priority: str = "normal",
    contacts: list[Contact] | None = None,
    subject: str = "",
    language: str | None = None,
    skills: Sequence[str] = (),
    calendar: str | None = None,
    acceptance: str | None = None,
) -> RoomRow:
    """The room for the ticket, opened now; RoomConflict when the ticket has an open one.
    The provider must be one the settings turn on (`providers(settings)`). Its language
    is `language`'s primary subtag, else the first party contact's locale's, else the
    setting `room_language` (rooms.routing)."""
    known = providers(services.settings)
    if provider not in known:
        raise BadRequest(f"unknown ticket provider {provider!r}; known: {', '.join(known)}")
    if client == freelancer:
        raise BadRequest("the client and the freelancer must be different users")
    existing = await services.store.open_room_for_ticket(provider, ticket_id)
    if existing is not None:
        raise RoomConflict(existing)
    try:
        await known[provider].opening(services.db, ticket_id, subject)
    except ValueError as exc:  # not a ticket id of this provider
        raise BadRequest(str(exc)) from None
    try:
        room = await services.store.create_room(
            "r_" + secrets.token_urlsafe(12),
            provider,
            ticket_id,
            client,
            freelancer,
            State.WAITING,
            priority,
            stored(contacts or []),
            room_language(
                language,
                [c for c in contacts or [] if c.user in (client, freelancer)],
                services.settings.room_language,
            ),
            skills_of(skills),
            calendar=calendar,
            acceptance=acceptance,
        )
    except IntegrityError:  # a concurrent request opened it first
        existing = await services.store.open_room_for_ticket(provider, ticket_id)
        assert existing is not None
        raise RoomConflict(existing) from None
    services.outbox_worker.wake()  # its room.created rows, if any destination wants them
    return room


def room_language(asked: str | None, contacts: Sequence[Contact], default: str) -> str:
    """The room's language: the one asked for, else its first party's locale, else the
    deployment's default; as a BCP 47 primary subtag ("de-AT" -> "de")."""
    for tag in (asked, *(c.locale for c in contacts[:1])):
        primary = primary_language(tag) if tag else None
        if primary is not None:
            return primary
    return default


@functools.lru_cache(maxsize=16)
def providers(settings: Settings) -> TicketProviders:
    """The ticket providers these settings turn on (made once per settings)."""
    return TicketProviders(settings)


AUDITOR_TTL = 3600  # auditors read for a stated purpose, for an hour by default
AUDITOR_MAX_TTL = 8 * 3600


def issue_token(
    services: Services,
    room: RoomRow,
    user: str,
    role: Role,
    ttl: int | None = None,
    purpose: str = "",
    not_after: int | None = None,
) -> IssuedToken:
    try:
        admit(room_info(room), Member(user, role))
    except Forbidden as exc:
        raise BadRequest(str(exc)) from None
    if role is Role.AUDITOR:
        if not purpose.strip():
            raise BadRequest("an auditor token needs a stated purpose")
        ttl = min(ttl or AUDITOR_TTL, AUDITOR_MAX_TTL)
    token, grant = services.tokens.mint(room.id, user, role, ttl, purpose, not_after)
    return IssuedToken(token, grant.expires_at, room.id, user, role, grant.jti)
