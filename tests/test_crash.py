"""Delivery guarantees across crashes: SIGKILL and SIGTERM while rooms are busy.

Several rooms of three resilient clients send continuously; the server, a
real process on SQLite, is killed at random moments and restarted. After
the dust settles every acked message is stored exactly once, no channel has
a seq gap, each sender's messages are stored in its sending order, and every
client holds every seq it may see, having never been sent one twice.
"""

import asyncio
import json
import random
import signal
from pathlib import Path

import httpx
import pytest

from mediation.secrets import unb64
from tests.conftest import free_port
from tests.resilient import ResilientClient
from tests.server_process import API_KEY, ServerProcess
from transcripts.database import Database
from transcripts.keyring import Keyring
from transcripts.store import TranscriptStore

pytestmark = pytest.mark.slow

WRITES = {
    "client": ("joint", "caucus:client"),
    "freelancer": ("joint", "caucus:freelancer"),
    "moderator": ("joint", "caucus:client", "caucus:freelancer", "notes"),
}
VISIBLE = {
    "client": {"joint", "caucus:client"},
    "freelancer": {"joint", "caucus:freelancer"},
    "moderator": {"joint", "caucus:client", "caucus:freelancer", "notes"},
}


async def open_rooms(server: ServerProcess, rooms: int, per_client: int):
    clients: dict[str, list[tuple[str, ResilientClient]]] = {}
    auth = {"authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=server.base_url, headers=auth) as http:
        for r in range(rooms):
            room = (
                await http.post(
                    "/api/rooms",
                    json={
                        "ticket": {"provider": "local", "id": f"CRASH-{r}"},
                        "client": f"c{r}",
                        "freelancer": f"f{r}",
                    },
                )
            ).json()["id"]
            clients[room] = []
            for role, user in (
                ("client", f"c{r}"),
                ("freelancer", f"f{r}"),
                ("moderator", f"m{r}"),
            ):
                token = (
                    await http.post(f"/api/rooms/{room}/tokens", json={"user": user, "role": role})
                ).json()["token"]
                clients[room].append(
                    (role, ResilientClient(server.ws_url, token, user, WRITES[role], per_client))
                )
    return clients


async def stored_transcripts(data_dir: Path, rooms) -> dict[str, list]:
    keys = json.loads((data_dir / "keys.json").read_text())
    keyring = Keyring({k: unb64(v) for k, v in keys["keks"].items()}, keys["active_kek"])
    db = Database(f"sqlite+aiosqlite:///{data_dir / 'mediation.db'}")
    store = TranscriptStore(db, keyring)
    try:
        result = {}
        for room in rooms:
            heads = await store.heads(room)
            result[room] = [
                r for c, h in heads.items() for r in await store.read(room, c, 0, h, h + 1)
            ]
        return result
    finally:
        await db.close()


async def run_with_interruptions(tmp_path, sig: signal.Signals, interruptions: int):
    server = ServerProcess(tmp_path, free_port())
    await asyncio.to_thread(server.start)
    try:
        rooms = await open_rooms(server, rooms=4, per_client=200)  # ~8 s at 25/s
        everyone = [c for members in rooms.values() for _, c in members]
        finish = asyncio.Event()
        running = [asyncio.create_task(c.run(finish)) for c in everyone]
        for _ in range(interruptions):
            await asyncio.sleep(random.uniform(0.3, 1.0))
            await asyncio.to_thread(server.stop, sig)
            await asyncio.sleep(random.uniform(0.0, 0.3))
            await asyncio.to_thread(server.start)
        # every interruption hit live traffic: nobody had finished sending
        assert all(c.sent < c.total for c in everyone)
        finish.set()
        await asyncio.wait_for(asyncio.gather(*running), timeout=120)
        # others may have committed after a client's last read: one last visit each
        await asyncio.gather(*(c.catch_up() for c in everyone))
    finally:
        await asyncio.to_thread(server.stop, signal.SIGTERM)
        server.close()
    return rooms, await stored_transcripts(tmp_path, rooms)


def check(rooms, stored, label: str) -> None:
    sent = acked = kept = duplicated = lost = 0
    for room, members in rooms.items():
        records = stored[room]
        by_cid = {(r.sender_user, r.client_id): r for r in records}
        assert len(by_cid) == len(records)  # nothing stored twice
        kept += len(records)
        for channel in {r.channel for r in records}:
            seqs = sorted(r.seq for r in records if r.channel == channel)
            assert seqs == list(range(1, len(seqs) + 1)), f"{room} {channel} has a gap"
        heads = {
            c: max((r.seq for r in records if r.channel == c), default=0)
            for c in VISIBLE["moderator"]
        }
        for role, client in members:
            sent += client.sent
            acked += len(client.acked)
            duplicated += client.duplicates
            assert client.outbox == {}, f"{client.user} still has unacked sends"
            for cid, (channel, seq) in client.acked.items():
                record = by_cid.get((client.user, cid))
                if record is None or (record.channel, record.seq) != (channel, seq):
                    lost += 1
            mine = sorted(
                (r for r in records if r.sender_user == client.user), key=lambda r: r.position
            )
            assert [r.client_id for r in mine] == sorted(r.client_id for r in mine), (
                f"{client.user}'s messages are stored out of order"
            )
            for channel in VISIBLE[role]:
                assert client.held.get(channel, set()) == set(range(1, heads[channel] + 1)), (
                    f"{client.user} is missing part of {channel}"
                )
    print(f"\n{label}: sent={sent} acked={acked} stored={kept} lost={lost} duplicated={duplicated}")
    for _, client in members:
        assert client.connections > 1  # it lived through the interruptions
    assert sent == acked == kept
    assert lost == 0
    assert duplicated == 0


async def test_sigkill_loses_nothing_acked_and_duplicates_nothing(tmp_path):
    rooms, stored = await run_with_interruptions(tmp_path, signal.SIGKILL, interruptions=5)
    check(rooms, stored, "SIGKILL x5")


async def test_sigterm_drains_and_clients_only_ever_see_going_away(tmp_path):
    rooms, stored = await run_with_interruptions(tmp_path, signal.SIGTERM, interruptions=3)
    check(rooms, stored, "SIGTERM x3")
    for members in rooms.values():
        for _, client in members:
            assert client.errors == []
            assert set(client.close_codes) <= {1001}, client.close_codes
