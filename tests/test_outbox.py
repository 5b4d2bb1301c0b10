"""The outbox end to end: events leave through signed webhooks, exactly once, in order,
through refusals and outages, and what is refused for good waits as a dead letter."""

import asyncio
import base64
import secrets
import time
from dataclasses import replace

import pytest
from sqlalchemy import select

from mediation.config import Settings
from tests.conftest import RunningServer, ServerFactory
from tests.waiting import until
from tests.webhook_receiver import WebhookReceiver
from transcripts.outbox import Outbox
from transcripts.schema import outbox

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
WAIT = 10.0


def with_webhook(settings: Settings, receiver: WebhookReceiver) -> Settings:
    return replace(
        settings,
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        outbox_tick=0.05,
        outbox_retry_initial=0.05,
        outbox_retry_max=0.2,
    )


async def settle(server: RunningServer, ticket: str) -> str:
    """A room opened, claimed, a proposal made and accepted: resolved."""
    platform = server.platform
    room = await platform.open_room(ticket)
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    await client.acked({"type": "send", "id": "c1", "channel": "joint", "body": "SECRET-WORDS"})
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    proposal = {"type": "propose", "id": "p1", "amount": "900", "currency": "USD"}
    made = await client.acked(proposal | {"text": "PRIVATE-TERMS", "expires_in": 3600})
    answer = {"type": "respond", "id": "r1", "proposal": made["seq"], "answer": "accept"}
    await freelancer.acked(answer)
    for peer in (client, freelancer):
        await peer.close()
    return room


async def test_a_dispute_reaches_the_platform_once_in_order_without_anyones_words(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with WebhookReceiver(SECRET) as receiver:
        server = await start_server(with_webhook(settings, receiver))
        room = await settle(server, "T-hooks")
        topics = ["room.created", "room.claimed", "proposal.made"]
        topics += ["settlement.agreed", "room.resolved"]
        await until(lambda: len(receiver.events) >= len(topics))
        await asyncio.sleep(0.3)  # nothing more, nothing twice
        assert [e.type for e in receiver.events] == topics
        assert not receiver.rejected and not receiver.duplicates
        for event in receiver.events:
            assert event.data["room"] == room
            assert event.data["ticket"] == {"provider": "local", "id": "T-hooks"}
        agreed = receiver.events[3].data
        assert agreed["terms"] == {"amount": "900.00", "currency": "USD", "milestone": None}
        assert [(a["role"], a["user"]) for a in agreed["accepted"]] == [
            ("client", "c-1"),
            ("freelancer", "f-1"),
        ]
        assert all(a["at"] for a in agreed["accepted"])
        assert receiver.events[1].data["moderator"] == "m-1"
        assert receiver.events[4].data["state"] == "resolved"
        for request in receiver.requests:  # no one's words leave the server
            assert b"SECRET-WORDS" not in request.body
            assert b"PRIVATE-TERMS" not in request.body
        positions = [e.data["position"] for e in receiver.events]
        assert positions == sorted(positions)


async def test_refusals_and_an_outage_delay_events_but_lose_and_double_none(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with WebhookReceiver(SECRET) as receiver:
        server = await start_server(with_webhook(settings, receiver))
        receiver.answer_next(429, 2, retry_after="0")
        receiver.answer_next(503, 3)
        receiver.answer_next(500, 2)
        room = await settle(server, "T-flaky")
        await until(lambda: len(receiver.events) >= 5)
        await asyncio.sleep(0.3)
        assert receiver.events[0].type == "room.created"
        assert len(receiver.events) == 5 and not receiver.duplicates
        assert {e.data["room"] for e in receiver.events} == {room}
        metrics = (await server.platform.http.get("/metrics")).text
        assert 'mediation_outbox_deliveries_total{destination="webhook",outcome="retry"} 7.0' in (
            metrics
        )


async def test_a_permanent_refusal_is_a_dead_letter_until_retried_by_hand(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with WebhookReceiver(SECRET) as receiver:
        server = await start_server(with_webhook(settings, receiver))
        platform = server.platform
        receiver.answer_next(400)
        room = await platform.open_room("T-dead")
        dead: list[dict[str, object]] = []

        async def listed() -> list[dict[str, object]]:
            answer = await platform.http.get("/api/outbox?status=dead", headers=platform.auth)
            assert answer.status_code == 200, answer.text
            rows: list[dict[str, object]] = answer.json()["rows"]
            return rows

        for _ in range(200):
            dead = await listed()
            if dead:
                break
            await asyncio.sleep(0.05)
        assert [(d["topic"], d["room"]) for d in dead] == [("room.created", room)]
        assert "400" in str(dead[0]["last_error"])
        assert not receiver.events
        assert (await platform.http.get("/api/outbox?status=dead")).status_code == 401
        retried = await platform.http.post(
            f"/api/outbox/{dead[0]['id']}/retry", headers=platform.auth
        )
        assert retried.status_code == 200, retried.text
        await until(lambda: len(receiver.events) == 1)
        assert receiver.events[0].type == "room.created"
        assert await listed() == []
        again = await platform.http.post(
            f"/api/outbox/{dead[0]['id']}/retry", headers=platform.auth
        )
        assert again.status_code == 404


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_without_a_destination_nothing_is_written(server: RunningServer) -> None:
    await settle(server, "T-quiet")
    rows = await server.services.outbox.rows("pending", 10)
    assert rows == []
    backlog = await server.services.outbox.backlog()
    assert (backlog.pending, backlog.dead) == (0, 0)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_delivered_rows_are_forgotten_after_a_while_dead_letters_never(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with WebhookReceiver(SECRET) as receiver:
        server = await start_server(with_webhook(settings, receiver))
        receiver.answer_next(400)  # the first event is refused for good
        await server.platform.open_room("T-old")
        await server.platform.open_room("T-new")
        outbox = server.services.outbox
        await until(lambda: len(receiver.events) == 1)
        await until_rows(outbox, "dead", 1)
        await until_rows(outbox, "done", 1)  # received, then marked done: not in one step
        assert len(await outbox.rows("done", 10)) == 1
        assert await outbox.prune(time.time() - 3600) == 0  # not old enough yet
        assert await outbox.prune(time.time() + 1) == 1
        assert await outbox.rows("done", 10) == []
        assert len(await outbox.rows("dead", 10)) == 1  # kept until retried by hand


async def until_rows(outbox: Outbox, status: str, count: int) -> None:
    for _ in range(200):
        if len(await outbox.rows(status, 10)) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {count} {status} rows")


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_shutdown_hands_its_deliveries_in_flight_to_the_next_process_at_once(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with WebhookReceiver(SECRET) as receiver:
        server = await start_server(with_webhook(settings, receiver))
        receiver.answer_next(204, delay=5.0)  # received, answer held back: in flight
        await server.platform.open_room("T-cut")
        await until(lambda: len(receiver.requests) == 1)
        await server.services.outbox_worker.close()  # what a shutdown does first
        query = select(outbox.c.status, outbox.c.lease_until, outbox.c.uncertain)
        async with server.services.db.read() as conn:
            row = (await conn.execute(query)).one()
        # claimable now, not after the lease; and the next attempt looks first
        assert (row.status, row.lease_until, bool(row.uncertain)) == ("pending", None, True)
