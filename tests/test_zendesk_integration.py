"""Zendesk both ways, end to end against a local Zendesk: a signed trigger opens one room
per ticket, and each room event becomes exactly one private note on the ticket, through
429s, 5xxs, an update applied then hung, and an outage; what Zendesk refuses for good
waits as a dead letter. No note holds anyone's words."""

import asyncio
import base64
import hashlib
import hmac
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from mediation.config import Settings
from mediation.tickets.zendesk import ZendeskNotes
from tests.conftest import RunningServer, ServerFactory, serving
from tests.fake_zendesk import FakeZendesk, running_zendesk
from tests.waiting import until

SECRET = "dGhlIHNpZ25pbmcgc2VjcmV0IG9mIHRoZSB3ZWJob29r"
PUBLIC = "https://mediation.example.com"
WAIT = 15.0
MARKER = re.compile(r"\[mediation event (\S+)\.(room\.[a-z]+)\]\Z")


def with_zendesk(settings: Settings, fake: FakeZendesk, **more: Any) -> Settings:
    fake.retry_after = 0  # 429s say "now": the schedule is the test's, not the fake's 7 s
    return replace(
        settings,
        zendesk_url=fake.base_url,
        zendesk_email=fake.email,
        zendesk_api_token=fake.api_token,
        zendesk_webhook_secret=SECRET,
        zendesk_timeout=0.5,
        public_url=PUBLIC,
        outbox_tick=0.05,
        outbox_retry_initial=0.05,
        outbox_retry_max=0.2,
        **more,
    )


def signed(body: bytes, at: datetime | None = None, secret: str = SECRET) -> dict[str, str]:
    """The headers Zendesk sends: base64 HMAC-SHA256 of timestamp + body."""
    stamp = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    return {
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "Content-Type": "application/json",
    }


def trigger(ticket: str, **more: Any) -> bytes:
    body = {"ticket_id": ticket, "client": "c-1", "freelancer": "f-1", "priority": "High"}
    return msgspec.json.encode(body | {"subject": "Logo not delivered"} | more)


async def hook(server: RunningServer, body: bytes, **headers: str) -> httpx.Response:
    return await server.platform.http.post(
        "/api/integrations/zendesk", content=body, headers=headers or signed(body)
    )


async def opened(server: RunningServer, ticket: str) -> str:
    answer = await hook(server, trigger(ticket))
    assert answer.status_code == 201, answer.text
    room: str = answer.json()["id"]
    return room


def notes(fake: FakeZendesk, ticket: str) -> list[tuple[str, str]]:
    """(event id, topic) of each of our private notes on the ticket, in order."""
    found = []
    for comment in fake.tickets[ticket].comments:
        if (match := MARKER.search(comment["body"])) is not None:
            assert comment["public"] is False
            found.append((match[1], match[2]))
    return found


def topics(fake: FakeZendesk, ticket: str) -> list[str]:
    return [topic for _, topic in notes(fake, ticket)]


def bodies(fake: FakeZendesk, ticket: str) -> str:
    return "\n".join(c["body"] for c in fake.tickets[ticket].comments)


async def claim(server: RunningServer, room: str) -> None:
    platform = server.platform
    answer = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=platform.auth
    )
    assert answer.status_code == 200, answer.text


async def move(server: RunningServer, room: str, to: str, **more: Any) -> None:
    moderator, _ = await server.peer(room, "m-1", "moderator")
    await moderator.acked({"type": "transition", "id": f"to-{to}", "to": to, **more})
    await moderator.close()


async def settle(server: RunningServer, room: str) -> None:
    """Claimed, words exchanged, a proposal made and accepted: resolved with its terms."""
    await claim(server, room)
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    await client.acked({"type": "send", "id": "c1", "channel": "joint", "body": "SECRET-WORDS"})
    proposal = {"type": "propose", "id": "p1", "amount": "900", "currency": "USD"}
    made = await client.acked(proposal | {"text": "PRIVATE-TERMS", "expires_in": 3600})
    answer = {"type": "respond", "id": "r1", "proposal": made["seq"], "answer": "accept"}
    await freelancer.acked(answer)
    for peer in (client, freelancer):
        await peer.close()


async def dead_letters(server: RunningServer) -> list[dict[str, Any]]:
    platform = server.platform
    answer = await platform.http.get("/api/outbox?status=dead", headers=platform.auth)
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["rows"]
    return rows


