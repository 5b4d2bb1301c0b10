"""Typing hints: relayed to whoever reads the channel, never stored, never acked."""

from tests.conftest import RunningServer


async def test_typing_reaches_readers_of_the_channel_only(server: RunningServer) -> None:
    room = await server.platform.open_room("T-typing")
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    await client.drain()
    await freelancer.drain()
    await moderator.drain()

    await client.send_json({"type": "typing", "channel": "caucus:client"})
    hint = await moderator.next("typing")
    assert hint == {"type": "typing", "user": "c-1", "role": "client", "channel": "caucus:client"}
    assert [f for f in await freelancer.drain() if f["type"] == "typing"] == []

    await client.send_json({"type": "typing", "channel": "joint"})
    assert (await freelancer.next("typing"))["channel"] == "joint"
    # nothing comes back to the typist, and a channel it may not write is ignored
    await client.send_json({"type": "typing", "channel": "notes"})
    assert [f for f in await client.drain() if f["type"] in ("typing", "error", "ack")] == []
    assert [f for f in await moderator.drain() if f.get("channel") == "notes"] == []
