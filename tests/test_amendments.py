"""Edits and retractions: appended as new records; the original is never overwritten."""

import json

from tests.conftest import RunningServer
from tests.peers import Peer


async def room_of_three(server: RunningServer, ticket: str) -> tuple[str, Peer, Peer, Peer]:
    room = await server.platform.open_room(ticket)
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    return room, client, freelancer, moderator


async def sent(peer: Peer, cid: str, channel: str, body: str) -> int:
    await peer.send(cid, channel, body)
    ack = await peer.next("ack", "error")
    assert ack["type"] == "ack", ack
    seq: int = ack["seq"]
    return seq


async def test_an_edit_reaches_everyone_and_the_original_stays(server: RunningServer) -> None:
    room, client, freelancer, moderator = await room_of_three(server, "T-edit")
    seq = await sent(client, "m1", "joint", "the invoice is 500 EUR")
    await client.send_json(
        {
            "type": "edit",
            "id": "e1",
            "channel": "joint",
            "target": seq,
            "body": "the invoice is 450 EUR",
        }
    )
    ack = await client.next("ack", "error")
    assert (ack["type"], ack["seq"]) == ("ack", seq + 1)
    for peer in (freelancer, moderator):
        event = await peer.next("event")
        while event["kind"] != "edit":
            event = await peer.next("event")
        assert (event["channel"], event["seq"], event["target"], event["body"]) == (
            "joint",
            seq + 1,
            seq,
            "the invoice is 450 EUR",
        )
        assert event["sender"] == {"user": "c-1", "role": "client"}

    late, _ = await server.peer(room, "m-2", "moderator")  # a replay shows every version
    joint = [f for f in await late.drain() if f.get("channel") == "joint"]
    assert [(f["type"], f.get("body")) for f in joint] == [
        ("message", "the invoice is 500 EUR"),
        ("event", "the invoice is 450 EUR"),
    ]


async def test_a_retraction_is_marked_never_erased(server: RunningServer) -> None:
    room, client, freelancer, _ = await room_of_three(server, "T-retract")
    seq = await sent(client, "m1", "caucus:client", "I may have lost the files")
    await client.send_json(
        {"type": "retract", "id": "r1", "channel": "caucus:client", "target": seq}
    )
    assert (await client.next("ack", "error"))["type"] == "ack"
    store = server.services.store
    heads = await store.heads(room)
    kept = await store.read(room, "caucus:client", 0, heads["caucus:client"], 10)
    assert [(r.kind, r.body) for r in kept] == [
        ("message", "I may have lost the files"),
        ("retract", json.dumps({"target": seq}, separators=(",", ":"))),
    ]
    assert not [f for f in await freelancer.drain() if f.get("channel") == "caucus:client"]


async def test_only_the_sender_may_amend_and_only_a_message(server: RunningServer) -> None:
    room, client, freelancer, moderator = await room_of_three(server, "T-amend-bad")
    seq = await sent(client, "m1", "joint", "mine")
    before = await server.services.store.heads(room)
    cases = [
        (
            freelancer,
            {"type": "edit", "id": "x1", "channel": "joint", "target": seq, "body": "not yours"},
            "forbidden",
        ),
        (
            moderator,
            {"type": "retract", "id": "x2", "channel": "joint", "target": seq},
            "forbidden",
        ),
        (
            client,
            {"type": "edit", "id": "x3", "channel": "joint", "target": 99, "body": "?"},
            "invalid",
        ),
        (
            client,
            {"type": "edit", "id": "x4", "channel": "caucus:freelancer", "target": 1, "body": "?"},
            "forbidden",
        ),  # a channel it may not write
        (
            client,
            {"type": "edit", "id": "x5", "channel": "joint", "target": 0, "body": "?"},
            "invalid",
        ),
    ]
    for peer, frame, code in cases:
        await peer.send_json(frame)
        error = await peer.next("error", "ack")
        assert (error["type"], error["code"], error["id"]) == ("error", code, frame["id"]), frame
    assert await server.services.store.heads(room) == before  # nothing stored


async def test_amendments_are_chained_and_exported(server: RunningServer) -> None:
    room, client, _, _ = await room_of_three(server, "T-amend-export")
    seq = await sent(client, "m1", "joint", "first version")
    await client.send_json(
        {"type": "edit", "id": "e1", "channel": "joint", "target": seq, "body": "second version"}
    )
    await client.next("ack")
    response = await server.platform.http.get(
        f"/api/rooms/{room}/export", headers=server.platform.auth
    )
    kinds = [
        (r["kind"], r["channel"]) for r in map(json.loads, response.content.splitlines()[1:-1])
    ]
    assert ("message", "joint") in kinds
    assert ("edit", "joint") in kinds
