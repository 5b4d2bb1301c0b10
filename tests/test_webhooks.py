"""Webhooks to the marketplace over real sockets: signed per Standard Webhooks, verified by a
real receiver, each answer mapped to the outcome the outbox worker acts on."""

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from mediation.outbox.delivery import Delivered, Delivery, Outcome, Permanent, Retry
from mediation.outbox.retry_after import retry_after
from mediation.outbox.webhooks import USER_AGENT, WebhookEndpoint, Webhooks
from tests.conftest import free_port
from tests.webhook_receiver import WebhookReceiver

SECRET = "whsec_" + base64.b64encode(b"the marketplace's webhook secret!").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"somebody else's secret, not ours").decode()
CREATED = datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


def delivery(topic: str = "settlement.agreed", event_id: str = "evt_1", **data: Any) -> Delivery:
    return Delivery(
        id=7,
        event_id=event_id,
        destination="webhook",
        topic=topic,
        room_id="room-42",
        ticket_provider="zendesk",
        ticket_id="1234",
        data=data
        or {
            "state": "settled",
            "position": 17,
            "at": "2025-03-04T05:06:07.890Z",
            "proposal": 3,
            "terms": {"amount": "250.00", "currency": "EUR", "milestone": "m-2"},
            "accepted": [
                {"role": "client", "user": "u-c", "at": "2025-03-04T05:01:00Z"},
                {"role": "freelancer", "user": "u-f", "at": "2025-03-04T05:06:07Z"},
            ],
        },
        created_at=CREATED,
        attempts=0,
        uncertain=False,
    )


def webhooks(url: str, secret: str = SECRET, **options: Any) -> Webhooks:
    topics = options.pop("topics", None)
    return Webhooks(WebhookEndpoint("webhook", url, secret, topics), **options)


async def test_a_delivery_arrives_verified_with_its_type_data_and_id() -> None:
    async with WebhookReceiver(SECRET) as receiver, webhooks(receiver.url) as hooks:
        before = time.time()
        outcome = await hooks.deliver(delivery())
        assert outcome == Delivered()
        assert hooks.name == "webhook"
        assert receiver.rejected == []
        [event] = receiver.events
        assert event.id == "evt_1"
        assert event.type == "settlement.agreed"
        assert event.timestamp == "2025-03-04T05:06:07.890000Z"
        assert event.data == {
            "room": "room-42",
            "ticket": {"provider": "zendesk", "id": "1234"},
            **delivery().data,
        }
        [request] = receiver.requests
        assert request.headers["webhook-id"] == "evt_1"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"] == USER_AGENT
        assert request.headers["webhook-signature"].startswith("v1,")
        assert before - 1 <= int(request.headers["webhook-timestamp"]) <= time.time()
        assert b" " not in request.body  # compact: the bytes signed are the bytes sent
        assert json.loads(request.body)["type"] == "settlement.agreed"


async def test_the_same_event_again_is_the_same_webhook_id_and_the_receiver_dedupes() -> None:
    async with WebhookReceiver(SECRET) as receiver, webhooks(receiver.url) as hooks:
        assert await hooks.deliver(delivery()) == Delivered()
        assert await hooks.deliver(delivery()) == Delivered()
        assert await hooks.deliver(delivery(event_id="evt_2")) == Delivered()
        assert [event.id for event in receiver.events] == ["evt_1", "evt_2"]
        assert receiver.duplicates == {"evt_1": 1}


async def test_a_receiver_with_another_secret_rejects_it_and_that_is_permanent() -> None:
    async with WebhookReceiver(OTHER_SECRET) as receiver, webhooks(receiver.url) as hooks:
        outcome = await hooks.deliver(delivery())
        assert isinstance(outcome, Permanent)
        assert "401" in outcome.error
        assert receiver.events == []
        assert [(r.id, r.reason) for r in receiver.rejected] == [
            ("evt_1", "No matching signature found")
        ]


async def test_a_body_changed_in_transit_fails_verification() -> None:
    async with WebhookReceiver(SECRET) as receiver, webhooks(receiver.url) as hooks:
        d = delivery()
        body = hooks.body(d)
        headers = hooks.headers(d, body, datetime.now(UTC))
        async with httpx.AsyncClient() as client:
            tampered = body.replace(b"250.00", b"950.00")
            assert tampered != body
            response = await client.post(receiver.url, content=tampered, headers=headers)
            assert response.status_code == 401
            response = await client.post(receiver.url, content=body, headers=headers)
            assert response.status_code == 204
        assert len(receiver.rejected) == 1
        assert [event.id for event in receiver.events] == ["evt_1"]


async def test_429_is_retry_after_the_seconds_it_asked_for() -> None:
    async with WebhookReceiver(SECRET) as receiver, webhooks(receiver.url) as hooks:
        receiver.answer_next(429, retry_after="120")
        outcome = await hooks.deliver(delivery())
        assert outcome == Retry("HTTP 429 Too Many Requests", after=120.0)
        assert receiver.events == []
        assert await hooks.deliver(delivery()) == Delivered()  # the next attempt lands
        assert [event.id for event in receiver.events] == ["evt_1"]


async def test_503_with_an_http_date_is_retry_until_that_date() -> None:
    async with WebhookReceiver(SECRET) as receiver, webhooks(receiver.url) as hooks:
        when = datetime.now(UTC) + timedelta(seconds=90)
        receiver.answer_next(503, retry_after=format_datetime(when, usegmt=True))
        outcome = await hooks.deliver(delivery())
        assert isinstance(outcome, Retry)
        assert outcome.after is not None
        assert 87 <= outcome.after <= 90
        assert not outcome.uncertain


