"""Bad input over a real socket: a stable `error` code, nothing stored, and everyone carries on.

After each bad input the test proves that the offending socket (when it stays
open) and another participant can still exchange a message, and that the
bad input left no record: `heads` names only what was really sent (and, in
the `room` channel, one `joined` record per person who came in), and the
next good message takes the next `seq`.
"""

import asyncio
import dataclasses
import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from mediation.config import Settings
from mediation.protocol.codes import CloseCode
from rooms.visibility import Role
from tests.conftest import RunningServer, ServerFactory
from tests.peers import Peer

# helpers


async def expect_error(peer: Peer, code: str, cid: str | None = None) -> dict[str, Any]:
    """The next ack or error is an error with `code` (and names `cid`, when given)."""
    frame = await peer.next("error", "ack", "welcome")
    assert frame["type"] == "error", frame
    assert frame["code"] == code, frame
    assert isinstance(frame["message"], str), frame
    assert frame["message"], frame
    if cid is not None:
        assert frame.get("id") == cid, frame
    return frame


async def exchange(sender: Peer, receiver: Peer, cid: str, channel: str = "joint") -> int:
    """`sender` posts a message that `receiver` gets; both agree on its seq, which is returned."""
    body = f"body of {cid}"
    await sender.send(cid, channel, body)
    ack = await sender.next("ack", "error")
    assert (ack["type"], ack["id"]) == ("ack", cid), ack
    got = await receiver.next("message")
    assert (got["id"], got["body"], got["channel"]) == (cid, body, channel), got
    assert got["seq"] == ack["seq"]
    seq: int = ack["seq"]
    return seq


async def parties(server: RunningServer, ticket: str = "T-1") -> tuple[str, Peer, Peer]:
    """A room with both parties in, and both their `joined` records stored."""
    room = await server.platform.open_room(ticket)
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    await client.saw_join("f-1", "freelancer")
    return room, client, freelancer


async def keep_sending(peer: Peer, text: str, every: float, times: int) -> None:
    for _ in range(times):
        await peer.ws.send(text)
        await asyncio.sleep(every)


def presence_of(frames: list[dict[str, Any]], user: str) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "presence" and f["user"] == user]


async def heads(server: RunningServer, room: str) -> dict[str, int]:
    found: dict[str, int] = await server.services.store.heads(room)
    return found


# malformed frames from a joined participant


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("this is not json", id="not-json"),
        pytest.param('{"type": "send", "id": "x", "channel": "joint", "body": "b"', id="truncated"),
        pytest.param("", id="empty"),
        pytest.param("[1, 2, 3]", id="json-array"),
        pytest.param('"hello"', id="json-string"),
        pytest.param('{"id": "x", "channel": "joint", "body": "b"}', id="no-type"),
    ],
)
async def test_text_that_is_no_frame_is_invalid(server: RunningServer, raw: str) -> None:
    room, client, freelancer = await parties(server)
    await client.ws.send(raw)
    await expect_error(client, "invalid")
    assert await exchange(client, freelancer, "after-1") == 1
    assert await exchange(freelancer, client, "after-2") == 2
    assert await heads(server, room) == {"joint": 2, "room": 2}


async def test_binary_frame_is_invalid(server: RunningServer) -> None:
    room, client, freelancer = await parties(server)
    await client.ws.send(
        json.dumps({"type": "send", "id": "bin", "channel": "joint", "body": "as bytes"}).encode()
    )
    await expect_error(client, "invalid")
    assert await exchange(client, freelancer, "after-1") == 1
    assert await exchange(freelancer, client, "after-2") == 2
    assert [m["id"] for m in freelancer.messages()] == ["after-1"]
    assert await heads(server, room) == {"joint": 2, "room": 2}


async def test_unknown_type_is_invalid(server: RunningServer) -> None:
    room, client, freelancer = await parties(server)
    await client.send_json({"type": "shout", "id": "u1", "channel": "joint", "body": "HEY"})
    await expect_error(client, "invalid")
    assert await exchange(client, freelancer, "after-1") == 1
    assert await exchange(freelancer, client, "after-2") == 2
    assert await heads(server, room) == {"joint": 2, "room": 2}


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param({"type": "send", "id": "m1", "channel": "joint"}, id="no-body"),
        pytest.param({"type": "send", "id": "m1", "body": "b"}, id="no-channel"),
        pytest.param({"type": "send", "id": "m1", "channel": "joint", "body": 7}, id="int-body"),
        pytest.param({"type": "send", "id": "m1", "channel": None, "body": "b"}, id="null-channel"),
    ],
)
async def test_send_with_missing_or_mistyped_fields_is_invalid_and_names_its_id(
    server: RunningServer, frame: dict[str, Any]
) -> None:
    room, client, freelancer = await parties(server)
    await client.send_json(frame)
    await expect_error(client, "invalid", cid="m1")
    assert await exchange(client, freelancer, "after-1") == 1
    assert await exchange(freelancer, client, "after-2") == 2
    assert await heads(server, room) == {"joint": 2, "room": 2}


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param({"type": "send", "channel": "joint", "body": "b"}, id="no-id"),
        pytest.param({"type": "send", "id": "", "channel": "joint", "body": "b"}, id="empty-id"),
        pytest.param(
            {"type": "send", "id": "x" * 65, "channel": "joint", "body": "b"}, id="id-too-long"
        ),
    ],
)
async def test_send_without_a_usable_id_is_invalid(
    server: RunningServer, frame: dict[str, Any]
) -> None:
    room, client, freelancer = await parties(server)
    await client.send_json(frame)
    await expect_error(client, "invalid")
    assert await exchange(client, freelancer, "after-1") == 1
    assert await heads(server, room) == {"joint": 1, "room": 2}


