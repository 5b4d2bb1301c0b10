"""Every cell of the authorization matrix (tests/authz_matrix.py), over a real socket or HTTP.

One server per backend for the whole module, with three shared rooms (A and
B mediating, C the stranger's); cells whose allowed action would change a
room for the cells after it (a claim, a transition, a mute, a settlement)
get fresh rooms of their own.
"""

import dataclasses
import itertools
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from mediation.auth.tokens import ALGORITHM, AUDIENCE, ISSUER, STAFF_AUDIENCE
from mediation.config import Settings
from rooms.visibility import Role, readable
from tests.authz_matrix import (
    CLAIM,
    CO_MODERATOR,
    DECIDE,
    DELETE,
    DOWNLOAD,
    EDIT,
    EXPORT,
    FLOOR,
    HELLO,
    HISTORY,
    JOIN,
    MEMBERS,
    OPT_IN,
    PROFILE,
    PROFILE_PUT,
    PROPOSE,
    PROPOSE_WAITING,
    QUEUE,
    REDACT,
    REPORTS,
    RESPOND,
    REVIEW_INBOX,
    REVIEW_REPORT,
    SEND,
    TRANSITION,
    UPLOAD,
    Action,
    Cell,
    Outcome,
    Principal,
    Scope,
    Setup,
    Transport,
    cells,
)
from tests.conftest import RunningServer, free_port, serving
from tests.databases import PostgresDatabases, fresh_database
from tests.files import bearer, named, pdf
from tests.peers import Peer

MODERATOR, AUDITOR, ARBITRATOR, OBSERVER = "m-1", "a-1", "arb-1", "trainee-1"
PURPOSE = "authorization matrix"


def generous(settings: Settings, **limits: Any) -> Settings:
    """`settings` with every limit of `limits` this version of Settings knows."""
    known = {f.name for f in dataclasses.fields(Settings)}
    return dataclasses.replace(settings, **{k: v for k, v in limits.items() if k in known})


LIMITS_OFF = {
    "rate_per_second": 1e6,
    "rate_burst": 1_000_000,
    "max_connections": 100_000,
    "max_connections_per_ip": 100_000,
    "max_connections_per_person": 100_000,
    "auth_failure_burst": 1_000_000,  # the bad-token cells come from one address
    "mint_burst": 1_000_000,
    "join_burst": 1_000_000,
}


@dataclass
class Room:
    id: str
    client: str
    freelancer: str
    edit_target: int = 0  # the seq of the client's message in joint
    proposal: int = 0  # the seq of the freelancer's open proposal
    files: dict[str, str] = field(default_factory=dict)  # channel -> a file the client uploaded

    @property
    def second_client(self) -> str:
        """The client side's second member (added over the API as the room opens)."""
        return f"{self.client}-2"


