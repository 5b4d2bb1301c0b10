"""What lands on disk: ciphertext only, bound to its row."""

import sqlite3

import pytest

from tests.peers import Peer
from transcripts.errors import Tampered

SECRETS = [
    "the invoice was paid on 3 March, ZEBRA-7731",
    "milestone two is late: QUOKKA-0042",
    "note to self: check the escrow PANGOLIN-19",
]


async def converse(server, room):
    client, _ = await server.peer(room, "c-1", "client")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    await client.send("s0", "joint", SECRETS[0])
    await client.send("s1", "caucus:client", SECRETS[1])
    await moderator.send("s2", "notes", SECRETS[2])
    await client.next("ack")
    await client.next("ack")
    await moderator.next("ack")


def database_bytes(server) -> bytes:
    """The SQLite database and its WAL, as raw bytes."""
    base = server.settings.data_dir / "mediation.db"
    return b"".join(
        p.read_bytes() for p in (base, base.with_name(base.name + "-wal")) if p.exists()
    )


async def test_no_message_text_is_stored_in_clear(server):
    room = await server.platform.open_room("T-rest")
    await converse(server, room)
    raw = database_bytes(server)
    assert b"sealed" in raw  # we are looking at the real file
    for text in SECRETS:
        assert text.encode() not in raw
        assert text.split()[-1].encode() not in raw  # not even the distinctive word


def sql(server, statement: str, *args: object) -> list[tuple]:
    with sqlite3.connect(server.settings.data_dir / "mediation.db") as db:
        return db.execute(statement, args).fetchall()


async def fresh_store_read(server, room, channel):
    """Read through a store with an empty key cache, as a restarted server would."""
    from transcripts.store import TranscriptStore

    store = TranscriptStore(server.services.db, server.services.secrets.keyring)
    return await store.read(room, channel, 0, 100, 100)


async def test_an_altered_ciphertext_fails_to_decrypt_with_a_clear_error(server):
    room = await server.platform.open_room("T-flip")
    await converse(server, room)
    [(sealed,)] = sql(
        server, "select sealed from records where room_id=? and channel='joint'", room
    )
    flipped = bytes([sealed[0]]) + bytes([sealed[1] ^ 1]) + sealed[2:]
    sql(server, "update records set sealed=? where room_id=? and channel='joint'", flipped, room)
    with pytest.raises(Tampered, match=rf"room {room} position 1 \(joint #1\)"):
        await fresh_store_read(server, room, "joint")


async def test_a_ciphertext_moved_to_another_row_fails_to_decrypt(server):
    room = await server.platform.open_room("T-move")
    await converse(server, room)
    [(joint,)] = sql(server, "select sealed from records where room_id=? and channel='joint'", room)
    sql(
        server,
        "update records set sealed=? where room_id=? and channel='caucus:client'",
        joint,
        room,
    )
    assert [r.body for r in await fresh_store_read(server, room, "joint")] == [SECRETS[0]]
    with pytest.raises(Tampered, match="caucus:client #1"):
        await fresh_store_read(server, room, "caucus:client")


async def test_a_ciphertext_moved_to_another_room_fails_to_decrypt(server):
    first = await server.platform.open_room("T-a")
    second = await server.platform.open_room("T-b")
    await converse(server, first)
    await converse(server, second)
    [(sealed,)] = sql(
        server, "select sealed from records where room_id=? and channel='joint'", first
    )
    sql(server, "update records set sealed=? where room_id=? and channel='joint'", sealed, second)
    with pytest.raises(Tampered, match=f"room {second}"):
        await fresh_store_read(server, second, "joint")


async def test_a_tampered_record_refuses_replay_over_the_socket(server):
    room = await server.platform.open_room("T-replay")
    await converse(server, room)
    sql(server, "update records set sender_user='f-1' where room_id=? and channel='joint'", room)
    peer = await Peer.connect(server.ws_url)
    assert (await peer.hello(await server.platform.token(room, "m-1", "moderator")))[
        "type"
    ] == "welcome"
    error = await peer.next("error", "message")
    assert error["type"] == "error" and error["code"] == "internal"
    await peer.drain()
    assert peer.ws.close_code == 1011
