"""Rotating keys while rooms are live: nothing lost, everything readable, old keys retired."""

import asyncio
import json

import pytest
from sqlalchemy import select

from mediation import offline
from mediation.server_secrets import load_secrets
from tests.conftest import RunningServer
from tests.peers import Peer
from transcripts.errors import Tampered
from transcripts.key_encryption_keys import Keyring
from transcripts.schema import rooms
from transcripts.signing import load_public_pem
from transcripts.store import TranscriptStore
from transcripts.verify import verify


async def talk(peer: Peer, name: str, channel: str, count: int) -> list[int]:
    seqs: list[int] = []
    for i in range(count):
        await peer.send(f"{name}-{i}", channel, f"{name} says {i}")
        seqs.append((await peer.next("ack"))["seq"])
        await asyncio.sleep(0.002)
    return seqs


async def test_rotation_while_three_clients_talk(server: RunningServer) -> None:
    settings = server.settings
    room = await server.platform.open_room("T-rotate")
    peers = [
        (await server.peer(room, u, r))[0]
        for u, r in (("c-1", "client"), ("f-1", "freelancer"), ("m-1", "moderator"))
    ]
    old_kek = load_secrets(settings).keyring.active
    old_key = load_secrets(settings).keyring.keks[old_kek]

    talking = asyncio.gather(
        talk(peers[0], "c", "joint", 60),
        talk(peers[1], "f", "joint", 60),
        talk(peers[2], "m", "caucus:client", 60),
    )
    await asyncio.sleep(0.05)
    assert await offline.rotate(settings, signing=False) == 0  # while they talk
    opened_meanwhile = await server.platform.open_room("T-rotate-2")
    await talking
    assert await offline.retire(settings, old_kek) == 0

    keyring = load_secrets(settings).keyring
    assert old_kek not in keyring.keks
    fresh = TranscriptStore(server.services.db, keyring)  # as after a restart
    heads = await fresh.heads(room)
    assert heads == {"joint": 120, "caucus:client": 60, "room": 3}  # room: the three joined
    records = [r for c, h in heads.items() for r in await fresh.read(room, c, 0, h, h)]
    assert sorted(r.kind for r in records if r.channel == "room") == ["joined"] * 3
    bodies = [r.body for r in records if r.kind == "message"]
    assert len(bodies) == 180
    assert len(set(bodies)) == 180

    async with server.services.db.read() as conn:
        wrapped = (
            await conn.execute(select(rooms.c.id, rooms.c.kek_id, rooms.c.wrapped_key))
        ).all()
    assert {row.id for row in wrapped} == {room, opened_meanwhile}
    retired = Keyring({old_kek: old_key}, old_kek)
    for row in wrapped:
        assert row.kek_id == keyring.active
        with pytest.raises(Tampered):
            retired.unwrap(row.id, old_kek, row.wrapped_key)  # nothing opens with it alone


async def test_a_key_a_room_still_needs_is_not_retired(server: RunningServer) -> None:
    await server.platform.open_room("T-retire")
    active = load_secrets(server.settings).keyring.active
    assert await offline.retire(server.settings, active) == 1
    assert active in load_secrets(server.settings).keyring.keks


async def exported(server: RunningServer, room: str) -> list[bytes]:
    response = await server.platform.http.get(
        f"/api/rooms/{room}/export", headers=server.platform.auth
    )
    return response.content.splitlines(keepends=True)


async def test_signing_keys_rotate_and_old_exports_still_verify(server: RunningServer) -> None:
    room = await server.platform.open_room("T-sign")
    before = await exported(server, room)
    old = load_secrets(server.settings).signing
    assert await offline.rotate(server.settings, signing=True) == 0
    after = await exported(server, room)
    published = (await server.platform.http.get("/.well-known/mediation-signing-keys")).json()
    pems = {k["id"]: load_public_pem(k["pem"].encode()) for k in published["keys"]}
    assert old.active in pems
    assert published["active"] != old.active
    assert json.loads(after[-1])["key_id"] == published["active"]
    assert verify(before, pems[old.active]).ok
    assert verify(after, pems[published["active"]]).ok
    assert not verify(after, pems[old.active]).ok
