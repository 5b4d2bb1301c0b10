"""The signed settlement over a real server: both parties accept over their sockets; the
parties, the staff and the platform download the same signed document; the command line
verifies it against the exported bundle; the host's webhook names it (or carries it)."""

import asyncio
import hashlib
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
import pytest
from sqlalchemy import text

from mediation import offline
from mediation.config import Settings
from mediation.outbox.delivery import Delivered, Delivery
from mediation.outbox.settlement_webhook import SettlementWebhooks
from mediation.outbox.webhooks import WebhookEndpoint, Webhooks
from tests.conftest import RunningServer, ServerFactory
from tests.test_outbox import SECRET
from tests.test_outbox import with_webhook as outbox_settings
from tests.webhook_receiver import Event, WebhookReceiver
from transcripts.errors import StoreUnavailable
from transcripts.settlement_artifact import NotSettled, check
from transcripts.settlement_verify import verify_settlement
from transcripts.signing import load_public_pem

TEXT = "Refund 300 — the logo files resent by Friday"


def with_webhook(settings: Settings, receiver: WebhookReceiver, document: bool = False) -> Settings:
    return replace(outbox_settings(settings, receiver), webhook_settlement_document=document)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def staff(server: RunningServer, user: str, role: str) -> dict[str, str]:
    extra = {"purpose": "settlement review"} if role == "auditor" else {}
    response = await server.platform.http.post(
        "/api/staff/tokens",
        json={"user": user, "role": role, **extra},
        headers=server.platform.auth,
    )
    assert response.status_code == 201, response.text
    return bearer(response.json()["token"])


async def download(server: RunningServer, room: str, auth: dict[str, str]) -> httpx.Response:
    return await server.platform.http.get(f"/api/rooms/{room}/settlement", headers=auth)


async def settle(server: RunningServer, ticket: str) -> tuple[str, dict[str, str]]:
    """A room claimed; the moderator proposes, both parties accept over their sockets. The
    room and the client's credential; before the last acceptance, nothing is settled."""
    platform = server.platform
    room = await platform.open_room(ticket)
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    client_auth = bearer(await platform.token(room, "c-1", "client"))
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    moderator, _ = await server.peer(room, "m-1", "moderator")
    await client.acked({"type": "send", "id": "c1", "channel": "joint", "body": "SECRET-WORDS"})
    made = await moderator.acked(
        {
            "type": "propose",
            "id": "p1",
            "amount": "300",
            "currency": "eur",
            "milestone": "M2",
            "text": TEXT,
            "expires_in": 60,
        }
    )
    answer = {"type": "respond", "proposal": made["seq"], "answer": "accept"}
    await client.acked({**answer, "id": "r1"})
    early = await download(server, room, client_auth)  # one acceptance is not a settlement
    assert early.status_code == 404
    assert early.json()["error"]["code"] == "not_settled"
    await freelancer.acked({**answer, "id": "r2"})
    await client.event("state", state="resolved")
    for peer in (client, freelancer, moderator):
        await peer.close()
    return room, client_auth


async def until(condition: Callable[[], bool], wait: float = 10.0) -> None:
    async with asyncio.timeout(wait):
        while not condition():
            await asyncio.sleep(0.02)


