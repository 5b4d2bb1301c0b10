"""A socket's fast way out for text frames, offered by the server through the ASGI scope.

Through ASGI a frame passes every middleware's wrapped `send`, Starlette's
state checks and uvicorn's async `send` (await writable, the handshake's
state) before it reaches the transport: most of what writing it costs. Our
uvicorn protocol (mediation/ws_protocol.py) offers itself in
`scope["extensions"]` under `TEXT_SENDER` instead, and a connection writes
each frame with one synchronous call. Under another server (a test client)
the extension is missing and frames go the ASGI way.

Only text frames go this way: the accept and the close still pass through
ASGI, so the request log sees the socket's status.

Frames come in the same way (`on_text`): through ASGI each one woke the
socket's read loop, a task switch and uvicorn's and Starlette's `receive`
per frame, where most frames (a send, in turn) need nothing awaited. The
protocol hands such a frame to the app from its read callback, only while
the read loop waits with nothing queued before it: so frames are still
handled one at a time, in the order they came.
"""

import asyncio
from collections.abc import Callable
from typing import Protocol

from starlette.types import Scope

TEXT_SENDER = "mediation.text_sender"


class TextSender(Protocol):
    writable: asyncio.Event  # cleared while the transport's buffer is over its high-water mark
    # The way in, the mirror of `send_text`: called with each text frame as it is read,
    # while the app's read loop waits with nothing queued; True if the frame was handled
    # there and then, False to have it queued for the read loop as usual. None: off.
    on_text: Callable[[str], bool] | None

    def send_text(self, data: bytes) -> bool:
        """Write one text frame (`data`: UTF-8) now; False once the socket closes or is gone."""
        ...


def text_sender(scope: Scope) -> TextSender | None:
    extensions = scope.get("extensions") or {}
    sender: TextSender | None = extensions.get(TEXT_SENDER)
    return sender