@dataclass
class World:
    """The server under test, its shared rooms, and the principals' credentials."""

    server: RunningServer
    shared: list[Room] = field(default_factory=list)  # A and B mediating; C the stranger's
    counter: "itertools.count[int]" = field(default_factory=itertools.count)
    tokens: dict[tuple[str, str, str], str] = field(default_factory=dict)

    @classmethod
    async def open(cls, server: RunningServer) -> "World":
        world = cls(server)
        world.shared = [await world.room() for _ in range(3)]
        return world

    @property
    def a(self) -> Room:
        return self.shared[0]

    @property
    def b(self) -> Room:
        return self.shared[1]

    @property
    def c(self) -> Room:
        return self.shared[2]

    @property
    def http(self) -> httpx.AsyncClient:
        return self.server.platform.http

    async def room(self, setup: Setup = Setup.SHARED) -> Room:
        n = next(self.counter)
        room = Room(
            await self.server.platform.open_room(f"M-{n}", f"c-{n}", f"f-{n}"), f"c-{n}", f"f-{n}"
        )
        added = await self.http.post(
            f"/api/rooms/{room.id}/members",
            json={"user": room.second_client, "side": "client"},
            headers=self.server.platform.auth,
        )
        assert added.status_code == 201, added.text
        if setup is Setup.WAITING:
            return room
        claimed = await self.http.post(
            f"/api/rooms/{room.id}/claim",
            json={"moderator": MODERATOR},
            headers=self.server.platform.auth,
        )
        assert claimed.status_code == 200, claimed.text
        if setup is Setup.SHARED:
            await self.seed(room)
        elif setup in (Setup.FAILED, Setup.ARBITRATION):
            fail = {"type": "transition", "to": "mediation_failed", "reason": "matrix"}
            await self.act(room, MODERATOR, "moderator", fail)
            if setup is Setup.ARBITRATION:
                await self.act(room, room.client, "client", {"type": "opt_in"})
        elif setup is Setup.SPOKEN:
            frame = {"type": "send", "channel": "joint", "body": "my card is 4111"}
            room.edit_target = await self.act(room, room.client, "client", frame)
        elif setup is Setup.PROPOSED:
            room.proposal = await self.act(
                room,
                room.freelancer,
                "freelancer",
                {"type": "propose", "amount": "100", "currency": "EUR"},
            )
        return room

    async def seed(self, room: Room) -> None:
        """The client's message in joint, and a file of the client's in joint and its caucus."""
        room.edit_target = await self.act(
            room, room.client, "client", {"type": "send", "channel": "joint", "body": "seed"}
        )
        token = await self.room_token(room, room.client, "client")
        for channel in ("joint", "caucus:client"):
            room.files[channel] = await self.upload(room, token, channel)

    async def act(self, room: Room, user: str, role: str, frame: dict[str, Any]) -> int:
        """Store one record as `user`; its seq."""
        peer = await Peer.connect(self.server.ws_url)
        try:
            assert (await peer.hello(await self.room_token(room, user, role)))["type"] == "welcome"
            reply = await peer.act({**frame, "id": uuid.uuid4().hex})
            assert reply["type"] == "ack", reply
            seq: int = reply["seq"]
            return seq
        finally:
            await peer.close()

    async def upload(self, room: Room, token: str, channel: str = "joint") -> str:
        response = await self.http.post(
            f"/api/rooms/{room.id}/files",
            params={"channel": channel},
            content=pdf(2048),
            headers=bearer(token) | named("evidence.pdf"),
        )
        assert response.status_code == 201, response.text
        file_id: str = response.json()["file"]
        return file_id

    async def room_token(self, room: Room, user: str, role: str) -> str:
        key = (room.id, user, role)
        if key not in self.tokens:
            self.tokens[key] = await self.server.platform.token(room.id, user, role)
        return self.tokens[key]

    async def staff_token(self, user: str, role: str) -> str:
        key = ("*", user, role)
        if key not in self.tokens:
            body = {"user": user, "role": role, "purpose": PURPOSE if role == "auditor" else ""}
            response = await self.http.post(
                "/api/staff/tokens", json=body, headers=self.server.platform.auth
            )
            assert response.status_code == 201, response.text
            self.tokens[key] = response.json()["token"]
        return self.tokens[key]

    def expired(self, claims: dict[str, Any]) -> str:
        """A token of ours (signed with the server's secret) that expired 5 minutes ago."""
        now = int(time.time())
        key = OctKey.import_key(self.server.services.secrets.token_secret)
        full = {"iss": ISSUER, "iat": now - 900, "exp": now - 300, "jti": uuid.uuid4().hex}
        token: str = jwt.encode({"alg": ALGORITHM}, {**full, **claims}, key)
        return token

    async def revoked(self, token: str) -> str:
        """`token`, after the platform revoked it by its id (`POST /api/revocations`)."""
        key = OctKey.import_key(self.server.services.secrets.token_secret)
        jti = jwt.decode(token, key).claims["jti"]
        response = await self.http.post(
            "/api/revocations", json={"jti": jti}, headers=self.server.platform.auth
        )
        assert response.status_code == 201, response.text
        return token

    async def credential(self, who: Principal, room: Room, staff: bool) -> str | None:
        """What `who` presents: a room token of `room`, or (`staff`) its staff token."""
        match who:
            case Principal.CLIENT:
                return await self.room_token(room, room.client, "client")
            case Principal.FREELANCER:
                return await self.room_token(room, room.freelancer, "freelancer")
            case Principal.MODERATOR | Principal.AUDITOR:
                user = MODERATOR if who is Principal.MODERATOR else AUDITOR
                if staff:
                    return await self.staff_token(user, who.value)
                return await self.room_token(room, user, who.value)
            case Principal.STRANGER:
                return await self.room_token(self.c, self.c.client, "client")
            case Principal.EXPIRED:
                if staff:
                    claims = {"aud": STAFF_AUDIENCE, "sub": MODERATOR, "role": "moderator"}
                else:
                    claims = {"aud": AUDIENCE, "sub": room.client, "role": "client"}
                return self.expired({**claims, **({} if staff else {"room": room.id})})
            case Principal.REVOKED:
                if staff:
                    return await self.revoked(await self.fresh_staff_token())
                token = await self.server.platform.token(room.id, room.client, "client")
                return await self.revoked(token)
            case Principal.NONE:
                return None
            case Principal.PLATFORM:
                return self.server.platform.api_key
            case Principal.ARBITRATOR:
                return await self.room_token(room, ARBITRATOR, "arbitrator")
            case Principal.OBSERVER:
                if staff:
                    return await self.staff_token(OBSERVER, "observer")
                return await self.room_token(room, OBSERVER, "observer")
            case Principal.CLIENT_2:
                return await self.room_token(room, room.second_client, "client")

    async def fresh_staff_token(self) -> str:
        response = await self.http.post(
            "/api/staff/tokens",
            json={"user": MODERATOR, "role": "moderator"},
            headers=self.server.platform.auth,
        )
        token: str = response.json()["token"]
        return token