async def agreed(receiver: WebhookReceiver) -> Event:
    await until(lambda: any(e.type == "settlement.agreed" for e in receiver.events))
    return next(e for e in receiver.events if e.type == "settlement.agreed")


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediation", *args],
        env={"MEDIATION_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_both_accept_and_everyone_entitled_downloads_the_document_the_cli_verifies(
    start_server: ServerFactory, settings: Settings, tmp_path: Path
) -> None:
    async with WebhookReceiver(SECRET) as receiver:
        server = await start_server(with_webhook(settings, receiver))
        room, client_auth = await settle(server, "T-signed")
        platform = server.platform
        as_client = await download(server, room, client_auth)
        assert as_client.status_code == 200, as_client.text
        assert as_client.headers["content-type"] == "application/json"
        assert f'filename="{room}.settlement.json"' in as_client.headers["content-disposition"]
        document = as_client.content
        freelancer = bearer(await platform.token(room, "f-1", "freelancer"))
        for auth in (
            freelancer,
            await staff(server, "m-1", "moderator"),
            await staff(server, "a-1", "auditor"),
            platform.auth,
        ):
            again = await download(server, room, auth)
            assert (again.status_code, again.content) == (200, document)  # the same bytes

        doc = msgspec.json.decode(document)
        assert doc["terms"] == {
            "amount": "300.00",
            "currency": "EUR",
            "text": TEXT,
            "milestone": "M2",
        }
        assert doc["parties"] == [
            {"role": "client", "user": "c-1"},
            {"role": "freelancer", "user": "f-1"},
        ]
        assert [a["role"] for a in doc["acceptances"]] == ["client", "freelancer"]
        assert doc["proposal"]["by"] == {"role": "moderator", "user": "m-1"}
        assert doc["chain_head"]["position"] == doc["resolution"]["position"]

        # the host heard of it: where, what hash, which key; not the terms' text
        event = await agreed(receiver)
        assert event.data["settlement"] == {
            "url": f"/api/rooms/{room}/settlement",
            "sha256": hashlib.sha256(document).hexdigest(),
            "key_id": doc["key_id"],
        }
        assert all(TEXT.encode() not in r.body for r in receiver.requests)

        # offline: the document alone, then against the exported bundle
        keys = (await platform.http.get("/.well-known/mediation-signing-keys")).json()
        pem = tmp_path / "key.pem"
        pem.write_text(next(k["pem"] for k in keys["keys"] if k["id"] == doc["key_id"]))
        bundle = tmp_path / "room.jsonl"
        exported = await platform.http.get(f"/api/rooms/{room}/export", headers=platform.auth)
        bundle.write_bytes(exported.content)
        settled = tmp_path / "settlement.json"
        settled.write_bytes(document)
        verify = ["verify", "--settlement", str(settled), "--public-key", str(pem)]
        alone = await asyncio.to_thread(cli, server.settings.data_dir, *verify)
        assert (alone.returncode, alone.stdout.split(":")[0]) == (0, "OK"), alone
        both = await asyncio.to_thread(cli, server.settings.data_dir, *verify, str(bundle))
        assert both.returncode == 0, both.stdout + both.stderr
        assert "matches the transcript" in both.stdout
        settled.write_bytes(document.replace(b'"300.00"', b'"900.00"'))
        broken = await asyncio.to_thread(cli, server.settings.data_dir, *verify, str(bundle))
        assert (broken.returncode, broken.stdout.split(":")[0]) == (1, "BROKEN")
        assert "signature does not verify" in broken.stdout


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_who_may_not_download_and_what_an_unsettled_room_answers(
    server: RunningServer,
) -> None:
    platform = server.platform
    room, client_auth = await settle(server, "T-refusals")
    other = await platform.open_room("T-other")
    unsettled = await download(server, other, platform.auth)
    assert (unsettled.status_code, unsettled.json()["error"]["code"]) == (404, "not_settled")
    missing = await download(server, "r_nope", platform.auth)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    elsewhere = bearer(await platform.token(other, "c-1", "client"))  # another room's token
    assert (await download(server, room, elsewhere)).status_code == 403
    assert (await download(server, room, {})).status_code == 401
    assert (await download(server, room, bearer("not-a-token"))).status_code == 401
    assert (await download(server, room, client_auth)).status_code == 200


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_the_operator_may_have_the_webhook_carry_the_document_itself(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with WebhookReceiver(SECRET) as receiver:
        configured = with_webhook(settings, receiver, document=True)
        server = await start_server(configured)
        room, client_auth = await settle(server, "T-carried")
        document = (await download(server, room, client_auth)).content
        carried = (await agreed(receiver)).data["settlement"]
        assert carried["document"].encode() == document
        assert carried["sha256"] == hashlib.sha256(document).hexdigest()


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_record_it_names_that_no_longer_opens_refuses_the_document(
    server: RunningServer,
) -> None:
    room, client_auth = await settle(server, "T-tampered")
    doc = msgspec.json.decode((await download(server, room, client_auth)).content)
    position = doc["acceptances"][0]["position"]
    [row] = await server.services.store.rows_by_position(room, position - 1, position, 1)
    async with server.services.db.write() as conn:
        await conn.execute(
            text("update records set sealed=:s where room_id=:r and position=:p"),
            {"s": row.sealed[:-1] + bytes([row.sealed[-1] ^ 1]), "r": room, "p": position},
        )
    server.services.store.keys.ciphers.clear()  # as after a restart: nothing cached
    refused = await download(server, room, client_auth)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "tampered")


