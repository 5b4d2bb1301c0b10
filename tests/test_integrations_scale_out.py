"""The integrations with two processes on PostgreSQL + Redis: a Zendesk trigger that
reaches both opens one room, each event is one note on the ticket, and each away party
gets one mail and one `party.waiting`, whichever process looks first."""

import asyncio
from pathlib import Path

import httpx
import pytest

from tests import test_scale_out as scale_out
from tests.fake_zendesk import running_zendesk
from tests.peers import Peer
from tests.server_process import API_KEY
from tests.smtp_server import SmtpServer
from tests.test_outbox_crash import SECRET as HOOK_SECRET
from tests.test_zendesk_integration import SECRET as ZENDESK_SECRET
from tests.test_zendesk_integration import signed, topics, trigger
from tests.waiting import until
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow
AUTH = {"authorization": f"Bearer {API_KEY}"}
redis_prefix = scale_out.redis_prefix  # a fixture: a key prefix of our own on the shared Redis
pg_url = scale_out.pg_url  # a fixture: a PostgreSQL database of our own


async def test_two_processes_send_each_note_mail_and_webhook_once(
    tmp_path: Path, pg_url: str, redis_prefix: str
) -> None:
    async with (
        running_zendesk() as zendesk,
        SmtpServer() as smtp,
        WebhookReceiver(HOOK_SECRET) as receiver,
        httpx.AsyncClient(timeout=10) as http,
    ):
        zendesk.retry_after = 0
        zendesk.add_ticket("4242")
        env = {
            "MEDIATION_REDIS_PREFIX": redis_prefix,
            "MEDIATION_ZENDESK_URL": zendesk.base_url,
            "MEDIATION_ZENDESK_EMAIL": zendesk.email,
            "MEDIATION_ZENDESK_API_TOKEN": zendesk.api_token,
            "MEDIATION_ZENDESK_WEBHOOK_SECRET": ZENDESK_SECRET,
            "MEDIATION_WEBHOOK_URL": receiver.url,
            "MEDIATION_WEBHOOK_SECRET": HOOK_SECRET,
            "MEDIATION_SMTP_URL": smtp.url(),
            "MEDIATION_MAIL_FROM": "Mediation <disputes@example.com>",
            "MEDIATION_NOTIFY_AFTER": "0.5",
            "MEDIATION_NOTICE_TICK": "0.05",
            "MEDIATION_OUTBOX_TICK": "0.05",
            "MEDIATION_OUTBOX_RETRY_INITIAL": "0.05",
            "MEDIATION_OUTBOX_RETRY_MAX": "0.2",
        }
        people = [
            {"user": "c-1", "name": "Alice Doe", "email": "alice@example.com"},
            {"user": "f-1", "name": "Bruno Roy", "email": "bruno@example.com", "locale": "fr"},
        ]
        body = trigger("4242", people=people)
        async with scale_out.two_nodes(tmp_path, pg_url, scale_out.SHARED_REDIS, **env) as (a, b):
            first, again = await asyncio.gather(
                http.post(
                    a.base_url + "/api/integrations/zendesk", content=body, headers=signed(body)
                ),
                http.post(
                    b.base_url + "/api/integrations/zendesk", content=body, headers=signed(body)
                ),
            )
            assert sorted((first.status_code, again.status_code)) == [200, 201], (first, again)
            room = first.json()["id"]
            assert again.json()["id"] == room
            claimed = await http.post(
                f"{b.base_url}/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=AUTH
            )
            assert claimed.status_code == 200, claimed.text
            token = await http.post(
                f"{a.base_url}/api/rooms/{room}/tokens",
                json={"user": "m-1", "role": "moderator"},
                headers=AUTH,
            )
            moderator = await Peer.connect(a.ws_url)
            assert (await moderator.hello(token.json()["token"]))["type"] == "welcome"
            ack = await moderator.act(
                {"type": "send", "id": "m1", "channel": "joint", "body": "SECRET-WORDS"}
            )
            assert ack["type"] == "ack", ack
            await until(lambda: len(smtp.received) >= 2, 15, "two mails")
            await until(lambda: topics(zendesk, "4242") == ["room.created", "room.claimed"], 15)
            await asyncio.sleep(1.5)  # both processes looked many times: nothing more comes
            await moderator.close()
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == [
        "alice@example.com",
        "bruno@example.com",
    ]
    waiting = sorted(e.data["user"] for e in receiver.events if e.type == "party.waiting")
    assert waiting == ["c-1", "f-1"]
    assert not receiver.duplicates
    assert topics(zendesk, "4242") == ["room.created", "room.claimed"]
    assert all(b"SECRET-WORDS" not in r.raw for r in smtp.received)
