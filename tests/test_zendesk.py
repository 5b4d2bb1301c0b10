"""Zendesk notes against a local Zendesk on a real socket: what is posted, how each failure
maps to an outcome, the look-before-resend after a timeout, and the webhook signature."""

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mediation.outbox.delivery import Delivered, Delivery, Destination, Outcome, Permanent, Retry
from mediation.tickets.zendesk import ZendeskApi, ZendeskNotes, verify_webhook
from tests.fake_zendesk import FakeZendesk, running_zendesk

MARKER = "[mediation event evt_1]"


@pytest.fixture
async def zendesk() -> AsyncIterator[FakeZendesk]:
    async with running_zendesk() as fake:
        fake.add_ticket("123", tags=("vip",))
        yield fake


@pytest.fixture
async def api(zendesk: FakeZendesk) -> AsyncIterator[ZendeskApi]:
    api = ZendeskApi(
        zendesk.base_url, email=zendesk.email, api_token=zendesk.api_token, timeout=0.5
    )
    yield api
    await api.aclose()


def delivery(
    topic: str = "room.claimed",
    data: dict[str, Any] | None = None,
    *,
    uncertain: bool = False,
    ticket_id: str = "123",
    provider: str = "zendesk",
) -> Delivery:
    return Delivery(
        id=1,
        event_id="evt_1",
        destination="zendesk",
        topic=topic,
        room_id="room_9",
        ticket_provider=provider,
        ticket_id=ticket_id,
        data=data or {},
        created_at=datetime.now(UTC),
        attempts=1 if uncertain else 0,
        uncertain=uncertain,
    )


def puts(fake: FakeZendesk) -> int:
    return sum(seen.method == "PUT" for seen in fake.requests)


async def test_a_claim_posts_one_private_note_with_its_marker_opens_and_adds_tags(
    zendesk: FakeZendesk, api: ZendeskApi
) -> None:
    notes: Destination = ZendeskNotes(api)
    assert notes.name == "zendesk"
    assert await notes.deliver(delivery()) == Delivered()
    ticket = zendesk.tickets["123"]
    note = ticket.comments[-1]
    assert len(ticket.comments) == 2  # the description, then the note
    assert note["public"] is False
    assert "room_9" in note["body"] and note["body"].endswith(f"\n\n{MARKER}")
    assert ticket.status == "open"
    assert ticket.tags == ["vip", "mediation"]  # added to, not replaced
    assert all(seen.auth_ok for seen in zendesk.requests)


async def test_a_resolution_carries_the_terms_and_audit_link_and_solves(
    zendesk: FakeZendesk, api: ZendeskApi
) -> None:
    terms = {"amount": "125.00", "currency": "EUR", "milestone": "M2", "text": "private words"}
    data = {"terms": terms, "audit_url": "https://mediation.example/audit/room_9"}
    assert await ZendeskNotes(api).deliver(delivery("room.resolved", data)) == Delivered()
    ticket = zendesk.tickets["123"]
    body = ticket.comments[-1]["body"]
    assert "125.00 EUR" in body and "milestone: M2" in body
    assert "https://mediation.example/audit/room_9" in body
    assert "private words" not in body
    assert ticket.status == "solved"


async def test_an_escalation_says_whether_a_brief_exists_never_its_text(
    zendesk: FakeZendesk, api: ZendeskApi
) -> None:
    notes = ZendeskNotes(api)
    assert (
        await notes.deliver(delivery("room.escalated", {"tier": 2, "brief": True})) == Delivered()
    )
    leaked = {"tier": 3, "brief": "the parties disagree about the refund"}
    assert await notes.deliver(delivery("room.escalated", leaked)) == Delivered()
    first, second = (c["body"] for c in zendesk.tickets["123"].comments[1:])
    assert "tier 2" in first and "A brief was written." in first
    assert "tier 3" in second and "No brief was written." in second
    assert "refund" not in second
    assert zendesk.tickets["123"].status == "new"  # escalation leaves the status


async def test_statuses_per_topic_are_configurable(zendesk: FakeZendesk, api: ZendeskApi) -> None:
    notes = ZendeskNotes(api, statuses={"room.claimed": None, "room.closed": "pending"}, tags=[])
    await notes.deliver(delivery("room.claimed"))
    assert zendesk.tickets["123"].status == "new"
    await notes.deliver(delivery("room.closed"))
    assert zendesk.tickets["123"].status == "pending"
    assert zendesk.tickets["123"].tags == ["vip"]


async def test_other_topics_and_other_providers_make_no_call(
    zendesk: FakeZendesk, api: ZendeskApi
) -> None:
    notes = ZendeskNotes(api)
    assert await notes.deliver(delivery("settlement.proposed")) == Delivered()
    assert await notes.deliver(delivery(provider="local")) == Delivered()
    assert zendesk.requests == []


