"""Busy rooms of resilient clients, and the end-state checks every scenario shares."""

from collections.abc import Iterable

import httpx

from mediation.server_secrets import parse_master_keys
from tests.resilient import ResilientClient
from tests.server_process import API_KEY, MASTER_KEY
from transcripts.database import Database
from transcripts.store import TranscriptStore
from transcripts.store_types import Record

WRITES = {
    "client": ("joint", "caucus:client"),
    "freelancer": ("joint", "caucus:freelancer"),
    "moderator": ("joint", "caucus:client", "caucus:freelancer", "notes"),
}
VISIBLE = {
    "client": {"joint", "caucus:client", "room"},
    "freelancer": {"joint", "caucus:freelancer", "room"},
    "moderator": {"joint", "caucus:client", "caucus:freelancer", "notes", "room"},
}

Rooms = dict[str, list[tuple[str, ResilientClient]]]
"""Each room's id -> its members: (role, the client playing it)."""


async def open_rooms(
    base_url: str, ws_urls: list[str], rooms: int, per_client: int, ticket: str = "BUSY"
) -> Rooms:
    """Rooms of three resilient clients; each connects to any of `ws_urls`."""
    clients: Rooms = {}
    auth = {"authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=base_url, headers=auth) as http:
        for r in range(rooms):
            response = await http.post(
                "/api/rooms",
                json={
                    "ticket": {"provider": "local", "id": f"{ticket}-{r}"},
                    "client": f"c{r}",
                    "freelancer": f"f{r}",
                },
            )
            room = response.json()["id"]
            clients[room] = []
            for role, user in (
                ("client", f"c{r}"),
                ("freelancer", f"f{r}"),
                ("moderator", f"m{r}"),
            ):
                response = await http.post(
                    f"/api/rooms/{room}/tokens", json={"user": user, "role": role}
                )
                client = ResilientClient(
                    ws_urls, response.json()["token"], user, WRITES[role], per_client
                )
                clients[room].append((role, client))
    return clients


async def stored_transcripts(database_url: str, rooms: Iterable[str]) -> dict[str, list[Record]]:
    db = Database(database_url)
    store = TranscriptStore(db, parse_master_keys(MASTER_KEY))
    try:
        result: dict[str, list[Record]] = {}
        for room in rooms:
            heads = await store.heads(room)
            result[room] = [
                r for c, h in heads.items() for r in await store.read(room, c, 0, h, h + 1)
            ]
        return result
    finally:
        await db.close()


def check(rooms: Rooms, stored: dict[str, list[Record]], label: str) -> None:
    """Nothing acked is lost, nothing is stored or delivered twice, nothing is missing.

    Besides the messages, each room holds exactly one `joined` record per member
    (however often it reconnected), which every member must hold too."""
    sent = acked = kept = duplicated = lost = 0
    for room, members in rooms.items():
        records = stored[room]
        by_cid = {(r.sender_user, r.client_id): r for r in records}
        assert len(by_cid) == len(records)  # nothing stored twice
        joined = [r for r in records if r.kind == "joined"]
        assert sorted((r.sender_user, r.sender_role, r.channel) for r in joined) == sorted(
            (client.user, role, "room") for role, client in members
        ), f"{room} must record each member's first join once"
        messages = [r for r in records if r.kind == "message"]
        assert len(messages) + len(joined) == len(records)
        kept += len(messages)
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
                (r for r in messages if r.sender_user == client.user), key=lambda r: r.position
            )
            assert [r.client_id for r in mine] == sorted(r.client_id for r in mine), (
                f"{client.user}'s messages are stored out of order"
            )
            for channel in VISIBLE[role]:
                assert client.held.get(channel, set()) == set(range(1, heads[channel] + 1)), (
                    f"{client.user} is missing part of {channel}"
                )
    print(f"\n{label}: sent={sent} acked={acked} stored={kept} lost={lost} duplicated={duplicated}")
    assert sent == acked == kept
    assert lost == 0
    assert duplicated == 0
