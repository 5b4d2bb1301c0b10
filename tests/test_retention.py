"""Retention: closed rooms past the period are crypto-shredded; legal holds are kept."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from mediation import offline
from mediation.server_secrets import load_secrets
from rooms.lifecycle import State
from tests.conftest import RunningServer
from tests.peers import Peer
from transcripts.errors import Shredded, Tampered
from transcripts.schema import records, rooms
from transcripts.signing import load_public_pem
from transcripts.store import TranscriptStore
from transcripts.verify import verify


async def closed_room(server: RunningServer, ticket: str, days_ago: int) -> str:
    room = await server.platform.open_room(ticket)
    client, _ = await server.peer(room, "c-1", "client")
    for i in range(3):
        await client.send(f"{ticket}-{i}", "joint", f"{ticket} evidence {i}")
        await client.next("ack")
    await client.close()
    await server.services.store.set_state(room, State.CLOSED)
    async with server.services.db.write() as conn:
        await conn.execute(
            update(rooms)
            .where(rooms.c.id == room)
            .values(closed_at=datetime.now(UTC) - timedelta(days=days_ago))
        )
    return room


async def hold(server: RunningServer, room: str, reason: str) -> None:
    response = await server.platform.http.put(
        f"/api/rooms/{room}/legal-hold", json={"reason": reason}, headers=server.platform.auth
    )
    assert response.status_code == 200


async def test_dry_run_lists_and_apply_shreds_only_what_is_due(
    server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    old = await closed_room(server, "T-old", days_ago=400)
    held = await closed_room(server, "T-held", days_ago=400)
    recent = await closed_room(server, "T-recent", days_ago=10)
    still_open = await server.platform.open_room("T-open")
    await hold(server, held, "litigation 2026-117")
    settings = server.settings

    assert await offline.apply_retention(settings, dry_run=True, older_than=365) == 0
    listed = capsys.readouterr().out
    assert f"would shred {old}" in listed
    assert held not in listed and recent not in listed and still_open not in listed

    def fresh() -> TranscriptStore:  # as a process that has not cached the room's key
        return TranscriptStore(server.services.db, load_secrets(settings).keyring)

    assert len(await fresh().read(old, "joint", 0, 3, 3)) == 3  # the dry run changed nothing

    assert await offline.apply_retention(settings, dry_run=False, older_than=365) == 0
    assert f"shredded {old}" in capsys.readouterr().out
    with pytest.raises(Shredded):
        await fresh().read(old, "joint", 0, 3, 3)
    for untouched in (held, recent):
        assert len(await fresh().read(untouched, "joint", 0, 3, 3)) == 3


async def test_after_shredding_no_key_recovers_any_plaintext(server: RunningServer) -> None:
    room = await closed_room(server, "T-gone", days_ago=400)
    assert await offline.apply_retention(server.settings, dry_run=False, older_than=30) == 0
    async with server.services.db.read() as conn:
        key = (
            await conn.execute(
                select(rooms.c.kek_id, rooms.c.wrapped_key).where(rooms.c.id == room)
            )
        ).one()
        sealed = [
            r.sealed
            for r in (
                await conn.execute(select(records.c.sealed).where(records.c.room_id == room))
            ).all()
        ]
    assert key.wrapped_key is None  # the only copy of the data key is gone
    from transcripts.envelope import RoomCipher

    for kek in load_secrets(server.settings).keyring.keks.values():  # not even as a data key
        for blob in sealed:
            with pytest.raises(Tampered):
                RoomCipher(room, kek).open(blob, b"", "probe")


async def test_the_export_of_a_shredded_room_says_so_and_still_verifies(
    server: RunningServer,
) -> None:
    room = await closed_room(server, "T-export-gone", days_ago=400)
    await offline.apply_retention(server.settings, dry_run=False, older_than=30)
    response = await server.platform.http.get(
        f"/api/rooms/{room}/export", headers=server.platform.auth
    )
    assert response.status_code == 200
    lines = response.content.splitlines(keepends=True)
    assert json.loads(lines[0])["room"]["shredded"] is True
    exported = [json.loads(x) for x in lines[1:-1]]  # the client's joined record, 3 messages
    assert [x["kind"] for x in exported] == ["joined", "message", "message", "message"]
    assert [x["body"] for x in exported] == [None, None, None, None]
    keys = (await server.platform.http.get("/.well-known/mediation-signing-keys")).json()
    [pem] = [k["pem"] for k in keys["keys"] if k["id"] == keys["active"]]
    verdict = verify(lines, load_public_pem(pem.encode()))
    assert verdict.ok
    assert "shredded" in verdict.reason


async def test_a_shredded_room_cannot_be_replayed(server: RunningServer) -> None:
    room = await closed_room(server, "T-replay-gone", days_ago=400)
    await offline.apply_retention(server.settings, dry_run=False, older_than=30)
    server.services.store.keys.ciphers.clear()  # other processes forget within CIPHER_TTL
    peer = await Peer.connect(server.ws_url)
    refused = await peer.hello(await server.platform.token(room, "m-1", "moderator"))
    assert (refused["type"], refused["code"]) == ("error", "not_found")
    assert await peer.close_code_when_closed() == 4404  # refused before any welcome


async def test_no_period_means_nothing_is_shredded(server: RunningServer) -> None:
    await closed_room(server, "T-keep", days_ago=4000)
    assert await offline.apply_retention(server.settings, dry_run=False, older_than=None) == 2