async def test_an_oauth_token_is_sent_as_a_bearer(zendesk: FakeZendesk) -> None:
    api = ZendeskApi(zendesk.base_url, oauth_token=zendesk.oauth_token)
    try:
        assert await ZendeskNotes(api).deliver(delivery("room.created")) == Delivered()
    finally:
        await api.aclose()
    assert zendesk.requests[-1].auth_ok
    assert zendesk.tickets["123"].comments[-1]["body"].endswith(MARKER)


async def test_a_rate_limit_is_retried_after_zendesk_says(
    zendesk: FakeZendesk, api: ZendeskApi
) -> None:
    zendesk.rate_limited, zendesk.retry_after = 1, 7
    notes = ZendeskNotes(api)
    outcome = await notes.deliver(delivery())
    assert isinstance(outcome, Retry) and outcome.after == 7.0 and not outcome.uncertain
    assert len(zendesk.tickets["123"].comments) == 1
    assert await notes.deliver(delivery()) == Delivered()
    assert len(zendesk.tickets["123"].comments) == 2


@pytest.mark.parametrize(("status", "after"), [(500, None), (503, 3)])
async def test_server_errors_are_retried(
    zendesk: FakeZendesk, api: ZendeskApi, status: int, after: int | None
) -> None:
    zendesk.failing, zendesk.fail_status, zendesk.fail_retry_after = 1, status, after
    outcome = await ZendeskNotes(api).deliver(delivery())
    assert outcome == Retry(f"zendesk answered {status} (ServerError)", after=after)
    assert len(zendesk.tickets["123"].comments) == 1


async def test_an_outage_and_a_refused_connection_are_retried(
    zendesk: FakeZendesk, api: ZendeskApi
) -> None:
    zendesk.outage = True
    outcome = await ZendeskNotes(api).deliver(delivery())
    assert isinstance(outcome, Retry) and not outcome.uncertain
    async with running_zendesk() as gone:
        url = gone.base_url
    closed = ZendeskApi(url, oauth_token="t")
    try:
        refused = await ZendeskNotes(closed).deliver(delivery())
    finally:
        await closed.aclose()
    assert refused == Retry("zendesk: ConnectError")


async def test_a_timeout_after_the_update_looks_before_it_sends_again(
    zendesk: FakeZendesk, api: ZendeskApi
) -> None:
    zendesk.hang_after_apply = 1
    notes = ZendeskNotes(api)
    outcome = await notes.deliver(delivery())
    assert outcome == Retry("zendesk: ReadTimeout", uncertain=True)
    assert len(zendesk.tickets["123"].comments) == 2  # applied, though unanswered
    zendesk.requests.clear()
    assert await notes.deliver(delivery(uncertain=True)) == Delivered()
    notes_with_marker = [c for c in zendesk.tickets["123"].comments if MARKER in c["body"]]
    assert len(notes_with_marker) == 1
    assert [(s.method, s.path) for s in zendesk.requests] == [
        ("GET", "/api/v2/tickets/123/comments.json")
    ]


async def test_an_uncertain_attempt_that_was_not_applied_sends_once(
    zendesk: FakeZendesk, api: ZendeskApi
) -> None:
    assert await ZendeskNotes(api).deliver(delivery(uncertain=True)) == Delivered()
    assert [(s.method, s.path.rsplit("/", 1)[-1]) for s in zendesk.requests] == [
        ("GET", "comments.json"),
        ("PUT", "tags.json"),  # adding tags again is harmless
        ("PUT", "123.json"),
    ]
    assert sum(MARKER in c["body"] for c in zendesk.tickets["123"].comments) == 1


async def test_a_failed_look_stays_uncertain(zendesk: FakeZendesk, api: ZendeskApi) -> None:
    zendesk.failing = 1
    outcome = await ZendeskNotes(api).deliver(delivery(uncertain=True))
    assert isinstance(outcome, Retry) and outcome.uncertain
    assert puts(zendesk) == 0


async def test_the_marker_is_found_on_a_later_page(zendesk: FakeZendesk, api: ZendeskApi) -> None:
    ticket = zendesk.add_ticket("77")
    for n in range(249):
        zendesk.add_comment(ticket, f"note {n}\n\n[mediation event e{n}]", public=False)
    assert len(ticket.comments) == 250
    zendesk.requests.clear()
    assert await api.has_marker("77", "[mediation event e248]")
    assert len(zendesk.requests) == 3  # 100 + 100 + 50, following links.next
    assert await api.has_marker("77", "[mediation event e0]")
    assert not await api.has_marker("77", "[mediation event e249]")