# the hello handshake


async def test_send_before_hello_is_unauthorized_and_a_later_hello_works(
    server: RunningServer,
) -> None:
    room, client, freelancer = await parties(server)
    moderator = await Peer.connect(server.ws_url)
    await moderator.send("early", "joint", "too soon")
    await expect_error(moderator, "unauthorized", cid="early")
    welcome = await moderator.hello(await server.platform.token(room, "mod-1", "moderator"))
    assert welcome["type"] == "welcome", welcome
    assert welcome["head"] == {
        "joint": 0,
        "caucus:client": 0,
        "caucus:freelancer": 0,
        "notes": 0,
        "room": 2,  # the parties' joined records
    }
    assert await exchange(moderator, client, "after-1") == 1
    assert [m["id"] for m in freelancer.messages()] == []
    assert (await freelancer.next("message"))["id"] == "after-1"
    assert await exchange(client, freelancer, "after-2") == 2
    assert await heads(server, room) == {"joint": 2, "room": 3}


async def test_a_second_hello_is_invalid(server: RunningServer) -> None:
    room, client, freelancer = await parties(server)
    token = await server.platform.token(room, "c-1", "client")
    await client.send_json({"type": "hello", "token": token, "since": {}})
    await expect_error(client, "invalid")
    assert await exchange(client, freelancer, "after-1") == 1
    assert await exchange(freelancer, client, "after-2") == 2
    assert [f["type"] for f in client.received].count("welcome") == 1  # only the first hello's
    assert await heads(server, room) == {"joint": 2, "room": 2}


async def test_a_negative_since_is_invalid(server: RunningServer) -> None:
    room, client, freelancer = await parties(server)
    moderator = await Peer.connect(server.ws_url)
    token = await server.platform.token(room, "mod-1", "moderator")
    refused = await moderator.hello(token, since={"joint": -1})
    assert (refused["type"], refused["code"]) == ("error", "invalid"), refused
    # not joined: a send is still refused, and nobody heard of the moderator
    await moderator.send("early", "joint", "x")
    await expect_error(moderator, "unauthorized", cid="early")
    assert not presence_of(await client.drain(0.2), "mod-1")
    assert ("mod-1", "moderator") not in client.joins()
    # the socket is still usable for a correct hello
    welcome = await moderator.hello(token, since={"joint": 0})
    assert welcome["type"] == "welcome", welcome
    assert await exchange(moderator, freelancer, "after-1") == 1
    assert await exchange(client, moderator, "after-2") == 2
    assert await heads(server, room) == {"joint": 2, "room": 3}  # the moderator joined once


async def test_a_hello_for_a_room_that_does_not_exist_closes_4404(server: RunningServer) -> None:
    room, client, freelancer = await parties(server)
    token, _ = server.services.tokens.mint("r_nope", "u", Role.MODERATOR)
    stranger = await Peer.connect(server.ws_url)
    refused = await stranger.hello(token)
    assert (refused["type"], refused["code"]) == ("error", "not_found"), refused
    assert await stranger.close_code_when_closed() == CloseCode.NOT_FOUND == 4404  # type: ignore[comparison-overlap]  # the enum is the wire code
    assert await server.services.store.room("r_nope") is None
    assert await exchange(client, freelancer, "after-1") == 1
    assert await heads(server, room) == {"joint": 1, "room": 2}


