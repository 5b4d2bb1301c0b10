"""Security headers on every HTTP response, by the kind of thing served.

- Pages and their scripts: a strict Content-Security-Policy (scripts and styles
  from our origin only: no inline script or style), and who may frame them.
  The party view (`/`, `/index.html`) and `embed.js` may be framed by our own
  origin and the configured host origins (MEDIATION_FRAME_ANCESTORS); every
  other page (the console, the audit page) by no one (`frame-ancestors 'none'`
  and `X-Frame-Options: DENY`).
- /api/*: a policy that allows nothing, no framing, and `Cache-Control: no-store`
  (answers carry party data; the simplest honest rule is all of them).
- Everywhere: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
  and HSTS when the request came over TLS (directly, or as X-Forwarded-Proto from a
  proxy uvicorn trusts: FORWARDED_ALLOW_IPS).

A response that sets its own Content-Security-Policy (a file download, the
HTML transcript) keeps it.
"""

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
)
API_POLICY = "default-src 'none'; sandbox"
FRAMEABLE = frozenset({"/", "/index.html", "/embed.js"})  # the party view, and its embedding
HSTS = "max-age=31536000"
TLS_SCHEMES = frozenset({"https", "wss"})


def security_headers(path: str, tls: bool, frame_ancestors: Iterable[str]) -> dict[str, str]:
    """The headers a response at `path` gets (a pure function of the request)."""
    headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
    if tls:
        headers["Strict-Transport-Security"] = HSTS
    if path.startswith("/api/"):
        policy, ancestors = API_POLICY, "'none'"
        headers["Cache-Control"] = "no-store"
    elif path in FRAMEABLE:
        policy, ancestors = PAGE_POLICY, " ".join(["'self'", *frame_ancestors])
    else:
        policy, ancestors = PAGE_POLICY, "'none'"
    if ancestors == "'none'":
        headers["X-Frame-Options"] = "DENY"
    headers["Content-Security-Policy"] = f"{policy}; frame-ancestors {ancestors}"
    return headers


KEPT = frozenset({"content-security-policy"})  # a handler's own stricter policy stands


class SecurityHeaders:
    def __init__(self, app: ASGIApp, frame_ancestors: tuple[str, ...] = ()) -> None:
        self.app = app
        self.frame_ancestors = frame_ancestors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(
            scope["path"], scope.get("scheme") in TLS_SCHEMES, self.frame_ancestors
        )

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name.lower() in KEPT and name in headers:
                        continue
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, sending)