async def test_refusals_are_permanent_and_name_no_secret(zendesk: FakeZendesk) -> None:
    zendesk.add_ticket("500", status="closed")
    good = ZendeskApi(zendesk.base_url, email=zendesk.email, api_token=zendesk.api_token)
    wrong = ZendeskApi(zendesk.base_url, email=zendesk.email, api_token="not-the-token-41d2")
    outcomes: list[Outcome] = []
    try:
        note = delivery("room.resolved", {"terms": {"amount": "9.50", "currency": "GBP"}})
        for api, ticket_id in [(good, "404"), (wrong, "123"), (good, "500"), (good, "1/../2")]:
            outcomes.append(await ZendeskNotes(api).deliver(replace(note, ticket_id=ticket_id)))
        zendesk.hang_after_apply = 1
        quick = ZendeskApi(zendesk.base_url, oauth_token=zendesk.oauth_token, timeout=0.2)
        outcomes.append(await ZendeskNotes(quick).deliver(note))
        await quick.aclose()
    finally:
        await good.aclose()
        await wrong.aclose()
    assert outcomes[:4] == [
        Permanent("zendesk answered 404 (RecordNotFound)"),
        Permanent("zendesk answered 401 (Couldn't authenticate you)"),
        Permanent("zendesk answered 422 (RecordInvalid)"),
        Permanent("zendesk ticket id is not a number"),
    ]
    secrets = [zendesk.api_token, "not-the-token-41d2", zendesk.oauth_token, zendesk.email]
    basic = base64.b64encode(f"{zendesk.email}/token:{zendesk.api_token}".encode()).decode()
    for outcome in outcomes:
        assert isinstance(outcome, Permanent | Retry)
        for secret in [*secrets, basic, "9.50", "room_9"]:
            assert secret not in outcome.error


async def test_the_fake_refuses_a_malformed_update(zendesk: FakeZendesk) -> None:
    auth = httpx.BasicAuth(f"{zendesk.email}/token", zendesk.api_token)
    url = f"{zendesk.base_url}/api/v2/tickets/123.json"
    async with httpx.AsyncClient(auth=auth) as client:
        not_json = await client.put(url, content=b"{", headers={"content-type": "application/json"})
        no_body = await client.put(url, json={"ticket": {"comment": {"public": False}}})
        ok = await client.put(url, json={"ticket": {"status": "open"}})
    assert (not_json.status_code, no_body.status_code, ok.status_code) == (422, 422, 200)
    assert no_body.json()["error"] == "RecordInvalid"


SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
STAMP = "2024-01-01T00:00:00Z"
NOW = datetime(2024, 1, 1, 0, 1, tzinfo=UTC).timestamp()
BODY = b'{"type":"zen:event-type:ticket.created","id":"1"}'


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def test_a_zendesk_signature_verifies() -> None:
    assert verify_webhook(SECRET, STAMP, BODY, sign(SECRET, STAMP, BODY), NOW)
    assert verify_webhook(SECRET, STAMP, b"", sign(SECRET, STAMP, b""), NOW)  # no body


def test_a_wrong_signature_fails() -> None:
    good = sign(SECRET, STAMP, BODY)
    assert not verify_webhook(SECRET, STAMP, BODY + b" ", good, NOW)
    assert not verify_webhook("another secret", STAMP, BODY, good, NOW)
    assert not verify_webhook(SECRET, STAMP, BODY, sign(SECRET, STAMP, BODY + b"x"), NOW)
    assert not verify_webhook(SECRET, STAMP, BODY, "", NOW)
    assert not verify_webhook(SECRET, STAMP, BODY, "nøt base64", NOW)
    swapped = base64.b64encode(
        hmac.new(SECRET.encode(), BODY + STAMP.encode(), hashlib.sha256).digest()
    ).decode()
    assert not verify_webhook(SECRET, STAMP, BODY, swapped, NOW)  # timestamp first


def test_a_stale_signature_fails() -> None:
    good = sign(SECRET, STAMP, BODY)
    start = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    assert verify_webhook(SECRET, STAMP, BODY, good, start + 300)
    assert not verify_webhook(SECRET, STAMP, BODY, good, start + 301)
    assert not verify_webhook(SECRET, STAMP, BODY, good, start - 301)  # from the future
    assert verify_webhook(SECRET, STAMP, BODY, good, start + 900, tolerance=1000)


@pytest.mark.parametrize(
    "stamp", ["", "yesterday", "1704067200", "2024-01-01T00:00:00", "2024-13-01T00:00:00Z"]
)
def test_a_malformed_timestamp_fails(stamp: str) -> None:
    assert not verify_webhook(SECRET, stamp, BODY, sign(SECRET, stamp, BODY), NOW)


def test_a_non_finite_clock_fails() -> None:
    good = sign(SECRET, STAMP, BODY)
    assert not verify_webhook(SECRET, STAMP, BODY, good, float("nan"))
