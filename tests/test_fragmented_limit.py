"""A message over the frame limit closes 1009 however it is sent (issue 12, F12).

websockets counts a fragmented message's size across its fragments and
fails the connection with 1009. uvicorn then closed the TCP connection at
once, with the client's fragments still arriving: the kernel answered them
with a reset, which also dropped the close frame if the client had not
read it yet (a client busy receiving the room's traffic), so the client
saw 1006. The server now stops writing after the close frame and drains
what the client still sends, so the close frame arrives.
"""

import asyncio
import contextlib
import dataclasses
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed

from mediation.config import Settings
from mediation.protocol.codes import CloseCode
from tests.conftest import ServerFactory
from tests.peers import Peer
from tests.test_bad_input import exchange

LIMIT = 64 * 1024


def fragments(size: int, total: int) -> Iterator[str]:
    """A message of `total` bytes, in fragments of `size`."""
    yield '{"type": "send", "id": "huge", "channel": "joint", "body": "'
    for _ in range(total // size):
        yield "x" * size
    yield '"}'


async def send_fragmented(peer: Peer, size: int, total: int) -> None:
    with contextlib.suppress(ConnectionClosed):  # the server may close before the last one
        await asyncio.wait_for(peer.ws.send(fragments(size, total)), 10)


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(("size", "total"), [(1024, 4 * LIMIT), (16 * 1024, 16 * LIMIT)])
async def test_a_fragmented_message_over_the_limit_closes_1009_while_the_room_talks(
    start_server: ServerFactory, settings: Settings, size: int, total: int
) -> None:
    server = await start_server(dataclasses.replace(settings, max_frame_bytes=LIMIT))
    room = await server.platform.open_room("T-frag")
    token = await server.platform.token(room, "c-1", "client")
    client = await Peer.connect(server.ws_url, compression=None)
    assert (await client.hello(token))["type"] == "welcome"
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    # the room talks to the client, which is busy sending and reads none of it yet
    for i in range(300):
        await freelancer.send(f"m-{i}", "joint", "y" * 4000)
    for _ in range(300):
        assert (await freelancer.next("ack", "error"))["type"] == "ack"
    await send_fragmented(client, size, total)
    assert await client.close_code_when_closed() == CloseCode.MESSAGE_TOO_BIG == 1009  # type: ignore[comparison-overlap]  # the enum is the wire code
    # the room carries on, and nothing of the huge message was stored
    client2, _ = await server.peer(room, "c-1", "client")
    assert await exchange(client2, freelancer, "after") == 301


async def test_a_fragmented_message_over_the_limit_closes_1009(
    start_server: ServerFactory, settings: Settings
) -> None:
    server = await start_server(dataclasses.replace(settings, max_frame_bytes=LIMIT))
    room = await server.platform.open_room("T-frag-quiet")
    client, _ = await server.peer(room, "c-1", "client")
    await send_fragmented(client, 4096, 2 * LIMIT)
    assert await client.close_code_when_closed() == 1009
