"""Deadlines end to end, over real sockets: a party answering one second before the deadline
cancels it; an unanswered one is warned of (a mail, a webhook) and its default outcome is
applied exactly once, by a restarted process and by two processes racing on PostgreSQL."""

import asyncio
import signal
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mediation.config import Settings
from tests import test_scale_out as scale_out
from tests.conftest import RunningServer, ServerFactory, free_port
from tests.peers import Peer
from tests.server_process import API_KEY, ServerProcess
from tests.smtp_server import SmtpServer
from tests.test_notices import PEOPLE, noticing
from tests.test_outbox import SECRET
from tests.waiting import until
from tests.webhook_receiver import WebhookReceiver

AUTH = {"authorization": f"Bearer {API_KEY}"}
redis_prefix = scale_out.redis_prefix  # a fixture: a key prefix of our own on the shared Redis
pg_url = scale_out.pg_url  # a fixture: a PostgreSQL database of our own


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, clock_tick=0.05, deadline_warning=0.0)


def iso_in(seconds: float) -> str:
    at = datetime.now(UTC) + timedelta(seconds=seconds)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def until_moment(iso: str) -> float:
    """Seconds from now until `iso`."""
    return (datetime.fromisoformat(iso) - datetime.now(UTC)).total_seconds()


def kinds(peer: Peer, *wanted: str) -> list[dict[str, Any]]:
    return [f for f in peer.received if f.get("kind") in wanted]


async def claimed_room(server: RunningServer, ticket: str) -> tuple[str, Peer, Peer, Peer]:
    room = await server.platform.open_room(ticket, people=PEOPLE)
    moderator, _ = await server.peer(room, "m-1", "moderator")
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    await moderator.acked({"type": "transition", "id": "claim", "to": "mediating"})
    return room, moderator, client, freelancer


async def test_a_party_answering_one_second_before_the_deadline_cancels_it(
    server: RunningServer,
) -> None:
    _, moderator, client, freelancer = await claimed_room(server, "T-dl-answer")
    offer = await client.acked(
        {"type": "propose", "id": "p1", "amount": "400", "currency": "USD", "expires_in": 60}
    )
    due = iso_in(2.5)
    await moderator.acked(
        {
            "type": "deadline",
            "id": "dl-1",
            "party": "freelancer",
            "outcome": "accept_proposal",
            "proposal": offer["seq"],
            "at": due,
            "reason": "Accept or reject the refund, please.",
        }
    )
    seen = await freelancer.event("deadline", party="freelancer", outcome="accept_proposal")
    assert (seen["target"], seen["reason"]) == (
        offer["seq"],
        "Accept or reject the refund, please.",
    )
    assert seen["due_at"] == due
    await asyncio.sleep(until_moment(due) - 1.0)  # one second before it falls due
    await freelancer.acked(
        {"type": "respond", "id": "r1", "proposal": offer["seq"], "answer": "reject"}
    )
    cancelled = await moderator.event("deadline_ended", deadline=seen["seq"])
    assert cancelled["cause"] == "answered"
    assert cancelled["sender"] == {"user": "mediation", "role": "system"}
    assert datetime.fromisoformat(cancelled["ts"]) < datetime.fromisoformat(due)
    await asyncio.sleep(until_moment(due) + 0.6)  # many ticks past the due time
    await client.drain()
    assert not kinds(client, "deadline_applied", "deadline_warning")
    assert [f["state"] for f in kinds(client, "state")] == ["mediating"]  # still mediating