class Failing:
    """A webhook endpoint's view of a room whose settlement cannot be built."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def __call__(self, room: str) -> bytes:
        raise self.error


async def test_a_settlement_that_cannot_be_built_is_null_and_a_store_outage_is_retried() -> None:
    event = Delivery(
        1,
        "evt_1",
        "webhook",
        "settlement.agreed",
        "r_1",
        "local",
        "T-1",
        {"proposal": 3},
        datetime.now(UTC),
        0,
        False,
    )
    async with WebhookReceiver(SECRET) as receiver:
        endpoint = WebhookEndpoint("webhook", receiver.url, SECRET)
        async with Webhooks(endpoint) as hooks:
            gone = SettlementWebhooks(hooks, Failing(NotSettled("no settlement")))
            assert isinstance(await gone.deliver(event), Delivered)
            await until(lambda: bool(receiver.events))
            assert receiver.events[0].data["settlement"] is None
            down = SettlementWebhooks(hooks, Failing(StoreUnavailable("database down")))
            with pytest.raises(StoreUnavailable):  # the worker turns this into a retry
                await down.deliver(replace(event, event_id="evt_2"))
            assert len(receiver.requests) == 1  # nothing sent without its settlement


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_after_a_signing_key_rotation_both_documents_verify_each_with_its_key(
    server: RunningServer,
) -> None:
    room, client_auth = await settle(server, "T-rotated")
    before = (await download(server, room, client_auth)).content
    assert await offline.rotate(server.settings, signing=True) == 0
    after = (await download(server, room, client_auth)).content
    published = (await server.platform.http.get("/.well-known/mediation-signing-keys")).json()
    pems = {k["id"]: load_public_pem(k["pem"].encode()) for k in published["keys"]}
    old, new = msgspec.json.decode(before)["key_id"], msgspec.json.decode(after)["key_id"]
    assert new == published["active"] != old
    assert check(before, pems) != check(after, pems)  # each verifies with the key it names
    assert {k: v for k, v in check(before, pems).items() if k != "key_id"} == {
        k: v for k, v in check(after, pems).items() if k != "key_id"
    }
    assert not verify_settlement(after, pems[old]).ok


async def test_a_message_redacted_inside_the_settlement_still_settles(
    server: RunningServer,
) -> None:
    """The settlement proves the records between the proposal and the resolution; a message
    among them whose text a moderator removed links by its kept SHA-256 (its own proof once
    recomputed the link from the emptied body, and answered 422 tampered)."""
    platform = server.platform
    room = await platform.open_room("T-settle-redacted")
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    moderator, _ = await server.peer(room, "m-1", "moderator")
    made = await moderator.acked(
        {"type": "propose", "id": "p1", "amount": "300", "currency": "EUR", "expires_in": 60}
    )
    card = {"type": "send", "id": "c1", "channel": "joint", "body": "my card is 4111"}
    said = await client.acked(card)
    gone = {"type": "redact", "id": "rd1", "channel": "joint", "target": said["seq"]}
    await moderator.acked({**gone, "reason": "payment_data"})
    answer = {"type": "respond", "proposal": made["seq"], "answer": "accept"}
    await client.acked({**answer, "id": "r1"})
    await freelancer.acked({**answer, "id": "r2"})
    await client.event("state", state="resolved")
    got = await download(server, room, platform.auth)
    assert got.status_code == 200, got.text
    assert {a["role"] for a in got.json()["acceptances"]} == {"client", "freelancer"}
