"""The room lifecycle: moderators move it, everyone sees it, and closed means read-only."""

import asyncio
from typing import Any

import httpx

from tests.conftest import RunningServer
from tests.peers import Peer


async def transition(peer: Peer, cid: str, to: str, reason: str = "") -> dict[str, Any]:
    await peer.send_json({"type": "transition", "id": cid, "to": to, "reason": reason})
    return await peer.next("ack", "error")


async def next_state(peer: Peer) -> dict[str, Any]:
    while True:
        event = await peer.next("event")
        if event["kind"] == "state":
            return event


async def test_a_dispute_moves_through_its_lifecycle_and_everyone_sees_it(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-life")
    client, welcome = await server.peer(room, "c-1", "client")
    assert welcome["room"]["state"] == "waiting"
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    for to in ("mediating", "resolved", "closed"):
        ack = await transition(moderator, f"t-{to}", to, f"now {to}")
        assert (ack["type"], ack["channel"]) == ("ack", "room"), ack
        for peer in (client, freelancer):
            event = await next_state(peer)
            assert (event["state"], event["reason"], event["sender"]["user"]) == (
                to,
                f"now {to}",
                "m-1",
            )
    await client.send("late", "joint", "one more thing")
    error = await client.next("error", "ack")
    assert (error["code"], error["id"]) == ("room_closed", "late")
    room_row = await server.services.store.room(room)
    assert room_row is not None
    assert room_row.state == "closed"
    _, welcome = await server.peer(room, "f-1", "freelancer")  # still readable
    assert welcome["room"]["state"] == "closed"
    response = await server.platform.http.get(
        f"/api/rooms/{room}/export", headers=server.platform.auth
    )
    assert response.status_code == 200


async def test_parties_cannot_move_the_room_and_moves_follow_the_rules(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-rules")
    client, _ = await server.peer(room, "c-1", "client")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    await client.saw_join("m-1", "moderator")  # both first joins are stored
    before = await server.services.store.heads(room)
    refused = await transition(client, "c1", "mediating")
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    skipped = await transition(moderator, "m1", "resolved")  # waiting -> resolved: no
    # only the parties' settlement resolves a waiting room (rooms.self_serve)
    assert (skipped["type"], skipped["code"]) == ("error", "forbidden")
    unknown = await transition(moderator, "m2", "party-time")
    assert (unknown["type"], unknown["code"]) == ("error", "conflict")
    assert await server.services.store.heads(room) == before  # nothing stored
    row = await server.services.store.room(room)
    assert row is not None
    assert row.state == "waiting"


async def test_the_queue_lists_waiting_rooms_and_two_claims_have_one_winner(
    server: RunningServer,
) -> None:
    first = await server.platform.open_room("T-q1")
    second = await server.platform.open_room("T-q2")
    listed = (await server.platform.http.get("/api/queue", headers=server.platform.auth)).json()
    assert [r["id"] for r in listed["rooms"]] == [first, second]  # longest waiting first

    async def claim(moderator: str) -> httpx.Response:
        return await server.platform.http.post(
            f"/api/rooms/{first}/claim", json={"moderator": moderator}, headers=server.platform.auth
        )

    results = await asyncio.gather(*(claim(f"m-{i}") for i in range(5)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 409, 409, 409, 409]
    assert {r.json()["error"]["code"] for r in results if r.status_code == 409} == {"conflict"}
    listed = (await server.platform.http.get("/api/queue", headers=server.platform.auth)).json()
    assert [r["id"] for r in listed["rooms"]] == [second]


async def test_a_claim_reaches_the_parties_already_in_the_room(server: RunningServer) -> None:
    room = await server.platform.open_room("T-claim-live")
    client = await Peer.connect(server.ws_url)
    await client.hello(await server.platform.token(room, "c-1", "client"))
    response = await server.platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "m-9"}, headers=server.platform.auth
    )
    assert response.status_code == 200
    event = await next_state(client)
    assert (event["state"], event["sender"]) == ("mediating", {"user": "m-9", "role": "moderator"})


async def test_the_queue_puts_urgent_tickets_first_then_the_longest_wait(
    server: RunningServer,
) -> None:
    platform = server.platform
    old_normal = await platform.open_room("T-n1")
    newer_normal = await platform.open_room("T-n2")
    low = await platform.open_room("T-low", priority="low")
    urgent = await platform.open_room("T-urgent", priority="urgent")
    high = await platform.open_room("T-high", priority="high")
    listed = (await platform.http.get("/api/queue", headers=platform.auth)).json()["rooms"]
    assert [r["id"] for r in listed] == [urgent, high, old_normal, newer_normal, low]
    waited = [r["waiting_since"] for r in listed[2:4]]
    assert waited == sorted(waited)
    assert all(r["waiting_since"].endswith("+00:00") for r in listed)  # never a naive time


async def test_a_moderators_own_rooms_keep_a_resolved_room_until_it_closes(
    server: RunningServer,
) -> None:
    """The console counts a resolved room under "My rooms" while it is open (issue 18)."""
    room = await server.platform.open_room("T-mine-resolved")
    moderator, _ = await server.peer(room, "m-7", "moderator")

    async def mine() -> dict[str, str]:
        answer = await server.platform.http.get(
            "/api/queue", params={"moderator": "m-7"}, headers=server.platform.auth
        )
        assert answer.status_code == 200, answer.text
        return {r["id"]: r["state"] for r in answer.json()["rooms"]}

    for to in ("mediating", "resolved"):
        ack = await transition(moderator, f"t-{to}", to, f"now {to}")
        assert ack["type"] == "ack", ack
        assert (await mine()).get(room) == to
    waiting = await server.platform.http.get("/api/queue", headers=server.platform.auth)
    assert room not in {r["id"] for r in waiting.json()["rooms"]}  # nobody else is asked
    ack = await transition(moderator, "t-closed", "closed", "done")
    assert ack["type"] == "ack", ack
    assert room not in await mine()
