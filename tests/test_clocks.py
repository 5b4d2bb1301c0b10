"""Response clocks: overdue rooms are flagged, moderators nudged, silent parties reminded,
and a restart loses no alarm (their state is in the database, not in timers)."""

import asyncio
import signal
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from mediation.config import Settings
from tests.conftest import RunningServer, free_port
from tests.peers import Peer
from tests.server_process import API_KEY, ServerProcess

AUTH = {"authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(
        settings, first_response_target=0.5, answer_target=0.5, reply_target=0.8, clock_tick=0.1
    )


async def queue_entry(server: RunningServer, room: str, query: str = "") -> dict[str, Any] | None:
    response = await server.platform.http.get(f"/api/queue{query}", headers=server.platform.auth)
    entries: list[dict[str, Any]] = response.json()["rooms"]
    return next((r for r in entries if r["id"] == room), None)


async def listed(server: RunningServer, room: str, query: str = "") -> dict[str, Any]:
    """The room's entry in the queue, which must be there."""
    entry = await queue_entry(server, room, query)
    assert entry is not None, f"{room} is not in the queue{query}"
    return entry


async def test_a_room_left_in_the_queue_is_flagged_once(server: RunningServer) -> None:
    room = await server.platform.open_room("T-unclaimed")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    alarm = await moderator.event("overdue", clock="unclaimed")
    assert alarm["channel"] == "notes"
    entry = await listed(server, room)
    assert [o["clock"] for o in entry["overdue"]] == ["unclaimed"]
    await asyncio.sleep(0.5)  # several more ticks: the episode fired already
    assert [f for f in moderator.received if f.get("kind") == "overdue"] == [alarm]
    claimed = await server.platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=server.platform.auth
    )
    assert claimed.status_code == 200
    assert await queue_entry(server, room) is None


async def test_moderator_is_nudged_and_silent_parties_are_reminded(server: RunningServer) -> None:
    room = await server.platform.open_room("T-clocks")
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    assert (await moderator.act({"type": "transition", "id": "claim", "to": "mediating"}))[
        "type"
    ] == "ack"
    await client.send("c1", "joint", "hello? anyone?")
    nudge = await moderator.event("overdue", clock="answer", party="client")
    assert nudge["channel"] == "notes"
    mine = await listed(server, room, "?moderator=m-1")
    assert [(o["clock"], o["party"]) for o in mine["overdue"]] == [("answer", "client")]

    await moderator.send("m1", "joint", "Sorry for the wait: what was delivered?")
    await moderator.next("ack")
    assert (await listed(server, room, "?moderator=m-1"))["overdue"] == []
    for party, peer in (("client", client), ("freelancer", freelancer)):
        reminder = await peer.event("reminder", party=party)
        assert (reminder["channel"], reminder["clock"]) == (f"caucus:{party}", "reply")
    await client.send("c2", "joint", "Nothing at all.")
    await asyncio.sleep(0.3)
    seen_by_parties = client.received + freelancer.received
    assert not [f for f in seen_by_parties if f.get("kind") == "overdue"]  # nudges are internal
    assert {f["channel"] for f in client.received if f.get("kind") == "reminder"} == {
        "caucus:client"
    }
    report = await server.platform.http.get("/api/reports/rooms", headers=server.platform.auth)
    line = next(r for r in report.json()["rooms"] if r["room"] == room)
    assert (line["breaches_answer"], line["breaches_reply"]) == (1, 2)
    assert line["longest_wait_client_seconds"] >= 0.5


async def test_alarms_fall_due_while_the_server_is_down(tmp_path: Path) -> None:
    """The client asks, the server dies before the answer target, and comes back after it:
    the moderator is nudged exactly once, by the restarted process."""
    server = ServerProcess(
        tmp_path, free_port(), MEDIATION_ANSWER_TARGET="2", MEDIATION_CLOCK_TICK="0.1"
    )
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.base_url, headers=AUTH) as http:
            room = await open_claimed_room(http)
            client = await join(http, server, room, "c-1", "client")
            await client.send("c1", "joint", "is anyone there?")
            await client.next("ack")
            await asyncio.to_thread(server.stop, signal.SIGKILL)
            await asyncio.sleep(2.5)  # the target passes with no process running
            await asyncio.to_thread(server.start)
            moderator = await join(http, server, room, "m-1", "moderator")
            nudge = await moderator.event("overdue", clock="answer", party="client")
            await asyncio.to_thread(server.stop, signal.SIGTERM)
            await asyncio.to_thread(server.start)  # and again: nothing fires twice
            await asyncio.sleep(0.5)
            again = await join(http, server, room, "m-1", "moderator")
            await again.drain()
            overdue = [f for f in again.received if f.get("kind") == "overdue"]
            assert [f["seq"] for f in overdue] == [nudge["seq"]]
    finally:
        await asyncio.to_thread(server.stop, signal.SIGTERM)
        server.close()


async def open_claimed_room(http: httpx.AsyncClient) -> str:
    opened = await http.post(
        "/api/rooms",
        json={
            "ticket": {"provider": "local", "id": "T-restart"},
            "client": "c-1",
            "freelancer": "f-1",
        },
    )
    room: str = opened.json()["id"]
    claimed = await http.post(f"/api/rooms/{room}/claim", json={"moderator": "m-1"})
    assert claimed.status_code == 200
    return room


async def join(
    http: httpx.AsyncClient, server: ServerProcess, room: str, user: str, role: str
) -> Peer:
    minted = await http.post(f"/api/rooms/{room}/tokens", json={"user": user, "role": role})
    peer = await Peer.connect(server.ws_url)
    welcome = await peer.hello(minted.json()["token"])
    assert welcome["type"] == "welcome", welcome
    return peer