async def test_a_hello_naming_another_room_than_the_tokens_closes_4401(
    server: RunningServer,
) -> None:
    room, client, freelancer = await parties(server)
    other = await server.platform.open_room("T-2", client="c-2", freelancer="f-2")
    moderator = await Peer.connect(server.ws_url)
    token = await server.platform.token(room, "mod-1", "moderator")
    refused = await moderator.hello(token, room=other)
    assert (refused["type"], refused["code"]) == ("error", "unauthorized"), refused
    assert await moderator.close_code_when_closed() == CloseCode.UNAUTHORIZED == 4401  # type: ignore[comparison-overlap]  # the enum is the wire code
    assert not presence_of(await client.drain(0.2), "mod-1")
    assert ("mod-1", "moderator") not in client.joins()
    # naming the token's own room is fine
    again = await Peer.connect(server.ws_url)
    assert (await again.hello(token, room=room))["type"] == "welcome"
    assert await exchange(client, again, "after-1") == 1
    assert await exchange(freelancer, client, "after-2") == 2
    assert await heads(server, room) == {"joint": 2, "room": 3}  # the moderator joined once
    assert await heads(server, other) == {}


# body size


async def test_a_body_over_the_default_limit_is_too_large_and_at_the_limit_is_accepted(
    server: RunningServer,
) -> None:
    limit = server.settings.max_body_bytes
    assert limit == 16 * 1024
    room, client, freelancer = await parties(server)
    await client.send("big", "joint", "x" * (limit + 1))
    await expect_error(client, "too_large", cid="big")
    await client.send("fits", "joint", "y" * limit)
    ack = await client.next("ack", "error")
    assert (ack["type"], ack["id"], ack["seq"]) == ("ack", "fits", 1), ack
    got = await freelancer.next("message")
    assert (got["id"], got["seq"], len(got["body"])) == ("fits", 1, limit)
    assert await exchange(client, freelancer, "after-1") == 2
    assert await heads(server, room) == {"joint": 2, "room": 2}


async def test_the_body_limit_counts_utf8_bytes(
    start_server: ServerFactory, settings: Settings
) -> None:
    server = await start_server(dataclasses.replace(settings, max_body_bytes=64))
    room, client, freelancer = await parties(server)
    await client.send("wide", "joint", "é" * 33)  # 33 characters, 66 bytes
    await expect_error(client, "too_large", cid="wide")
    await client.send("over", "joint", "x" * 65)
    await expect_error(client, "too_large", cid="over")
    await client.send("exact", "joint", "é" * 32)  # 64 bytes
    ack = await client.next("ack", "error")
    assert (ack["type"], ack["id"], ack["seq"]) == ("ack", "exact", 1), ack
    assert (await freelancer.next("message"))["body"] == "é" * 32
    assert await exchange(freelancer, client, "after-1") == 2
    assert [m["id"] for m in freelancer.messages()] == ["exact"]
    assert await heads(server, room) == {"joint": 2, "room": 2}


async def test_a_frame_over_max_frame_bytes_closes_1009(
    start_server: ServerFactory, settings: Settings
) -> None:
    server = await start_server(
        dataclasses.replace(settings, max_frame_bytes=8 * 1024, max_body_bytes=16 * 1024)
    )
    room, client, freelancer = await parties(server)
    await client.send("huge", "joint", "x" * (9 * 1024))
    assert await client.close_code_when_closed() == CloseCode.MESSAGE_TOO_BIG == 1009  # type: ignore[comparison-overlap]  # the enum is the wire code
    # the freelancer is told the client left, and carries on with a new socket of the client
    left = await freelancer.next("presence")
    assert (left["user"], left["online"]) == ("c-1", False), left
    assert [m for m in freelancer.messages() if m["id"] == "huge"] == []
    client2, _ = await server.peer(room, "c-1", "client")
    assert await exchange(freelancer, client2, "after-1") == 1
    assert await exchange(client2, freelancer, "after-2") == 2
    assert await heads(server, room) == {"joint": 2, "room": 2}  # the client's rejoin adds none


# who may write where


@pytest.mark.parametrize(
    ("role", "channel"),
    [
        ("client", "caucus:freelancer"),
        ("freelancer", "caucus:client"),
        ("freelancer", "notes"),
        ("client", "notes"),
    ],
)
async def test_writing_to_a_channel_the_sender_may_not_is_forbidden(
    server: RunningServer, role: str, channel: str
) -> None:
    room, client, freelancer = await parties(server)
    moderator, _ = await server.peer(room, "mod-1", "moderator")
    sender, other = (client, freelancer) if role == "client" else (freelancer, client)
    await sender.send("sneaky", channel, "psst")
    await expect_error(sender, "forbidden", cid="sneaky")
    assert await exchange(sender, other, "after-1") == 1
    assert await exchange(other, sender, "after-2") == 2
    # the moderator, who reads every channel, never saw the refused message
    assert [m["id"] for m in await moderator.drain(0.2) if m["type"] == "message"] == [
        "after-1",
        "after-2",
    ]
    # and the channel is still empty: the moderator's first message there is seq 1
    await moderator.send("mod-1", channel, "first here")
    ack = await moderator.next("ack", "error")
    assert (ack["type"], ack["seq"]) == ("ack", 1), ack
    assert await heads(server, room) == {"joint": 2, channel: 1, "room": 3}


