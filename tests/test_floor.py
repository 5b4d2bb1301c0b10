"""Floor control: moderators mute a party or pause the room; parties are told why."""

import asyncio
from typing import Any

from tests.conftest import RunningServer
from tests.peers import Peer


async def floor(peer: Peer, cid: str, action: str, **fields: object) -> dict[str, Any]:
    await peer.send_json({"type": "floor", "id": cid, "action": action, **fields})
    return await peer.next("ack", "error")


async def refused(peer: Peer, cid: str) -> dict[str, Any]:
    await peer.send(cid, "joint", "may I?")
    return await peer.next("error", "ack")


async def spoke(peer: Peer, cid: str) -> bool:
    await peer.send(cid, "joint", "speaking")
    reply = await peer.next("ack", "error")
    acked: bool = reply["type"] == "ack"
    return acked


async def three(server: RunningServer, ticket: str) -> list[Peer]:
    room = await server.platform.open_room(ticket)
    return [
        (await server.peer(room, u, r))[0]
        for u, r in (("c-1", "client"), ("f-1", "freelancer"), ("m-1", "moderator"))
    ]


async def test_a_muted_party_is_told_why_and_others_carry_on(server: RunningServer) -> None:
    client, freelancer, moderator = await three(server, "T-mute")
    ack = await floor(
        moderator, "f1", "mute", party="client", minutes=5, reason="let the freelancer finish"
    )
    assert ack["type"] == "ack"
    event = await freelancer.next("event")
    while event["kind"] != "floor":
        event = await freelancer.next("event")
    assert (event["action"], event["party"], event["reason"]) == (
        "mute",
        "client",
        "let the freelancer finish",
    )
    error = await refused(client, "c1")
    assert (error["type"], error["code"], error["id"]) == ("error", "forbidden", "c1")
    assert "muted until" in error["message"]
    assert "let the freelancer finish" in error["message"]
    assert await spoke(freelancer, "f-ok")
    assert await spoke(moderator, "m-ok")
    assert (await floor(moderator, "f2", "unmute", party="client"))["type"] == "ack"
    assert await spoke(client, "c-ok")


async def test_a_pause_stops_both_parties_but_not_the_moderator(server: RunningServer) -> None:
    client, freelancer, moderator = await three(server, "T-pause")
    assert (await floor(moderator, "p1", "pause", minutes=2, reason="cool down"))["type"] == "ack"
    for peer, cid in ((client, "c1"), (freelancer, "f1")):
        error = await refused(peer, cid)
        assert (error["code"], "paused" in error["message"]) == ("forbidden", True)
    assert await spoke(moderator, "m1")
    assert (await floor(moderator, "p2", "resume"))["type"] == "ack"
    assert await spoke(client, "c2")


async def test_only_moderators_control_the_floor_and_bad_requests_store_nothing(
    server: RunningServer,
) -> None:
    client, _, moderator = await three(server, "T-floor-bad")
    error = await floor(client, "x1", "mute", party="freelancer")
    assert (error["type"], error["code"]) == ("error", "forbidden")
    error = await floor(moderator, "x2", "mute", party="moderator")
    assert (error["type"], error["code"]) == ("error", "invalid")
    error = await floor(moderator, "x3", "silence")
    assert (error["type"], error["code"]) == ("error", "invalid")


async def test_a_mute_outlives_everyone_leaving_the_room(server: RunningServer) -> None:
    room = await server.platform.open_room("T-mute-lasts")
    client, _ = await server.peer(room, "c-1", "client")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    assert (await floor(moderator, "f1", "mute", party="client", minutes=30))["type"] == "ack"
    for peer in (client, moderator):
        await peer.close()
    for _ in range(50):  # the last socket's cleanup unloads the room
        if room not in server.services.hub.rooms:
            break
        await asyncio.sleep(0.02)
    assert room not in server.services.hub.rooms  # so its state must come from the log
    back, _ = await server.peer(room, "c-1", "client")
    error = await refused(back, "c2")
    assert (error["code"], "muted" in error["message"]) == ("forbidden", True)
