"""The bare relay: the Python floor the product is measured against, as
../shared/perf's `ws-bare` is. A plain `websockets` asyncio server speaking
just enough of protocol v1 for the bench's bots: `hello` -> `welcome`,
`send` -> an `ack` to the sender and a `message` frame (the product's
shape) to the other sockets of the room that may read the channel, encoded
once (`websockets.broadcast`). No auth, no storage, no checks, no history.

    python -m bench.bare_relay --port N

Tokens: the relay trusts the token's payload, read without any signature
check (`claims`): `room`, `sub` and `role`, the claims of the product's
room JWTs. The bench does not start a product server to provision the
relay's seats: it mints unsigned tokens of that shape itself (`token`).

It answers `GET /healthz` (200) so the bench waits for it as for the
product; any other plain HTTP request gets a 404, so it has no /metrics
and no group commits to report.
"""

import argparse
import base64
import http
import json
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

import msgspec
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from bench.loop import run_async

DESCRIPTION = (__doc__ or "").split("\n\n")[0]
M = TypeVar("M", bound=Hashable)  # a member of a room: a socket, or anything in a test
CHANNELS = ("joint", "caucus:client", "caucus:freelancer")


@dataclass(frozen=True)
class Claims:
    room: str
    user: str
    role: str


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(room: str, user: str, role: str) -> str:
    """An unsigned JWT (`alg: none`) with the product's room claims: all the relay reads."""
    header = b64url(b'{"alg":"none","typ":"JWT"}')
    payload = b64url(json.dumps({"room": room, "sub": user, "role": role}).encode())
    return f"{header}.{payload}."


def claims(jwt: str) -> Claims:
    """The room, user and role a JWT names (the product's or `token`'s), unverified."""
    segment = jwt.split(".")[1]
    payload = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return Claims(payload["room"], payload["sub"], payload["role"])


def reads(role: str, channel: str) -> bool:
    """Who receives a channel's messages (protocol v1's visibility, the bench's roles)."""
    return channel == "joint" or role == "moderator" or channel == f"caucus:{role}"


class Inbound(msgspec.Struct):
    """The fields of a client frame the relay looks at (hello and send)."""

    type: str
    token: str = ""
    id: str = ""
    channel: str = ""
    body: str = ""


class Person(msgspec.Struct):
    user: str
    role: str


class Welcome(msgspec.Struct, tag="welcome", tag_field="type"):
    room: dict[str, str]
    you: Person
    head: dict[str, int]


class Ack(msgspec.Struct, tag="ack", tag_field="type"):
    id: str
    channel: str
    seq: int


class Message(msgspec.Struct, tag="message", tag_field="type"):
    seq: int
    id: str
    channel: str
    sender: Person
    body: str
    ts: str


decode = msgspec.json.Decoder(Inbound).decode
encoder = msgspec.json.Encoder()


def encode(frame: msgspec.Struct) -> str:
    return encoder.encode(frame).decode()  # text frames, as the product sends


def now_ts() -> str:
    """UTC ISO 8601 with milliseconds and `Z`, as the product's `ts`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Room(Generic[M]):
    """One room's sockets and its per-channel counters; no I/O, so a test can drive it."""

    id: str
    members: dict[M, Claims] = field(default_factory=dict)
    seqs: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANNELS, 0))

    def join(self, member: M, who: Claims) -> str:
        """The member joins; its `welcome` frame."""
        self.members[member] = who
        head = {c: n for c, n in self.seqs.items() if reads(who.role, c)}
        return encode(Welcome({"id": self.id}, Person(who.user, who.role), head))

    def leave(self, member: M) -> None:
        self.members.pop(member, None)

    def send(self, member: M, frame: Inbound) -> tuple[str, str, list[M]]:
        """The sender's `ack`, the `message` frame, and who else receives it."""
        who = self.members[member]
        seq = self.seqs[frame.channel] = self.seqs.get(frame.channel, 0) + 1
        message = Message(
            seq, frame.id, frame.channel, Person(who.user, who.role), frame.body, now_ts()
        )
        recipients = [
            m for m, c in self.members.items() if m != member and reads(c.role, frame.channel)
        ]
        return encode(Ack(frame.id, frame.channel, seq)), encode(message), recipients


ROOMS: dict[str, Room[ServerConnection]] = {}


async def handler(ws: ServerConnection) -> None:
    hello = decode(await ws.recv())
    who = claims(hello.token)
    room = ROOMS.setdefault(who.room, Room(who.room))
    await ws.send(room.join(ws, who))
    try:
        async for raw in ws:
            frame = decode(raw)
            if frame.type == "send":
                ack, message, recipients = room.send(ws, frame)
                broadcast(recipients, message)
                await ws.send(ack)
    finally:
        room.leave(ws)


def plain_http(ws: ServerConnection, request: Request) -> Response | None:
    """`/healthz` for the bench's readiness check; the WebSocket endpoint is `/ws`."""
    if request.path == "/healthz":
        return ws.respond(http.HTTPStatus.OK, '{"status": "ok"}\n')  # JSON, as the product's
    if request.path != "/ws":
        return ws.respond(http.HTTPStatus.NOT_FOUND, "not found\n")
    return None


async def main(port: int) -> None:
    async with serve(
        handler,
        "127.0.0.1",
        port,
        process_request=plain_http,
        subprotocols=[Subprotocol("mediation.v1")],
        compression=None,
        ping_interval=None,
        max_size=1 << 20,
        backlog=4096,
    ) as server:
        print(f"bare relay listening on 127.0.0.1:{port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.bare_relay", description=DESCRIPTION)
    parser.add_argument("--port", type=int, required=True)
    run_async(main(parser.parse_args().port))
