"""The receive queue and the writable flag of mediation.lean_protocol behave like the
asyncio.Queue and asyncio.Event uvicorn's protocol was written for."""

import asyncio
import gc

import pytest
from uvicorn._types import ASGIReceiveEvent

from mediation.lean_protocol import Flag, Inbox, LeanSansIOProtocol
from tests.conftest import RunningServer
from tests.peers import Peer

CONNECT: ASGIReceiveEvent = {"type": "websocket.connect"}
HELLO: ASGIReceiveEvent = {"type": "websocket.receive", "text": "hello"}


async def test_the_inbox_hands_out_messages_in_order_and_waits_for_the_next() -> None:
    inbox = Inbox()
    assert inbox.empty()
    inbox.put_nowait(CONNECT)
    inbox.put_nowait(HELLO)
    assert not inbox.empty()
    assert await inbox.get() == CONNECT
    assert await inbox.get() == HELLO
    waiting = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    inbox.put_nowait(CONNECT)
    assert await waiting == CONNECT
    assert inbox.empty()


async def test_a_get_cut_short_by_a_deadline_loses_nothing() -> None:
    inbox = Inbox()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await inbox.get()
    inbox.put_nowait(HELLO)
    assert await inbox.get() == HELLO


async def test_the_flag_lets_waiters_through_once_set() -> None:
    flag = Flag()
    assert not flag.is_set()
    waiting = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    assert not waiting.done()
    flag.set()
    assert await waiting
    assert await flag.wait()  # set: no wait at all
    flag.clear()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await flag.wait()
    flag.set()
    assert flag.is_set()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_socket_forgets_its_handshake_once_accepted_and_works_on(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-lean")
    token = await server.platform.token(room, "c-1", "client")
    repeated = [("X-Repeated", "1"), ("X-Repeated", "2")]  # one name, two values
    peer = await Peer.connect(server.ws_url, additional_headers=repeated)
    try:
        assert (await peer.hello(token))["type"] == "welcome"
        ours = [
            o
            for o in gc.get_objects()
            if isinstance(o, LeanSansIOProtocol) and o.client == peer.ws.local_address
        ]
        assert len(ours) == 1
        assert not hasattr(ours[0], "request")
        assert not hasattr(ours[0], "response")
        assert (b"x-repeated", b"2") in ours[0].scope["headers"]  # the app's copy stays
        await peer.send("c1", "joint", "still here")
        assert (await peer.next("ack"))["seq"] >= 1
    finally:
        await peer.close()
