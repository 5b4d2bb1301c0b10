"""Mail as an outbox destination: a "party.waiting" row becomes one notice mail.

One SMTP connection per delivery (connect, STARTTLS when offered, AUTH, MAIL, RCPT,
DATA, QUIT). The worker owns retries; this module only says how the attempt went.
The Message-ID comes from the row's event_id, so a retried mail is the same mail.
"""

import contextlib
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import aiosmtplib

from mediation.outbox.delivery import Delivered, Delivery, Outcome, Permanent, Retry
from mediation.outbox.notice_text import KINDS, Kind, Notice, deadline_notice, locale_of, notice

TOPIC = "party.waiting"
DEADLINE_TOPIC = "deadline.warning"  # the party whose deadline falls due soon
_TLS_OFF = ("0", "off", "no", "false")
_TLS_ON = ("1", "on", "yes", "true", "required")
_ID_SAFE = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*")
_ENVELOPE = ("MAIL", "RCPT", "DATA")  # a 5xx here refuses this mail; elsewhere the server
_AUTH_REQUIRED = 530  # at MAIL: our configuration, not this mail


@dataclass(frozen=True, slots=True)
class MailSettings:
    """`url`: smtp://user:pass@host:587 (STARTTLS when offered; `?tls=1` requires it,
    `?tls=0` never) or smtps://user:pass@host:465 (TLS from the first byte). User and
    password are percent-decoded. `sender`: "Name <address>" or a bare address."""

    url: str = field(repr=False)
    sender: str
    timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class _Server:
    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)
    use_tls: bool
    start_tls: bool | None  # None: when the server offers it


