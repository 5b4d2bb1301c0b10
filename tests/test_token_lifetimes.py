"""Tokens end when they say, or when revoked (issue 12, F6).

A socket closes with 4401 when its token expires, unless the client sent a
fresh `token` before; a revoked token (one by its `jti`, or all of a person's
in a room) closes its sockets at once, on every process, and is refused at
`hello` and over HTTP from then on; a room token minted through `/join`
never outlives the staff token it came from.
"""

import asyncio
import base64
import dataclasses
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from mediation.auth.revocations import Revocations
from mediation.auth.tokens import InvalidToken, TokenIssuer
from mediation.config import Settings
from rooms.broker import Revoked
from rooms.visibility import Role
from tests.conftest import RunningServer, ServerFactory
from tests.peers import Peer
from tests.server_process import API_KEY
from tests.test_scale_out import (  # noqa: F401 (fixtures)
    SHARED_REDIS,
    pg_url,
    redis_prefix,
    two_nodes,
)


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    found: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return found


def unix(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def joined(server: RunningServer, token: str) -> tuple[Peer, dict[str, Any]]:
    peer = await Peer.connect(server.ws_url)
    welcome = await peer.hello(token)
    assert welcome["type"] == "welcome", welcome
    return peer, welcome


async def closed_with(peer: Peer, timeout: float = 6.0) -> tuple[int | None, list[str]]:
    """The close code, and the messages of the errors that came before it."""
    code = await peer.close_code_when_closed(timeout)
    return code, [f["message"] for f in peer.received if f["type"] == "error"]


async def revoke(http: httpx.AsyncClient, **body: str) -> dict[str, Any]:
    response = await http.post(
        "/api/revocations", json=body, headers={"authorization": f"Bearer {API_KEY}"}
    )
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture
def short_lived(settings: Settings) -> Settings:
    """Tokens end at their `exp`, without the clock-skew leeway."""
    return dataclasses.replace(settings, token_leeway=0, api_key=API_KEY)


async def test_a_socket_closes_with_4401_when_its_token_expires(
    start_server: ServerFactory, short_lived: Settings
) -> None:
    server = await start_server(short_lived)
    room = await server.platform.open_room("T-1")
    token = await server.platform.token(room, "c-1", "client", ttl=2)
    peer, welcome = await joined(server, token)
    await peer.send("before", "joint", "still in time")
    assert (await peer.next("ack"))["id"] == "before"
    code, errors = await closed_with(peer)
    assert code == 4401
    assert errors == ["token expired"]
    assert time.time() >= claims(token)["exp"]
    assert unix(welcome["expires_at"]) == claims(token)["exp"]  # the welcome said when


async def test_a_fresh_token_keeps_the_socket_open_past_the_first_expiry(
    start_server: ServerFactory, short_lived: Settings
) -> None:
    server = await start_server(short_lived)
    room = await server.platform.open_room("T-1")
    token = await server.platform.token(room, "c-1", "client", ttl=2)
    peer, _ = await joined(server, token)
    # a token of someone else, or a bad one, is refused and changes nothing
    other = await server.platform.token(room, "f-1", "freelancer", ttl=60)
    await peer.send_json({"type": "token", "token": other, "id": "t-other"})
    assert (await peer.next("error"))["code"] == "forbidden"
    await peer.send_json({"type": "token", "token": "not a token", "id": "t-bad"})
    assert (await peer.next("error"))["code"] == "unauthorized"
    fresh = await server.platform.token(room, "c-1", "client", ttl=60)
    await peer.send_json({"type": "token", "token": fresh, "id": "t-1"})
    reply = await peer.next("token", "error")
    assert (reply["type"], reply["id"]) == ("token", "t-1"), reply
    assert unix(reply["expires_at"]) == claims(fresh)["exp"]
    await asyncio.sleep(max(0.0, claims(token)["exp"] - time.time()) + 1.0)
    await peer.send("after", "joint", "past the first expiry")
    assert (await peer.next("ack", "error"))["type"] == "ack"


async def test_removing_a_person_closes_their_sockets_and_refuses_their_tokens(
    start_server: ServerFactory, short_lived: Settings
) -> None:
    server = await start_server(short_lived)
    room = await server.platform.open_room("T-1")
    token = await server.platform.token(room, "c-1", "client")
    first, _ = await joined(server, token)
    second, _ = await joined(server, await server.platform.token(room, "c-1", "client"))
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    answer = await revoke(server.platform.http, user="c-1", room=room)
    assert (answer["user"], answer["room"]) == ("c-1", room)
    for peer in (first, second):
        assert await closed_with(peer, timeout=3) == (4401, ["token revoked"])
    # the others stay
    await freelancer.send("f-0", "joint", "still here")
    assert (await freelancer.next("ack"))["id"] == "f-0"
    # the old tokens are refused; a token minted after the removal lets them back in
    again = await Peer.connect(server.ws_url)
    reply = await again.hello(token)
    assert (reply["type"], reply["message"]) == ("error", "token revoked")
    assert await again.close_code_when_closed() == 4401
    await asyncio.sleep(1.05)  # a removal covers tokens issued up to its second
    await joined(server, await server.platform.token(room, "c-1", "client"))


async def test_revoking_one_token_by_its_jti(
    start_server: ServerFactory, short_lived: Settings
) -> None:
    server = await start_server(short_lived)
    http = server.platform.http
    room = await server.platform.open_room("T-1")
    minted = await http.post(
        f"/api/rooms/{room}/tokens",
        json={"user": "c-1", "role": "client"},
        headers=server.platform.auth,
    )
    token, jti = minted.json()["token"], minted.json()["jti"]
    assert claims(token)["jti"] == jti
    revoked_one, _ = await joined(server, token)
    other_device, _ = await joined(server, await server.platform.token(room, "c-1", "client"))
    await revoke(http, jti=jti)
    assert await closed_with(revoked_one, timeout=3) == (4401, ["token revoked"])
    await other_device.send("m-1", "joint", "my other token still works")
    assert (await other_device.next("ack"))["id"] == "m-1"
    # a revoked staff token is refused over HTTP
    staff = await http.post(
        "/api/staff/tokens",
        json={"user": "mod-1", "role": "moderator"},
        headers=server.platform.auth,
    )
    staff_token = staff.json()["token"]
    queue = await http.get("/api/queue", headers={"authorization": f"Bearer {staff_token}"})
    assert queue.status_code == 200
    await revoke(http, jti=staff.json()["jti"])
    queue = await http.get("/api/queue", headers={"authorization": f"Bearer {staff_token}"})
    assert queue.status_code == 401
    assert "revoked" in queue.json()["error"]["message"]


async def test_revocations_survive_a_restart(
    start_server: ServerFactory, short_lived: Settings
) -> None:
    server = await start_server(short_lived)
    room = await server.platform.open_room("T-1")
    token = await server.platform.token(room, "c-1", "client")
    await revoke(server.platform.http, jti=claims(token)["jti"])
    # another process on the same database, started afterwards, knows it from the database
    from tests.conftest import free_port

    later = await start_server(dataclasses.replace(short_lived, port=free_port()))
    peer = await Peer.connect(later.ws_url)
    reply = await peer.hello(token)
    assert (reply["type"], reply["message"]) == ("error", "token revoked")


async def test_a_room_token_from_join_never_outlives_the_staff_token(
    start_server: ServerFactory, short_lived: Settings
) -> None:
    server = await start_server(short_lived)
    http = server.platform.http
    room = await server.platform.open_room("T-1")
    staff = await http.post(
        "/api/staff/tokens",
        json={"user": "mod-1", "role": "moderator", "ttl": 60},
        headers=server.platform.auth,
    )
    staff_token = staff.json()["token"]
    joined_room = await http.post(
        f"/api/rooms/{room}/join", headers={"authorization": f"Bearer {staff_token}"}
    )
    assert joined_room.status_code == 201, joined_room.text
    room_token = joined_room.json()["token"]
    assert claims(room_token)["exp"] <= claims(staff_token)["exp"]
    assert unix(joined_room.json()["expires_at"]) <= unix(staff.json()["expires_at"])


def test_removing_a_user_from_every_room_revokes_their_staff_and_room_tokens() -> None:
    revocations = Revocations()
    issuer = TokenIssuer(b"a secret of sufficient length, for tests", 3600, revoked=revocations)
    room_token, _ = issuer.mint("r_1", "mod-1", Role.MODERATOR)
    staff_token, _ = issuer.mint_staff("mod-1", Role.MODERATOR)
    colleague, _ = issuer.mint("r_1", "mod-2", Role.MODERATOR)
    now = int(time.time())
    revocations.add(Revoked("", "", "mod-1", now, now + 60))
    with pytest.raises(InvalidToken, match="revoked"):
        issuer.verify(room_token)
    with pytest.raises(InvalidToken, match="revoked"):
        issuer.verify_staff(staff_token)
    assert issuer.verify(colleague).user == "mod-2"
    # forgotten once every token it covers has expired anyway
    revocations.forget_expired(now + 61)
    assert issuer.verify(room_token).user == "mod-1"


@pytest.mark.slow
async def test_a_revocation_closes_sockets_on_every_process(
    tmp_path: Path,
    pg_url: str,  # noqa: F811
    redis_prefix: str,  # noqa: F811
) -> None:
    prefix = {"MEDIATION_REDIS_PREFIX": redis_prefix}
    async with (
        two_nodes(tmp_path, pg_url, SHARED_REDIS, **prefix) as (a, b),
        httpx.AsyncClient(base_url=a.base_url) as http_a,
        httpx.AsyncClient(base_url=b.base_url) as http_b,
    ):
        auth = {"authorization": f"Bearer {API_KEY}"}
        ticket = {"provider": "local", "id": "T-1"}
        body = {"ticket": ticket, "client": "c-1", "freelancer": "f-1"}
        opened = await http_a.post("/api/rooms", json=body, headers=auth)
        room = opened.json()["id"]

        async def token(user: str, role: str) -> str:
            minted = await http_a.post(
                f"/api/rooms/{room}/tokens", json={"user": user, "role": role}, headers=auth
            )
            found: str = minted.json()["token"]
            return found

        client_token = await token("c-1", "client")
        on_a = await Peer.connect(a.ws_url)
        on_b = await Peer.connect(b.ws_url)
        for peer in (on_a, on_b):
            assert (await peer.hello(client_token))["type"] == "welcome"
        freelancer = await Peer.connect(b.ws_url)
        assert (await freelancer.hello(await token("f-1", "freelancer")))["type"] == "welcome"
        await revoke(http_a, user="c-1", room=room)
        for peer in (on_a, on_b):
            assert await closed_with(peer, timeout=3) == (4401, ["token revoked"])
        # process b refuses the token too, at hello and over HTTP
        again = await Peer.connect(b.ws_url)
        assert (await again.hello(client_token))["message"] == "token revoked"
        files = await http_b.get(
            f"/api/rooms/{room}/files/f_none", headers={"authorization": f"Bearer {client_token}"}
        )
        assert files.status_code == 401, files.text
        await freelancer.send("f-0", "joint", "the freelancer stays")
        assert (await freelancer.next("ack"))["id"] == "f-0"
