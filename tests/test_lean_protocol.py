"""The receive queue and the writable flag of mediation.lean_protocol behave like the
asyncio.Queue and asyncio.Event uvicorn's protocol was written for."""

import asyncio
import gc

import httpx
import pytest
from uvicorn._types import ASGIReceiveEvent

from mediation.app import create_app
from mediation.config import Settings
from mediation.lean_protocol import Flag, Inbox, LeanSansIOProtocol
from mediation.server import DrainingServer
from tests.conftest import RunningServer
from tests.peers import Peer, Platform

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
            # type(), not isinstance(): the heap holds weak proxies, and isinstance() on
            # one whose referent is gone raises ReferenceError
            if type(o) is LeanSansIOProtocol and o.client == peer.ws.local_address
        ]
        assert len(ours) == 1
        assert not hasattr(ours[0], "request")
        assert not hasattr(ours[0], "response")
        assert ours[0].scope["headers"] == []  # the app's copy too: read at the handshake
        await peer.send("c1", "joint", "still here")
        assert (await peer.next("ack"))["seq"] >= 1
    finally:
        await peer.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_keepalive_pings_on_the_shared_timers_and_closes_a_silent_peer_with_1011(
    settings: Settings,
) -> None:
    app = create_app(settings)
    server = DrainingServer(app, settings)
    server.config.log_level = "warning"
    server.config.ws_ping_interval, server.config.ws_ping_timeout = 0.2, 0.3
    running = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.port}")
        platform = Platform(http, app.state.services.secrets.api_key)
        room = await platform.open_room("T-ping")
        token = await platform.token(room, "c-1", "client")
        answering = await Peer.connect(f"ws://127.0.0.1:{settings.port}/ws")  # pongs itself
        assert (await answering.hello(token))["type"] == "welcome"

        reader, writer = await asyncio.open_connection("127.0.0.1", settings.port)
        writer.write(
            b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
        async with asyncio.timeout(2):
            ping = await reader.readexactly(2)
            assert ping[0] == 0x89  # FIN + ping
            await reader.readexactly(ping[1])
            close = await reader.readexactly(2)  # no pong from us: the server gives up
            assert close[0] == 0x88
            assert int.from_bytes((await reader.readexactly(close[1]))[:2], "big") == 1011
        writer.close()

        await answering.send("c1", "joint", "still here after a few pings")
        assert (await answering.next("ack"))["seq"] >= 1
        await answering.close()
        await http.aclose()
    finally:
        server.should_exit = True
        await running
