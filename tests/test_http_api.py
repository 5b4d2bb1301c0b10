"""The HTTP API the host platform calls: rooms for tickets, and tokens for their participants.

Errors are JSON `{"error": {"code", "message"}}` with the socket's stable codes.
"""

from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer
from tests.peers import Peer

# helpers


def room_body(
    ticket: str = "T-1", client: str = "c-1", freelancer: str = "f-1", provider: str = "local"
) -> dict[str, Any]:
    return {
        "ticket": {"provider": provider, "id": ticket},
        "client": client,
        "freelancer": freelancer,
    }


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is a JSON error with this status and stable code; its `error` object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str), error
    assert error["message"], error
    return error


async def post_room(server: RunningServer, body: object, **kwargs: Any) -> httpx.Response:
    headers = kwargs.pop("headers", server.platform.auth)
    response: httpx.Response = await server.platform.http.post(
        "/api/rooms", json=body, headers=headers, **kwargs
    )
    return response


async def post_token(server: RunningServer, room: str, body: dict[str, Any]) -> httpx.Response:
    response: httpx.Response = await server.platform.http.post(
        f"/api/rooms/{room}/tokens", json=body, headers=server.platform.auth
    )
    return response


async def lookup(server: RunningServer, provider: str, ticket: str) -> list[dict[str, Any]]:
    response = await server.platform.http.get(
        "/api/rooms", params={"provider": provider, "ticket": ticket}, headers=server.platform.auth
    )
    assert response.status_code == 200, response.text
    rooms: list[dict[str, Any]] = response.json()["rooms"]
    return rooms


# the API key


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="none"),
        pytest.param({"authorization": "Bearer not-the-key"}, id="wrong-key"),
        pytest.param({"authorization": "Bearer"}, id="empty-key"),
        pytest.param({"authorization": "Basic dXNlcjpwYXNz"}, id="basic-auth"),
    ],
)
async def test_opening_a_room_needs_the_api_key(
    server: RunningServer, headers: dict[str, str]
) -> None:
    response = await post_room(server, room_body(), headers=headers)
    error_of(response, 401, "unauthorized")
    assert await lookup(server, "local", "T-1") == []


async def test_the_api_key_must_not_be_sent_in_another_scheme(server: RunningServer) -> None:
    headers = {"authorization": f"Token {server.platform.api_key}"}
    error_of(await post_room(server, room_body(), headers=headers), 401, "unauthorized")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/rooms/r_x"),
        ("GET", "/api/rooms?provider=local&ticket=T-1"),
        ("POST", "/api/rooms/r_x/tokens"),
    ],
)
async def test_every_platform_endpoint_needs_the_api_key(
    server: RunningServer, method: str, path: str
) -> None:
    room = await server.platform.open_room("T-1")
    path = path.replace("r_x", room)
    response = await server.platform.http.request(
        method,
        path,
        json={"user": "c-1", "role": "client"},
        headers={"authorization": "Bearer wrong"},
    )
    error_of(response, 401, "unauthorized")


# opening rooms


async def test_opening_a_room(server: RunningServer) -> None:
    response = await post_room(server, room_body("T-42", "alice", "bob"))
    assert response.status_code == 201, response.text
    room = response.json()
    assert room["id"].startswith("r_")
    assert room["ticket"] == {"provider": "local", "id": "T-42"}
    assert (room["client"], room["freelancer"]) == ("alice", "bob")
    assert isinstance(room["state"], str)
    assert room["state"]
    assert response.headers["location"] == f"/api/rooms/{room['id']}"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"", id="empty"),
        pytest.param(b"[1, 2]", id="array"),
        pytest.param(b'{"ticket": {"provider": "local", "id": "T-1"}', id="truncated"),
    ],
)
async def test_malformed_json_is_invalid(server: RunningServer, content: bytes) -> None:
    response = await server.platform.http.post(
        "/api/rooms",
        content=content,
        headers={**server.platform.auth, "content-type": "application/json"},
    )
    error_of(response, 400, "invalid")
    assert await lookup(server, "local", "T-1") == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"client": "c-1", "freelancer": "f-1"}, id="no-ticket"),
        pytest.param(
            {"ticket": {"provider": "local", "id": "T-1"}, "freelancer": "f-1"}, id="no-client"
        ),
        pytest.param(
            {"ticket": {"provider": "local", "id": "T-1"}, "client": "c-1"}, id="no-freelancer"
        ),
        pytest.param(
            {"ticket": {"provider": "local"}, "client": "c-1", "freelancer": "f-1"},
            id="no-ticket-id",
        ),
        pytest.param(
            {"ticket": {"id": "T-1"}, "client": "c-1", "freelancer": "f-1"}, id="no-provider"
        ),
        pytest.param(room_body(client=""), id="empty-client"),
        pytest.param(room_body(client=7), id="int-client"),  # type: ignore[arg-type]
        pytest.param(room_body(ticket=""), id="empty-ticket-id"),
    ],
)
async def test_missing_or_mistyped_fields_are_invalid(
    server: RunningServer, body: dict[str, Any]
) -> None:
    error_of(await post_room(server, body), 400, "invalid")
    assert await lookup(server, "local", "T-1") == []


async def test_an_unknown_ticket_provider_is_refused(server: RunningServer) -> None:
    error = error_of(await post_room(server, room_body(provider="jira")), 400, "invalid")
    assert "jira" in error["message"]
    assert await lookup(server, "jira", "T-1") == []


