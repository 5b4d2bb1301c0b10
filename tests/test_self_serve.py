"""Self-serve negotiation over a real server (rooms.self_serve): the parties settle while
their room waits; the queue shows them negotiating; the server resolves the room with the
same signed settlement as a mediated one (downloaded, and verified by the command line
against the exported bundle); the webhook and the report say it was self-served. A claim
in the middle keeps the open offer."""

import asyncio
from pathlib import Path
from typing import Any

import msgspec

from mediation.config import Settings
from tests.conftest import RunningServer, ServerFactory
from tests.peers import Peer
from tests.test_arbitration import report_row
from tests.test_clocks import listed
from tests.test_outbox import SECRET
from tests.test_settlement_artifact import agreed, bearer, cli, download, until, with_webhook
from tests.webhook_receiver import WebhookReceiver


def propose(pid: str, amount: str, counters: int | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "propose", "id": pid, "amount": amount, "currency": "USD"}
    frame |= {"text": "the files resent by Friday", "expires_in": 60}
    return frame if counters is None else {**frame, "counters": counters}


def accept(rid: str, proposal: int) -> dict[str, Any]:
    return {"type": "respond", "id": rid, "proposal": proposal, "answer": "accept"}


async def claim(server: RunningServer, room: str) -> None:
    platform = server.platform
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text


async def opened(server: RunningServer, ticket: str) -> tuple[str, Peer, Peer]:
    """A room opened for `ticket`, its client and freelancer connected."""
    room = await server.platform.open_room(ticket)
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    return room, client, freelancer


async def test_the_parties_settle_a_waiting_room_and_the_document_verifies(
    start_server: ServerFactory, settings: Settings, tmp_path: Path
) -> None:
    async with WebhookReceiver(SECRET) as receiver:
        server = await start_server(with_webhook(settings, receiver))
        platform = server.platform
        room, client, freelancer = await opened(server, "T-self")
        assert not (await listed(server, room))["negotiating"]
        first = await client.acked(propose("p1", "900"))
        entry = await listed(server, room)
        assert (entry["state"], entry["offer"], entry["negotiating"]) == (
            "waiting",
            first["seq"],
            True,
        )
        counter = await freelancer.acked(propose("p2", "1100", counters=first["seq"]))
        await client.acked(accept("r1", counter["seq"]))
        for peer in (client, freelancer):
            resolved = await peer.event("state", state="resolved")
            assert resolved["sender"] == {"user": "mediation", "role": "system"}
        assert not any(r["id"] == room for r in (await queue(server)))  # left the queue

        # the signed settlement, as for a mediated one, verifies against the bundle
        document = await download(server, room, bearer(await platform.token(room, "c-1", "client")))
        assert document.status_code == 200, document.text
        doc = msgspec.json.decode(document.content)
        assert doc["terms"]["amount"] == "1100.00"
        assert doc["proposal"]["by"] == {"role": "freelancer", "user": "f-1"}
        assert sorted(a["role"] for a in doc["acceptances"]) == ["client", "freelancer"]
        keys = (await platform.http.get("/.well-known/mediation-signing-keys")).json()
        pem = tmp_path / "key.pem"
        pem.write_text(next(k["pem"] for k in keys["keys"] if k["id"] == doc["key_id"]))
        bundle = tmp_path / "room.jsonl"
        exported = await platform.http.get(f"/api/rooms/{room}/export", headers=platform.auth)
        bundle.write_bytes(exported.content)
        settled = tmp_path / "settlement.json"
        settled.write_bytes(document.content)
        verify = ["verify", "--settlement", str(settled), "--public-key", str(pem), str(bundle)]
        checked = await asyncio.to_thread(cli, server.settings.data_dir, *verify)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "matches the transcript" in checked.stdout

        # the outside world and the report: self-served
        event = await agreed(receiver)
        assert event.data["self_served"] is True and event.data["state"] == "waiting"
        await until(lambda: any(e.type == "room.resolved" for e in receiver.events))
        done = next(e for e in receiver.events if e.type == "room.resolved")
        assert done.data["self_served"] is True
        row = await report_row(server, room)
        assert (row["self_served"], row["claimed_at"], row["settlement_amount"]) == (
            True,
            None,
            "1100.00",
        )
        for peer in (client, freelancer):
            await peer.close()


async def queue(server: RunningServer) -> list[dict[str, Any]]:
    response = await server.platform.http.get("/api/queue", headers=server.platform.auth)
    rooms: list[dict[str, Any]] = response.json()["rooms"]
    return rooms


async def test_a_moderator_claims_a_negotiating_room_and_the_offer_stays_open(
    server: RunningServer,
) -> None:
    room, client, freelancer = await opened(server, "T-claimed")
    made = await client.acked(propose("p1", "500"))
    assert (await listed(server, room))["negotiating"]
    await claim(server, room)
    await freelancer.acked(accept("r1", made["seq"]))  # still open after the claim
    await client.event("state", state="resolved")
    row = await report_row(server, room)
    assert (row["self_served"], row["moderator"], row["settlement_amount"]) == (
        False,
        "m-1",
        "500.00",
    )
    for peer in (client, freelancer):
        await peer.close()


async def test_a_moderator_cannot_resolve_a_waiting_room_nor_propose_in_it(
    server: RunningServer,
) -> None:
    room, client, freelancer = await opened(server, "T-refused")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    moved = await moderator.act({"type": "transition", "id": "t1", "to": "resolved"})
    assert (moved["type"], moved["code"]) == ("error", "forbidden"), moved
    proposed = await moderator.act(propose("p1", "100"))
    assert (proposed["type"], proposed["code"]) == ("error", "conflict"), proposed
    made = await client.acked(propose("p2", "100"))  # the parties still may
    rejected = await freelancer.acked({**accept("r1", made["seq"]), "answer": "reject"})
    assert rejected["type"] == "ack"
    assert not (await listed(server, room))["negotiating"]  # nothing open now
    for peer in (client, freelancer, moderator):
        await peer.close()


async def test_the_parties_settle_an_escalated_room_while_it_waits_for_the_next_tier(
    server: RunningServer,
) -> None:
    platform = server.platform
    room, client, freelancer = await opened(server, "T-escalated")
    await claim(server, room)
    moderator, _ = await server.peer(room, "m-1", "moderator")
    await moderator.acked({"type": "transition", "id": "t1", "to": "escalated", "reason": "x"})
    made = await freelancer.acked(propose("p1", "640"))
    entry = await listed(server, room)
    assert (entry["state"], entry["tier"], entry["negotiating"]) == ("escalated", 2, True)
    await client.acked(accept("r1", made["seq"]))
    await client.event("state", state="resolved")
    document = await download(server, room, platform.auth)
    assert document.status_code == 200, document.text
    assert msgspec.json.decode(document.content)["terms"]["amount"] == "640.00"
    row = await report_row(server, room)
    assert (row["state"], row["self_served"]) == ("resolved", False)  # it was claimed once
    for peer in (client, freelancer, moderator):
        await peer.close()
