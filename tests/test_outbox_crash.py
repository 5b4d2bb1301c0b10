"""The outbox across real processes: SIGKILL with rows pending and deliveries in flight,
and two processes on PostgreSQL + Redis claiming from one table.

Events come from real work (rooms opened, claimed, proposals made over WebSockets)
and go to the verifying receiver of tests/webhook_receiver.py. Every event must
arrive verified, in its room's commit order, and be first seen exactly once; the
only second deliveries allowed are those whose answer was still on its way when
the server died (the receiver held it back), each resent once under its webhook-id.
"""

import asyncio
import base64
import secrets
import signal
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import test_scale_out as scale_out
from tests.conftest import free_port
from tests.peers import Peer
from tests.server_process import API_KEY, ServerProcess
from tests.waiting import until
from tests.webhook_receiver import Event, WebhookReceiver

pytestmark = pytest.mark.slow

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
AUTH = {"authorization": f"Bearer {API_KEY}"}
LEASE = 10.0  # mediation.outbox.worker.Schedule.lease: a killed process's rows wait this long
redis_prefix = scale_out.redis_prefix  # a fixture: a key prefix of our own on the shared Redis


def hook_env(receiver: WebhookReceiver) -> dict[str, str]:
    return {
        "MEDIATION_WEBHOOK_URL": receiver.url,
        "MEDIATION_WEBHOOK_SECRET": SECRET,
        "MEDIATION_OUTBOX_TICK": "0.05",
        "MEDIATION_OUTBOX_RETRY_INITIAL": "0.05",
        "MEDIATION_OUTBOX_RETRY_MAX": "0.3",
    }


async def outbox_rows(http: httpx.AsyncClient, base_url: str, status: str) -> list[dict[str, Any]]:
    answer = await http.get(f"{base_url}/api/outbox?status={status}&limit=500", headers=AUTH)
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["rows"]
    return rows


async def one_room(
    http: httpx.AsyncClient, bases: list[str], wss: list[str], n: int, proposals: int
) -> tuple[str, int]:
    """Open room `n` on one process, claim it on the next, and have both parties (on
    different processes) make `proposals` proposals each at the same time. Returns the
    room and how many events it raised."""
    first, second = bases[n % len(bases)], bases[(n + 1) % len(bases)]
    opened = await http.post(
        first + "/api/rooms",
        json={"ticket": {"provider": "local", "id": f"T-{n}"}, "client": "c", "freelancer": "f"},
        headers=AUTH,
    )
    assert opened.status_code == 201, opened.text
    room: str = opened.json()["id"]
    claimed = await http.post(
        f"{second}/api/rooms/{room}/claim", json={"moderator": f"m-{n}"}, headers=AUTH
    )
    assert claimed.status_code == 200, claimed.text

    async def party(user: str, role: str, ws_url: str) -> None:
        minted = await http.post(
            f"{first}/api/rooms/{room}/tokens", json={"user": user, "role": role}, headers=AUTH
        )
        assert minted.status_code == 201, minted.text
        peer = await Peer.connect(ws_url)
        welcome = await peer.hello(minted.json()["token"])
        assert welcome["type"] == "welcome", welcome
        for k in range(proposals):
            frame: dict[str, Any] = {"type": "propose", "id": f"{role}-{k}"}
            frame |= {"amount": str(100 + k), "currency": "USD", "expires_in": 3600}
            answer = await peer.act(frame)
            assert answer["type"] == "ack", answer
        await peer.close()

    await asyncio.gather(
        party("c", "client", wss[n % len(wss)]), party("f", "freelancer", wss[(n + 1) % len(wss)])
    )
    return room, 2 + 2 * proposals


async def raise_events(
    bases: list[str], wss: list[str], rooms: int, proposals: int
) -> dict[str, int]:
    """Rooms' events, raised concurrently across rooms: room -> its number of events."""
    async with httpx.AsyncClient(timeout=10) as http:
        made = await asyncio.gather(
            *(one_room(http, bases, wss, n, proposals) for n in range(rooms))
        )
    return dict(made)


def check_deliveries(receiver: WebhookReceiver, rooms: dict[str, int]) -> None:
    """Every event verified and first seen once, each room's in commit order."""
    assert not receiver.rejected, receiver.rejected
    by_room: dict[str, list[Event]] = defaultdict(list)
    for event in receiver.events:
        by_room[event.data["room"]].append(event)
    assert set(by_room) == set(rooms)
    for room, count in rooms.items():
        got = by_room[room]
        topics = [e.type for e in got]
        assert topics == ["room.created", "room.claimed"] + ["proposal.made"] * (count - 2), (
            room,
            topics,
        )
        positions = [e.data["position"] for e in got]
        assert positions == sorted(set(positions)), (room, positions)  # commit order
        assert [e.id for e in got] == [f"{room}.{e.data['position']}.{e.type}" for e in got]
    assert len({e.id for e in receiver.events}) == len(receiver.events) == sum(rooms.values())


