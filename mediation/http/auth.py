"""Bearer API-key check for the platform-facing endpoints."""

import hmac

from starlette.requests import Request

from mediation.http.errors import ApiError
from mediation.services import Services


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def require_api_key(request: Request) -> Services:
    found = services(request)
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    expected = found.secrets.api_key
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "a valid API key is required (Authorization: Bearer)")
    return found
