"""The workflow's rules refuse what a mediation forbids, with a stable code, storing nothing."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from rooms.ports import Draft
from rooms.settlement import proposal_body, terms
from tests.conftest import RunningServer
from tests.peers import Peer


async def mediating_room(server: RunningServer, ticket: str) -> tuple[str, Peer, Peer, Peer]:
    room = await server.platform.open_room(ticket)
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    claimed = await moderator.act({"type": "transition", "id": "claim", "to": "mediating"})
    assert claimed["type"] == "ack", claimed
    return room, client, freelancer, moderator


def propose(
    cid: str, amount: str = "100.00", currency: str = "USD", **extra: Any
) -> dict[str, Any]:
    return {"type": "propose", "id": cid, "amount": amount, "currency": currency, **extra}


def respond(cid: str, proposal: int, answer: str = "accept") -> dict[str, Any]:
    return {"type": "respond", "id": cid, "proposal": proposal, "answer": answer}


async def refused(
    server: RunningServer, room: str, peer: Peer, frame: dict[str, Any], code: str
) -> dict[str, Any]:
    """`frame` gets an error with `code`, and the room's transcript does not move."""
    before = await server.services.store.tip(room)
    reply = await peer.act(frame)
    assert (reply["type"], reply["code"]) == ("error", code), reply
    assert await server.services.store.tip(room) == before
    return reply


BAD_TERMS = [
    ("12,50", "USD"),  # a comma is not a decimal point
    ("1e3", "USD"),  # no exponents
    ("-5.00", "USD"),  # no negative settlements
    ("12.505", "USD"),  # USD has cents, not mills
    ("12.5", "JPY"),  # the yen has no minor unit
    ("", "USD"),
    ("100.00", "ABC"),  # not ISO 4217
    ("100.00", "XAU"),  # gold is ISO 4217, but not money a settlement pays
]


async def test_bad_amounts_and_currencies_are_invalid(server: RunningServer) -> None:
    room, client, _, _ = await mediating_room(server, "T-money")
    for n, (amount, currency) in enumerate(BAD_TERMS):
        reply = await refused(server, room, client, propose(f"p{n}", amount, currency), "invalid")
        assert amount in reply["message"] or currency in reply["message"], reply


async def test_a_party_cannot_accept_its_own_proposal_nor_the_moderator_any(
    server: RunningServer,
) -> None:
    room, client, _, moderator = await mediating_room(server, "T-own")
    made = await client.act(propose("p1"))
    await refused(server, room, client, respond("r1", made["seq"]), "forbidden")
    await refused(server, room, moderator, respond("r2", made["seq"]), "forbidden")


async def test_superseded_and_rejected_versions_cannot_be_accepted(server: RunningServer) -> None:
    room, client, freelancer, _ = await mediating_room(server, "T-versions")
    first = await client.act(propose("p1", "100.00"))
    counter = await freelancer.act(propose("p2", "150.00", counters=first["seq"]))
    await refused(server, room, freelancer, respond("r1", first["seq"]), "superseded")
    # countering a version that is no longer on the table is refused too
    await refused(
        server, room, client, propose("p3", "120.00", counters=first["seq"]), "superseded"
    )
    rejected = await client.act(respond("r2", counter["seq"], "reject"))
    assert rejected["type"] == "ack"
    await refused(server, room, client, respond("r3", counter["seq"]), "superseded")
    row = await server.services.store.room(room)
    assert row is not None
    assert row.state == "mediating"


async def test_an_expired_proposal_cannot_be_accepted(server: RunningServer) -> None:
    room, _, freelancer, _ = await mediating_room(server, "T-expired")
    # the socket's shortest expiry is a minute: store one that lives a second instead
    soon = datetime.now(UTC) + timedelta(seconds=1)
    body = proposal_body(terms("100.00", "USD"), soon)
    draft = Draft(room, "joint", "c-1", "client", "p-short", body, origin="", kind="proposal")
    made = await server.services.committer.append(draft)
    await asyncio.sleep(1.2)
    reply = await refused(server, room, freelancer, respond("r1", made.seq), "expired")
    assert "expired" in reply["message"]


async def test_proposals_need_a_room_in_mediation(server: RunningServer) -> None:
    """A moderator's, that is: the parties may negotiate by themselves while the room
    waits (rooms.self_serve, tests/test_self_serve.py)."""
    room = await server.platform.open_room("T-early")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    await moderator.saw_join("m-1", "moderator")  # stored: the transcript is still from here on
    await refused(server, room, moderator, propose("p1"), "conflict")


async def test_ratings_come_from_parties_once_the_room_is_resolved(server: RunningServer) -> None:
    room, client, _, moderator = await mediating_room(server, "T-rate")
    await refused(server, room, client, {"type": "rate", "id": "early", "rating": 4}, "conflict")
    resolved = await moderator.act({"type": "transition", "id": "done", "to": "resolved"})
    assert resolved["type"] == "ack"
    await refused(server, room, moderator, {"type": "rate", "id": "m", "rating": 5}, "forbidden")
    await refused(server, room, client, {"type": "rate", "id": "six", "rating": 6}, "invalid")
    assert (await client.act({"type": "rate", "id": "ok", "rating": 4}))["type"] == "ack"


async def test_only_moderators_hold_caucuses_transfer_and_escalate(server: RunningServer) -> None:
    room, client, _, _ = await mediating_room(server, "T-mod-only")
    caucus = {"type": "caucus", "id": "c", "party": "freelancer", "open": True}
    await refused(server, room, client, caucus, "forbidden")
    transfer = {"type": "transfer", "id": "t", "to": "c-1", "brief": "all yours"}
    await refused(server, room, client, transfer, "forbidden")


async def test_transfer_and_escalation_keep_history_and_brief_only_moderators(
    server: RunningServer,
) -> None:
    room, client, freelancer, moderator = await mediating_room(server, "T-handoff")
    await client.send("c1", "joint", "the files never came")
    brief = "Client says files missing; freelancer has mail receipts. Offer pending: none."
    moved = await moderator.act({"type": "transfer", "id": "t1", "to": "m-2", "brief": brief})
    assert (moved["type"], moved["channel"]) == ("ack", "notes"), moved
    row = await server.services.store.room(room)
    assert row is not None
    assert row.moderator == "m-2"
    second, welcome = await server.peer(room, "m-2", "moderator")
    handoff = await second.event("handoff")
    assert (handoff["brief"], handoff["moderator"], handoff["sender"]["user"]) == (
        brief,
        "m-2",
        "m-1",
    )
    assert welcome["head"]["joint"] >= 1  # the whole history is there to read
    escalation = {
        "type": "transition",
        "id": "e1",
        "to": "escalated",
        "reason": "needs a senior look",
        "brief": "Legal question about IP transfer.",
    }
    assert (await second.act(escalation))["type"] == "ack"
    for party in (client, freelancer):
        event = await party.event("state", state="escalated")
        assert event["reason"] == "needs a senior look"
        assert all(f.get("kind") != "handoff" for f in await party.drain())
    row = await server.services.store.room(room)
    assert row is not None
    assert (row.state, row.tier, row.moderator) == ("escalated", 2, None)
    queue = await server.platform.http.get("/api/queue?tier=2", headers=server.platform.auth)
    assert [r["id"] for r in queue.json()["rooms"]] == [room]
    seen = await moderator.event("handoff", brief="Legal question about IP transfer.")
    assert (seen["channel"], seen["sender"]["user"], "moderator" in seen) == ("notes", "m-2", False)
