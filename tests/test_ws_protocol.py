"""Our uvicorn protocol (mediation/ws_protocol.py) on a recording transport, without a server:
reading pauses only when the app falls behind, and text frames go out without ASGI.

A websockets client protocol plays the peer: it writes the handshake and masked frames
into the server protocol and reads back what the server wrote to the transport.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Close, Frame, Opcode
from websockets.uri import parse_uri

from mediation.lean_protocol import LeanSansIOProtocol
from mediation.ws.text_sender import TEXT_SENDER, TextSender
from mediation.ws_protocol import FLUSH_FRAMES, READ_BACKLOG, WebSocketProtocol

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class RecordingTransport(asyncio.Transport):
    """What the protocol wrote, and whether it asked to stop reading."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.writes = 0
        self.reading = True
        self.pauses = 0
        self.closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data
        self.writes += 1

    def pause_reading(self) -> None:
        self.reading = False
        self.pauses += 1

    def resume_reading(self) -> None:
        self.reading = True

    def is_reading(self) -> bool:
        return self.reading

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass


class Peer:
    """A client socket, its server protocol, and the app's side of the exchange."""

    def __init__(
        self,
        deflate: bool = False,
        protocol: type[WebSocketProtocol] = WebSocketProtocol,
        ping_interval: float | None = None,
    ) -> None:
        self.scope: dict[str, Any] = {}
        self.receive: Receive | None = None
        self.send_asgi: Send | None = None
        self.accepted = asyncio.Event()
        self.done = asyncio.Event()  # the test lets the app return
        config = uvicorn.Config(
            self.app,
            ws=protocol,
            ws_per_message_deflate=deflate,
            ws_ping_interval=ping_interval,
            ws_ping_timeout=ping_interval,
            interface="asgi3",
            lifespan="off",
            log_config=None,
        )
        config.load()
        self.transport = RecordingTransport()
        self.server = protocol(config, ServerState(), {})
        self.server.connection_made(self.transport)
        offers = [ClientPerMessageDeflateFactory()] if deflate else []
        self.client = ClientProtocol(parse_uri("ws://127.0.0.1:8000/ws"), extensions=offers)

    async def app(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        self.scope, self.receive, self.send_asgi = scope, receive, send
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        self.accepted.set()
        await self.done.wait()

    async def open(self) -> None:
        self.client.send_request(self.client.connect())
        self.to_server()
        async with asyncio.timeout(5):
            await self.accepted.wait()
        self._to_client()

    def send(self, text: str) -> None:
        self.client.send_text(text.encode())
        self.to_server()

    def received(self) -> list[Frame]:
        self._to_client()
        return [e for e in self.client.events_received() if isinstance(e, Frame)]

    async def finish(self) -> None:
        """The app returns; its task ends."""
        self.done.set()
        await asyncio.gather(*self.server.tasks)

    async def take(self) -> dict[str, Any]:
        assert self.receive is not None
        return await self.receive()

    def to_server(self) -> None:
        self.server.data_received(b"".join(self.client.data_to_send()))

    def _to_client(self) -> None:
        self.client.receive_data(bytes(self.transport.written))
        self.transport.written.clear()


async def test_a_client_the_app_keeps_up_with_is_never_paused() -> None:
    peer = Peer()
    await peer.open()
    for n in range(50):
        peer.send(f'{{"n":{n}}}')
        assert (await peer.take())["text"] == f'{{"n":{n}}}'
    assert peer.transport.pauses == 0  # uvicorn paused and resumed for each of them
    await peer.finish()


async def test_a_client_that_floods_a_slow_app_is_paused_until_it_catches_up() -> None:
    peer = Peer()
    await peer.open()
    for n in range(READ_BACKLOG):
        peer.send(f'{{"n":{n}}}')
    assert peer.transport.is_reading()  # a few waiting messages: no syscalls
    peer.send('{"n":"over"}')
    assert not peer.transport.is_reading()  # TCP holds the rest back
    for _ in range(READ_BACKLOG):
        await peer.take()
    assert not peer.transport.is_reading()
    assert (await peer.take())["text"] == '{"n":"over"}'
    assert peer.transport.is_reading()  # all taken: reading resumes
    await peer.finish()


async def test_text_frames_go_out_without_asgi_until_the_socket_closes() -> None:
    peer = Peer()
    await peer.open()
    sender: TextSender = peer.scope["extensions"][TEXT_SENDER]
    assert sender.writable.is_set()
    writes = peer.transport.writes
    assert sender.send_text('{"type":"ack","n":"é"}'.encode())
    assert sender.send_text(b'{"type":"ack","n":2}')
    assert peer.transport.written == b""  # until the end of this turn of the loop
    await asyncio.sleep(0)
    assert peer.transport.writes == writes + 1  # both frames in one write: one syscall
    assert [bytes(f.data).decode() for f in peer.received()] == [
        '{"type":"ack","n":"é"}',
        '{"type":"ack","n":2}',
    ]
    peer.client.send_close(1000)
    peer.to_server()
    assert not sender.send_text(b'{"type":"ack"}')  # the peer closed: nothing more goes out
    await peer.finish()


async def test_a_text_message_that_is_not_utf8_closes_with_1007() -> None:
    peer = Peer()
    await peer.open()
    peer.client.send_frame(Frame(Opcode.TEXT, b'{"n":"\xff"}'))
    peer.to_server()
    [close] = peer.received()
    assert Close.parse(close.data).code == 1007
    assert (await peer.take()) == {"type": "websocket.disconnect", "code": 1007}
    await peer.finish()


async def test_a_close_goes_out_after_the_frames_waiting_for_the_end_of_the_turn() -> None:
    peer = Peer()
    await peer.open()
    sender: TextSender = peer.scope["extensions"][TEXT_SENDER]
    assert sender.send_text(b'{"type":"error"}')
    assert peer.send_asgi is not None
    await peer.send_asgi({"type": "websocket.close", "code": 4429, "reason": "too slow"})
    text, close = peer.received()
    assert bytes(text.data) == b'{"type":"error"}'
    assert Close.parse(close.data).code == 4429
    await asyncio.sleep(0)
    assert peer.received() == []  # the flush found nothing left
    await peer.finish()


async def test_a_long_run_of_frames_goes_out_before_the_turn_ends() -> None:
    peer = Peer()
    await peer.open()
    sender: TextSender = peer.scope["extensions"][TEXT_SENDER]
    for n in range(FLUSH_FRAMES + 1):  # a big batch, a replay: the transport sees them grow
        assert sender.send_text(b'{"n":%d}' % n)
    assert len(peer.received()) == FLUSH_FRAMES
    await asyncio.sleep(0)
    assert [bytes(f.data) for f in peer.received()] == [b'{"n":%d}' % FLUSH_FRAMES]
    await peer.finish()


@pytest.mark.parametrize("deflate", [False, True])
async def test_text_frames_of_every_length_arrive_whole(deflate: bool) -> None:
    peer = Peer(deflate)
    await peer.open()
    sender: TextSender = peer.scope["extensions"][TEXT_SENDER]
    payloads = [b"x" * n for n in (0, 1, 125, 126, 127, 65535, 65536, 100_000)]
    for payload in payloads:  # the three ways a length is written, at their bounds
        assert sender.send_text(payload)
    await asyncio.sleep(0)
    sent = len(peer.transport.written)
    frames = peer.received()
    assert [bytes(f.data) for f in frames] == payloads
    assert all(f.opcode is Opcode.TEXT and f.fin for f in frames)
    assert (sent < len(b"".join(payloads)) // 10) == deflate  # compressed when negotiated
    await peer.finish()


async def test_whole_text_messages_are_read_without_websockets_parser() -> None:
    peer = Peer()
    await peer.open()
    peer.send('{"n":"hello"}')  # the first goes through websockets: it was mid-handshake
    assert (await peer.take())["text"] == '{"n":"hello"}'
    assert peer.server.reading_frames  # from here on, frames are read by bounds/unmask
    payloads = ["", "é" * 40, "x" * 125, "y" * 126, "z" * 65535, "w" * 70_000]
    for payload in payloads:  # the three ways a length is written, at their bounds
        peer.client.send_text(payload.encode())
    data = b"".join(peer.client.data_to_send())
    for at in range(0, len(data), 7):  # split anywhere: headers, keys and payloads in pieces
        peer.server.data_received(data[at : at + 7])
        while not peer.server.queue.empty():
            assert (await peer.take())["text"] == payloads.pop(0)
    assert payloads == []
    assert peer.server.reading_frames and peer.server.unread == b""
    await peer.finish()


async def test_every_other_frame_is_websockets_own_and_the_order_holds() -> None:
    peer = Peer()
    await peer.open()
    peer.send('{"n":0}')
    await peer.take()
    peer.client.send_text(b'{"n":1}')
    peer.client.send_ping(b"are you there")  # a control frame between two messages
    peer.client.send_text(b'{"n":2', fin=False)  # a fragmented message
    peer.client.send_continuation(b"}", fin=True)
    peer.client.send_text(b'{"n":3}')
    peer.to_server()  # all five frames in one read
    assert [(await peer.take())["text"] for _ in range(3)] == ['{"n":1}', '{"n":2}', '{"n":3}']
    [pong] = peer.received()
    assert pong.opcode is Opcode.PONG and pong.data == b"are you there"
    assert peer.server.reading_frames  # back once websockets stands between two frames
    await peer.finish()


async def test_a_message_over_the_limit_still_closes_with_1009() -> None:
    peer = Peer()
    await peer.open()
    peer.send('{"n":0}')
    await peer.take()
    peer.server.conn.max_message_size = 1000
    peer.client.send_text(b"x" * 1001)
    peer.to_server()
    [close] = peer.received()
    assert Close.parse(close.data).code == 1009
    assert (await peer.take()) == {"type": "websocket.disconnect", "code": 1009}
    await peer.finish()


async def test_an_unmasked_frame_from_a_client_is_a_protocol_error() -> None:
    peer = Peer()
    await peer.open()
    peer.send('{"n":0}')
    await peer.take()
    peer.server.data_received(bytes((0x81, 2)) + b"{}")  # no masking key: RFC 6455 §5.1
    [close] = peer.received()
    assert Close.parse(close.data).code == 1002
    await peer.finish()


async def test_bad_utf8_read_without_websockets_still_closes_with_1007() -> None:
    peer = Peer()
    await peer.open()
    peer.send('{"n":0}')
    await peer.take()
    assert peer.server.reading_frames
    peer.client.send_frame(Frame(Opcode.TEXT, b'{"n":"\xff"}'))
    peer.to_server()
    [close] = peer.received()
    assert Close.parse(close.data).code == 1007
    assert (await peer.take()) == {"type": "websocket.disconnect", "code": 1007}
    await peer.finish()


async def test_only_a_quiet_line_is_pinged_and_a_silent_peer_is_dropped() -> None:
    peer = Peer(protocol=LeanSansIOProtocol, ping_interval=0.2)  # and 0.2 s for the pong
    await peer.open()
    for n in range(6):  # 1.2 s, six intervals, with a message in each: no ping needed
        peer.send(f'{{"n":{n}}}')
        async with asyncio.timeout(2.0):  # a line pinged and dropped would deliver no more
            await peer.take()
        await asyncio.sleep(0.1)
    assert peer.received() == []
    [ping] = await next_frames(peer)  # quiet for a whole interval: pinged
    assert ping.opcode is Opcode.PING
    peer.to_server()  # the client's protocol answered it at once: the line lives on
    [ping] = await next_frames(peer)  # quiet again: pinged again
    assert ping.opcode is Opcode.PING
    [close] = await next_frames(peer)  # unanswered past the pong's deadline
    assert Close.parse(close.data).code == 1011
    assert peer.transport.closing
    await peer.finish()


async def next_frames(peer: Peer, within: float = 2.0) -> list[Frame]:
    async with asyncio.timeout(within):
        while not (frames := peer.received()):
            await asyncio.sleep(0.01)
    return frames


async def test_a_frame_the_read_callback_fails_on_ends_that_socket_with_1011() -> None:
    """A bug met on the way in (`on_text` raising) closes this socket as the read loop's
    own failure would, and the frames before it were handled."""
    peer = Peer(protocol=LeanSansIOProtocol)
    await peer.open()
    peer.send('{"n":0}')
    await peer.take()
    handled: list[str] = []

    def on_text(text: str) -> bool:
        if text == '{"n":"bug"}':
            raise RuntimeError("a bug")
        handled.append(text)
        return True

    peer.server.on_text = on_text
    waiting = asyncio.create_task(peer.take())  # the read loop waits: frames go to on_text
    await asyncio.sleep(0)
    peer.send('{"n":1}')
    assert handled == ['{"n":1}'] and not waiting.done()
    peer.send('{"n":"bug"}')
    [close] = peer.received()
    assert Close.parse(close.data).code == 1011
    assert (await waiting)["type"] == "websocket.disconnect"
    assert handled == ['{"n":1}']
    await peer.finish()