async def test_the_client_and_the_freelancer_must_differ(server: RunningServer) -> None:
    error_of(await post_room(server, room_body(client="same", freelancer="same")), 400, "invalid")
    assert await lookup(server, "local", "T-1") == []


async def test_a_ticket_has_one_open_room(server: RunningServer) -> None:
    first = await post_room(server, room_body("T-7"))
    assert first.status_code == 201, first.text
    existing = first.json()["id"]
    again = await post_room(server, room_body("T-7", client="c-2", freelancer="f-2"))
    error = error_of(again, 409, "conflict")
    assert error["room"] == existing
    assert [r["id"] for r in await lookup(server, "local", "T-7")] == [existing]
    # another ticket is another room
    other = await post_room(server, room_body("T-8"))
    assert other.status_code == 201, other.text
    assert other.json()["id"] != existing


# reading rooms


async def test_get_a_room(server: RunningServer) -> None:
    room = await server.platform.open_room("T-1", client="c-1", freelancer="f-1")
    response = await server.platform.http.get(f"/api/rooms/{room}", headers=server.platform.auth)
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["id"] == room
    assert found["ticket"] == {"provider": "local", "id": "T-1"}
    assert (found["client"], found["freelancer"]) == ("c-1", "f-1")


async def test_get_a_room_that_does_not_exist(server: RunningServer) -> None:
    response = await server.platform.http.get("/api/rooms/r_nope", headers=server.platform.auth)
    error_of(response, 404, "not_found")


async def test_look_a_room_up_by_its_ticket(server: RunningServer) -> None:
    room = await server.platform.open_room("T-1")
    found = await lookup(server, "local", "T-1")
    assert [r["id"] for r in found] == [room]
    assert found[0]["ticket"] == {"provider": "local", "id": "T-1"}
    assert await lookup(server, "local", "T-2") == []
    assert await lookup(server, "zendesk", "T-1") == []


@pytest.mark.parametrize("query", ["", "?provider=local", "?ticket=T-1"])
async def test_a_lookup_needs_provider_and_ticket(server: RunningServer, query: str) -> None:
    response = await server.platform.http.get(f"/api/rooms{query}", headers=server.platform.auth)
    error_of(response, 400, "invalid")


# tokens


async def test_a_token_for_the_rooms_own_client_works_over_the_socket(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-1", client="c-1", freelancer="f-1")
    response = await post_token(server, room, {"user": "c-1", "role": "client"})
    assert response.status_code == 201, response.text
    issued = response.json()
    assert isinstance(issued["token"], str)
    assert issued["expires_at"]
    peer = await Peer.connect(server.ws_url)
    welcome = await peer.hello(issued["token"])
    assert welcome["type"] == "welcome", welcome
    assert welcome["you"] == {"user": "c-1", "role": "client"}
    assert welcome["room"]["id"] == room


@pytest.mark.parametrize(
    ("user", "role"), [("mallory", "client"), ("f-1", "client"), ("c-1", "freelancer")]
)
async def test_a_party_token_for_someone_else_is_forbidden(
    server: RunningServer, user: str, role: str
) -> None:
    room = await server.platform.open_room("T-1", client="c-1", freelancer="f-1")
    error_of(await post_token(server, room, {"user": user, "role": role}), 403, "forbidden")


@pytest.mark.parametrize("role", ["moderator", "auditor"])
async def test_a_staff_token_for_any_user(server: RunningServer, role: str) -> None:
    room = await server.platform.open_room("T-1", client="c-1", freelancer="f-1")
    body = {"user": "anyone-at-all", "role": role}
    if role == "auditor":
        body["purpose"] = "quality review of the dispute"  # auditors must say why they read
    response = await post_token(server, room, body)
    assert response.status_code == 201, response.text
    peer = await Peer.connect(server.ws_url)
    welcome = await peer.hello(response.json()["token"])
    assert welcome["you"] == {"user": "anyone-at-all", "role": role}


async def test_a_token_for_a_room_that_does_not_exist(server: RunningServer) -> None:
    response = await post_token(server, "r_nope", {"user": "mod-1", "role": "moderator"})
    error_of(response, 404, "not_found")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"user": "c-1"}, id="no-role"),
        pytest.param({"role": "client"}, id="no-user"),
        pytest.param({"user": "c-1", "role": "admin"}, id="unknown-role"),
        pytest.param({"user": "c-1", "role": "client", "ttl": 0}, id="zero-ttl"),
        pytest.param({"user": "c-1", "role": "client", "ttl": -5}, id="negative-ttl"),
    ],
)
async def test_a_malformed_token_request_is_invalid(
    server: RunningServer, body: dict[str, Any]
) -> None:
    room = await server.platform.open_room("T-1", client="c-1", freelancer="f-1")
    error_of(await post_token(server, room, body), 400, "invalid")


# limits and health


async def test_an_oversized_body_is_too_large(server: RunningServer) -> None:
    body = room_body("T-1")
    body["padding"] = "x" * (64 * 1024 + 1)  # unknown fields are ignored, so only size counts
    error_of(await post_room(server, body), 413, "too_large")
    assert await lookup(server, "local", "T-1") == []
    # just under the limit, the same request is fine
    body["padding"] = "x" * (60 * 1024)
    response = await post_room(server, body)
    assert response.status_code == 201, response.text


async def test_healthz(server: RunningServer) -> None:
    response = await server.platform.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
