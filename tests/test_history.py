"""The `history` frame: paging backwards through one readable channel."""

from tests.conftest import RunningServer
from tests.peers import Peer


async def fill(server: RunningServer, room: str, n: int) -> Peer:
    moderator, _ = await server.peer(room, "m-1", "moderator")
    for i in range(1, n + 1):
        await moderator.send(f"j{i}", "joint", f"joint {i}")
        await moderator.send(f"f{i}", "caucus:freelancer", f"secret {i}")
    for _ in range(2 * n):
        await moderator.next("ack")
    return moderator


async def test_pages_backwards_until_the_first_message(server: RunningServer) -> None:
    room = await server.platform.open_room("T-hist")
    await fill(server, room, 25)
    client, _ = await server.peer(room, "c-1", "client")
    await client.drain()
    pages: list[list[int]] = []
    before: int | None = None
    while True:
        frame = {"type": "history", "channel": "joint", "limit": 10, "id": f"p{len(pages)}"}
        if before is not None:
            frame["before"] = before
        await client.send_json(frame)
        page = await client.next("history")
        assert page["id"] == f"p{len(pages)}"
        pages.append([m["seq"] for m in page["messages"]])
        if not page["more"]:
            break
        before = page["messages"][0]["seq"]
    assert pages == [list(range(16, 26)), list(range(6, 16)), list(range(1, 6))]
    assert page["messages"][0]["body"] == "joint 1"


async def test_history_of_a_channel_the_party_cannot_read_is_forbidden(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-hist-hidden")
    await fill(server, room, 3)
    client, _ = await server.peer(room, "c-1", "client")
    await client.send_json({"type": "history", "channel": "caucus:freelancer", "id": "h"})
    error = await client.next("error", "history")
    assert (error["type"], error["code"], error["id"]) == ("error", "forbidden", "h")


async def test_history_of_an_empty_channel_and_a_bad_limit(server: RunningServer) -> None:
    room = await server.platform.open_room("T-hist-empty")
    client, _ = await server.peer(room, "c-1", "client")
    await client.send_json({"type": "history", "channel": "caucus:client"})
    page = await client.next("history")
    assert (page["messages"], page["more"]) == ([], False)
    await client.send_json({"type": "history", "channel": "joint", "limit": 10_000, "id": "x"})
    error = await client.next("error")
    assert (error["code"], error["id"]) == ("invalid", "x")


async def test_hello_with_recent_replays_the_newest_messages_and_every_event(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-hist-recent")
    moderator = await fill(server, room, 12)
    await moderator.send_json(
        {"type": "edit", "id": "e1", "channel": "joint", "target": 1, "body": "joint 1, edited"}
    )
    await moderator.next("ack")
    token = await server.platform.token(room, "c-1", "client")
    client = await Peer.connect(server.ws_url)
    welcome = await client.hello(token, recent=5)
    assert welcome["head"]["joint"] == 13
    replayed = [f for f in await client.drain() if f.get("channel") == "joint"]
    # the edit (an event) comes although older messages stay out: the last 5 seqs are 9..13
    assert [(f["type"], f["seq"]) for f in replayed] == [
        ("message", 9),
        ("message", 10),
        ("message", 11),
        ("message", 12),
        ("event", 13),
    ]
    await client.send_json({"type": "history", "channel": "joint", "before": 9, "limit": 50})
    page = await client.next("history")
    assert [m["seq"] for m in page["messages"]] == list(range(1, 9))
    # `since` still counts: only what lies beyond it is replayed, and `recent` is bounded
    again = await Peer.connect(server.ws_url)
    await again.hello(token, {"joint": 11}, recent=5)
    assert [f["seq"] for f in await again.drain() if f.get("channel") == "joint"] == [12, 13]
    bad = await Peer.connect(server.ws_url)
    error = await bad.hello(token, recent=0)
    assert error["code"] == "invalid"
    for peer in (client, again, bad):  # open sockets would hold the server's shutdown
        await peer.close()