def _server(url: str) -> _Server:
    """The parts of a mail URL; a ValueError never quotes the URL (it holds the password)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise ValueError("mail url: the scheme is smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("mail url: no host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("mail url: the port is not a number from 1 to 65535") from None
    query = parse_qs(parts.query, keep_blank_values=True)
    if set(query) - {"tls"}:
        raise ValueError(f"mail url: unknown parameters {sorted(set(query) - {'tls'})}")
    tls = query.get("tls", ["auto"])[-1].strip().lower()
    if tls not in ("auto", *_TLS_OFF, *_TLS_ON):
        raise ValueError("mail url: tls is 0, 1 or auto")
    if scheme == "smtps" and tls in _TLS_OFF:
        raise ValueError("mail url: smtps:// is TLS throughout; use smtp:// with tls=0")
    start_tls = None if scheme == "smtps" or tls == "auto" else tls in _TLS_ON
    return _Server(
        host=parts.hostname,
        port=port or (465 if scheme == "smtps" else 587),
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        use_tls=scheme == "smtps",
        start_tls=False if scheme == "smtps" else start_tls,
    )


def _address(text: str, display_name: str = "") -> Address | None:
    """An ASCII addr-spec with a local part and a dotted domain, or None."""
    text = text.strip()
    if not text.isascii() or any(c.isspace() or c in "<>,;\"'" for c in text):
        return None
    try:
        address = Address(display_name=" ".join(display_name.split()), addr_spec=text)
    except (ValueError, IndexError):
        return None
    if not address.username or "." not in address.domain or address.addr_spec != text:
        return None
    return address


def message_id(event_id: str, domain: str) -> str:
    """The same `<...@domain>` for every attempt at one event."""
    left = event_id if len(event_id) <= 40 and _ID_SAFE.fullmatch(event_id) else None
    left = left or hashlib.sha256(event_id.encode()).hexdigest()[:32]
    return f"<{left}@{domain}>"


class Mailer:
    """The "mail" destination: sends a "party.waiting" notice over SMTP."""

    name = "mail"

    def __init__(self, settings: MailSettings) -> None:
        self._server = _server(settings.url)
        display, addr = parseaddr(settings.sender)
        sender = _address(addr, display)
        if sender is None:
            raise ValueError("mail sender: not an address")
        self._sender = sender
        self._timeout = settings.timeout

    def compose(self, delivery: Delivery) -> EmailMessage | Permanent:
        """The notice for one row, or why there can be none."""
        if delivery.topic not in (TOPIC, DEADLINE_TOPIC):
            return Permanent(f"mail: no notice for topic {delivery.topic!r}")
        data: dict[str, Any] = delivery.data
        email, name = data.get("email"), data.get("name")
        name = name if isinstance(name, str) else ""
        to = _address(email, name) if isinstance(email, str) else None
        if to is None:
            return Permanent("mail: the row has no valid recipient address")
        link = data.get("link")
        if not isinstance(link, str) or not re.fullmatch(r"https?://\S+", link):
            return Permanent("mail: link is not an http(s) URL")
        if delivery.topic == DEADLINE_TOPIC:
            text = self._deadline(data, name, link)
        else:
            text = self._waiting(data, name, link)
        if isinstance(text, Permanent):
            return text
        created = delivery.created_at
        message = EmailMessage()
        message["Subject"] = text.subject
        message["From"] = self._sender
        message["To"] = to
        message["Date"] = format_datetime(
            created if created.tzinfo else created.replace(tzinfo=UTC)
        )
        message["Message-ID"] = message_id(delivery.event_id, self._sender.domain)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        message.set_content(text.plain, cte="quoted-printable")  # 7-bit: no 8BITMIME needed
        message.add_alternative(text.html, subtype="html", cte="quoted-printable")
        message["Content-Language"] = locale_of(data.get("locale"))  # after: set_content clears
        return message

    @staticmethod
    def _deadline(data: dict[str, Any], name: str, link: str) -> Notice | Permanent:
        """A deadline's warning: when it falls due and what applies then."""
        due_at, outcome = data.get("due_at"), data.get("outcome")
        if not isinstance(due_at, str) or not isinstance(outcome, str):
            return Permanent("mail: a deadline warning without due_at and outcome")
        locale = data.get("locale") or "en"
        return deadline_notice(locale=locale, name=name, due_at=due_at, outcome=outcome, link=link)

    @staticmethod
    def _waiting(data: dict[str, Any], name: str, link: str) -> Notice | Permanent:
        unread, what = data.get("unread"), data.get("what")
        if not isinstance(unread, int) or isinstance(unread, bool) or unread < 1:
            return Permanent("mail: unread is not a positive integer")
        if what not in KINDS:
            return Permanent(f"mail: what is not one of {', '.join(KINDS)}")
        sender = data.get("from")
        kind: Kind = what
        return notice(
            locale=data.get("locale") or "en",
            name=name,
            sender=sender if isinstance(sender, str) else "",
            kind=kind,
            unread=unread,
            link=link,
        )

    async def deliver(self, delivery: Delivery) -> Outcome:
        message = self.compose(delivery)
        if isinstance(message, Permanent):
            return message
        recipient = message["To"].addresses[0].addr_spec
        body = message.as_bytes(policy=SMTP_POLICY)
        server = self._server
        client = aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.use_tls,
            start_tls=server.start_tls,
            timeout=self._timeout,
        )
        stage = "connect"
        try:
            await client.connect()
            stage = "MAIL"
            await client.mail(self._sender.addr_spec)
            stage = "RCPT"
            await client.rcpt(recipient)
            stage = "DATA"
            await client.data(body)
            stage = "QUIT"
        except aiosmtplib.SMTPResponseException as exc:
            return self._refused(stage, exc)
        except aiosmtplib.SMTPTimeoutError:
            return Retry(f"mail: timed out at {stage}", uncertain=stage == "DATA")
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError) as exc:
            lost = f"mail: connection lost at {stage}"
            if stage == "connect":
                lost = f"mail: cannot connect to {server.host}:{server.port}"
            return Retry(self._scrub(lost, exc), uncertain=stage == "DATA")
        except Exception as exc:  # TLS, AUTH mechanisms, OS errors: the worker tries again
            return Retry(self._scrub(f"mail: {type(exc).__name__} at {stage}", exc))
        finally:
            if stage == "QUIT":  # the mail is accepted; a rude goodbye changes nothing
                with contextlib.suppress(Exception):
                    await client.quit(timeout=min(5.0, self._timeout))
            client.close()
        return Delivered()

    def _refused(self, stage: str, exc: aiosmtplib.SMTPResponseException) -> Outcome:
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            stage = "AUTH"
        elif isinstance(exc, aiosmtplib.SMTPHeloError):
            stage = "EHLO"
        error = self._scrub(f"mail: {stage} refused: {exc.code}", exc)
        if 500 <= exc.code < 600 and exc.code != _AUTH_REQUIRED and stage in _ENVELOPE:
            return Permanent(error)
        return Retry(error)

    def _scrub(self, error: str, exc: BaseException) -> str:
        """`error` and the server's own words (one line, short), without the password."""
        words = getattr(exc, "message", None)
        if isinstance(words, str) and words.strip():
            error = f"{error} {' '.join(words.split())[:200]}"
        password = self._server.password
        if password:
            for form in (password, quote(password, safe=""), quote(password)):
                error = error.replace(form, "***")
        return error
