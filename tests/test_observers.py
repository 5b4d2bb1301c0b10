"""Observers and co-moderators over real sockets: an observer reads notes and both
caucuses live and every write of theirs is refused; the lead names a co-moderator who
writes, hands the room over, and the queue shows the new lead."""

import uuid
from typing import Any

from tests.conftest import RunningServer
from tests.peers import Peer, is_join

DUE = "2030-01-01T00:00:00Z"
WRITES: list[dict[str, Any]] = [
    {"type": "send", "channel": "joint", "body": "hi"},
    {"type": "send", "channel": "notes", "body": "a trainee's note"},
    {"type": "send", "channel": "caucus:client", "body": "psst"},
    {"type": "send", "channel": "room", "body": "x"},
    {"type": "transition", "to": "escalated", "reason": "trying"},
    {"type": "floor", "action": "mute", "party": "client", "minutes": 5},
    {"type": "caucus", "party": "client", "open": True},
    {"type": "transfer", "to": "trainee-1", "brief": "mine now"},
    {"type": "propose", "amount": "10", "currency": "EUR"},
    {"type": "redact", "channel": "joint", "target": 1, "reason": "payment_data"},
    {"type": "co_moderator", "user": "trainee-1"},
    {"type": "request_evidence", "party": "client", "item": "the invoice", "due_at": DUE},
]


async def my_rooms(server: RunningServer, moderator: str) -> dict[str, dict[str, Any]]:
    """The open rooms `moderator` leads or co-moderates, as the queue lists them, by id."""
    platform = server.platform
    answer = await platform.http.get(
        "/api/queue", params={"moderator": moderator}, headers=platform.auth
    )
    assert answer.status_code == 200, answer.text
    return {r["id"]: r for r in answer.json()["rooms"]}


async def claimed_room(server: RunningServer, ticket: str) -> str:
    platform = server.platform
    room = await platform.open_room(ticket)
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    return room


async def test_an_observer_reads_everything_live_writes_nothing_and_is_hidden(
    server: RunningServer,
) -> None:
    room = await claimed_room(server, "T-observe")
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    observer, welcome = await server.peer(room, "trainee-1", "observer")
    assert welcome["you"] == {"user": "trainee-1", "role": "observer"}
    assert set(welcome["head"]) == {"joint", "caucus:client", "caucus:freelancer", "notes", "room"}

    # the moderator sees the observer arrive; the parties never hear of it
    seen = await moderator.next("presence")
    assert (seen["user"], seen["role"], seen["online"]) == ("trainee-1", "observer", True)

    for channel, who in (
        ("notes", moderator),
        ("caucus:client", client),
        ("caucus:freelancer", freelancer),
        ("joint", moderator),
    ):
        await who.acked(
            {"type": "send", "id": f"say-{channel}", "channel": channel, "body": channel}
        )
        shown = await observer.next("message")
        assert (shown["channel"], shown["body"]) == (channel, channel)

    for frame in WRITES:
        reply = await observer.act({**frame, "id": uuid.uuid4().hex})
        assert (reply["type"], reply["code"]) == ("error", "forbidden"), (frame, reply)
    await observer.send_json({"type": "typing", "channel": "joint"})

    for party in (client, freelancer):
        frames = await party.drain()
        assert not any(f["type"] == "typing" and f["role"] == "observer" for f in frames)
        assert all(f.get("role") != "observer" for f in party.received if f["type"] == "presence")
        assert not any(is_join(f, role="observer") for f in party.received)
    assert [f for f in await moderator.drain() if f["type"] == "typing"] == []

    # a party's fresh welcome does not list the observer; a moderator's does
    late, party_welcome = await server.peer(room, "c-1", "client")
    assert "observer" not in {p["role"] for p in party_welcome["room"]["participants"]}
    staff, staff_welcome = await server.peer(room, "m-2", "moderator")
    assert ("trainee-1", "observer") in {
        (p["user"], p["role"]) for p in staff_welcome["room"]["participants"]
    }

    entries = (
        await server.platform.http.get("/api/audit-log", headers=server.platform.auth)
    ).json()["entries"]
    observed = [(e["actor"], e["action"], e["room"]) for e in entries if e["action"] == "observe"]
    assert observed == [({"user": "trainee-1", "role": "observer"}, "observe", room)]
    for peer in (client, freelancer, moderator, observer, late, staff):
        await peer.close()