async def test_a_deadline_is_warned_of_by_mail_and_webhook_then_resolves_the_room_once(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with SmtpServer() as smtp, WebhookReceiver(SECRET) as receiver:
        noticed = noticing(settings, smtp, receiver)  # no away notices: the warning alone
        server = await start_server(replace(noticed, deadline_warning=1.5, notify_after=3600))
        room, moderator, _, freelancer = await claimed_room(server, "T-dl-resolve")
        due = iso_in(2.5)
        await moderator.acked(
            {
                "type": "deadline",
                "id": "dl-2",
                "party": "freelancer",
                "outcome": "resolve",
                "at": due,
                "amount": "900",
                "currency": "EUR",
                "text": "The freelancer keeps the deposit.",
            }
        )
        set_ = await freelancer.event("deadline", outcome="resolve")
        assert set_["terms"]["amount"] == "900.00"
        warning = await freelancer.event("deadline_warning", deadline=set_["seq"])
        assert datetime.fromisoformat(warning["ts"]) < datetime.fromisoformat(due)
        enforced = await freelancer.event("deadline_applied", deadline=set_["seq"])
        assert datetime.fromisoformat(enforced["ts"]) >= datetime.fromisoformat(due)
        resolved = await freelancer.event("state", state="resolved")
        assert resolved["seq"] == enforced["seq"] + 1  # the outcome's record, same commit
        assert resolved["terms"]["amount"] == "900.00"
        assert resolved["reason"].startswith(f"deadline #{set_['seq']}: the freelancer")
        await until(lambda: len(smtp.received) >= 1, 10, "the warning mail")
        wanted = ("deadline.set", "deadline.warning", "deadline.applied", "room.resolved")
        await until(
            lambda: all(any(e.type == t for e in receiver.events) for t in wanted), 10, "webhooks"
        )
        await asyncio.sleep(0.5)  # ticks after: nothing is warned of or enforced again
        html = await server.platform.http.get(
            f"/api/rooms/{room}/export?format=html", headers=server.platform.auth
        )
        report = await server.platform.http.get("/api/reports/rooms", headers=server.platform.auth)
    assert "Deadline on the freelancer: answer by " in html.text
    assert "or the room is resolved with 900.00 EUR." in html.text
    assert f"Deadline #{set_['seq']} fell due unanswered" in html.text
    line = next(r for r in report.json()["rooms"] if r["room"] == room)
    assert (line["deadlines_set"], line["deadlines_applied"], line["deadlines_answered"]) == (
        1,
        1,
        0,
    )
    mail = smtp.received
    assert [m.rcpt_tos for m in mail] == [["bruno@example.com"]]  # the party, in French
    assert mail[0].message["Subject"] == "Votre réponse est attendue bientôt dans votre médiation"
    assert b"SECRET" not in mail[0].raw and b"deposit" not in mail[0].raw
    mine = [e for e in receiver.events if e.data.get("room") == room]
    assert sorted(e.type for e in mine if e.type.startswith("deadline.")) == sorted(wanted[:3])
    warned = next(e for e in mine if e.type == "deadline.warning")
    assert (warned.data["party"], warned.data["user"]) == ("freelancer", "f-1")
    assert warned.data["deadline"] == set_["seq"]
    assert not receiver.duplicates
    assert len(kinds(freelancer, "deadline_applied")) == 1


async def set_escalation(http: httpx.AsyncClient, ws_url: str, room: str, due: str) -> Peer:
    """The moderator of `room` (claimed) sets a deadline on the client to escalate at `due`."""
    minted = await http.post(
        f"/api/rooms/{room}/tokens", json={"user": "m-1", "role": "moderator"}, headers=AUTH
    )
    moderator = await Peer.connect(ws_url)
    assert (await moderator.hello(minted.json()["token"]))["type"] == "welcome"
    await moderator.acked(
        {"type": "deadline", "id": "dl", "party": "client", "outcome": "escalate", "at": due}
    )
    return moderator


async def open_claimed(http: httpx.AsyncClient, ticket: str) -> str:
    opened = await http.post(
        "/api/rooms",
        json={"ticket": {"provider": "local", "id": ticket}, "client": "c-1", "freelancer": "f-1"},
        headers=AUTH,
    )
    room: str = opened.json()["id"]
    claimed = await http.post(f"/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=AUTH)
    assert claimed.status_code == 200, claimed.text
    return room


async def outcome_records(http: httpx.AsyncClient, ws_url: str, room: str) -> list[str]:
    """The deadline and state records of `room`'s room channel, as an auditor replays them."""
    minted = await http.post(
        f"/api/rooms/{room}/tokens",
        json={"user": "a-1", "role": "auditor", "purpose": "checking deadlines"},
        headers=AUTH,
    )
    auditor = await Peer.connect(ws_url)
    assert (await auditor.hello(minted.json()["token"]))["type"] == "welcome"
    await auditor.drain()
    await auditor.close()
    wanted = ("deadline", "deadline_applied", "deadline_warning", "deadline_ended", "state")
    return [f"{f['kind']}:{f.get('state', '')}" for f in kinds(auditor, *wanted)]


ONCE = ["state:mediating", "deadline:", "deadline_applied:", "state:escalated"]


@pytest.mark.slow
async def test_a_default_outcome_falls_due_while_the_server_is_down_and_fires_once(
    tmp_path: Path,
) -> None:
    server = ServerProcess(
        tmp_path, free_port(), MEDIATION_CLOCK_TICK="0.05", MEDIATION_DEADLINE_WARNING="0"
    )
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            room = await open_claimed(http, "T-dl-restart")
            moderator = await set_escalation(http, server.ws_url, room, iso_in(1.5))
            await moderator.close()
            await asyncio.to_thread(server.stop, signal.SIGKILL)
            await asyncio.sleep(2.0)  # it falls due with no process running
            await asyncio.to_thread(server.start)
            await asyncio.sleep(0.5)
            assert await outcome_records(http, server.ws_url, room) == ONCE
            await asyncio.to_thread(server.stop, signal.SIGTERM)
            await asyncio.to_thread(server.start)  # and again: nothing is applied twice
            await asyncio.sleep(0.5)
            assert await outcome_records(http, server.ws_url, room) == ONCE
    finally:
        await asyncio.to_thread(server.stop, signal.SIGTERM)
        server.close()


@pytest.mark.slow
async def test_two_processes_apply_each_default_outcome_once(
    tmp_path: Path, pg_url: str, redis_prefix: str
) -> None:
    async with WebhookReceiver(SECRET) as receiver, httpx.AsyncClient(timeout=10) as http:
        env = {
            "MEDIATION_REDIS_PREFIX": redis_prefix,
            "MEDIATION_CLOCK_TICK": "0.02",
            "MEDIATION_DEADLINE_WARNING": "0",
            "MEDIATION_WEBHOOK_URL": receiver.url,
            "MEDIATION_WEBHOOK_SECRET": SECRET,
            "MEDIATION_OUTBOX_TICK": "0.05",
        }
        async with scale_out.two_nodes(tmp_path, pg_url, scale_out.SHARED_REDIS, **env) as (a, b):
            http.headers.update(AUTH)
            a_http = httpx.AsyncClient(base_url=a.base_url, headers=AUTH, timeout=10)
            async with a_http:
                rooms = [await open_claimed(a_http, f"T-dl-{i}") for i in range(6)]
                due = iso_in(6.0)  # every room falls due at the same moment, on both processes
                # (6 s: setting the six deadlines on a loaded machine must end before it)
                for i, room in enumerate(rooms):
                    server = (a, b)[i % 2]
                    await (await set_escalation(a_http, server.ws_url, room, due)).close()
                await asyncio.sleep(until_moment(due) + 1.0)
                for i, room in enumerate(rooms):
                    ws_url = (a, b)[(i + 1) % 2].ws_url
                    assert await outcome_records(a_http, ws_url, room) == ONCE, room
            await until(lambda: sum(e.type == "deadline.applied" for e in receiver.events) >= 6, 10)
            await asyncio.sleep(0.5)
    enforced = sorted(e.data["room"] for e in receiver.events if e.type == "deadline.applied")
    assert enforced == sorted(rooms)
    assert not receiver.duplicates


async def test_the_door_refuses_bad_deadlines_with_a_clear_error(server: RunningServer) -> None:
    room, moderator, client, _ = await claimed_room(server, "T-dl-door")
    frame = {"type": "deadline", "id": "d1", "party": "client", "outcome": "escalate"}
    refused = await client.act({**frame, "business_days": 1})
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    for extra, code in (
        ({}, "invalid"),  # neither `at` nor `business_days`
        ({"at": iso_in(60), "business_days": 1}, "invalid"),  # both
        ({"at": "2026-13-01T00:00:00Z"}, "invalid"),
        ({"at": "2020-01-01T00:00:00Z"}, "invalid"),  # in the past
        ({"at": iso_in(60), "outcome": "resolve"}, "invalid"),  # no terms
        ({"at": iso_in(60), "outcome": "accept_proposal", "proposal": 9}, "superseded"),
        ({"at": iso_in(60), "party": "auditor"}, "invalid"),
        ({"business_days": 1, "calendar": "XX"}, "invalid"),  # no such holiday calendar
    ):
        reply = await moderator.act({**frame, "id": f"d{len(str(extra))}", **extra})
        assert (reply["type"], reply["code"]) == ("error", code), (extra, reply)
    set_ = await moderator.acked({**frame, "id": "ok", "business_days": 2, "calendar": "de-by"})
    counted = await client.event("deadline", seq=set_["seq"])
    assert (counted["business_days"], counted["calendar"]) == (2, "DE-BY")
    queue = await server.platform.http.get("/api/queue?moderator=m-1", headers=server.platform.auth)
    [entry] = [r for r in queue.json()["rooms"] if r["id"] == room]
    assert entry["deadlines"] == [
        {
            "deadline": set_["seq"],
            "party": "client",
            "due_at": counted["due_at"],
            "outcome": "escalate",
        }
    ]
    assert entry["next_alarm_at"] is not None
    again = await moderator.act({**frame, "id": "twice", "business_days": 3})
    assert again["code"] == "conflict"  # one open deadline per party
    withdrawn = {"type": "withdraw_deadline", "id": "w1", "deadline": set_["seq"]}
    await moderator.acked(withdrawn)
    assert (await moderator.act({**withdrawn, "id": "w2"}))["code"] == "conflict"
    ended = await client.event("deadline_ended", deadline=set_["seq"])
    assert (ended["cause"], ended["sender"]["role"]) == ("withdrawn", "moderator")


async def test_a_proposal_accepted_by_default_settles_with_a_signed_document(
    server: RunningServer,
) -> None:
    room, moderator, client, freelancer = await claimed_room(server, "T-dl-accept")
    await client.acked(
        {"type": "propose", "id": "p-1", "amount": "400", "currency": "EUR", "text": "Half back."}
    )
    proposal = await freelancer.event("proposal")
    await moderator.acked(
        {
            "type": "deadline",
            "id": "dl-a",
            "party": "freelancer",
            "outcome": "accept_proposal",
            "proposal": proposal["seq"],
            "at": iso_in(1.0),
        }
    )
    applied = await client.event("deadline_applied", outcome="accept_proposal")
    resolved = await client.event("state", state="resolved")
    assert resolved["terms"]["amount"] == "400.00"
    got = await server.platform.http.get(
        f"/api/rooms/{room}/settlement", headers=server.platform.auth
    )
    assert got.status_code == 200, got.text
    document = got.json()
    accepted = {a["role"]: a for a in document["acceptances"]}
    assert accepted["client"]["position"] < accepted["freelancer"]["position"]
    assert accepted["freelancer"]["user"] == "f-1"  # the party, though the server applied it
    assert accepted["freelancer"]["at"] == applied["ts"]
    assert "by_default" in accepted["freelancer"] and "by_default" not in accepted["client"]


async def test_a_room_opened_with_its_parties_calendar_counts_business_days_in_it(
    server: RunningServer,
) -> None:
    platform = server.platform
    body = {"ticket": {"provider": "local", "id": "T-dl-de"}, "client": "c-1", "freelancer": "f-1"}
    refused = await platform.http.post(
        "/api/rooms", json={**body, "calendar": "XX"}, headers=platform.auth
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid")
    opened = await platform.http.post(
        "/api/rooms", json={**body, "calendar": "de-by"}, headers=platform.auth
    )
    assert opened.status_code == 201, opened.text
    room = opened.json()["id"]
    assert opened.json()["calendar"] == "DE-BY"
    moderator, _ = await server.peer(room, "m-1", "moderator")
    client, _ = await server.peer(room, "c-1", "client")
    await moderator.acked({"type": "transition", "id": "claim", "to": "mediating"})
    await moderator.acked(
        {
            "type": "deadline",
            "id": "dl",
            "party": "client",
            "outcome": "escalate",
            "business_days": 2,
        }
    )
    set_ = await client.event("deadline", party="client")
    assert (set_["business_days"], set_["calendar"]) == (2, "DE-BY")
    other = await platform.open_room("T-dl-us")  # no calendar of its own: the deployment's
    listed = await platform.http.get(f"/api/rooms/{other}", headers=platform.auth)
    assert listed.json()["calendar"] is None