async def nothing_left(http: httpx.AsyncClient, base_url: str) -> None:
    """No row pending (the last `delivered` may still be committing) and none dead."""
    deadline = time.monotonic() + 5
    while pending := await outbox_rows(http, base_url, "pending"):
        assert time.monotonic() < deadline, pending
        await asyncio.sleep(0.05)
    assert await outbox_rows(http, base_url, "dead") == []


async def test_sigkill_with_rows_pending_and_in_flight_loses_none_and_resends_only_those(
    tmp_path: Path, database_url: str
) -> None:
    async with WebhookReceiver(SECRET) as receiver, httpx.AsyncClient(timeout=10) as http:
        receiver.answer_next(503, 10**9)  # unavailable: every row stays pending
        server = ServerProcess(
            tmp_path, free_port(), MEDIATION_DATABASE_URL=database_url, **hook_env(receiver)
        )
        await asyncio.to_thread(server.start)
        try:
            rooms = await raise_events([server.base_url], [server.ws_url], rooms=8, proposals=2)
            total = sum(rooms.values())
            assert len(await outbox_rows(http, server.base_url, "pending")) == total
            await until(lambda: len(receiver.requests) >= 2 * len(rooms), 5, "refused tries")
            assert receiver.events == []

            # Back: the next 10 requests are answered at once, then every answer is held
            # back (the event recorded, the 204 late): the server is killed with those
            # deliveries in flight and the rest of their lanes pending behind them.
            receiver.answer_promptly()
            receiver.answer_next(204, 10)
            receiver.answer_next(204, 10**9, delay=30)
            await until(lambda: len(receiver.held) >= 4, 10, "deliveries in flight")
            await asyncio.sleep(0.3)  # the prompt ones recorded as delivered; more held
            await asyncio.to_thread(server.stop, signal.SIGKILL)
            in_flight = set(receiver.held)
            seen_before_kill = len(receiver.events)
            assert seen_before_kill == 10 + len(in_flight), (seen_before_kill, in_flight)
            assert seen_before_kill < total  # rows were still pending at the kill

            receiver.answer_promptly()
            await asyncio.to_thread(server.start)
            restarted = time.monotonic()
            await until(lambda: len(receiver.events) >= total, LEASE + 15, "every event")
            # the lanes of the rows in flight waited out their lease, no longer
            assert time.monotonic() - restarted < LEASE + 5
            await nothing_left(http, server.base_url)
            await asyncio.sleep(0.3)  # nothing more comes
        finally:
            await asyncio.to_thread(server.stop, signal.SIGTERM)
            server.close()
    check_deliveries(receiver, rooms)
    # A delivery in flight at the kill may have reached the other side (here it did: the
    # receiver recorded it, its 204 was still held back), so the restarted server sends it
    # again under the same webhook-id: once each, and nothing else twice.
    assert receiver.duplicates == dict.fromkeys(in_flight, 1), (receiver.duplicates, in_flight)
    assert len(receiver.held) == len(in_flight)  # none held twice


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_two_processes_deliver_each_event_once_in_room_order(
    tmp_path: Path, database_url: str, redis_prefix: str
) -> None:
    async with WebhookReceiver(SECRET) as receiver, httpx.AsyncClient(timeout=10) as http:
        env = {"MEDIATION_REDIS_PREFIX": redis_prefix, **hook_env(receiver)}
        nodes = scale_out.two_nodes(tmp_path, database_url, scale_out.SHARED_REDIS, **env)
        async with nodes as (a, b):
            rooms = await raise_events(
                [a.base_url, b.base_url], [a.ws_url, b.ws_url], rooms=16, proposals=3
            )
            total = sum(rooms.values())
            await until(lambda: len(receiver.events) >= total, 20, "every event")
            for server in (a, b):
                await nothing_left(http, server.base_url)
            await asyncio.sleep(0.3)  # nothing more comes
            metrics = [(await http.get(s.base_url + "/metrics")).text for s in (a, b)]
    check_deliveries(receiver, rooms)
    assert not receiver.duplicates  # no row was handed to both processes
    assert len(receiver.requests) == total
    # both processes delivered: the claim was contended, not won by one side throughout
    delivered = 'mediation_outbox_deliveries_total{destination="webhook",outcome="delivered"}'
    assert all(delivered in text for text in metrics), "one process delivered nothing"
