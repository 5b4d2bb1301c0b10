"""A real SMTP server (aiosmtpd) on 127.0.0.1 in the test's own loop, recording what
it accepts, with optional AUTH and faults injected on RCPT or DATA."""

import asyncio
import email
import email.policy
import ssl
import warnings
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import quote

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Command = Literal["RCPT", "DATA"]


@dataclass(frozen=True, slots=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    login: str | None  # who authenticated for it, if anyone
    tls: bool  # it came over TLS (STARTTLS or implicit)


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    faults: dict[Command, deque[str]] = field(
        default_factory=lambda: {"RCPT": deque(), "DATA": deque()}
    )
    hang: float = 0.0  # seconds DATA waits after the body before answering

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.faults["RCPT"]:
            return self.faults["RCPT"].popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.hang:
            await asyncio.sleep(self.hang)
        if self.faults["DATA"]:
            return self.faults["DATA"].popleft()
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        auth: Any = session.auth_data
        login = auth.login.decode() if session.authenticated else None
        transport: Any = server.transport
        tls = session.ssl is not None or transport.get_extra_info("sslcontext") is not None
        self.received.append(
            Received(envelope.mail_from or "", list(envelope.rcpt_tos), raw, parsed, login, tls)
        )
        return "250 OK queued"


class SmtpServer:
    """`async with SmtpServer(users={"u": "p"}) as smtp:` then smtp.url("u", "p").
    With `users`, AUTH (PLAIN, LOGIN) is offered over the plain socket and required.
    With `tls`, STARTTLS is offered (or, `implicit`, TLS from the first byte)."""

    def __init__(
        self,
        *,
        users: dict[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
        implicit: bool = False,
    ) -> None:
        self.users = users
        self.tls = tls
        self.implicit = implicit
        self.handler = _Handler()
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def fail(self, command: Command, reply: str, times: int = 1) -> None:
        """Answer the next `times` `command`s with `reply` ("451 4.3.0 try later")."""
        self.handler.faults[command].extend([reply] * times)

    def hang_data(self, seconds: float) -> None:
        """Hold every DATA answer back this long (after the body arrived)."""
        self.handler.hang = seconds

    def url(self, user: str | None = None, password: str | None = None, query: str = "") -> str:
        auth = ""
        if user is not None:
            auth = quote(user, safe="")
            if password is not None:
                auth += ":" + quote(password, safe="")
            auth += "@"
        scheme = "smtps" if self.implicit else "smtp"
        return f"{scheme}://{auth}127.0.0.1:{self.port}{'?' + query if query else ''}"

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if (
            isinstance(data, LoginPassword)
            and self.users is not None
            and self.users.get(data.login.decode()) == data.password.decode()
        ):
            return AuthResult(success=True, auth_data=data)
        return AuthResult(success=False, handled=False)

    def _protocol(self) -> SMTP:
        with warnings.catch_warnings():  # AUTH without TLS: on purpose, on 127.0.0.1
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(
                self.handler,
                hostname="smtp.test",
                tls_context=None if self.implicit else self.tls,
                authenticator=self._authenticate if self.users is not None else None,
                auth_required=self.users is not None,
                auth_require_tls=False,
                loop=asyncio.get_running_loop(),
            )

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol, "127.0.0.1", 0, ssl=self.tls if self.implicit else None
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
