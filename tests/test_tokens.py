"""Room tokens at the socket: only a valid, unexpired token of ours, in `hello`, joins a room.

Each refused hello gets one `error` frame with a stable code, then the close
code that goes with it; the room's participants hear nothing of the attempt.
"""

import base64
import dataclasses
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from mediation.auth.tokens import ALGORITHM, AUDIENCE, ISSUER, LEEWAY, TokenIssuer
from mediation.config import Settings
from mediation.protocol.codes import CloseCode
from rooms.visibility import Role
from tests.conftest import RunningServer, ServerFactory
from tests.peers import Peer

# helpers


async def refused(server: RunningServer, token: str, code: str, close: int) -> dict[str, Any]:
    """A hello with `token` gets an `error` with `code`, then the socket closes with `close`."""
    peer = await Peer.connect(server.ws_url)
    reply = await peer.hello(token)
    assert (reply["type"], reply["code"]) == ("error", code), reply
    assert await peer.close_code_when_closed() == close
    assert [f["type"] for f in peer.received] == ["error"]
    return reply


async def room_with_moderator(server: RunningServer) -> tuple[str, Peer]:
    """A room, watched by a moderator who would hear of anyone joining it."""
    room = await server.platform.open_room("T-1", client="c-1", freelancer="f-1")
    moderator, _ = await server.peer(room, "mod-1", "moderator")
    return room, moderator


async def nobody_joined(server: RunningServer, room: str, moderator: Peer) -> None:
    """The moderator heard of no one, and can still talk with the real client."""
    assert [f for f in await moderator.drain(0.2) if f["type"] == "presence"] == []
    client, welcome = await server.peer(room, "c-1", "client")
    online = [p["user"] for p in welcome["room"]["participants"] if p["online"]]
    assert sorted(online) == ["c-1", "mod-1"]
    await client.send("hi", "joint", "hello")
    assert (await client.next("ack"))["seq"] == 1
    assert (await moderator.next("message"))["id"] == "hi"


def signed(server: RunningServer, claims: dict[str, Any]) -> str:
    """A token with these claims, signed with the server's own secret."""
    key = OctKey.import_key(server.services.secrets.token_secret)
    token: str = jwt.encode({"alg": ALGORITHM}, claims, key)
    return token


def claims_for(room: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "mod-9",
        "room": room,
        "role": "moderator",
        "iat": now,
        "exp": now + 600,
    }
    for name, value in (changes or {}).items():
        if value is None:
            claims.pop(name)
        else:
            claims[name] = value
    return claims


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


# refused tokens


async def test_an_expired_token_is_unauthorized(server: RunningServer) -> None:
    room, moderator = await room_with_moderator(server)
    token, _ = server.services.tokens.mint(room, "c-1", Role.CLIENT, ttl=-(LEEWAY + 90))
    reply = await refused(server, token, "unauthorized", CloseCode.UNAUTHORIZED)
    assert "expired" in reply["message"]
    await nobody_joined(server, room, moderator)


async def test_a_token_just_past_expiry_is_within_the_clock_skew_leeway(
    server: RunningServer,
) -> None:
    room, _ = await room_with_moderator(server)
    token, _ = server.services.tokens.mint(room, "c-1", Role.CLIENT, ttl=-(LEEWAY // 3))
    peer = await Peer.connect(server.ws_url)
    assert (await peer.hello(token))["type"] == "welcome"


async def test_a_token_signed_with_another_secret_is_unauthorized(server: RunningServer) -> None:
    room, moderator = await room_with_moderator(server)
    forger = TokenIssuer(b"not the server's secret, but long enough", 3600)
    token, _ = forger.mint(room, "c-1", Role.CLIENT)
    await refused(server, token, "unauthorized", CloseCode.UNAUTHORIZED)
    await nobody_joined(server, room, moderator)


async def test_a_token_whose_claims_were_edited_is_unauthorized(server: RunningServer) -> None:
    room, moderator = await room_with_moderator(server)
    token = await server.platform.token(room, "c-1", "client")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "moderator"
    await refused(
        server, f"{header}.{b64(claims)}.{signature}", "unauthorized", CloseCode.UNAUTHORIZED
    )
    await nobody_joined(server, room, moderator)


async def test_an_unsigned_token_is_unauthorized(server: RunningServer) -> None:
    room, moderator = await room_with_moderator(server)
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims_for(room))}."
    await refused(server, token, "unauthorized", CloseCode.UNAUTHORIZED)
    await nobody_joined(server, room, moderator)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"room": None}, id="no-room"),
        pytest.param({"sub": None}, id="no-sub"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"role": None}, id="no-role"),
        pytest.param({"role": "admin"}, id="unknown-role"),
        pytest.param({"aud": "someone.else"}, id="wrong-audience"),
        pytest.param({"iss": "someone-else"}, id="wrong-issuer"),
    ],
)
async def test_a_signed_token_with_bad_claims_is_unauthorized(
    server: RunningServer, changes: dict[str, str | None]
) -> None:
    room, moderator = await room_with_moderator(server)
    token = signed(server, claims_for(room, changes))
    await refused(server, token, "unauthorized", CloseCode.UNAUTHORIZED)
    await nobody_joined(server, room, moderator)


