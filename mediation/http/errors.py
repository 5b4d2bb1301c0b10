"""HTTP errors as JSON `{"error": {"code", "message"}}`, with the socket's stable codes."""

import math
from typing import Any, TypeVar

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mediation.abuse import Throttled

MAX_BODY = 64 * 1024
T = TypeVar("T")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.extra = status, code, extra


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    """Our JSON error; one carrying `retry_after_ms` also says `Retry-After` (seconds)."""
    response = JSONResponse({"error": {"code": code, "message": message, **extra}}, status)
    wait = extra.get("retry_after_ms")
    if isinstance(wait, int):
        response.headers["retry-after"] = str(max(1, math.ceil(wait / 1000)))
    return response


def too_many(exc: Throttled) -> ApiError:
    """429 `rate_limited`, with how long to wait."""
    return ApiError(429, "rate_limited", str(exc), retry_after_ms=exc.retry_after_ms)


async def api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, str(exc), **exc.extra)


async def http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid")
    return error_response(exc.status_code, code, str(exc.detail))


async def internal_error(_request: Request, _exc: Exception) -> Response:
    """Anything a handler did not expect: our JSON, never a plain-text 500. The exception
    goes on to the server's log (its message stays there, never in the answer)."""
    return error_response(500, "internal", "an unexpected error on our side")


async def read_json(request: Request, kind: type[T], empty: T | None = None) -> T:
    """The request body as `kind`, validated; 413 past MAX_BODY, 400 when malformed.
    An empty body is `empty`, where one is given."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise ApiError(413, "too_large", f"request body over {MAX_BODY} bytes")
    if not body and empty is not None:
        return empty
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.DecodeError as exc:
        raise ApiError(400, "invalid", str(exc)) from None