async def test_an_observers_staff_token_joins_read_only_and_reads_the_queue(
    server: RunningServer,
) -> None:
    platform = server.platform
    room = await claimed_room(server, "T-observe-staff")
    minted = await platform.http.post(
        "/api/staff/tokens", json={"user": "lead-1", "role": "observer"}, headers=platform.auth
    )
    assert minted.status_code == 201, minted.text
    staff = {"authorization": f"Bearer {minted.json()['token']}"}
    assert (await platform.http.get("/api/queue", headers=staff)).status_code == 200
    claim = await platform.http.post(f"/api/rooms/{room}/claim", headers=staff)
    assert claim.status_code == 403
    joined = await platform.http.post(f"/api/rooms/{room}/join", headers=staff)
    assert joined.status_code == 201, joined.text
    peer = await Peer.connect(server.ws_url)
    welcome = await peer.hello(joined.json()["token"])
    assert welcome["you"] == {"user": "lead-1", "role": "observer"}
    refused = await peer.act({"type": "send", "id": "o-1", "channel": "notes", "body": "x"})
    assert refused["code"] == "forbidden"
    await peer.close()


async def test_the_lead_names_a_co_moderator_who_writes_and_takes_over(
    server: RunningServer,
) -> None:
    room = await claimed_room(server, "T-comod")
    lead, _ = await server.peer(room, "m-1", "moderator")
    client, _ = await server.peer(room, "c-1", "client")
    second, _ = await server.peer(room, "m-2", "moderator")
    assert room not in await my_rooms(server, "m-2")

    refused = await second.act({"type": "co_moderator", "id": "grab", "user": "m-2"})
    assert (refused["type"], refused["code"]) == ("error", "forbidden")

    await lead.acked({"type": "co_moderator", "id": "cm-1", "user": "m-2"})
    shown = await client.event("comoderator", moderator="m-2")
    assert (shown["added"], shown["channel"], shown["sender"]["user"]) == (True, "room", "m-1")
    again = await lead.act({"type": "co_moderator", "id": "cm-2", "user": "m-2"})
    assert again["code"] == "conflict"
    assert room in await my_rooms(server, "m-2")
    assert room in await my_rooms(server, "m-1")

    note = await second.acked(
        {"type": "send", "id": "n-1", "channel": "notes", "body": "I take the caucuses"}
    )
    assert note["channel"] == "notes"
    heard = await lead.next("message")
    assert (heard["sender"], heard["body"]) == (
        {"user": "m-2", "role": "moderator"},
        "I take the caucuses",
    )

    await lead.acked(
        {"type": "transfer", "id": "tr-1", "to": "m-2", "brief": "you lead; I stay on"}
    )
    platform = server.platform
    row = (await platform.http.get(f"/api/rooms/{room}", headers=platform.auth)).json()
    assert row["moderator"] == "m-2"
    assert room in await my_rooms(server, "m-1")  # now the co-moderator
    assert (await my_rooms(server, "m-2"))[room]["moderator"] == "m-2"  # the lead

    # the team is the new lead's now: the old lead may no longer change it
    refused = await lead.act({"type": "co_moderator", "id": "cm-3", "user": "m-3"})
    assert refused["code"] == "forbidden"
    await second.acked({"type": "co_moderator", "id": "cm-4", "user": "m-1", "add": False})
    await client.event("comoderator", moderator="m-1", added=False)
    assert room not in await my_rooms(server, "m-1")
    for peer in (lead, client, second):
        await peer.close()
