"""Test-side clients: a protocol v1 peer over a real WebSocket, and the platform's API calls."""

import asyncio
import json
import socket
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.typing import Subprotocol

TIMEOUT = 5.0
SUBPROTOCOL = Subprotocol("mediation.v1")


@dataclass
class Peer:
    """One participant's socket, with what it has received so far."""

    ws: ClientConnection
    received: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def connect(cls, ws_url: str, **options: Any) -> "Peer":
        ws = await websockets.connect(ws_url, subprotocols=[SUBPROTOCOL], **options)
        return cls(ws)

    async def send_json(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def hello(
        self, token: str, since: dict[str, int] | None = None, **extra: Any
    ) -> dict[str, Any]:
        await self.send_json({"type": "hello", "token": token, "since": since or {}, **extra})
        return await self.next("welcome", "error")

    async def send(self, cid: str, channel: str, body: str) -> None:
        await self.send_json({"type": "send", "id": cid, "channel": channel, "body": body})

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.received.append(frame)
        return frame

    async def next(self, *types: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next frame of one of `types`; frames of other types are kept but skipped."""
        while True:
            frame = await self.recv(timeout)
            if frame["type"] in types:
                return frame

    async def drain(self, quiet: float = 0.3) -> list[dict[str, Any]]:
        """Everything that arrives until the socket is quiet for `quiet` seconds, or closes."""
        got = []
        while True:
            try:
                got.append(await self.recv(quiet))
            except (TimeoutError, ConnectionClosed):
                return got

    async def close_code_when_closed(self, timeout: float = TIMEOUT) -> int | None:
        """Read until the server closes the socket; the close code it sent."""
        try:
            while True:
                await self.recv(timeout)
        except ConnectionClosed:
            return self.ws.close_code

    def messages(self) -> list[dict[str, Any]]:
        return [f for f in self.received if f["type"] == "message"]

    def joins(self) -> list[tuple[str, str]]:
        """(user, role) of every `joined` record received so far, in order."""
        return [(f["sender"]["user"], f["sender"]["role"]) for f in self.received if is_join(f)]

    async def saw_join(self, user: str, role: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The `joined` record of `user` as `role`: already received, or the next to come."""
        for frame in self.received:
            if is_join(frame, user, role):
                return frame
        while True:
            frame = await self.recv(timeout)
            if is_join(frame, user, role):
                return frame

    async def act(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Send a frame that stores a record: its ack or its error."""
        await self.send_json(frame)
        while True:
            reply = await self.next("ack", "error")
            if reply.get("id") == frame["id"]:
                return reply

    async def acked(self, frame: dict[str, Any]) -> dict[str, Any]:
        """`act`, and it must be acknowledged."""
        reply = await self.act(frame)
        assert reply["type"] == "ack", reply
        return reply

    async def event(self, kind: str, **fields: Any) -> dict[str, Any]:
        """The event of `kind` with these field values: already received, or the next one."""

        def matches(frame: dict[str, Any]) -> bool:
            wanted = {"type": "event", "kind": kind, **fields}
            return all(frame.get(k) == v for k, v in wanted.items())

        for frame in self.received:
            if matches(frame):
                return frame
        while True:
            frame = await self.recv()
            if matches(frame):
                return frame

    async def close(self) -> None:
        await self.ws.close()


def is_join(frame: dict[str, Any], user: str | None = None, role: str | None = None) -> bool:
    """Whether `frame` is the room's record of someone joining (of `user` as `role`, if given)."""
    if (frame["type"], frame.get("kind"), frame.get("channel")) != ("event", "joined", "room"):
        return False
    sender = frame["sender"]
    return user in (None, sender["user"]) and role in (None, sender["role"])


def without_joins(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`frames` less the room's `joined` records, which arrive whenever the server stores them."""
    return [f for f in frames if not is_join(f)]


@dataclass
class Platform:
    """The host marketplace: opens rooms and mints tokens through the HTTP API."""

    http: httpx.AsyncClient
    api_key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"}

    async def open_room(
        self,
        ticket: str,
        client: str = "c-1",
        freelancer: str = "f-1",
        priority: str = "normal",
        people: list[dict[str, str]] | None = None,
    ) -> str:
        response = await self.http.post(
            "/api/rooms",
            json={
                "ticket": {"provider": "local", "id": ticket},
                "client": client,
                "freelancer": freelancer,
                "priority": priority,
                "people": people or [],
            },
            headers=self.auth,
        )
        assert response.status_code == 201, response.text
        room: str = response.json()["id"]
        return room

    async def token(self, room: str, user: str, role: str, **extra: Any) -> str:
        if role == "auditor":
            extra.setdefault("purpose", "quality review of the dispute")
        response = await self.http.post(
            f"/api/rooms/{room}/tokens",
            json={"user": user, "role": role, **extra},
            headers=self.auth,
        )
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token


class StalledReader:
    """A client that joins, then stops reading: TCP pushes back on the server for real.

    Built from websockets' sans-I/O protocol over a plain socket with a tiny
    receive buffer, because a regular client keeps reading in the background.
    """

    def __init__(self, port: int, token: str) -> None:
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri

        self.protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/ws"))
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", port))
        self.sock.settimeout(TIMEOUT)
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        while self.protocol.handshake_exc is None and not self.protocol.events_received():
            if self.protocol.state.name == "OPEN":
                break
            self.protocol.receive_data(self.sock.recv(65536))
        self.protocol.send_text(json.dumps({"type": "hello", "token": token}).encode())
        self._flush()

    def _flush(self) -> None:
        for chunk in self.protocol.data_to_send():
            self.sock.sendall(chunk)

    def read_all(self) -> tuple[list[dict[str, Any]], int | None]:
        """Read until the server closes: the frames it sent, and its close code."""
        frames: list[dict[str, Any]] = []
        while True:
            data = self.sock.recv(1 << 20)
            self.protocol.receive_data(data)
            for event in self.protocol.events_received():
                # after the handshake only frames arrive; Request/Response are handshake events
                if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                    frames.append(json.loads(bytes(event.data)))
            if not data or self.protocol.close_rcvd is not None:
                code = self.protocol.close_rcvd.code if self.protocol.close_rcvd else None
                self.sock.close()
                return frames, code