async def test_a_signed_trigger_opens_one_room_and_a_forged_or_stale_one_none(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with running_zendesk() as fake:
        fake.add_ticket("101", tags=("dispute",))
        server = await start_server(with_zendesk(settings, fake))
        body = trigger("101")
        stale = signed(body, datetime.now(UTC) - timedelta(minutes=6))
        forged = signed(body, secret="not-the-secret")
        tampered = signed(trigger("101", client="c-evil"))
        for headers in (stale, forged, tampered, {"Content-Type": "application/json"}):
            refused = await hook(server, body, **headers)
            assert refused.status_code == 401, refused.text
            assert refused.json()["error"]["code"] == "unauthorized"
        assert await server.services.store.open_room_for_ticket("zendesk", "101") is None

        first = await hook(server, body)
        assert first.status_code == 201, first.text
        room = first.json()
        assert room["ticket"] == {"provider": "zendesk", "id": "101"}
        assert (room["client"], room["freelancer"], room["priority"]) == ("c-1", "f-1", "high")
        assert room["state"] == "waiting"
        again = await hook(server, trigger("101"))  # Zendesk fires the trigger twice
        assert again.status_code == 200, again.text
        assert again.json() == room

        platform = server.platform
        queue = (await platform.http.get("/api/queue", headers=platform.auth)).json()["rooms"]
        assert [entry["id"] for entry in queue] == [room["id"]]
        await until(lambda: topics(fake, "101") == ["room.created"])
        await asyncio.sleep(0.3)  # one note, not one per webhook
        assert topics(fake, "101") == ["room.created"]
        assert fake.tickets["101"].tags == ["dispute", "mediation"]
        assert fake.tickets["101"].status == "new"  # the opening note leaves it as it is
        assert room["id"] in bodies(fake, "101")


async def test_a_trigger_routes_its_room_by_the_tickets_locale_and_skill_tags(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with running_zendesk() as fake:
        for ticket in ("301", "302"):
            fake.add_ticket(ticket)
        server = await start_server(with_zendesk(settings, fake))
        tags = "dispute skill_Payments vip skill_design skill_"
        first = await hook(server, trigger("301", language="de-CH", tags=tags))
        assert first.status_code == 201, first.text
        assert (first.json()["language"], first.json()["skills"]) == ("de", ["payments", "design"])
        people = [{"user": "c-1", "locale": "fr-CA"}]  # "English": a name, not a locale
        second = await hook(server, trigger("302", language="English", people=people))
        assert (second.json()["language"], second.json()["skills"]) == ("fr", [])


async def test_malformed_triggers_get_422_and_nothing_opens(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with running_zendesk() as fake:
        server = await start_server(with_zendesk(settings, fake))
        malformed = [
            b"{not json",
            b"[]",
            msgspec.json.encode({"ticket_id": "7", "client": "c-1"}),  # no freelancer
            trigger("T-7"),  # not a Zendesk ticket id
            trigger("7", priority="extreme"),
            trigger("7", freelancer="c-1"),  # one person on both sides
            trigger("7", client="c 1"),
            trigger("7", people=[{"user": "c-1", "email": "not an address"}]),
        ]
        for body in malformed:
            answer = await hook(server, body)
            assert answer.status_code == 422, (body, answer.text)
            assert answer.json()["error"]["code"] == "invalid"
        huge = trigger("7", subject="x" * 20_000)
        assert (await hook(server, huge)).status_code == 413
        assert await server.services.store.open_room_for_ticket("zendesk", "7") is None
        # Zendesk's own renderings: a bare number, a capitalised or blank priority.
        bare = await hook(server, trigger("7", ticket_id=7, priority=""))
        assert bare.status_code == 201, bare.text
        assert (bare.json()["ticket"]["id"], bare.json()["priority"]) == ("7", "normal")


async def test_each_event_is_one_note_through_429s_5xxs_and_an_update_applied_then_hung(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with running_zendesk() as fake:
        fake.add_ticket("201")
        server = await start_server(
            with_zendesk(settings, fake, zendesk_claim_status="pending", zendesk_tags=("a", "b"))
        )
        fake.rate_limited = 2
        fake.failing, fake.fail_status = 3, 502
        fake.hang_after_apply, fake.hang_seconds = 1, 3.0
        room = await opened(server, "201")
        await until(lambda: topics(fake, "201") == ["room.created"])
        await settle(server, room)
        await until(lambda: len(notes(fake, "201")) >= 3)
        assert fake.tickets["201"].status == "solved"
        fake.failing, fake.fail_status = 2, 500
        await move(server, room, "closed")
        await until(lambda: len(notes(fake, "201")) >= 4)
        await asyncio.sleep(0.5)  # nothing more, nothing twice
        got = notes(fake, "201")
        lifecycle = ["room.created", "room.claimed", "room.resolved", "room.closed"]
        assert [t for _, t in got] == lifecycle
        assert len({event for event, _ in got}) == 4
        assert (fake.rate_limited, fake.failing, fake.hang_after_apply) == (0, 0, 0)
        assert fake.tickets["201"].tags == ["a", "b"]
        text = bodies(fake, "201")
        assert "SECRET-WORDS" not in text and "PRIVATE-TERMS" not in text
        resolved = fake.tickets["201"].comments[-2]["body"]
        assert "Agreed terms: 900.00 USD." in resolved
        assert f"Audit trail: {PUBLIC}/audit.html#room={room}" in resolved
        assert all(seen.auth_ok for seen in fake.requests if seen.method == "PUT")
        metrics = (await server.platform.http.get("/metrics")).text
        retries = re.search(
            r'mediation_outbox_deliveries_total\{destination="zendesk",outcome="retry"\} (\S+)',
            metrics,
        )
        assert retries is not None and float(retries[1]) >= 7  # 2 + 3 + 1 + 2 refusals, a hang
        assert await dead_letters(server) == []


async def test_the_claim_status_is_set_and_an_escalation_says_tier_and_brief_not_its_text(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with running_zendesk() as fake:
        fake.add_ticket("301", status="new")
        server = await start_server(with_zendesk(settings, fake))
        room = await opened(server, "301")
        await claim(server, room)
        await until(lambda: topics(fake, "301") == ["room.created", "room.claimed"])
        assert fake.tickets["301"].status == "open"
        await move(server, room, "escalated", brief="BRIEF-TEXT the client has the PDF")
        await until(lambda: len(notes(fake, "301")) == 3)
        escalated = fake.tickets["301"].comments[-1]["body"]
        assert "escalated to tier 2." in escalated and "A brief was written." in escalated
        assert "BRIEF-TEXT" not in bodies(fake, "301")
        assert fake.tickets["301"].status == "open"  # only claims and resolutions set one


async def test_an_outage_of_many_minutes_delays_notes_but_delivers_each_once_in_order(
    start_server: ServerFactory, settings: Settings
) -> None:
    tickets = ["401", "402", "403"]
    async with running_zendesk() as fake:
        for ticket in tickets:
            fake.add_ticket(ticket)
        server = await start_server(with_zendesk(settings, fake))
        fake.outage = True  # minutes of it, at the worker's compressed schedule
        rooms = [await opened(server, ticket) for ticket in tickets]
        for room in rooms:
            await claim(server, room)
        await move(server, rooms[0], "resolved", reason="settled by phone")
        await move(server, rooms[1], "escalated")
        await move(server, rooms[1], "closed")
        await asyncio.sleep(1.5)
        refused = sum(seen.method == "PUT" for seen in fake.requests)
        assert refused >= 6  # every lane kept trying, backing off
        assert all(notes(fake, ticket) == [] for ticket in tickets)
        fake.outage = False
        expected = {
            "401": ["room.created", "room.claimed", "room.resolved"],
            "402": ["room.created", "room.claimed", "room.escalated", "room.closed"],
            "403": ["room.created", "room.claimed"],
        }
        await until(lambda: all(topics(fake, t) == expected[t] for t in tickets))
        await asyncio.sleep(0.4)
        assert {t: topics(fake, t) for t in tickets} == expected
        assert fake.tickets["401"].status == "solved"
        assert await dead_letters(server) == []


async def test_a_ticket_zendesk_does_not_know_is_a_dead_letter(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with running_zendesk() as fake:
        server = await start_server(with_zendesk(settings, fake))
        room = await opened(server, "999")  # no such ticket in this Zendesk
        dead: list[dict[str, Any]] = []
        for _ in range(200):
            if dead := await dead_letters(server):
                break
            await asyncio.sleep(0.05)
        assert [(d["destination"], d["topic"], d["room"]) for d in dead] == [
            ("zendesk", "room.created", room)
        ]
        assert "404" in dead[0]["last_error"] and "RecordNotFound" in dead[0]["last_error"]
        assert fake.api_token not in str(dead)
        fake.add_ticket("999")  # the operator fixes it, then retries by hand
        platform = server.platform
        retried = await platform.http.post(
            f"/api/outbox/{dead[0]['id']}/retry", headers=platform.auth
        )
        assert retried.status_code == 200, retried.text
        await until(lambda: topics(fake, "999") == ["room.created"])


async def test_a_room_opened_through_the_api_for_a_zendesk_ticket_posts_its_opening_note(
    settings: Settings,
) -> None:
    async with running_zendesk() as fake:
        fake.add_ticket("501")
        async with serving(with_zendesk(settings, fake)) as server:
            platform = server.platform
            body = {"ticket": {"provider": "zendesk", "id": "501"}, "client": "c-1"}
            answer = await platform.http.post(
                "/api/rooms", json=body | {"freelancer": "f-1"}, headers=platform.auth
            )
            assert answer.status_code == 201, answer.text
            await until(lambda: topics(fake, "501") == ["room.created"])
            again = await hook(server, trigger("501"))
            assert (again.status_code, again.json()["id"]) == (200, answer.json()["id"])
            zendesk = server.services.outbox_worker._destinations["zendesk"]
            assert isinstance(zendesk, ZendeskNotes)
        assert zendesk._api._client.is_closed  # closed with the server


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_without_zendesk_the_provider_and_the_endpoint_do_not_exist(
    server: RunningServer,
) -> None:
    platform = server.platform
    body = {"ticket": {"provider": "zendesk", "id": "1"}, "client": "c-1", "freelancer": "f-1"}
    answer = await platform.http.post("/api/rooms", json=body, headers=platform.auth)
    assert answer.status_code == 400, answer.text
    assert "unknown ticket provider 'zendesk'; known: local" in answer.text
    webhook = await hook(server, trigger("1"))
    assert webhook.status_code == 404
    assert webhook.json()["error"]["code"] == "not_found"