@pytest.mark.parametrize("role", ["client", "freelancer", "moderator", "auditor"])
async def test_nobody_may_write_the_room_channel_only_the_server_does(
    server: RunningServer, role: str
) -> None:
    room, client, freelancer = await parties(server)
    if role in ("client", "freelancer"):
        sender = client if role == "client" else freelancer
    else:
        sender, _ = await server.peer(room, f"{role}-1", role)
    await sender.send("forged", "room", "{}")
    await expect_error(sender, "forbidden", cid="forged")  # a known channel: not `invalid`
    assert await exchange(client, freelancer, "after-1") == 1
    assert await exchange(freelancer, client, "after-2") == 2
    assert [m["id"] for m in freelancer.messages()] == ["after-1"]
    assert [m["id"] for m in client.messages()] == ["after-2"]
    joins = 3 if role == "moderator" else 2  # auditors leave no joined record
    assert await heads(server, room) == {"joint": 2, "room": joins}


async def test_an_unknown_channel_is_invalid(server: RunningServer) -> None:
    room, client, freelancer = await parties(server)
    await client.send("lost", "lobby", "anyone?")
    await expect_error(client, "invalid", cid="lost")
    assert await exchange(client, freelancer, "after-1") == 1
    assert await exchange(freelancer, client, "after-2") == 2
    assert await heads(server, room) == {"joint": 2, "room": 2}


@pytest.mark.parametrize("channel", ["joint", "caucus:client", "notes"])
async def test_an_auditor_may_not_send(server: RunningServer, channel: str) -> None:
    room, client, freelancer = await parties(server)
    auditor, _ = await server.peer(room, "aud-1", "auditor")
    await auditor.send("say", channel, "I am just watching")
    await expect_error(auditor, "forbidden", cid="say")
    # the auditor's socket still reads along, and the parties still talk
    assert await exchange(client, freelancer, "after-1") == 1
    assert (await auditor.next("message"))["id"] == "after-1"
    assert await exchange(freelancer, auditor, "after-2") == 2
    assert await heads(server, room) == {"joint": 2, "room": 2}


# timeouts and rate limits


async def test_no_hello_in_time_closes_4408(
    start_server: ServerFactory, settings: Settings
) -> None:
    server = await start_server(dataclasses.replace(settings, hello_timeout=0.5))
    room, client, freelancer = await parties(server)
    clock = asyncio.get_running_loop().time
    silent = await Peer.connect(server.ws_url)
    chatty = await Peer.connect(server.ws_url)
    started = clock()
    # invalid frames do not buy more time: the deadline is for the hello
    with pytest.raises(ConnectionClosed):
        await keep_sending(chatty, "not a hello", every=0.1, times=50)
    assert 0.4 < clock() - started < 3.0
    assert await chatty.close_code_when_closed() == CloseCode.HELLO_TIMEOUT == 4408  # type: ignore[comparison-overlap]  # the enum is the wire code
    assert await silent.close_code_when_closed() == CloseCode.HELLO_TIMEOUT
    assert silent.received == []
    assert {f["code"] for f in chatty.received if f["type"] == "error"} == {"invalid"}
    # joined sockets are not subject to the hello deadline
    assert await exchange(client, freelancer, "after-1") == 1
    assert await heads(server, room) == {"joint": 1, "room": 2}


async def test_sending_past_the_burst_is_rate_limited(
    start_server: ServerFactory, settings: Settings
) -> None:
    limited = dataclasses.replace(settings, rate_burst=3, rate_per_second=4.0, rate_max_wait=0.0)
    server = await start_server(limited)
    room, client, freelancer = await parties(server)
    for i in range(4):
        await client.send(f"m{i}", "joint", f"message {i}")
    # the refusal may overtake the acks, which wait for the commit
    replies = {r["id"]: r for r in [await client.next("ack", "error") for _ in range(4)]}
    assert [(replies[f"m{i}"]["type"], replies[f"m{i}"].get("seq")) for i in range(3)] == [
        ("ack", 1),
        ("ack", 2),
        ("ack", 3),
    ], replies
    assert (replies["m3"]["type"], replies["m3"]["code"]) == ("error", "rate_limited")
    assert 0 < replies["m3"]["retry_after_ms"] <= 250
    # the limit is per person: the freelancer is not held back by the client's burst
    assert await exchange(freelancer, client, "f-1") == 4
    # after the wait the client resends the refused message first, and it is stored once
    await asyncio.sleep(replies["m3"]["retry_after_ms"] / 1000)
    assert await exchange(client, freelancer, "m3") == 5
    await asyncio.sleep(0.3)
    assert await exchange(client, freelancer, "after-1") == 6
    got = [m["id"] for m in freelancer.messages()]
    assert got == ["m0", "m1", "m2", "m3", "after-1"]
    assert await heads(server, room) == {"joint": 6, "room": 2}