async def test_a_hand_signed_token_with_good_claims_joins(server: RunningServer) -> None:
    """The control for the test above: the same recipe, claims intact, is accepted."""
    room, _ = await room_with_moderator(server)
    peer = await Peer.connect(server.ws_url)
    welcome = await peer.hello(signed(server, claims_for(room)))
    assert welcome["type"] == "welcome", welcome
    assert welcome["you"] == {"user": "mod-9", "role": "moderator"}


@pytest.mark.parametrize("token", ["garbage", "", "a.b.c", "e30.e30.", "🙂"])
async def test_a_garbage_token_is_unauthorized(server: RunningServer, token: str) -> None:
    room, moderator = await room_with_moderator(server)
    await refused(server, token, "unauthorized", CloseCode.UNAUTHORIZED)
    await nobody_joined(server, room, moderator)


async def test_a_hello_without_a_token_is_invalid_and_joins_nothing(server: RunningServer) -> None:
    room, moderator = await room_with_moderator(server)
    peer = await Peer.connect(server.ws_url)
    await peer.send_json({"type": "hello", "since": {}})
    reply = await peer.next("welcome", "error")
    assert (reply["type"], reply["code"]) == ("error", "invalid"), reply
    # not joined: a send is refused as before any hello
    await peer.send("x", "joint", "let me in")
    reply = await peer.next("ack", "error")
    assert (reply["type"], reply["code"], reply["id"]) == ("error", "unauthorized", "x"), reply
    await nobody_joined(server, room, moderator)
    await peer.close()  # an open socket would hold the server's shutdown for 5 s


@pytest.mark.parametrize(
    ("user", "role"),
    [("mallory", "client"), ("mallory", "freelancer"), ("f-1", "client"), ("c-1", "freelancer")],
)
async def test_a_party_token_for_someone_not_that_party_is_forbidden(
    server: RunningServer, user: str, role: str
) -> None:
    room, moderator = await room_with_moderator(server)
    token, _ = server.services.tokens.mint(room, user, Role(role))
    await refused(server, token, "forbidden", CloseCode.FORBIDDEN)
    await nobody_joined(server, room, moderator)


async def test_a_refused_hello_leaves_no_live_room_behind(server: RunningServer) -> None:
    room = await server.platform.open_room("T-1", client="c-1", freelancer="f-1")
    token, _ = server.services.tokens.mint(room, "mallory", Role.CLIENT)
    await refused(server, token, "forbidden", CloseCode.FORBIDDEN)
    assert room not in server.services.hub.rooms


# accepted tokens


@pytest.mark.parametrize("role", ["moderator", "auditor"])
async def test_staff_tokens_join_with_any_user_id(server: RunningServer, role: str) -> None:
    room = await server.platform.open_room("T-1", client="c-1", freelancer="f-1")
    client, _ = await server.peer(room, "c-1", "client")
    token, _ = server.services.tokens.mint(room, "staff-4711@support", Role(role))
    peer = await Peer.connect(server.ws_url)
    welcome = await peer.hello(token)
    assert welcome["type"] == "welcome", welcome
    assert welcome["you"] == {"user": "staff-4711@support", "role": role}
    assert welcome["room"]["id"] == room
    assert set(welcome["head"]) == {"joint", "caucus:client", "caucus:freelancer", "notes", "room"}
    await client.send("hi", "joint", "hello staff")
    assert (await peer.next("message"))["id"] == "hi"


async def test_a_token_in_the_query_string_is_ignored(
    start_server: ServerFactory, settings: Settings
) -> None:
    server = await start_server(dataclasses.replace(settings, hello_timeout=0.5))
    room, moderator = await room_with_moderator(server)
    token = await server.platform.token(room, "c-1", "client")
    peer = await Peer.connect(f"{server.ws_url}?token={token}")
    assert await peer.close_code_when_closed() == CloseCode.HELLO_TIMEOUT == 4408  # type: ignore[comparison-overlap]  # the enum is the wire code
    assert peer.received == []  # no welcome, no replay, no presence
    assert [f for f in await moderator.drain(0.2) if f["type"] == "presence"] == []
    online = [sub.member.user for sub in server.services.hub.rooms[room].subs.values()]
    assert online == ["mod-1"]
