"""uvicorn's sans-I/O WebSocket protocol, with direct text writes and close frames that arrive.

Text frames can skip ASGI: the protocol offers itself to the app as a
`TextSender` (mediation/ws/text_sender.py) in the scope's extensions, and a
connection writes each frame with `send_text`: framed by websockets in one
synchronous call, with no middleware `send` wrappers and no await per frame.
`writable` (uvicorn's, cleared while the transport's buffer is over its
high-water mark) tells the connection when to hold frames back instead.
Without permessage-deflate (off by default) a server's text frame is a
two-to-ten-byte header and the payload: built here, at a tenth of what
websockets' general `send_text` costs (a Frame object, its checks, its
serializer).

The frames of one turn of the event loop leave in one `transport.write`, one
syscall, at the end of the turn: a group commit hands a socket its acks and
every record of the batch at once. They wait in websockets' own outgoing
buffer, which every other write (a close, a pong) drains first, so nothing
overtakes them; `FLUSH_FRAMES` of them go out at once, so that a big batch or
a replay meets the transport's high-water mark (and `writable`) as it grows.

Reading pauses only when the app falls behind: uvicorn paused the transport
after every message it queued for the app and resumed it when the app took
it, two epoll_ctl calls per frame received. Here it pauses once more than
`READ_BACKLOG` messages wait, and uvicorn's `receive` resumes it once the
app has taken them all: a client that floods a slow session is still held
back by TCP.

When websockets fails a connection (a message over `ws_max_size`, counted
across its fragments: 1009; bad UTF-8: 1007; a protocol error: 1002) uvicorn
wrote the close frame and closed the TCP connection at once. The client's
fragments kept arriving at a closed socket, so the kernel reset the
connection, and a reset drops whatever was not yet delivered: when the
client was slow to read (busy receiving the room's traffic) that included
the close frame, and it saw 1006 instead of the code meant for it.

Here the server half-closes instead: the close frame, then FIN, while it
goes on reading and dropping what the client still sends, until the client
closes its side or `close_timeout` (uvicorn's, 10 s) passes. That is the
closing handshake RFC 6455 §7.1.1 asks of a server.

And a handshake refused with an HTTP response (403 foreign origin, 429
throttled address, 503 too many sockets from here) is a handshake
completed: uvicorn's sans-I/O protocol did not count it as one, and logged
"ASGI callable returned without completing handshake." at ERROR for each
refusal, three log lines in all per refused attempt. A thousand bad-token
attempts filled the log with a thousand false errors, and the formatting
was a fifth of what refusing them cost.
"""

import logging
import struct
from collections.abc import Callable
from typing import Any, cast

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State
from websockets.streams import StreamReader

from mediation.client_frames import FINAL_TEXT, MASKED, bounds, unmask
from mediation.ws.text_sender import TEXT_SENDER, TextSender

log = logging.getLogger(__name__)
READ_BACKLOG = 8  # messages waiting for the app before reading pauses
# websockets' parser waits here, at the top of its loop, between two frames
BETWEEN_FRAMES = StreamReader.at_eof.__code__
FLUSH_FRAMES = 64  # frames framed in one turn of the loop before they go out at once


def text_frame(data: bytes) -> bytes:
    """A server's text frame, final, unmasked, uncompressed (RFC 6455 §5.2)."""
    size = len(data)
    if size < 126:
        return bytes((0x81, size)) + data
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + data
    return struct.pack("!BBQ", 0x81, 127, size) + data


class WebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flush_scheduled = False
        self.framed = 0  # since the last flush
        self.reading_frames = False  # we frame what arrives (below), not websockets
        self.unread = b""  # the start of a frame not all here yet, while we frame
        self.on_text: Callable[[str], bool] | None = None  # the app's way in (TextSender)

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if self.response.status_code == 101:  # the app runs: offer it the direct way out
            sender: TextSender = self
            cast(dict[str, object], self.scope["extensions"])[TEXT_SENDER] = sender

    def send_text(self, data: bytes) -> bool:
        conn = self.conn
        if conn.state is not State.OPEN or self.disconnected or self.transport.is_closing():
            return False  # a close frame went one way or the other, or the peer is gone
        if conn.extensions:  # permessage-deflate: websockets compresses, then frames
            conn.send_text(data)
        else:  # what conn.send_text would append to its outgoing buffer
            conn.writes.append(text_frame(data))
        self.framed += 1
        if self.framed >= FLUSH_FRAMES:
            self.flush()
        elif not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self.flush)
        return True

    def flush(self) -> None:
        """Write what `send_text` framed this turn, in one write."""
        self.flush_scheduled = False
        self.framed = 0
        data = self.conn.data_to_send()  # empty if a close or a pong took it along
        if data and not (self.disconnected or self.transport.is_closing()):
            self.transport.write(b"".join(data))

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if (
            message["type"] == "websocket.http.response.body"
            and not message.get("more_body", False)
            and self.initial_response is not None
        ):
            self.handshake_complete = True  # answered: refused is done, not unfinished

    def send_receive_event_to_app(self) -> None:
        """uvicorn's, but pausing reading only past READ_BACKLOG waiting messages."""
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        if self.close_sent:  # past `websocket.close`: dropped; reading goes on till the close
            return
        if self.curr_msg_data_type == "bytes":
            self.queue.put_nowait({"type": "websocket.receive", "bytes": data})
        else:
            try:
                text = data.decode()
            except UnicodeDecodeError:
                self.conn.send_close(1007)  # invalid frame payload data
                self.handle_parser_exception()
                return
            if self.on_text is not None and self.app_waiting() and self._handled(text):
                return
            self.queue.put_nowait({"type": "websocket.receive", "text": text})
        if not self.read_paused and self.queue.qsize() > READ_BACKLOG:
            self.read_paused = True
            self.transport.pause_reading()

    def app_waiting(self) -> bool:
        """Whether the app's read loop waits for a message with none queued (then a frame
        handled at once overtakes nothing). Unknown of uvicorn's queue: never."""
        return False

    def _handled(self, text: str) -> bool:
        assert self.on_text is not None
        try:
            return self.on_text(text)
        except Exception:  # a bug: this socket ends as the read loop's would (1011)
            log.exception("a frame failed on the way in")
            self.on_text = None
            self.conn.send_close(1011)
            self.handle_parser_exception()
            return True

    def data_received(self, data: bytes) -> None:
        """Whole text messages are read here (mediation/client_frames.py); every other
        frame, and everything before the handshake is done, by websockets."""
        if self.conn.parser_exc is not None:  # failed already: drop what still comes
            return
        if not self.reading_frames:
            super().data_received(data)
            self.reading_frames = self._between_frames()
            return
        if self.unread:
            data, self.unread = self.unread + data, b""
        limit = self.conn.max_message_size
        at = 0
        while (frame := bounds(data, at)) is not None:
            first, second, start, end = frame
            if first != FINAL_TEXT or not second & MASKED or (limit and end - start > limit):
                self.reading_frames = False  # websockets takes it from here, errors included
                super().data_received(data[at:])
                self.reading_frames = self._between_frames()
                return
            if end > len(data):
                break  # the rest of the message is still on its way
            self.curr_msg_data_type = "text"
            self.frames = [unmask(data, start, end)]
            self.send_receive_event_to_app()
            at = end
        self.unread = data[at:]

    def _between_frames(self) -> bool:
        """Whether websockets' parser is open for frames and holds no part of one: only
        then may frames be read here without it (no extension, no fragmented message)."""
        conn = self.conn
        if conn.state is not State.OPEN or conn.extensions or conn.parser_exc is not None:
            return False
        if conn.current_size is not None or conn.reader.buffer:
            return False
        waiting = conn.parser  # the generator it is suspended in, innermost
        while (inner := getattr(waiting, "gi_yieldfrom", None)) is not None:
            waiting = inner
        return getattr(waiting, "gi_code", None) is BETWEEN_FRAMES

    def handle_parser_exception(self) -> None:
        close = self.conn.close_sent
        assert close is not None
        self.queue.put_nowait({"type": "websocket.disconnect", "code": close.code})
        self.transport.write(b"".join(self.conn.data_to_send()))  # the close frame
        self.close_sent = True
        if self.transport.can_write_eof():
            self.transport.write_eof()  # FIN once the close frame is out; reading goes on
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.abort)
