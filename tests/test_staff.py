"""Staff tokens, macros and the live queue: what a moderator's console and an auditor's
page use instead of the platform's API key."""

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import RunningServer
from tests.peers import Peer


async def staff_token(server: RunningServer, user: str, role: str, **extra: Any) -> dict[str, str]:
    response = await server.platform.http.post(
        "/api/staff/tokens",
        json={"user": user, "role": role, **extra},
        headers=server.platform.auth,
    )
    assert response.status_code == 201, response.text
    return {"authorization": f"Bearer {response.json()['token']}"}


async def test_a_moderator_works_the_queue_with_a_staff_token(server: RunningServer) -> None:
    http = server.platform.http
    room = await server.platform.open_room("T-staff")
    moderator = await staff_token(server, "m-7", "moderator")
    queue = await http.get("/api/queue", headers=moderator)
    assert [r["id"] for r in queue.json()["rooms"]] == [room]
    claimed = await http.post(f"/api/rooms/{room}/claim", headers=moderator)
    assert claimed.json()["moderator"] == "m-7"  # a staff token claims as itself
    joined = await http.post(f"/api/rooms/{room}/join", headers=moderator)
    assert joined.status_code == 201
    peer = await Peer.connect(server.ws_url)
    welcome = await peer.hello(joined.json()["token"])
    assert (welcome["you"], welcome["room"]["state"]) == (
        {"user": "m-7", "role": "moderator"},
        "mediating",
    )


async def test_staff_and_room_tokens_are_never_taken_for_each_other(server: RunningServer) -> None:
    http = server.platform.http
    room = await server.platform.open_room("T-scopes")
    room_token = await server.platform.token(room, "m-1", "moderator")
    as_room = {"authorization": f"Bearer {room_token}"}
    assert (await http.get("/api/queue", headers=as_room)).status_code == 401
    staff = await staff_token(server, "m-1", "moderator")
    peer = await Peer.connect(server.ws_url)
    refused = await peer.hello(staff["authorization"].removeprefix("Bearer "))
    assert (refused["type"], refused["code"]) == ("error", "unauthorized")


async def test_an_auditor_finds_rooms_by_ticket_and_reads_with_a_purpose(
    server: RunningServer,
) -> None:
    http = server.platform.http
    room = await server.platform.open_room("T-audit")
    no_purpose = await http.post(
        "/api/staff/tokens", json={"user": "a-1", "role": "auditor"}, headers=server.platform.auth
    )
    assert no_purpose.status_code == 400
    auditor = await staff_token(server, "a-1", "auditor", purpose="chargeback review")
    assert (await http.get("/api/queue", headers=auditor)).status_code == 403
    found = await http.get("/api/rooms?provider=local&ticket=T-audit", headers=auditor)
    assert [r["id"] for r in found.json()["rooms"]] == [room]
    joined = await http.post(f"/api/rooms/{room}/join", headers=auditor)
    exported = await http.get(
        f"/api/rooms/{room}/export", headers={"authorization": f"Bearer {joined.json()['token']}"}
    )
    assert exported.status_code == 200
    log = (await http.get("/api/audit-log", headers=server.platform.auth)).json()
    assert any(e["purpose"] == "chargeback review" for e in log["entries"])


async def test_macros_render_with_the_rooms_own_values(server: RunningServer) -> None:
    http = server.platform.http
    moderator = await staff_token(server, "m-1", "moderator")
    body = (
        "Hi ${client} and ${freelancer}, I'm ${moderator}; "
        "ticket ${ticket}, $$${amount} ${currency}."
    )
    put = await http.put(
        "/api/macros/welcome", json={"title": "Welcome", "body": body}, headers=moderator
    )
    assert put.status_code == 201, put.text
    bad = await http.put(
        "/api/macros/oops", json={"title": "Oops", "body": "Dear ${customer}"}, headers=moderator
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid")
    assert "customer" in bad.json()["error"]["message"]
    room = await server.platform.open_room("T-macro", client="alice", freelancer="bob")
    await http.post(f"/api/rooms/{room}/claim", headers=moderator)
    token = (await http.post(f"/api/rooms/{room}/join", headers=moderator)).json()["token"]
    peer = await Peer.connect(server.ws_url)
    await peer.hello(token)
    offer = {"type": "propose", "id": "p1", "amount": "250", "currency": "eur"}
    assert (await peer.act(offer))["type"] == "ack"
    rendered = (await http.get(f"/api/rooms/{room}/macros", headers=moderator)).json()["macros"]
    assert rendered == [
        {
            "name": "welcome",
            "title": "Welcome",
            "text": "Hi alice and bob, I'm m-1; ticket T-macro, $250.00 EUR.",
        }
    ]
    assert (await http.delete("/api/macros/welcome", headers=moderator)).status_code == 204
    assert (await http.get("/api/macros", headers=moderator)).json()["macros"] == []


async def read_events(stream: httpx.Response, into: list[dict[str, Any]]) -> None:
    event = ""
    async for line in stream.aiter_lines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == "queue":
            into.append(json.loads(line.removeprefix("data: ")))


async def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def test_the_queue_streams_its_changes(server: RunningServer) -> None:
    moderator = await staff_token(server, "m-1", "moderator")
    seen: list[dict[str, Any]] = []
    async with (
        httpx.AsyncClient(base_url=server.base_url) as http,
        http.stream("GET", "/api/queue/events", headers=moderator) as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        reader = asyncio.create_task(read_events(stream, seen))
        room = await server.platform.open_room("T-live")
        await wait_for(lambda: {"room": room} in seen)
        seen.clear()
        await server.platform.http.post(f"/api/rooms/{room}/claim", headers=moderator)
        await wait_for(lambda: {"room": room} in seen)
        reader.cancel()
    unauthorized = await server.platform.http.get("/api/queue/events?token=nope")
    assert unauthorized.status_code == 401


async def test_a_staff_token_in_the_query_string_opens_nothing(server: RunningServer) -> None:
    """F1: no credential travels in a URL; `?token=` is no way in, not even to the stream."""
    token = (await staff_token(server, "m-1", "moderator"))["authorization"].split()[1]
    http = server.platform.http
    for path in ("/api/queue/events", "/api/queue"):
        refused = await http.get(path, params={"token": token})
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, "unauthorized")
