"""A socket's outgoing side without a server: frames written at once when nothing waits,
queued while the transport is paused, in order, and a client that falls behind cut off.

The `TextSender` here stands for our uvicorn protocol (mediation/ws_protocol.py): it
records the frames it is given and lets a test pause the transport or drop the peer.
The socket is Starlette's, over ASGI callables that record what goes out that way.
"""

import asyncio
import json
from collections.abc import MutableMapping
from typing import Any

import pytest
from starlette.websockets import WebSocket, WebSocketDisconnect

from mediation.metrics import Metrics
from mediation.protocol.codes import CloseCode, ErrorCode
from mediation.protocol.frames import Ack, Error, Message, Who
from mediation.ws.connection import Connection
from mediation.ws.text_sender import TEXT_SENDER
from rooms.ports import Presence
from rooms.visibility import Role


class RecordingSender:
    """What the transport was given, frame by frame."""

    def __init__(self) -> None:
        self.writable = asyncio.Event()
        self.writable.set()
        self.frames: list[dict[str, Any]] = []
        self.written: list[bytes] = []
        self.open = True

    def send_text(self, data: bytes) -> bool:
        if not self.open:
            return False
        self.frames.append(json.loads(data))
        self.written.append(data)
        return True


class Socket:
    """A Starlette WebSocket over recording ASGI callables, with or without the sender."""

    def __init__(self, sender: RecordingSender | None) -> None:
        extensions: dict[str, object] = {} if sender is None else {TEXT_SENDER: sender}
        scope = {"type": "websocket", "path": "/ws", "headers": [], "extensions": extensions}
        self.sent: list[MutableMapping[str, Any]] = []  # accept, close, and sends without it
        self.ws = WebSocket(scope, self._receive, self._send)

    async def _receive(self) -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def _send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)

    @property
    def closes(self) -> list[tuple[int, str]]:
        return [(m["code"], m["reason"]) for m in self.sent if m["type"] == "websocket.close"]


async def opened(
    sender: RecordingSender | None, limit: int = 8
) -> tuple[Connection, Socket, Metrics]:
    socket = Socket(sender)
    await socket.ws.accept()
    metrics = Metrics()
    return Connection(socket.ws, "test", limit, metrics), socket, metrics


def ack(n: int) -> Ack:
    return Ack(f"m{n}", "joint", n)


async def writing(conn: Connection) -> None:
    """The connection started (welcome and replay out), one step of the loop on."""
    conn.start()
    await asyncio.sleep(0)


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def seqs(frames: list[dict[str, Any]]) -> list[int]:
    return [f["seq"] for f in frames if f["type"] == "ack"]


async def test_a_frame_pushed_while_nothing_waits_is_written_at_once() -> None:
    sender = RecordingSender()
    conn, socket, _ = await opened(sender)
    await writing(conn)
    conn.push(ack(1))
    conn.push(Presence("f-1", Role.FREELANCER, True))
    assert sender.frames == [  # before any await: no task switch per frame
        {"type": "ack", "id": "m1", "channel": "joint", "seq": 1},
        {"type": "presence", "user": "f-1", "role": "freelancer", "online": True},
    ]
    assert socket.sent == [{"type": "websocket.accept", "subprotocol": None, "headers": []}]
    conn.close(CloseCode.NORMAL, "")
    await conn.finish()
    assert socket.closes == [(1000, "")]  # the close goes through ASGI: the request log sees it


async def test_frames_wait_while_the_transport_is_paused_and_keep_their_order() -> None:
    sender = RecordingSender()
    conn, _, _ = await opened(sender)
    await writing(conn)
    conn.push(ack(1))
    sender.writable.clear()  # the client reads slowly: the buffer is over its mark
    conn.push(ack(2))
    conn.push(ack(3))
    await asyncio.sleep(0)
    assert seqs(sender.frames) == [1]
    sender.writable.set()
    conn.push(ack(4))  # the writer has not run yet: this one goes after those waiting
    await asyncio.sleep(0)
    assert seqs(sender.frames) == [1, 2, 3, 4]
    conn.push(ack(5))  # nothing waits any more: at once
    assert seqs(sender.frames) == [1, 2, 3, 4, 5]
    conn.close(CloseCode.NORMAL, "")
    await conn.finish()


async def test_welcome_and_replay_go_before_what_was_pushed_meanwhile() -> None:
    sender = RecordingSender()
    conn, _, _ = await opened(sender)
    conn.push(ack(3))  # live traffic while the replay is read
    await conn.send_now(ack(1))
    await conn.send_now(ack(2))
    assert seqs(sender.frames) == [1, 2]
    await writing(conn)
    assert seqs(sender.frames) == [1, 2, 3]
    conn.close(CloseCode.NORMAL, "")
    await conn.finish()


