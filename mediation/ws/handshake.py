"""Who may open /ws at all, decided before the handshake is accepted.

A browser says which page opens the socket (`Origin`); one from a foreign
origin is refused with 403, so a page elsewhere cannot use a visitor's
browser against us. Allowed: no `Origin` at all (not a browser), our own
origin (the `Host` the request came to, or MEDIATION_PUBLIC_URL's), and the
origins in MEDIATION_ALLOWED_ORIGINS, matched exactly. An address throttled
for failed authentication (mediation.abuse) is refused with 429.
"""

from collections.abc import Collection
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.websockets import WebSocket

from mediation.abuse import Throttled
from mediation.http.auth import client_address
from mediation.http.errors import ApiError, error_response, too_many
from mediation.services import Services


def origin_allowed(
    origin: str | None, host: str | None, public_url: str, allowed: Collection[str]
) -> bool:
    if origin is None:
        return True
    origin = origin.strip().lower()
    if origin in {a.strip().lower().rstrip("/") for a in allowed}:
        return True
    if public_url and origin == _origin_of(public_url):
        return True
    return bool(host) and urlsplit(origin).netloc == (host or "").strip().lower()


def _origin_of(url: str) -> str:
    parts = urlsplit(url.strip().lower())
    return f"{parts.scheme}://{parts.netloc}"


async def handshake_refused(ws: WebSocket, services: Services) -> bool:
    """True once the handshake was refused (with 403 or 429): the caller just returns."""
    settings = services.settings
    refusal: ApiError | None = None
    headers = Headers(scope=ws.scope)  # not `ws.headers`: that one stays with the socket
    if not origin_allowed(
        headers.get("origin"),
        headers.get("host"),
        settings.public_url,
        settings.allowed_origins,
    ):
        refusal = ApiError(403, "forbidden", "this origin may not open a socket here")
    else:
        try:
            services.abuse.auth_failures.check(client_address(ws))
        except Throttled as exc:
            refusal = too_many(exc)
    if refusal is None:
        return False
    response = error_response(refusal.status, refusal.code, str(refusal), **refusal.extra)
    try:
        await ws.send_denial_response(response)
    except RuntimeError:  # a server without the denial extension: a bare 403
        await ws.close()
    return True
