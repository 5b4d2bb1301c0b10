"""Disputes that end, over real sockets: a failed mediation, a party's opt-in, the
arbitrator's decision resolving the room; an opt-in after the window refused with its
code; the signed transcript and its files reaching the arbitration endpoint through the
outbox; a window passing with no opt-in closing the room exactly once."""

import asyncio
import base64
import hashlib
import secrets
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from mediation.config import Settings
from mediation.outbox.arbitration import ArbitrationEndpoint
from mediation.outbox.delivery import Delivered, Delivery, Permanent
from tests.conftest import RunningServer, ServerFactory
from tests.files import bearer, named, pdf
from tests.peers import Peer
from tests.test_export import public_key
from tests.waiting import until
from tests.webhook_receiver import WebhookReceiver
from transcripts.errors import Tampered, UnknownRoom
from transcripts.verify import verify

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
DECISION = {"type": "decide", "amount": "640", "currency": "eur", "text": "most of it"}


def hooked(settings: Settings, **more: Any) -> Settings:
    """Quick outbox retries, and a scheduler that only runs when a test calls it."""
    quick = replace(settings, outbox_tick=0.05, outbox_retry_initial=0.05, outbox_retry_max=0.2)
    return replace(quick, clock_tick=3600.0, **more)


async def mediation(server: RunningServer, ticket: str) -> tuple[str, Peer, Peer, Peer]:
    """A claimed room with the client, the freelancer and the moderator in it."""
    platform = server.platform
    room = await platform.open_room(ticket)
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    await client.acked({"type": "send", "id": "c1", "channel": "joint", "body": "Not delivered."})
    return room, client, freelancer, moderator


async def fail(moderator: Peer) -> None:
    frame = {"type": "transition", "id": "fail", "to": "mediation_failed", "reason": "deadlock"}
    await moderator.acked(frame)


async def report_row(server: RunningServer, room: str) -> dict[str, Any]:
    report = await server.platform.http.get("/api/reports/rooms", headers=server.platform.auth)
    [row] = [r for r in report.json()["rooms"] if r["room"] == room]
    assert isinstance(row, dict)
    return row


async def leave(*peers: Peer) -> None:
    for peer in peers:
        await peer.close()


async def state_of(server: RunningServer, room: str) -> str:
    got = await server.platform.http.get(f"/api/rooms/{room}", headers=server.platform.auth)
    state: str = got.json()["state"]
    return state


