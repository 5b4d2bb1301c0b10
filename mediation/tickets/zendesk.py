"""Zendesk: a private note on the room's ticket for each room event, and Zendesk's webhook check.

Every note ends with a marker line naming its event (`[mediation event evt_...]`), so an
attempt that timed out after sending looks for its note before it sends again.
"""

import base64
import hashlib
import hmac
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from mediation.config import Settings
from mediation.outbox.delivery import Delivered, Delivery, Outcome, Permanent, Retry
from mediation.outbox.retry_after import retry_after
from mediation.outbox.routes import Outbound
from rooms import events
from transcripts.database import Database

if TYPE_CHECKING:  # httpx (~5 MB resident) loads with the first Zendesk client made
    import httpx

PROVIDER: Final = "zendesk"
PAGE_SIZE: Final = 100  # comments per page, Zendesk's most
MAX_PAGES: Final = 60  # a ticket holds at most 5000 comments: 50 pages
DEFAULT_STATUSES: Final[Mapping[str, str | None]] = {
    "room.claimed": "open",
    "room.resolved": "solved",
}
# The room events that become notes on the ticket.
TOPICS: Final = frozenset(
    {
        events.ROOM_CREATED,
        events.ROOM_CLAIMED,
        events.ROOM_ESCALATED,
        events.ROOM_RESOLVED,
        events.ROOM_CLOSED,
    }
)
_TICKET_ID = re.compile(r"[0-9]{1,20}")
_ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9 '._-]{0,59}")


def _after_sending() -> tuple[type[Exception], ...]:
    """Raised once the request may have reached Zendesk: it may have been applied."""
    import httpx

    return (
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.ReadError,
        httpx.WriteError,
        httpx.RemoteProtocolError,
    )


def _http_error() -> type[Exception]:
    import httpx

    return httpx.HTTPError


class ZendeskError(Exception):
    """Zendesk answered with a status other than 2xx. Its text names the status and
    Zendesk's short error code, never a credential or a note."""

    def __init__(self, status: int, *, retry_after: float | None, code: str | None) -> None:
        super().__init__(f"zendesk answered {status}" + (f" ({code})" if code else ""))
        self.status = status
        self.retry_after = retry_after


class ZendeskProtocolError(Exception):
    """Zendesk answered 2xx with something that is not the documented shape."""


