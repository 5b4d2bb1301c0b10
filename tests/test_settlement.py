"""A whole dispute over real sockets, from the queue to a settlement, a rating and the report."""

import csv
import io

from tests.conftest import RunningServer
from tests.peers import Peer


async def say(peer: Peer, cid: str, channel: str, body: str) -> None:
    ack = await peer.act({"type": "send", "id": cid, "channel": channel, "body": body})
    assert ack["type"] == "ack", ack


async def test_a_dispute_from_the_queue_to_a_rated_settlement(server: RunningServer) -> None:
    platform = server.platform
    room = await platform.open_room("T-full", priority="high")
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    await say(client, "c-open", "joint", "The logo files were never delivered.")

    queue = (await platform.http.get("/api/queue", headers=platform.auth)).json()["rooms"]
    entry = next(r for r in queue if r["id"] == room)
    assert (entry["priority"], entry["state"]) == ("high", "waiting")
    assert entry["waiting"]["client"]  # the client has spoken and waits

    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    moderator, welcome = await server.peer(room, "m-1", "moderator")
    assert welcome["room"]["state"] == "mediating"
    await say(moderator, "m-hello", "joint", "I'm Maya, I'll help you both.")

    # caucus with each side: the other side sees that one runs, never what is said
    for party, other in (("client", freelancer), ("freelancer", client)):
        opened = await moderator.act(
            {"type": "caucus", "id": f"open-{party}", "party": party, "open": True}
        )
        assert opened["type"] == "ack", opened
        shown = await other.event("caucus", party=party)
        assert (shown["open"], shown["channel"]) == (True, "room")
        await say(moderator, f"m-private-{party}", f"caucus:{party}", f"secret to {party}")
        await moderator.act(
            {"type": "caucus", "id": f"close-{party}", "party": party, "open": False}
        )
        await other.event("caucus", party=party, open=False)
    party_peer = {"client": client, "freelancer": freelancer}
    for party, peer in party_peer.items():
        others = [f for f in await peer.drain() if f.get("channel", "").startswith("caucus:")]
        assert all(f["channel"] == f"caucus:{party}" for f in others), others
        private = [m["body"] for m in peer.messages() if m["channel"] == f"caucus:{party}"]
        assert private == [f"secret to {party}"]

    # a proposal, a counter, the moderator's middle ground: both accept that one
    first = await client.act(
        {
            "type": "propose",
            "id": "p1",
            "amount": "1200",
            "currency": "usd",
            "milestone": "M2",
            "text": "Refund for the missing files",
            "expires_in": 60,
        },
    )
    seen = await freelancer.event("proposal")
    assert seen["terms"] == {
        "amount": "1200.00",
        "currency": "USD",
        "milestone": "M2",
        "text": "Refund for the missing files",
    }
    counter = await freelancer.act(
        {
            "type": "propose",
            "id": "p2",
            "amount": "1500.00",
            "currency": "USD",
            "counters": first["seq"],
            "text": "Files were delivered by mail",
        },
    )
    assert (await client.event("proposal"))["target"] == first["seq"]
    stale = await client.act(
        {"type": "respond", "id": "r-stale", "proposal": first["seq"], "answer": "accept"}
    )
    assert stale["code"] == "superseded", stale
    middle = await moderator.act(
        {
            "type": "propose",
            "id": "p3",
            "amount": "1350.50",
            "currency": "USD",
            "milestone": "M2",
            "counters": counter["seq"],
            "text": "Split the difference; files resent today",
        },
    )
    terms = {
        "amount": "1350.50",
        "currency": "USD",
        "milestone": "M2",
        "text": "Split the difference; files resent today",
    }
    first_yes = await client.act(
        {"type": "respond", "id": "r1", "proposal": middle["seq"], "answer": "accept"}
    )
    assert first_yes["type"] == "ack"
    row = await server.services.store.room(room)
    assert row is not None
    assert row.state == "mediating"  # one yes is not a deal
    second_yes = await freelancer.act(
        {"type": "respond", "id": "r2", "proposal": middle["seq"], "answer": "accept"}
    )
    assert second_yes["type"] == "ack"
    for peer in (client, freelancer, moderator):
        resolved = await peer.event("state", state="resolved")
        assert resolved["terms"] == terms
        assert resolved["target"] == middle["seq"]
        assert resolved["sender"] == {"user": "mediation", "role": "system"}
    row = await server.services.store.room(room)
    assert row is not None and row.workflow is not None
    assert row.state == "resolved"
    assert row.workflow["settlement"] == terms

    # CSAT from each party, once
    for party, rating in (("client", 5), ("freelancer", 3)):
        peer = party_peer[party]
        rated = await peer.act(
            {
                "type": "rate",
                "id": f"csat-{party}",
                "rating": rating,
                "comment": f"{party} says thanks",
            },
        )
        assert (rated["type"], rated["channel"]) == ("ack", f"caucus:{party}"), rated
    again = await client.act({"type": "rate", "id": "csat-again", "rating": 1})
    assert again["code"] == "conflict"

    report = await platform.http.get("/api/reports/rooms", headers=platform.auth)
    assert report.status_code == 200
    line = next(r for r in report.json()["rooms"] if r["room"] == room)
    assert (line["state"], line["priority"], line["moderator"]) == ("resolved", "high", "m-1")
    assert (line["settlement_amount"], line["settlement_currency"]) == ("1350.50", "USD")
    assert (line["csat_client"], line["csat_freelancer"]) == (5, 3)
    assert line["csat_client_comment"] == "client says thanks"
    assert 0 <= line["first_response_seconds"] <= line["resolution_seconds"]
    assert line["longest_wait_client_seconds"] > 0  # waited from its first word to Maya's
    sheet = await platform.http.get("/api/reports/rooms?format=csv", headers=platform.auth)
    assert sheet.headers["content-type"].startswith("text/csv")
    rows = {r["room"]: r for r in csv.DictReader(io.StringIO(sheet.text))}
    assert rows[room]["settlement_amount"] == "1350.50"
    assert rows[room]["csat_freelancer"] == "3"
