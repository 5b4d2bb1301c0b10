"""Reconnecting with `since`: exactly the missed visible messages, then live traffic."""

import pytest

from rooms.ports import Draft
from tests.conftest import RunningServer
from tests.peers import Peer


async def test_reconnect_with_since_gets_exactly_the_missed_visible_messages(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-resume")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    token = await server.platform.token(room, "c-1", "client")
    client = await Peer.connect(server.ws_url)
    await client.hello(token)
    for n in range(1, 4):
        await moderator.send(f"j{n}", "joint", f"joint {n}")
        await moderator.next("ack")
    await client.drain()
    held = max(m["seq"] for m in client.messages())
    assert held == 3
    assert client.joins() == [("m-1", "moderator"), ("c-1", "client")]
    held_room = max(f["seq"] for f in client.received if f.get("channel") == "room")
    assert held_room == 2
    await client.close()

    for n in range(4, 8):
        await moderator.send(f"j{n}", "joint", f"joint {n}")
        await moderator.send(f"c{n}", "caucus:client", f"private {n}")
        await moderator.send(f"x{n}", "caucus:freelancer", f"other {n}")
        await moderator.send(f"n{n}", "notes", f"note {n}")
        for _ in range(4):
            await moderator.next("ack")

    back = await Peer.connect(server.ws_url)
    since = {"joint": held, "caucus:client": 0, "notes": 0, "room": held_room}
    welcome = await back.hello(token, since=since)
    assert welcome["head"] == {"joint": 7, "caucus:client": 4, "room": 2}  # no second join
    replay = [(m["channel"], m["seq"], m["body"]) for m in await back.drain()]
    assert replay == [("joint", s, f"joint {s}") for s in range(4, 8)] + [
        ("caucus:client", s - 3, f"private {s}") for s in range(4, 8)
    ]

    await moderator.send("live", "joint", "after resume")
    live = await back.next("message")
    assert (live["channel"], live["seq"]) == ("joint", 8)


async def test_a_resent_id_is_stored_once_and_acked_with_the_original_seq(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-idem")
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    await client.send("same", "joint", "once")
    first = await client.next("ack")
    await client.close()
    again, _ = await server.peer(room, "c-1", "client")
    await again.send("same", "joint", "once")
    second = await again.next("ack")
    assert first["seq"] == second["seq"] == 1
    await again.send("next", "joint", "twice")
    assert (await again.next("ack"))["seq"] == 2
    await freelancer.drain()
    assert [m["id"] for m in freelancer.messages()] == ["same", "next"]
    assert await server.services.store.heads(room) == {"joint": 2, "room": 2}


async def test_a_resend_racing_its_original_in_one_batch_is_stored_once(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-race")
    client, _ = await server.peer(room, "c-1", "client")
    for _ in range(3):
        await client.send("dup", "joint", "x")
    acks = [await client.next("ack") for _ in range(3)]
    assert {a["seq"] for a in acks} == {1}
    assert await server.services.store.heads(room) == {"joint": 1, "room": 1}


async def test_a_message_committed_while_a_room_goes_live_arrives_exactly_once(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first join of a room reads its heads; a record committed during that read
    is both fanned out live and inside the replay range, and must arrive once."""
    room = await server.platform.open_room("T-join-race")
    log = server.services.hub._log
    read_heads = log.heads

    async def heads_after_a_commit(room_id: str) -> dict[str, int]:
        draft = Draft(room_id, "joint", "m-1", "moderator", "during", "sent meanwhile", "x")
        await server.services.committer.append(draft)  # committed and fanned out
        return await read_heads(room_id)

    monkeypatch.setattr(log, "heads", heads_after_a_commit)
    client = await Peer.connect(server.ws_url)
    welcome = await client.hello(await server.platform.token(room, "c-1", "client"))
    monkeypatch.setattr(log, "heads", read_heads)
    assert welcome["head"]["joint"] == 1
    assert [m["id"] for m in await client.drain() if m["type"] == "message"] == ["during"]
