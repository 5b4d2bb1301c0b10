"""A dispute room over real sockets: who sees what, in which order, exactly once."""

import asyncio

from rooms.visibility import Role, readable
from tests.conftest import RunningServer
from tests.peers import Peer, without_joins

ROLES = {"client": "c-1", "freelancer": "f-1", "moderator": "m-1", "auditor": "a-1"}
# (sender role, channel) for every write each role may make
WRITES = [
    ("client", "joint"),
    ("client", "caucus:client"),
    ("freelancer", "joint"),
    ("freelancer", "caucus:freelancer"),
    ("moderator", "joint"),
    ("moderator", "caucus:client"),
    ("moderator", "caucus:freelancer"),
    ("moderator", "notes"),
]


async def join_all(server: RunningServer, room: str) -> dict[str, Peer]:
    peers: dict[str, Peer] = {}
    for role, user in ROLES.items():
        peers[role], welcome = await server.peer(room, user, role)
        assert welcome["you"] == {"user": user, "role": role}
        assert set(welcome["head"]) == set(readable(Role(role)))
    return peers


async def test_each_role_receives_exactly_what_it_may_see_in_order(server: RunningServer) -> None:
    room = await server.platform.open_room("T-e2e")
    peers = await join_all(server, room)
    rounds = 3
    for n in range(rounds):
        for role, channel in WRITES:
            await peers[role].send(
                f"{role}-{channel}-{n}", channel, f"{role} says {n} in {channel}"
            )
            ack = await peers[role].next("ack")
            assert ack["id"] == f"{role}-{channel}-{n}"
            assert ack["channel"] == channel
    await asyncio.sleep(0.2)
    for role, peer in peers.items():
        await peer.drain()
        seen = peer.messages()
        visible = set(readable(Role(role)))
        expected = [
            (r, c, n) for n in range(rounds) for r, c in WRITES if c in visible and r != role
        ]
        assert [
            (m["sender"]["role"], m["channel"], int(m["id"].rsplit("-", 1)[1])) for m in seen
        ] == expected
        for channel in visible:
            in_channel = [m["seq"] for m in seen if m["channel"] == channel]
            assert in_channel == sorted(in_channel), f"{role} got {channel} out of order"
        assert all(m["channel"] in visible for m in seen)


async def test_acks_and_messages_agree_on_gapless_per_channel_seq(server: RunningServer) -> None:
    room = await server.platform.open_room("T-seq")
    peers = await join_all(server, room)
    seqs: dict[str, list[int]] = {}
    for n in range(5):
        for role, channel in WRITES:
            await peers[role].send(f"{role}{channel}{n}", channel, "x")
            seqs.setdefault(channel, []).append((await peers[role].next("ack"))["seq"])
    for channel, got in seqs.items():
        assert got == list(range(1, len(got) + 1)), channel
    auditor = peers["auditor"]
    await auditor.drain()
    for channel, got in seqs.items():
        assert [m["seq"] for m in auditor.messages() if m["channel"] == channel] == got


async def test_a_party_never_learns_about_channels_it_cannot_see(server: RunningServer) -> None:
    room = await server.platform.open_room("T-hidden")
    peers = await join_all(server, room)
    for n in range(4):
        await peers["moderator"].send(f"n{n}", "notes", "internal")
        await peers["moderator"].send(f"f{n}", "caucus:freelancer", "to freelancer")
        await peers["moderator"].next("ack")
        await peers["moderator"].next("ack")
    await peers["client"].drain()
    assert peers["client"].messages() == []
    visible = {"joint", "caucus:client", "room"}
    assert all(f["channel"] in visible for f in peers["client"].received if "channel" in f)
    late, welcome = await server.peer(room, "c-1", "client")
    assert welcome["head"] == {"joint": 0, "caucus:client": 0, "room": 3}
    # the replay holds only the room's joined records, and not the auditor's (it leaves none)
    replay = await late.drain()
    assert without_joins(replay) == []
    assert late.joins() == [("c-1", "client"), ("f-1", "freelancer"), ("m-1", "moderator")]


async def test_sender_other_devices_get_the_message_sending_socket_gets_the_ack(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-devices")
    phone, _ = await server.peer(room, "c-1", "client")
    laptop, _ = await server.peer(room, "c-1", "client")
    await phone.send("p1", "joint", "from my phone")
    assert (await phone.next("ack", "message"))["type"] == "ack"
    echoed = await laptop.next("message")
    assert echoed["id"] == "p1" and echoed["body"] == "from my phone"
    assert [f for f in await phone.drain() if f["type"] == "message"] == []


async def test_presence_follows_connections(server: RunningServer) -> None:
    room = await server.platform.open_room("T-presence")
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, welcome = await server.peer(room, "f-1", "freelancer")
    assert {"user": "c-1", "role": "client", "online": True} in welcome["room"]["participants"]
    assert (await client.next("presence")) == {
        "type": "presence",
        "user": "f-1",
        "role": "freelancer",
        "online": True,
    }
    auditor, _ = await server.peer(room, "a-1", "auditor")
    await freelancer.close()
    assert (await client.next("presence"))["online"] is False
    assert all(f.get("role") != "auditor" for f in client.received)  # parties aren't told
    await auditor.close()