class ZendeskApi:
    """The two Support API calls the notes need, authenticated with an API token
    (`email/token:API_TOKEN`, Basic) or an OAuth access token (Bearer)."""

    def __init__(
        self,
        base_url: str,
        *,
        email: str | None = None,
        api_token: str | None = None,
        oauth_token: str | None = None,
        client: "httpx.AsyncClient | None" = None,
        timeout: float = 10.0,
    ) -> None:
        import httpx

        if oauth_token:
            authorization = f"Bearer {oauth_token}"
        elif email and api_token:
            basic = base64.b64encode(f"{email}/token:{api_token}".encode()).decode()
            authorization = f"Basic {basic}"
        else:
            raise ValueError("Zendesk needs an OAuth token, or an email and an API token")
        self._base = base_url.rstrip("/")
        self._origin = httpx.URL(self._base)
        self._headers = {"Authorization": authorization, "Accept": "application/json"}
        self._timeout = httpx.Timeout(timeout)
        self._own_client = client is None
        self._client = client if client is not None else httpx.AsyncClient()

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def add_note(
        self, ticket_id: str, body: str, *, status: str | None, tags: list[str], marker: str
    ) -> None:
        """One private comment ending with `marker`, `status` set unless None; first `tags`
        added to the ticket's own (the Tags API's "add tags", `PUT .../tags.json`: a
        ticket update's `tags` would replace them, and repeating an add is harmless)."""
        if tags:
            await self._call("PUT", self._ticket_url(ticket_id, "/tags.json"), json={"tags": tags})
        ticket: dict[str, Any] = {"comment": {"body": f"{body}\n\n{marker}", "public": False}}
        if status is not None:
            ticket["status"] = status
        await self._call("PUT", self._ticket_url(ticket_id, ".json"), json={"ticket": ticket})

    async def has_marker(self, ticket_id: str, marker: str) -> bool:
        """Whether a comment on the ticket holds `marker`, reading every page (cursor)."""
        url = self._ticket_url(ticket_id, "/comments.json")
        params: dict[str, str] | None = {"page[size]": str(PAGE_SIZE)}
        for _ in range(MAX_PAGES):
            page = await self._call("GET", url, params=params)
            for comment in page.get("comments") or []:
                if any(
                    isinstance(text := comment.get(key), str) and marker in text
                    for key in ("body", "plain_body")
                ):
                    return True
            meta, links = page.get("meta") or {}, page.get("links") or {}
            if not meta.get("has_more"):
                return False
            url, params = self._next_page(url, links.get("next"), meta.get("after_cursor"))
        raise ZendeskProtocolError("more comment pages than a ticket can have")

    def _ticket_url(self, ticket_id: str, tail: str) -> str:
        return f"{self._base}/api/v2/tickets/{quote(ticket_id, safe='')}{tail}"

    def _next_page(
        self, url: str, link: object, cursor: object
    ) -> tuple[str, dict[str, str] | None]:
        """`links.next` when it points back at our Zendesk (our credentials go nowhere
        else), else this URL with `page[after]`."""
        if isinstance(link, str):
            import httpx

            target = httpx.URL(link)
            if (target.scheme, target.host, target.port) == (
                self._origin.scheme,
                self._origin.host,
                self._origin.port,
            ):
                return link, None
        if isinstance(cursor, str) and cursor:
            return url, {"page[size]": str(PAGE_SIZE), "page[after]": cursor}
        raise ZendeskProtocolError("has_more without a usable next page")

    async def _call(
        self,
        method: str,
        url: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        response = await self._client.request(
            method, url, json=json, params=params, headers=self._headers, timeout=self._timeout
        )
        if not response.is_success:
            raise ZendeskError(
                response.status_code,
                retry_after=retry_after(response.headers.get("Retry-After"), datetime.now(UTC)),
                code=_error_code(response),
            )
        if method != "GET":
            return {}
        try:
            data = response.json()
        except ValueError:
            raise ZendeskProtocolError("not JSON") from None
        if not isinstance(data, dict):
            raise ZendeskProtocolError("not a JSON object")
        return data


class ZendeskNotes:
    """The outbox destination: a room event becomes a private note on the room's ticket."""

    name = PROVIDER

    def __init__(
        self,
        api: ZendeskApi,
        *,
        statuses: Mapping[str, str | None] | None = None,
        tags: Sequence[str] = ("mediation",),
        audit_base: str = "",
    ) -> None:
        self._api = api
        self._statuses = {**DEFAULT_STATUSES, **(statuses or {})}  # None: status unchanged
        self._tags = list(tags)
        self._audit_base = audit_base.rstrip("/")  # where the auditor page is served

    async def aclose(self) -> None:
        await self._api.aclose()

    def audit_url(self, room_id: str) -> str | None:
        """The room on the auditor page (opened with a staff token in the fragment too)."""
        if not self._audit_base:
            return None
        return f"{self._audit_base}/audit.html#room={quote(room_id, safe='')}"

    async def deliver(self, delivery: Delivery) -> Outcome:
        if delivery.ticket_provider != PROVIDER:
            return Delivered()
        data = delivery.data
        if delivery.topic == events.ROOM_RESOLVED and (audit := self.audit_url(delivery.room_id)):
            data = {**data, "audit_url": audit}
        body = render_note(delivery.topic, delivery.room_id, data)
        if body is None:
            return Delivered()
        ticket = delivery.ticket_id
        if not _TICKET_ID.fullmatch(ticket):
            return Permanent("zendesk ticket id is not a number")
        marker = f"[mediation event {delivery.event_id}]"
        try:
            if delivery.uncertain and await self._api.has_marker(ticket, marker):
                return Delivered()
        except (_http_error(), ZendeskError, ZendeskProtocolError) as exc:
            return _failure(exc, uncertain=True)
        try:
            await self._api.add_note(
                ticket,
                body,
                status=self._statuses.get(delivery.topic),
                tags=self._tags,
                marker=marker,
            )
        except (_http_error(), ZendeskError, ZendeskProtocolError) as exc:
            return _failure(exc, uncertain=delivery.uncertain or _maybe_applied(exc))
        return Delivered()


class ZendeskProvider:
    """Rooms for Zendesk tickets: nothing kept here, a note on the ticket per event."""

    name = PROVIDER

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def opening(self, db: Database, ticket_id: str, subject: str) -> None:
        if not _TICKET_ID.fullmatch(ticket_id):
            raise ValueError("a Zendesk ticket id is a number")

    def outbound(self) -> Outbound:
        s = self._settings
        api = ZendeskApi(
            s.zendesk_url,
            email=s.zendesk_email or None,
            api_token=s.zendesk_api_token or None,
            oauth_token=s.zendesk_oauth_token or None,
            timeout=s.zendesk_timeout,
        )
        statuses = {
            events.ROOM_CLAIMED: s.zendesk_claim_status or None,
            events.ROOM_RESOLVED: s.zendesk_resolved_status or None,
        }
        base = s.public_url or f"http://{s.host}:{s.port}"
        notes = ZendeskNotes(api, statuses=statuses, tags=s.zendesk_tags, audit_base=base)
        return Outbound(notes, TOPICS)


def provider(settings: Settings) -> ZendeskProvider | None:
    """Zendesk, when `MEDIATION_ZENDESK_URL` is set."""
    return ZendeskProvider(settings) if settings.zendesk_url else None


def render_note(topic: str, room_id: str, data: Mapping[str, Any]) -> str | None:
    """The note's text for a room event; None for a topic that gets no note. Only ids,
    the tier, whether a brief exists, the agreed terms and the audit link: never text."""
    room = f"Mediation room {room_id}"
    if topic == "room.created":
        return f"{room} was opened for this ticket."
    if topic == "room.claimed":
        return f"{room} was claimed by a mediator."
    if topic == "room.escalated":
        tier = _field(data.get("tier"))
        line = f"{room} was escalated" + (f" to tier {tier}." if tier else ".")
        brief = data.get("brief") is True  # a flag: the brief's text never leaves the room
        return line + ("\nA brief was written." if brief else "\nNo brief was written.")
    if topic == "room.resolved":
        lines = [f"{room} was resolved."]
        terms = data.get("terms")
        if isinstance(terms, Mapping):
            amount, currency = _field(terms.get("amount")), _field(terms.get("currency"))
            milestone = _field(terms.get("milestone"))
            if amount and currency:
                lines.append(
                    f"Agreed terms: {amount} {currency}"
                    + (f", milestone: {milestone}." if milestone else ".")
                )
        audit = _field(data.get("audit_url"), limit=500)
        if audit and audit.startswith(("https://", "http://")):
            lines.append(f"Audit trail: {audit}")
        return "\n".join(lines)
    if topic == "room.closed":
        return f"{room} was closed."
    return None


def verify_webhook(
    secret: str, timestamp: str, body: bytes, signature: str, now: float, tolerance: float = 300
) -> bool:
    """Zendesk's webhook signature: `X-Zendesk-Webhook-Signature` is
    base64(HMAC-SHA256(secret, timestamp + body)), with `timestamp` the
    `X-Zendesk-Webhook-Signature-Timestamp` header (ISO 8601, `2024-01-01T00:00:00Z`).
    False when it does not match, or the timestamp is malformed or further than
    `tolerance` seconds from `now` (Unix seconds)."""
    try:
        sent = datetime.fromisoformat(timestamp)
    except (TypeError, ValueError):
        return False
    if sent.tzinfo is None or not math.isfinite(now):
        return False
    if abs(now - sent.timestamp()) > tolerance:
        return False
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.encode())


def _failure(exc: Exception, *, uncertain: bool) -> Outcome:
    if isinstance(exc, ZendeskError):
        if exc.status >= 500 or exc.status in (408, 409, 429):
            return Retry(str(exc), after=exc.retry_after, uncertain=uncertain)
        return Permanent(str(exc))
    if isinstance(exc, _http_error()):
        return Retry(f"zendesk: {type(exc).__name__}", uncertain=uncertain)
    return Retry(f"zendesk: unexpected answer ({exc})", uncertain=uncertain)


def _maybe_applied(exc: Exception) -> bool:
    """Whether a failed update may still have been applied: it failed once sent, or a
    gateway in front of Zendesk gave up waiting for it."""
    if isinstance(exc, ZendeskError):
        return exc.status in (502, 504)
    return isinstance(exc, _after_sending())


def _error_code(response: "httpx.Response") -> str | None:
    """Zendesk's `error` (`RecordNotFound`, `Couldn't authenticate you`) when it is short
    and plain; never its description, which may quote what was sent."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    return error if isinstance(error, str) and _ERROR_CODE.fullmatch(error) else None


def _field(value: object, *, limit: int = 100) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = " ".join(str(value).split())
    return text[:limit] or None
