"""One participant's socket: joins with its token, sends as its pacing allows,
and records the acks and messages it reads."""

import asyncio
import json
import time

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from bench.pacing import Pacing
from bench.results import Recorder
from bench.seats import CHANNELS, Seat


class Sender(msgspec.Struct):
    user: str


class Frame(msgspec.Struct):
    """The fields of a server frame the bench looks at; the rest is skipped."""

    type: str
    id: str | None = None
    code: str | None = None
    sender: Sender | None = None


class SendFrame(msgspec.Struct, tag="send", tag_field="type"):
    id: str
    channel: str
    body: str


decode_frame = msgspec.json.Decoder(Frame).decode
encode_frame = msgspec.json.Encoder().encode


def message_id(n: int, sent: float) -> str:
    """A unique id (per socket) that carries the send time for the recipients."""
    return f"{n}@{sent:.6f}"


def sent_time(cid: str) -> float:
    return float(cid.rpartition("@")[2])


class Bot:
    """One participant's socket: sends as its pacing allows, reads acks and messages."""

    def __init__(
        self, ws: ClientConnection, seat: Seat, pacing: Pacing, body: str, recorder: Recorder
    ) -> None:
        self.ws = ws
        self.user = seat.user
        self.channels = CHANNELS[seat.role]
        self.pacing = pacing
        self.body = body
        self.recorder = recorder
        self.sent_at: dict[str, float] = {}  # awaiting an ack

    async def send_until(self, stop: asyncio.Event) -> None:
        n = 0
        while True:
            await self.pacing.turn()
            if stop.is_set():
                return
            channel, sent = self.channels[n % len(self.channels)], time.perf_counter()
            cid = message_id(n, sent)
            self.sent_at[cid] = sent
            self.recorder.on_send(channel, sent)
            try:
                await self.ws.send(encode_frame(SendFrame(cid, channel, self.body)).decode())
            except ConnectionClosed:
                self.recorder.errors["closed"] += 1
                return
            n += 1

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                self.on_frame(decode_frame(raw), time.perf_counter())
        except ConnectionClosed:
            pass

    def on_frame(self, frame: Frame, now: float) -> None:
        if frame.type == "message" and frame.id is not None:
            if frame.sender is not None and frame.sender.user == self.user:
                self.recorder.echoes += 1
            else:
                self.recorder.delivered(sent_time(frame.id), now)
        elif frame.type in ("ack", "error") and frame.id in self.sent_at:
            sent = self.sent_at.pop(frame.id)
            if frame.type == "ack":
                self.recorder.acked(sent, now)
            else:
                self.recorder.errors[frame.code or "?"] += 1
            self.pacing.settled()
        elif frame.type == "error":
            self.recorder.errors[frame.code or "?"] += 1


async def join(url: str, seat: Seat, gate: asyncio.Semaphore) -> ClientConnection:
    """A socket that has said hello and got its welcome."""
    async with gate:
        ws = await connect(
            url, subprotocols=[Subprotocol("mediation.v1")], compression=None, max_size=None
        )
        await ws.send(json.dumps({"type": "hello", "token": seat.token, "since": {}}))
        while True:
            frame = decode_frame(await ws.recv())
            if frame.type == "welcome":
                return ws
            if frame.type == "error":
                raise RuntimeError(f"hello failed for {seat.user}: {frame.code}")
