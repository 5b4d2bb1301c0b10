"""A client that stops reading is cut off; the rest of the room keeps its pace."""

import asyncio

from mediation.config import Settings
from tests.conftest import ServerFactory
from tests.peers import Peer, StalledReader


async def test_a_reader_that_stalls_is_cut_off_while_the_others_keep_their_rate(
    start_server: ServerFactory, settings: Settings
) -> None:
    settings = type(settings)(**{**settings.__dict__, "send_queue": 64})
    server = await start_server(settings)
    room = await server.platform.open_room("T-slow")
    client, _ = await server.peer(room, "c-1", "client")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    token = await server.platform.token(room, "f-1", "freelancer")
    stalled = await asyncio.to_thread(StalledReader, settings.port, token)

    async def watch() -> list[dict[str, object]]:
        """The moderator reads as messages come, as a client that keeps up does."""
        got: list[dict[str, object]] = []
        while len(got) < 1000:
            frame = await moderator.recv()
            if frame["type"] == "message":
                got.append(frame)
        return got

    watching = asyncio.create_task(watch())
    body = "x" * 15_000  # enough to outrun the kernel's socket buffers
    for i in range(1000):
        await client.send(f"m{i}", "joint", body)
        await client.next("ack")
    got = await watching
    assert len(got) == 1000  # the moderator missed nothing

    frames, close_code = await asyncio.to_thread(stalled.read_all)
    assert close_code == 4429
    held = [f["seq"] for f in frames if f["type"] == "message"]
    assert held == list(range(1, len(held) + 1))
    assert len(held) < 1000

    # it resumes where it stopped, with nothing missing
    back = await Peer.connect(server.ws_url)
    await back.hello(token, since={"joint": len(held)})
    replayed = [m["seq"] for m in await back.drain() if m["type"] == "message"]
    assert replayed == list(range(len(held) + 1, 1001))
