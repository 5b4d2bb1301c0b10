"""Logs never hold a message body, a file name, a deletion reason, a token or a key (F1, F8).

A whole session runs with every logger at its most verbose: sockets in every
channel, the console's queue stream, staff tokens, /join, uploads (plain and
resumable), a download, a deletion with a reason, exports. Then no record,
in its message, args or extra fields, holds any of those secrets.
"""

import asyncio
import json
import logging
import secrets
from typing import Any

import httpx

from mediation.config import Settings
from tests.conftest import RunningServer, ServerFactory
from tests.files import Resumable, bearer, download, pdf, upload
from tests.log_capture import all_logs, leaks, server_side
from tests.peers import Peer

WRITES = {
    "client": ("joint", "caucus:client"),
    "freelancer": ("joint", "caucus:freelancer"),
    "moderator": ("joint", "caucus:client", "caucus:freelancer", "notes"),
}
# What no log line may hold even in part: a hello frame, a bearer header, a query token.
MARKERS = ('"token"', "Bearer ", "token=")


def distinct(label: str) -> str:
    return f"{label}-{secrets.token_hex(6)}"


async def staff(server: RunningServer, user: str, role: str, **extra: Any) -> str:
    minted = await server.platform.http.post(
        "/api/staff/tokens",
        json={"user": user, "role": role, **extra},
        headers=server.platform.auth,
    )
    assert minted.status_code == 201, minted.text
    token: str = minted.json()["token"]
    return token


async def first_queue_event(stream: httpx.Response) -> dict[str, Any]:
    async for line in stream.aiter_lines():
        if line.startswith("data: "):
            event: dict[str, Any] = json.loads(line.removeprefix("data: "))
            return event
    raise AssertionError("the queue stream ended")


async def console_stream(server: RunningServer, moderator: str) -> list[str]:
    """The console's way: the staff token in a header; an event arrives. `?token=` gets 401."""
    http = server.platform.http
    refused = await http.get("/api/queue/events", params={"token": moderator})
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "unauthorized")
    async with (
        httpx.AsyncClient(base_url=server.base_url) as console,
        console.stream("GET", "/api/queue/events", headers=bearer(moderator)) as stream,
    ):
        assert stream.status_code == 200
        waiting = asyncio.create_task(first_queue_event(stream))
        await asyncio.sleep(0.2)  # subscribed
        room = await server.platform.open_room("T-hygiene-queue")
        event = await asyncio.wait_for(waiting, 10)
    assert event == {"room": room}
    return [room]


async def socket_session(server: RunningServer, room: str, tokens: dict[str, str]) -> list[str]:
    """Each role says something distinctive in every channel it writes to."""
    bodies = []
    for role, channels in WRITES.items():
        peer = await Peer.connect(server.ws_url)
        welcome = await peer.hello(tokens[role])
        assert welcome["type"] == "welcome", welcome
        for n, channel in enumerate(channels):
            body = distinct(f"body-{role}-{channel}")
            bodies.append(body)
            await peer.send(f"{role}-{n}", channel, body)
            assert (await peer.next("ack", "error"))["type"] == "ack"
        await peer.close()
    stray = await Peer.connect(f"{server.ws_url}?token={tokens['client']}")  # ignored: no way in
    refused = await stray.hello(distinct("not-a-token"))
    assert refused["code"] == "unauthorized"
    return bodies


async def files_session(
    server: RunningServer, room: str, tokens: dict[str, str]
) -> tuple[list[str], list[str]]:
    """An upload and a resumable upload under distinctive names, a download, a deletion
    with a distinctive reason: (the names, the reason)."""
    name, resumable_name, reason = (
        f"{distinct('name')}.pdf",
        f"{distinct('resumed')}.pdf",
        distinct("reason"),
    )
    made = await upload(server, room, tokens["client"], pdf(2000), name)
    assert made.status_code == 201, made.text
    file_id = made.json()["file"]
    assert made.json()["name"] == name
    got = await download(server, room, tokens["freelancer"], file_id)
    assert got.status_code == 200
    up = Resumable(server, room, tokens["freelancer"])
    url = await up.start(3000, resumable_name)
    assert (await up.patch(url, 0, pdf(3000))).json()["name"] == resumable_name
    deleted = await server.platform.http.request(
        "DELETE",
        f"/api/rooms/{room}/files/{file_id}",
        json={"reason": reason},
        headers=bearer(tokens["client"]),
    )
    assert deleted.status_code == 200, deleted.text
    return [name, resumable_name], [reason]