def uses_staff_token(action: Action) -> bool:
    """Staff call the queue, claim and join with their staff token; everything else in a
    room with their room token."""
    return action in (
        QUEUE,
        REPORTS,
        CLAIM,
        JOIN,
        REVIEW_INBOX,
        REVIEW_REPORT,
        MEMBERS,
        PROFILE,
        PROFILE_PUT,
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresDatabases,
) -> AsyncIterator[World]:
    data_dir: Path = tmp_path_factory.mktemp(f"matrix-{request.param}")
    url = await fresh_database(request.param, data_dir, postgres)
    settings = generous(
        Settings(data_dir=data_dir, database_url=url, port=free_port()), **LIMITS_OFF
    )
    async with serving(settings) as server:
        yield await World.open(server)


# -- performing one cell ---------------------------------------------------------------


async def targets(world: World, cell: Cell) -> tuple[Room, Room]:
    """(the room the principal's token names, the room it acts on)."""
    setup = cell.action.setup
    if setup is Setup.SHARED:
        return world.a, world.a if cell.scope is not Scope.OTHER else world.b
    target = await world.room(setup)
    return (target if cell.scope is not Scope.OTHER else world.a), target


def frame_for(action: Action, room: Room) -> dict[str, Any]:
    frame: dict[str, Any]
    if action in SEND.values():
        frame = {"type": "send", "channel": action.channel, "body": "matrix"}
    elif action in HISTORY.values():
        frame = {"type": "history", "channel": action.channel}
    elif action is EDIT:
        frame = {"type": "edit", "channel": "joint", "target": room.edit_target, "body": "edited"}
    elif action is TRANSITION:
        frame = {"type": "transition", "to": "escalated", "reason": "matrix"}
    elif action in (PROPOSE, PROPOSE_WAITING):
        frame = {"type": "propose", "amount": "250", "currency": "EUR"}
    elif action is RESPOND:
        frame = {"type": "respond", "proposal": room.proposal, "answer": "accept"}
    elif action is FLOOR:
        frame = {"type": "floor", "action": "mute", "party": "client", "minutes": 5}
    elif action is OPT_IN:
        frame = {"type": "opt_in"}
    elif action is DECIDE:
        frame = {"type": "decide", "amount": "75", "currency": "EUR", "reason": "matrix"}
    elif action is CO_MODERATOR:
        frame = {"type": "co_moderator", "user": "m-2"}
    elif action is REDACT:
        frame = {"type": "redact", "channel": "joint", "target": room.edit_target}
        frame["reason"] = "payment_data"
    else:
        raise AssertionError(f"no frame for {action.name}")
    return {**frame, "id": uuid.uuid4().hex}


