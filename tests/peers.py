"""Test-side clients: a protocol v1 peer over a real WebSocket, and the platform's API calls."""

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

TIMEOUT = 5.0


@dataclass
class Peer:
    """One participant's socket, with what it has received so far."""

    ws: ClientConnection
    received: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def connect(cls, ws_url: str) -> "Peer":
        ws = await websockets.connect(ws_url, subprotocols=["mediation.v1"])  # type: ignore[list-item]
        return cls(ws)

    async def send_json(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def hello(self, token: str, since: dict[str, int] | None = None, **extra: Any) -> dict[str, Any]:
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

    def messages(self) -> list[dict[str, Any]]:
        return [f for f in self.received if f["type"] == "message"]

    async def close(self) -> None:
        await self.ws.close()


@dataclass
class Platform:
    """The host marketplace: opens rooms and mints tokens through the HTTP API."""

    http: httpx.AsyncClient
    api_key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"}

    async def open_room(self, ticket: str, client: str = "c-1", freelancer: str = "f-1") -> str:
        response = await self.http.post(
            "/api/rooms",
            json={"ticket": {"provider": "local", "id": ticket}, "client": client,
                  "freelancer": freelancer},
            headers=self.auth,
        )
        assert response.status_code == 201, response.text
        room: str = response.json()["id"]
        return room

    async def token(self, room: str, user: str, role: str, **extra: Any) -> str:
        response = await self.http.post(
            f"/api/rooms/{room}/tokens", json={"user": user, "role": role, **extra},
            headers=self.auth,
        )
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token