async def exports(server: RunningServer, room: str, auditor: str, secrets_: list[str]) -> None:
    """The exports hold what the session said (the logs must not)."""
    http = server.platform.http
    bundle = await http.get(f"/api/rooms/{room}/export", headers=server.platform.auth)
    html = await http.get(f"/api/rooms/{room}/export?format=html", headers=bearer(auditor))
    assert bundle.status_code == html.status_code == 200
    assert any(s in html.text for s in secrets_)  # bodies are in the export, in clear


async def test_a_whole_session_leaves_no_body_name_reason_token_or_key_in_the_logs(
    start_server: ServerFactory, settings: Settings
) -> None:
    with all_logs() as capture:  # from the start: startup and shutdown lines too
        server = await start_server(settings)
        capture.loudest()  # uvicorn set its own loggers as it started
        moderator = await staff(server, "maya", "moderator")
        auditor = await staff(server, "ada", "auditor", purpose="log hygiene review")
        watched = await console_stream(server, moderator)
        room = await server.platform.open_room("T-hygiene")
        tokens = {
            role: await server.platform.token(room, user, role)
            for role, user in (("client", "c-1"), ("freelancer", "f-1"))
        }
        joined = await server.platform.http.post(
            f"/api/rooms/{room}/join", headers=bearer(moderator)
        )
        assert joined.status_code == 201
        tokens["moderator"] = joined.json()["token"]
        bodies = await socket_session(server, room, tokens)
        names, reasons = await files_session(server, room, tokens)
        audit_join = await server.platform.http.post(
            f"/api/rooms/{room}/join", headers=bearer(auditor)
        )
        await exports(server, room, audit_join.json()["token"], bodies)
        await asyncio.sleep(0.2)  # the last sockets' access lines are written as they end
    records = capture.records
    secrets_ = [
        *bodies,
        *names,
        *reasons,
        *tokens.values(),
        moderator,
        auditor,
        audit_join.json()["token"],
        server.platform.api_key,
        *MARKERS,
    ]
    assert leaks(records, secrets_) == []
    # the capture saw the server: our access lines, for the stream refused and served
    lines = [
        (r.method, r.path, r.status)  # type: ignore[attr-defined]  # the log call's `extra` fields
        for r in server_side(records)
        if r.name == "mediation.http.request_log"
    ]
    assert ("GET", "/api/queue/events", 401) in lines
    assert ("GET", "/api/queue/events", 200) in lines
    assert ("WEBSOCKET", "/ws", 101) in lines
    assert ("POST", f"/api/rooms/{room}/files", 201) in lines
    assert watched and any(r.levelno == logging.DEBUG for r in server_side(records))


def test_the_settings_repr_holds_no_credential() -> None:
    """A log line or a traceback that shows the settings shows no secret."""
    settings = Settings(
        master_keys="k1:MASTERKEYSECRET",
        token_secret="TOKENSECRETVALUE",
        signing_keys="s1:SIGNINGSEEDVALUE",
        api_key="APIKEYSECRETVALUE",
        webhook_secret="whsec_WEBHOOKSECRET",
        zendesk_api_token="ZENDESKTOKENVALUE",
        zendesk_oauth_token="ZENDESKOAUTHVALUE",
        zendesk_webhook_secret="ZENDESKSIGNINGVALUE",
        smtp_url="smtp://mailer:SMTPPASSWORD@mail.example:587",
    )
    shown = repr(settings)
    for secret in ("MASTERKEY", "TOKENSECRET", "SIGNINGSEED", "APIKEYSECRET", "WEBHOOKSECRET"):
        assert secret not in shown
    for secret in ("ZENDESKTOKEN", "ZENDESKOAUTH", "ZENDESKSIGNING", "SMTPPASSWORD"):
        assert secret not in shown
    assert settings.api_key == "APIKEYSECRETVALUE"  # still there to use