async def on_socket(world: World, cell: Cell, token: str | None, room: Room) -> Outcome:
    peer = await Peer.connect(world.server.ws_url)
    try:
        reply = await peer.hello(token or "", room=room.id)
        if reply["type"] == "error":
            return Outcome(reply["code"], close=await peer.close_code_when_closed())
        role = Role(reply["you"]["role"])
        assert list(reply["head"]) == list(readable(role)), "head lists exactly what it may read"
        if cell.action is HELLO:
            return Outcome()
        frame = frame_for(cell.action, room)
        await peer.send_json(frame)
        while True:
            answer = await peer.next("ack", "error", "history")
            if answer.get("id") == frame["id"]:
                break
        if answer["type"] == "history":
            assert {m["channel"] for m in answer["messages"]} <= {cell.action.channel}
        return Outcome(answer["code"]) if answer["type"] == "error" else Outcome()
    finally:
        await peer.close()


async def on_http(world: World, cell: Cell, token: str | None, room: Room) -> Outcome:
    headers = bearer(token) if token else {}
    action, http = cell.action, world.http
    if action is EXPORT:
        response = await http.get(f"/api/rooms/{room.id}/export", headers=headers)
    elif action is UPLOAD:
        response = await http.post(
            f"/api/rooms/{room.id}/files",
            params={"channel": "joint"},
            content=pdf(1024),
            headers=headers | named("matrix.pdf"),
        )
    elif action in DOWNLOAD.values():
        file_id = room.files[action.channel]
        response = await http.get(f"/api/rooms/{room.id}/files/{file_id}", headers=headers)
    elif action is DELETE:
        file_id = await world.upload(room, await world.room_token(room, room.client, "client"))
        response = await http.delete(f"/api/rooms/{room.id}/files/{file_id}", headers=headers)
    elif action is CLAIM:
        body = {"moderator": MODERATOR} if cell.principal is Principal.PLATFORM else None
        response = await http.post(f"/api/rooms/{room.id}/claim", json=body, headers=headers)
    elif action is JOIN:
        response = await http.post(f"/api/rooms/{room.id}/join", headers=headers)
    elif action is QUEUE:
        response = await http.get("/api/queue", headers=headers)
    elif action is REPORTS:
        response = await http.get("/api/reports/rooms", headers=headers)
    elif action is REVIEW_INBOX:
        response = await http.get("/api/review/inbox", headers=headers)
    elif action is REVIEW_REPORT:
        response = await http.get("/api/reports/reviews", headers=headers)
    elif action is MEMBERS:
        person = {"user": f"p-{uuid.uuid4().hex[:12]}", "side": "freelancer"}
        response = await http.post(f"/api/rooms/{room.id}/members", json=person, headers=headers)
    elif action in (PROFILE, PROFILE_PUT):
        url, profile = f"/api/moderators/{MODERATOR}", {"languages": ["en"], "tier": 1}
        made = await http.put(url, json=profile, headers=world.server.platform.auth)
        assert made.status_code in (200, 201), made.text  # so there is one to read
        if action is PROFILE:
            response = await http.get(url, headers=headers)
        else:
            response = await http.put(url, json=profile, headers=headers)
    else:
        raise AssertionError(f"no request for {action.name}")
    if response.status_code < 400:
        return Outcome(status=response.status_code)
    return Outcome(response.json()["error"]["code"], response.status_code)


async def attempt(world: World, cell: Cell) -> Outcome:
    token_room, room = await targets(world, cell)
    token = await world.credential(cell.principal, token_room, uses_staff_token(cell.action))
    if cell.action.transport is Transport.SOCKET:
        return await on_socket(world, cell, token, room)
    return await on_http(world, cell, token, room)


@pytest.mark.parametrize("cell", [pytest.param(c, id=c.id) for c in cells()])
async def test_authorization_matrix(world: World, cell: Cell) -> None:
    outcome = await attempt(world, cell)
    assert outcome == cell.expected, f"{cell.id}: expected {cell.expected}, got {outcome}"


def test_the_matrix_covers_every_principal_action_and_scope() -> None:
    """One table, no holes: every action has a cell for every principal in each scope."""
    table = cells()
    actions = {c.action for c in table}
    assert {c.principal for c in table} == set(Principal)
    for action in actions:
        scopes = {c.scope for c in table if c.action is action}
        assert scopes in ({Scope.OWN, Scope.OTHER}, {Scope.ANY}), action.name
    assert len(table) == len({c.id for c in table})
