"""What lands on disk: ciphertext only, bound to its row."""

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import RunningServer
from tests.peers import Peer
from transcripts.errors import Tampered
from transcripts.store_types import Record

SECRETS = [
    "the invoice was paid on 3 March, ZEBRA-7731",
    "milestone two is late: QUOKKA-0042",
    "note to self: check the escrow PANGOLIN-19",
]


async def converse(server: RunningServer, room: str) -> None:
    client, _ = await server.peer(room, "c-1", "client")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    await client.send("s0", "joint", SECRETS[0])
    await client.send("s1", "caucus:client", SECRETS[1])
    await moderator.send("s2", "notes", SECRETS[2])
    await client.next("ack")
    await client.next("ack")
    await moderator.next("ack")


async def database_bytes(server: RunningServer) -> bytes:
    """What the database holds on disk, as raw bytes."""
    if server.services.db.is_sqlite:
        base = server.settings.data_dir / "mediation.db"
        files = [base, base.with_name(base.name + "-wal")]
    else:  # the table's own data file, after a checkpoint flushed it
        await sql(server, "CHECKPOINT")
        [(home,)] = await sql(server, "SHOW data_directory")
        [(path,)] = await sql(server, "SELECT pg_relation_filepath('records')")
        files = [Path(home) / path]
    return b"".join(p.read_bytes() for p in files if p.exists())


async def test_no_message_text_is_stored_in_clear(server: RunningServer) -> None:
    room = await server.platform.open_room("T-rest")
    await converse(server, room)
    raw = await database_bytes(server)
    assert len(raw) > 1000  # we are looking at the real file
    for secret in SECRETS:
        assert secret.encode() not in raw
        assert secret.split()[-1].encode() not in raw  # not even the distinctive word


async def sql(server: RunningServer, statement: str, **params: object) -> list[tuple[Any, ...]]:
    async with server.services.db.write() as conn:
        result = await conn.execute(text(statement), params)
        return [tuple(row) for row in result] if result.returns_rows else []


async def fresh_store_read(server: RunningServer, room: str, channel: str) -> list[Record]:
    """Read through a store with an empty key cache, as a restarted server would."""
    from transcripts.store import TranscriptStore

    store = TranscriptStore(server.services.db, server.services.secrets.keyring)
    return await store.read(room, channel, 0, 100, 100)


JOINT = "select sealed from records where room_id=:room and channel='joint'"
SET_SEALED = "update records set sealed=:sealed where room_id=:room and channel=:channel"


async def test_an_altered_ciphertext_fails_to_decrypt_with_a_clear_error(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-flip")
    await converse(server, room)
    [(sealed,)] = await sql(server, JOINT, room=room)
    flipped = bytes([sealed[0]]) + bytes([sealed[1] ^ 1]) + sealed[2:]
    await sql(server, SET_SEALED, sealed=flipped, room=room, channel="joint")
    # positions 1 and 2 are the room's records of the client and the moderator joining
    with pytest.raises(Tampered, match=rf"room {room} joint #1: ") as refused:
        await fresh_store_read(server, room, "joint")
    assert refused.value.position == 3  # kept apart from the message (F13)
    assert "position 3" in refused.value.detail


async def test_a_ciphertext_moved_to_another_row_fails_to_decrypt(server: RunningServer) -> None:
    room = await server.platform.open_room("T-move")
    await converse(server, room)
    [(joint,)] = await sql(server, JOINT, room=room)
    await sql(server, SET_SEALED, sealed=joint, room=room, channel="caucus:client")
    assert [r.body for r in await fresh_store_read(server, room, "joint")] == [SECRETS[0]]
    with pytest.raises(Tampered, match="caucus:client #1"):
        await fresh_store_read(server, room, "caucus:client")


async def test_a_ciphertext_moved_to_another_room_fails_to_decrypt(server: RunningServer) -> None:
    first = await server.platform.open_room("T-a")
    second = await server.platform.open_room("T-b")
    await converse(server, first)
    await converse(server, second)
    [(sealed,)] = await sql(server, JOINT, room=first)
    await sql(server, SET_SEALED, sealed=sealed, room=second, channel="joint")
    with pytest.raises(Tampered, match=f"room {second}"):
        await fresh_store_read(server, second, "joint")


async def test_a_tampered_record_refuses_replay_over_the_socket(server: RunningServer) -> None:
    room = await server.platform.open_room("T-replay")
    await converse(server, room)
    await sql(
        server,
        "update records set sender_user='f-1' where room_id=:room and channel='joint'",
        room=room,
    )
    peer = await Peer.connect(server.ws_url)
    assert (await peer.hello(await server.platform.token(room, "m-1", "moderator")))[
        "type"
    ] == "welcome"
    error = await peer.next("error", "message")
    assert error["type"] == "error" and error["code"] == "internal"
    await peer.drain()
    assert peer.ws.close_code == 1011
