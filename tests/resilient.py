"""A client that follows docs/protocol.md's resume contract to the letter.

It keeps an outbox of sends without an ack and, per channel, the seqs it
holds (of every frame that carries a channel and a seq, whatever its type:
messages, and events such as the room's `joined` records); on any
disconnect it reconnects with `since` = its contiguous mark and resends
the outbox with the same ids. It also counts what the server
must never do: send a seq at or below `since`, or the same seq twice on
one connection.
"""

import asyncio
import json
import random
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.peers import SUBPROTOCOL


def contiguous(seqs: set[int]) -> int:
    mark = 0
    while mark + 1 in seqs:
        mark += 1
    return mark


@dataclass
class ResilientClient:
    urls: list[str]  # any node will do: each connection picks one at random
    token: str
    user: str
    channels: tuple[str, ...]  # it writes to these in turn
    total: int  # messages to send in all
    window: int = 8
    pace: float = 25.0  # messages per second
    held: dict[str, set[int]] = field(default_factory=dict)
    outbox: "OrderedDict[str, tuple[str, str]]" = field(default_factory=OrderedDict)
    acked: dict[str, tuple[str, int]] = field(default_factory=dict)
    sent: int = 0
    duplicates: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    close_codes: list[int | None] = field(default_factory=list)
    connections: int = 0

    @property
    def done(self) -> bool:
        return self.sent == self.total and not self.outbox

    async def run(self, until: asyncio.Event) -> None:
        """Keep a connection up until all is sent and acked and `until` is set."""
        while not (self.done and until.is_set()):
            try:
                await self._session(until)
            except (OSError, InvalidHandshake, TimeoutError):
                pass  # the server is down or restarting
            except ConnectionClosed as closed:
                self.close_codes.append(closed.rcvd.code if closed.rcvd else None)
            await asyncio.sleep(random.uniform(0.05, 0.2))

    async def _session(self, until: asyncio.Event) -> None:
        async with websockets.connect(
            random.choice(self.urls),
            subprotocols=[SUBPROTOCOL],
            open_timeout=2,
        ) as ws:
            since = {c: contiguous(s) for c, s in self.held.items()}
            await ws.send(json.dumps({"type": "hello", "token": self.token, "since": since}))
            welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if welcome["type"] != "welcome":  # e.g. `unavailable` while the database is down
                raise OSError(f"hello refused: {welcome}")
            self.connections += 1
            for cid, (channel, body) in list(self.outbox.items()):
                await ws.send(
                    json.dumps({"type": "send", "id": cid, "channel": channel, "body": body})
                )
            seen: set[tuple[str, int]] = set()
            writer = asyncio.create_task(self._write(ws, until))
            try:
                while not (self.done and until.is_set()):
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 0.2)
                    except TimeoutError:
                        continue
                    self._receive(json.loads(raw), since, seen)
            finally:
                writer.cancel()

    async def catch_up(self, quiet: float = 0.5) -> None:
        """Reconnect once with `since` and take everything until the socket is quiet."""
        async with websockets.connect(self.urls[0], subprotocols=[SUBPROTOCOL]) as ws:
            since = {c: contiguous(s) for c, s in self.held.items()}
            await ws.send(json.dumps({"type": "hello", "token": self.token, "since": since}))
            seen: set[tuple[str, int]] = set()
            welcome = json.loads(await asyncio.wait_for(ws.recv(), 30))  # however busy the box
            assert welcome["type"] == "welcome", welcome
            try:
                while True:  # the replay follows the welcome at once: quiet means it is over
                    self._receive(json.loads(await asyncio.wait_for(ws.recv(), quiet)), since, seen)
            except TimeoutError:
                return

    async def _write(self, ws: ClientConnection, until: asyncio.Event) -> None:
        while self.sent < self.total:
            if len(self.outbox) >= self.window:
                await asyncio.sleep(0.002)
                continue
            cid = f"{self.user}-{self.sent:06d}"
            channel = self.channels[self.sent % len(self.channels)]
            self.outbox[cid] = (channel, f"{cid} body")
            self.sent += 1
            await ws.send(
                json.dumps({"type": "send", "id": cid, "channel": channel, "body": f"{cid} body"})
            )
            await asyncio.sleep(random.expovariate(self.pace))

    def _receive(
        self, frame: dict[str, Any], since: dict[str, int], seen: set[tuple[str, int]]
    ) -> None:
        kind = frame["type"]
        if kind == "ack":
            self.outbox.pop(frame["id"], None)
            self.acked[frame["id"]] = (frame["channel"], frame["seq"])
            self.held.setdefault(frame["channel"], set()).add(frame["seq"])
        elif kind == "error":
            self.errors.append(frame)  # the outbox keeps it; it goes again on reconnect
        elif "channel" in frame and "seq" in frame:  # a message, an event: a place in a channel
            key = (frame["channel"], frame["seq"])
            if frame["seq"] <= since.get(frame["channel"], 0) or key in seen:
                self.duplicates += 1
            seen.add(key)
            self.held.setdefault(frame["channel"], set()).add(frame["seq"])