async def test_a_client_that_falls_limit_frames_behind_is_cut_off_with_too_slow() -> None:
    sender = RecordingSender()
    conn, socket, metrics = await opened(sender, limit=4)
    await writing(conn)
    sender.writable.clear()
    for n in range(1, 6):  # four wait; the fifth finds the queue full
        conn.push(ack(n))
    assert sample(metrics, "mediation_slow_consumers_total") == 1
    conn.push(ack(6))  # closing: dropped
    sender.writable.set()
    await conn.finish()
    assert sender.frames == []  # the queue was dropped: it resumes with `since`
    assert socket.closes == [(CloseCode.TOO_SLOW, "too slow: reconnect and resume")]


async def test_close_comes_after_what_is_queued() -> None:
    sender = RecordingSender()
    conn, socket, _ = await opened(sender)
    await writing(conn)
    sender.writable.clear()
    conn.push(ack(1))
    conn.push(ack(2))
    conn.close(CloseCode.GOING_AWAY, "server shutting down")
    await asyncio.sleep(0)
    assert socket.closes == []
    sender.writable.set()
    await conn.finish()
    assert seqs(sender.frames) == [1, 2]
    assert socket.closes == [(CloseCode.GOING_AWAY, "server shutting down")]


async def test_delivered_records_and_errors_are_counted() -> None:
    sender = RecordingSender()
    conn, _, metrics = await opened(sender)
    await writing(conn)
    conn.push(Error(ErrorCode.RATE_LIMITED, "slow down", "m1"))
    conn.push(ack(1))  # not a delivery
    conn.push(Message(1, "m1", "joint", Who("c-1", "client"), "hello", "2026-01-01T00:00:00Z"))
    assert sample(metrics, "mediation_errors_total", code="rate_limited") == 1
    assert sample(metrics, "mediation_messages_delivered_total") == 1
    conn.close(CloseCode.NORMAL, "")
    await conn.finish()


async def test_a_peer_gone_during_the_replay_ends_the_session() -> None:
    sender = RecordingSender()
    conn, _, _ = await opened(sender)
    sender.open = False
    with pytest.raises(WebSocketDisconnect):
        await conn.send_now(ack(1))


async def test_when_the_peer_is_gone_the_writer_ends_without_a_close() -> None:
    sender = RecordingSender()
    conn, socket, _ = await opened(sender)
    await writing(conn)
    sender.writable.clear()
    conn.push(ack(1))
    sender.open = False  # the peer left while the frame waited
    sender.writable.set()
    await conn.finish()
    conn.push(ack(2))  # nothing more is tried
    assert sender.frames == []
    assert socket.closes == []


async def test_without_the_extension_frames_go_through_asgi_in_order() -> None:
    conn, socket, _ = await opened(None)
    conn.push(ack(2))
    await conn.send_now(ack(1))
    await writing(conn)
    conn.push(ack(3))
    conn.close(CloseCode.NORMAL, "")
    await conn.finish()
    texts = [json.loads(m["text"]) for m in socket.sent if m["type"] == "websocket.send"]
    assert seqs(texts) == [1, 2, 3]
    assert socket.closes == [(1000, "")]


async def test_an_event_pushed_to_several_sockets_in_a_row_is_encoded_once() -> None:
    senders = [RecordingSender() for _ in range(3)]
    conns = [(await opened(sender))[0] for sender in senders]
    for conn in conns:
        await writing(conn)
    joined = Presence("f-1", Role.FREELANCER, True)
    for conn in conns:  # as LiveRoom fans a record out
        conn.push(joined)
    first = senders[0].written[0]
    assert all(sender.written == [first] for sender in senders)
    assert all(sender.written[0] is first for sender in senders)  # the same bytes
    again = Presence("f-1", Role.FREELANCER, True)  # equal, but another event
    conns[0].push(again)
    assert senders[0].written[1] == first and senders[0].written[1] is not first
    for conn in conns:
        await conn.finish()


async def test_a_started_socket_with_nothing_waiting_holds_no_task() -> None:
    """Thousands of sockets sit idle: none keeps a writer task (and its frames) waiting."""
    sender = RecordingSender()
    conn, socket, _ = await opened(sender)
    before = len(asyncio.all_tasks())
    await writing(conn)
    conn.push(ack(1))
    assert len(asyncio.all_tasks()) == before
    sender.writable.clear()
    conn.push(ack(2))  # waits: a writer for it, until it is written
    assert len(asyncio.all_tasks()) == before + 1
    sender.writable.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert seqs(sender.frames) == [1, 2]
    assert len(asyncio.all_tasks()) == before
    await conn.finish()
    assert socket.closes == [(1000, "")]