async def test_a_failed_mediation_goes_to_arbitration_and_the_decision_resolves_it(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with WebhookReceiver(SECRET) as receiver:
        server = await start_server(
            hooked(settings, webhook_url=receiver.url, webhook_secret=SECRET)
        )
        room, client, freelancer, moderator = await mediation(server, "T-arb")
        await moderator.acked({"type": "send", "id": "n1", "channel": "notes", "body": "NOTE"})
        await fail(moderator)
        failed = await freelancer.event("state", state="mediation_failed")
        assert (failed["reason"], failed["channel"]) == ("deadlock", "room")
        window = await freelancer.event("opt_in_window")
        assert window["sender"]["role"] == "system" and window["until"] > failed["ts"]

        # the moderator cannot send it to arbitration; a party can, once
        refused = await moderator.act({"type": "transition", "id": "t", "to": "arbitration"})
        assert refused["code"] == "forbidden", refused
        opted = await client.acked({"type": "opt_in", "id": "o1"})
        assert opted["channel"] == "room"
        moved = await freelancer.event("state", state="arbitration")
        assert moved["sender"]["role"] == "system"
        again = await freelancer.act({"type": "opt_in", "id": "o2"})
        assert again["code"] == "conflict", again

        # the arbitrator: joint and the room's events, never a caucus or the notes
        arbitrator, welcome = await server.peer(room, "arb-1", "arbitrator")
        assert list(welcome["head"]) == ["joint", "room"]
        await arbitrator.drain()
        assert "NOTE" not in [m["body"] for m in arbitrator.messages()]
        assert "Not delivered." in [m["body"] for m in arbitrator.messages()]
        said = await arbitrator.act({"type": "send", "id": "a1", "channel": "joint", "body": "hi"})
        assert said["code"] == "forbidden", said
        wrong = await client.act({**DECISION, "id": "d0"})
        assert wrong["code"] == "forbidden", wrong
        decided = await arbitrator.acked({**DECISION, "id": "d1", "reason": "the invoice shows"})
        decision = await client.event("decision", seq=decided["seq"])
        terms = {"amount": "640.00", "currency": "EUR", "text": "most of it"}
        assert (decision["terms"], decision["reason"]) == (terms, "the invoice shows")
        resolved = await client.event("state", state="resolved")
        assert resolved["terms"] == terms
        assert await state_of(server, room) == "resolved"

        topics = ["mediation.failed", "arbitration.requested", "arbitration.decided"]
        await until(lambda: {e.type for e in receiver.events} >= {*topics, "room.resolved"})
        ours = [e for e in receiver.events if e.type in topics]
        assert [e.type for e in ours] == topics
        assert ours[0].data["until"] == window["until"]
        assert ours[1].data["by"] == {"role": "client", "user": "c-1"}
        assert ours[2].data["terms"] == {"amount": "640.00", "currency": "EUR", "milestone": None}
        assert "transcript" not in ours[1].data  # the platform's webhook: no transcript

        export = await server.platform.http.get(
            f"/api/rooms/{room}/export", headers=server.platform.auth
        )
        kinds = [line for line in export.text.splitlines() if '"kind":"decision"' in line]
        assert len(kinds) == 1
        row = await report_row(server, room)
        assert (row["arbitration"], row["arbitration_party"]) == ("decided", "client")
        assert (row["state"], row["settlement_amount"]) == ("resolved", "640.00")
        await leave(client, freelancer, moderator, arbitrator)


async def test_an_opt_in_after_the_window_is_refused_with_window_closed(
    start_server: ServerFactory, settings: Settings
) -> None:
    server = await start_server(hooked(settings, arbitration_window=0.5))
    room, client, freelancer, moderator = await mediation(server, "T-late")
    await fail(moderator)
    await asyncio.sleep(0.6)
    late = await client.act({"type": "opt_in", "id": "late"})
    assert late["code"] == "window_closed", late
    assert await state_of(server, room) == "mediation_failed"
    await leave(client, freelancer, moderator)


async def test_a_window_passing_with_no_opt_in_closes_the_room_once(
    start_server: ServerFactory, settings: Settings
) -> None:
    server = await start_server(hooked(settings, arbitration_window=0.5))
    room, client, freelancer, moderator = await mediation(server, "T-lapse")
    await fail(moderator)
    assert await server.services.clocks.fire_due() == 0  # the window is still open
    queue = await server.platform.http.get(
        "/api/queue", params={"moderator": "m-1"}, headers=server.platform.auth
    )
    [entry] = [r for r in queue.json()["rooms"] if r["id"] == room]
    assert entry["state"] == "mediation_failed"
    assert entry["opt_in_until"] and entry["next_alarm_at"]
    await asyncio.sleep(0.6)
    clocks = server.services.clocks
    stored = await asyncio.gather(clocks.fire_due(), clocks.fire_due(), clocks.fire_due())
    assert sum(stored) == 1
    closed = await client.event("state", state="closed")
    assert closed["sender"]["role"] == "system"
    assert await state_of(server, room) == "closed"
    assert await clocks.fire_due() == 0
    row = await report_row(server, room)
    assert (row["arbitration"], row["arbitration_party"]) == ("lapsed", None)
    await client.send_json({"type": "history", "channel": "room", "id": "h"})
    page = await client.next("history")
    closes = [m for m in page["messages"] if m.get("state") == "closed"]
    assert len(closes) == 1
    late = await freelancer.act({"type": "opt_in", "id": "late"})
    assert late["code"] == "room_closed", late
    await leave(client, freelancer, moderator)


async def test_the_signed_transcript_and_its_files_reach_the_arbitration_endpoint(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with WebhookReceiver(SECRET) as receiver:
        server = await start_server(
            hooked(settings, arbitration_url=receiver.url, arbitration_secret=SECRET)
        )
        room, client, freelancer, moderator = await mediation(server, "T-bundle")
        evidence = pdf(3000)
        token = await server.platform.token(room, "c-1", "client")
        uploaded = await server.platform.http.post(
            f"/api/rooms/{room}/files",
            params={"channel": "joint"},
            content=evidence,
            headers=bearer(token) | named("invoice.pdf"),
        )
        assert uploaded.status_code == 201, uploaded.text
        await fail(moderator)
        await freelancer.acked({"type": "opt_in", "id": "o1"})
        await until(lambda: bool(receiver.events), what="the arbitration delivery")
        [event] = receiver.events  # this endpoint hears arbitration.requested only
        assert event.type == "arbitration.requested"
        assert event.data["room"] == room and event.data["state"] == "arbitration"
        assert event.data["by"] == {"role": "freelancer", "user": "f-1"}
        lines = [line.encode() + b"\n" for line in event.data["transcript"].splitlines()]
        verdict = verify(lines, await public_key(server))
        assert verdict.ok, verdict.reason
        assert any(b'"kind":"opt_in"' in line for line in lines)
        [sent] = event.data["files"]
        content = base64.b64decode(sent["content"])
        assert content == evidence
        assert sent["sha256"] == hashlib.sha256(evidence).hexdigest()
        assert [f.sha256 for f in verdict.files] == [sent["sha256"]]
        await asyncio.sleep(0.3)
        assert len(receiver.events) == 1 and not receiver.duplicates
        await leave(client, freelancer, moderator)


async def test_the_platform_mints_an_arbitrator_token_and_it_reads_only_joint_and_room(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-token")
    minted = await server.platform.http.post(
        f"/api/rooms/{room}/tokens",
        json={"user": "arb-9", "role": "arbitrator"},
        headers=server.platform.auth,
    )
    assert minted.status_code == 201, minted.text
    assert minted.json()["role"] == "arbitrator"
    exported = await server.platform.http.get(
        f"/api/rooms/{room}/export", headers=bearer(minted.json()["token"])
    )
    assert exported.status_code == 403  # an arbitrator does not export the whole room


async def test_each_arbitration_rule_over_the_socket(server: RunningServer) -> None:
    room, client, freelancer, moderator = await mediation(server, "T-rules")
    arbitrator, _ = await server.peer(room, "arb-1", "arbitrator")
    bare = {"type": "transition", "id": "f0", "to": "mediation_failed"}
    assert (await moderator.act(bare))["code"] == "invalid"  # a failure needs a reason
    assert (await client.act({"type": "opt_in", "id": "early"}))["code"] == "conflict"
    assert (await arbitrator.act({**DECISION, "id": "d-early"}))["code"] == "conflict"
    await fail(moderator)
    assert (await moderator.act({"type": "opt_in", "id": "m"}))["code"] == "forbidden"
    assert (await arbitrator.act({"type": "opt_in", "id": "a"}))["code"] == "forbidden"
    assert (await arbitrator.act({**DECISION, "id": "d-failed"}))["code"] == "conflict"
    bad = {**DECISION, "id": "d-bad", "amount": "1.234", "currency": "EUR"}
    assert (await arbitrator.act(bad))["code"] == "invalid"  # EUR has two decimals
    # a moderator may close a failed mediation inside the window; nobody opts in after
    close = {"type": "transition", "id": "close", "to": "closed", "reason": "court"}
    await moderator.acked(close)
    assert (await freelancer.act({"type": "opt_in", "id": "f"}))["code"] == "room_closed"
    assert await state_of(server, room) == "closed"
    await leave(client, freelancer, moderator, arbitrator)


def delivery(topic: str = "arbitration.requested") -> Delivery:
    return Delivery(
        1, "r_x.9.arbitration.requested", "arbitration", topic, "r_x", "local", "T-1",
        {"by": {"role": "client", "user": "c-1"}}, datetime.now(UTC), 0, False,
    )  # fmt: skip


async def test_a_room_that_fails_its_proof_is_a_dead_letter_not_a_delivery() -> None:
    asked: list[str] = []

    async def tampered(room: str) -> dict[str, Any]:
        asked.append(room)
        raise Tampered("room r_x: position 3 does not link", 3)

    async def gone(room: str) -> dict[str, Any]:
        raise UnknownRoom(f"no room {room}")

    endpoint = ArbitrationEndpoint("http://127.0.0.1:9/never", SECRET, tampered)
    outcome = await endpoint.deliver(delivery())
    assert isinstance(outcome, Permanent) and "position 3" in outcome.error
    assert asked == ["r_x"]
    assert await endpoint.deliver(delivery("room.closed")) == Delivered()  # not its topic
    assert asked == ["r_x"]  # nothing read, nothing sent
    await endpoint.aclose()
    endpoint = ArbitrationEndpoint("http://127.0.0.1:9/never", SECRET, gone)
    assert isinstance(await endpoint.deliver(delivery()), Permanent)
    await endpoint.aclose()
