"""Bad query parameters over HTTP: always our JSON error with a stable code (issue 12, F11).

A huge integer once reached the database (a plain-text 500), `limit=-1`
slipped past the cap, and `²` passed `str.isdigit`. Every query parameter is
now read through a bounded schema; anything a handler does not expect is a
JSON 500 `internal`, never plain text.
"""

from typing import Any

import pytest

from tests.conftest import RunningServer

HUGE = str(10**30)
BAD_QUERIES = [
    "/api/audit-log?after=" + HUGE,
    f"/api/audit-log?after={2**63}",
    f"/api/audit-log?after={2**53}",
    "/api/audit-log?after=-1",
    "/api/audit-log?after=%C2%B2",  # "²": a digit to str.isdigit, not to int()
    "/api/audit-log?after=1x",
    f"/api/outbox?after={2**53}",  # past what SQLite's integer holds: was a 500
    "/api/outbox?after=" + HUGE,
    "/api/outbox?status=gone",
    "/api/outbox?limit=501",
    "/api/audit-log?limit=-1",
    "/api/audit-log?limit=0",
    "/api/audit-log?limit=5001",
    "/api/audit-log?limit=" + HUGE,
    "/api/queue?tier=" + HUGE,
    f"/api/queue?tier={2**63}",
    "/api/queue?tier=%C2%B2",
    "/api/queue?tier=0",
    "/api/queue?tier=-1",
    "/api/queue?tier=two",
    "/api/queue?moderator=",
    "/api/reports/rooms?to=0001-01-01",
    "/api/reports/rooms?from=0001-01-01T00:00:00%2B14:00",
    "/api/reports/rooms?to=9999-12-31T23:59:59-14:00",
    "/api/reports/rooms?from=yesterday",
    "/api/reports/rooms?format=xml",
    "/api/rooms?provider=local",
    "/api/rooms?provider=local&ticket=" + "x" * 129,
    "/api/rooms/r_none/export?format=pdf",
]


@pytest.mark.parametrize("path", BAD_QUERIES)
async def test_a_bad_query_parameter_is_a_json_400_invalid(
    server: RunningServer, path: str
) -> None:
    response = await server.platform.http.get(path, headers=server.platform.auth)
    assert response.status_code == 400, (path, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "invalid", error
    assert error["message"], error


@pytest.mark.parametrize(
    "path",
    [
        "/api/audit-log?after=0&limit=5000",
        f"/api/audit-log?after={2**53 - 1}&limit=1",
        "/api/queue?tier=2",
        "/api/queue?moderator=m-1",
        "/api/reports/rooms?from=2026-01-01&to=2026-02-01&format=csv",
        "/api/reports/rooms?to=0001-02-01",
        "/api/rooms?provider=local&ticket=T-1",
    ],
)
async def test_the_same_parameters_in_range_are_answered(server: RunningServer, path: str) -> None:
    response = await server.platform.http.get(path, headers=server.platform.auth)
    assert response.status_code == 200, (path, response.text)


async def test_the_audit_log_page_is_capped_by_refusal_not_by_silence(
    server: RunningServer,
) -> None:
    """The documented rule: `limit` is 1..5000; past it is refused, not quietly clamped."""
    response = await server.platform.http.get(
        "/api/audit-log?limit=100000", headers=server.platform.auth
    )
    assert response.status_code == 400
    assert "5000" in response.json()["error"]["message"]


async def test_an_unexpected_error_in_a_handler_is_a_json_500_internal(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret detail of a bug")

    monkeypatch.setattr(server.services.store, "queue", broken)
    response = await server.platform.http.get("/api/queue", headers=server.platform.auth)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json"), response.text
    assert response.json() == {
        "error": {"code": "internal", "message": "an unexpected error on our side"}
    }
    # the server carries on
    assert (
        await server.platform.http.get("/api/queue", headers=server.platform.auth)
    ).status_code == 500
    monkeypatch.undo()
    assert (
        await server.platform.http.get("/api/queue", headers=server.platform.auth)
    ).status_code == 200