@pytest.mark.parametrize("status", [500, 502, 408, 409])
async def test_server_errors_and_timeouts_at_their_end_are_retried(status: int) -> None:
    async with WebhookReceiver(SECRET) as receiver, webhooks(receiver.url) as hooks:
        receiver.answer_next(status, times=2)
        for _ in range(2):
            outcome = await hooks.deliver(delivery())
            assert isinstance(outcome, Retry)
            assert outcome.error.startswith(f"HTTP {status}")
            assert outcome.after is None
        assert await hooks.deliver(delivery()) == Delivered()


async def test_410_gone_is_permanent() -> None:
    async with WebhookReceiver(SECRET) as receiver, webhooks(receiver.url) as hooks:
        receiver.answer_next(410)
        outcome = await hooks.deliver(delivery())
        assert outcome == Permanent("endpoint gone (HTTP 410 Gone)")


@pytest.mark.parametrize("status", [400, 404, 422])
async def test_other_4xx_are_permanent(status: int) -> None:
    async with WebhookReceiver(SECRET) as receiver, webhooks(receiver.url) as hooks:
        receiver.answer_next(status)
        outcome = await hooks.deliver(delivery())
        assert isinstance(outcome, Permanent)
        assert outcome.error.startswith(f"HTTP {status}")


async def test_a_redirect_is_not_followed() -> None:
    async with WebhookReceiver(SECRET) as receiver, webhooks(receiver.url) as hooks:
        receiver.answer_next(307)
        outcome = await hooks.deliver(delivery())
        assert isinstance(outcome, Permanent)
        assert "redirect" in outcome.error
        assert len(receiver.requests) == 1


async def test_connection_refused_is_retry() -> None:
    async with webhooks(f"http://127.0.0.1:{free_port()}/hooks") as hooks:
        outcome = await hooks.deliver(delivery())
        assert isinstance(outcome, Retry)
        assert outcome.error.startswith("ConnectError")
        assert not outcome.uncertain


async def test_an_answer_too_late_is_retry_and_the_next_attempt_a_duplicate() -> None:
    async with (
        WebhookReceiver(SECRET) as receiver,
        webhooks(receiver.url, timeout=0.3) as hooks,
    ):
        receiver.answer_next(200, delay=1.0)  # it processed the event, then answered late
        outcome = await hooks.deliver(delivery())
        assert isinstance(outcome, Retry)
        assert "timed out" in outcome.error
        assert await hooks.deliver(delivery()) == Delivered()
        assert [event.id for event in receiver.events] == ["evt_1"]
        assert receiver.duplicates == {"evt_1": 1}  # the webhook-id made the retry safe


async def test_topics_the_endpoint_did_not_ask_for_are_not_sent() -> None:
    async with (
        WebhookReceiver(SECRET) as receiver,
        webhooks(receiver.url, topics=frozenset({"room.claimed"})) as hooks,
    ):
        assert await hooks.deliver(delivery(topic="room.created")) == Delivered()
        assert await hooks.deliver(delivery(topic="room.claimed", event_id="evt_2")) == (
            Delivered()
        )
        assert [event.type for event in receiver.events] == ["room.claimed"]
        assert len(receiver.requests) == 1


async def test_no_error_string_carries_the_secret_the_body_or_the_url() -> None:
    token_url_path = "/hooks?token=s3cr3t-path-token"
    outcomes: list[Outcome] = []
    async with WebhookReceiver(SECRET) as receiver:
        url = receiver.url + token_url_path
        async with webhooks(url, timeout=0.3) as hooks:
            for status in (429, 500, 410, 400, 307):
                receiver.answer_next(status, retry_after="5")
                outcomes.append(await hooks.deliver(delivery()))
            receiver.answer_next(200, delay=1.0)
            outcomes.append(await hooks.deliver(delivery()))
        async with webhooks(receiver.url, OTHER_SECRET) as hooks:
            outcomes.append(await hooks.deliver(delivery()))
    async with webhooks(f"http://127.0.0.1:{free_port()}{token_url_path}") as hooks:
        outcomes.append(await hooks.deliver(delivery()))
    async with webhooks(f"ftp://127.0.0.1/{token_url_path}") as hooks:
        outcomes.append(await hooks.deliver(delivery()))
    body = webhooks("http://x", SECRET).body(delivery()).decode()
    errors = [o.error for o in outcomes if isinstance(o, Retry | Permanent)]
    assert len(errors) == len(outcomes) == 9
    for error in errors:
        for secret in (SECRET, SECRET[6:], OTHER_SECRET[6:], "s3cr3t", "250.00", body):
            assert secret not in error
    assert "secret" not in repr(WebhookEndpoint("w", "http://x", SECRET))


def test_retry_after_reads_delta_seconds() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert retry_after("120", now) == 120.0
    assert retry_after(" 0 ", now) == 0.0
    assert retry_after(None, now) is None
    assert retry_after("", now) is None
    assert retry_after("-5", now) is None
    assert retry_after("1.5", now) is None
    assert retry_after("soon", now) is None


def test_retry_after_reads_http_dates_in_all_three_forms() -> None:
    now = datetime(1994, 11, 6, 8, 48, 37, tzinfo=UTC)  # a minute before the RFC's example
    assert retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) == 60.0
    assert retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now) == 60.0
    assert retry_after("Sun Nov  6 08:49:37 1994", now) == 60.0
    assert retry_after("Sun, 06 Nov 1994 08:40:00 GMT", now) == 0.0  # past: now
    assert retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now.replace(tzinfo=None)) == 60.0
    assert retry_after("Sun, 32 Nov 1994 08:49:37 GMT", now) is None
