"""Evidence requests end to end, over real sockets and HTTP: the moderator asks the client
for an item by a date, the client answers with a plain upload in time and a resumable
(tus) one after the date (taken, flagged late), the freelancer may not answer it, the
review closes it; the export lists the request with its files, and the webhooks say it
all without anyone's words."""

import asyncio
import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mediation.config import Settings
from tests.conftest import RunningServer, ServerFactory
from tests.files import bearer, named, pdf, staged, stored, upload
from tests.peers import Peer
from tests.test_export import exported, public_key
from tests.test_outbox import SECRET
from tests.waiting import until
from tests.webhook_receiver import WebhookReceiver
from transcripts import bundle
from transcripts.verify import verify

ITEM = "the signed contract, SECRET-ITEM"
NOTE = "unsigned copy, SECRET-NOTE"


def with_webhook(settings: Settings, receiver: WebhookReceiver) -> Settings:
    return replace(settings, webhook_url=receiver.url, webhook_secret=SECRET, outbox_tick=0.05)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def tus_upload(
    server: RunningServer, room: str, token: str, content: bytes, request: int
) -> Any:
    """A resumable upload sent whole with its creation, naming the request in its metadata."""
    metadata = f"filename {b64('late.pdf')},channel {b64('joint')},request {b64(str(request))}"
    return await server.platform.http.post(
        f"/api/rooms/{room}/uploads",
        content=content,
        headers={
            **bearer(token),
            "tus-resumable": "1.0.0",
            "upload-length": str(len(content)),
            "upload-metadata": metadata,
            "content-type": "application/offset+octet-stream",
        },
    )


def resigned(
    lines: list[bytes], change: Callable[[dict[str, Any]], object]
) -> tuple[list[bytes], Ed25519PublicKey]:
    """The bundle with its header changed, digest and signature made anew by another key:
    what a server that lied in its derived sections would sign."""
    header = json.loads(lines[0])
    change(header)
    body = [bundle.line(header), *lines[1:-1]]
    footer = json.loads(lines[-1])
    digest = hashlib.sha256(b"".join(body)).hexdigest()
    core = bundle.footer_core(footer["records"], footer["chain_head"], digest, "forger")
    key = Ed25519PrivateKey.generate()
    signature = bundle.b64(key.sign(bundle.signed_payload(core)))
    return [*body, bundle.line({**core, "signature": signature})], key.public_key()


async def mediated(server: RunningServer, ticket: str) -> tuple[str, Peer, Peer, Peer]:
    platform = server.platform
    room = await platform.open_room(ticket)
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    moderator, _ = await server.peer(room, "m-1", "moderator")
    return room, client, freelancer, moderator


async def test_an_evidence_request_answered_late_is_flagged_exported_and_announced(
    start_server: ServerFactory, settings: Settings
) -> None:
    async with WebhookReceiver(SECRET) as receiver:
        server = await start_server(with_webhook(settings, receiver))
        room, client, freelancer, moderator = await mediated(server, "T-evidence")
        platform = server.platform
        due = datetime.now(UTC) + timedelta(seconds=2)
        asked = await moderator.acked(
            {
                "type": "request_evidence",
                "id": "ask-1",
                "party": "client",
                "item": ITEM,
                "due_at": due.isoformat(),
            }
        )
        seq = asked["seq"]
        shown = await client.event("evidence_request", seq=seq)
        assert (shown["party"], shown["item"], shown["channel"]) == ("client", ITEM, "joint")
        assert shown["due_at"] == due.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        await freelancer.event("evidence_request", seq=seq)  # joint: both sides see it

        token = await platform.token(room, "c-1", "client")
        in_time = await platform.http.post(
            f"/api/rooms/{room}/files",
            params={"channel": "joint", "request": seq},
            content=pdf(3000),
            headers={**bearer(token), **named("contract.pdf")},
        )
        assert in_time.status_code == 201, in_time.text
        assert in_time.json()["request"] == seq
        linked = await moderator.event("file", file=in_time.json()["file"])
        assert linked["request"] == seq

        other = await platform.token(room, "f-1", "freelancer")
        theirs = await platform.http.post(
            f"/api/rooms/{room}/files",
            params={"request": seq},
            content=pdf(100),
            headers={**bearer(other), **named("mine.pdf")},
        )
        assert (theirs.status_code, theirs.json()["error"]["code"]) == (403, "not_your_request")
        plain = await upload(server, room, token, pdf(100), "unrelated.pdf")
        assert plain.status_code == 201 and "request" not in plain.json()

        await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.2)
        late = await tus_upload(server, room, token, pdf(5000), seq)
        assert late.status_code == 201, late.text
        assert (late.json()["request"], late.json()["name"]) == (seq, "late.pdf")

        queue = await platform.http.get("/api/queue?moderator=m-1", headers=platform.auth)
        [entry] = [r for r in queue.json()["rooms"] if r["id"] == room]
        assert entry["evidence_open"] == [
            {
                "request": seq,
                "channel": "joint",
                "party": "client",
                "due_at": shown["due_at"],
                "answers": 2,
                "late": True,
            }
        ]

        review = {"type": "review_evidence", "id": "rev-1", "request": seq}
        reviewed = await moderator.acked(review | {"verdict": "not_satisfied", "note": NOTE})
        verdict = await client.event("evidence_review", seq=reviewed["seq"])
        assert (verdict["request"], verdict["verdict"], verdict["note"]) == (
            seq,
            "not_satisfied",
            NOTE,
        )
        again = await moderator.act(review | {"id": "rev-2", "verdict": "satisfied"})
        assert again["code"] == "request_closed", again
        closed = await platform.http.post(
            f"/api/rooms/{room}/files",
            params={"request": seq},
            content=pdf(100),
            headers={**bearer(token), **named("after.pdf")},
        )
        assert (closed.status_code, closed.json()["error"]["code"]) == (409, "request_closed")

        lines = await exported(server, room)
        assert verify(lines, await public_key(server)).ok
        [entry] = json.loads(lines[0])["evidence"]
        assert (entry["seq"], entry["party"], entry["item"]) == (seq, "client", ITEM)
        assert entry["status"] == "not_satisfied"
        assert [(a["file"], a["late"]) for a in entry["answers"]] == [
            (in_time.json()["file"], False),
            (late.json()["file"], True),
        ]
        assert (entry["review"]["verdict"], entry["review"]["note"]) == ("not_satisfied", NOTE)
        flipped = resigned(lines, lambda h: h["evidence"][0]["answers"][1].update(late=False))
        broken = verify(flipped[0], flipped[1])
        assert not broken.ok and "evidence requests do not match" in broken.reason, broken
        report = await platform.http.get("/api/reports/rooms", headers=platform.auth)
        [row] = [r for r in report.json()["rooms"] if r["room"] == room]
        counts = {k: v for k, v in row.items() if k.startswith("evidence_")}
        assert counts == {
            "evidence_requests": 1,
            "evidence_open": 0,
            "evidence_late": 1,
            "evidence_not_satisfied": 1,
        }
        html = await platform.http.get(
            f"/api/rooms/{room}/export?format=html", headers=platform.auth
        )
        assert "Evidence requests" in html.text and "<strong>late</strong>" in html.text

        wanted = ["evidence.requested", "evidence.submitted", "evidence.submitted"]
        wanted += ["evidence.reviewed"]
        await until(lambda: [e.type for e in receiver.events if "evidence" in e.type] == wanted)
        hooks = [e.data for e in receiver.events if e.type.startswith("evidence.")]
        assert [h["late"] for h in hooks[1:3]] == [False, True]
        assert hooks[3]["verdict"] == "not_satisfied" and hooks[3]["late"] is True
        assert all(h["request"] == seq and h["party"] == "client" for h in hooks)
        for sent in receiver.requests:  # no one's words leave the server
            assert b"SECRET-ITEM" not in sent.body and b"SECRET-NOTE" not in sent.body


async def test_a_request_in_a_caucus_is_answered_only_there(server: RunningServer) -> None:
    room, client, freelancer, moderator = await mediated(server, "T-evidence-caucus")
    due = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    frame = {"type": "request_evidence", "id": "ask-c", "party": "client", "item": "bank"}
    asked = await moderator.acked(frame | {"due_at": due, "channel": "caucus:client"})
    await client.event("evidence_request", channel="caucus:client", seq=asked["seq"])
    wrong = await moderator.act(
        frame | {"id": "ask-f", "due_at": due, "channel": "caucus:freelancer"}
    )
    assert wrong["code"] == "invalid", wrong
    nobody = await client.act(frame | {"id": "ask-x", "due_at": due})
    assert nobody["code"] == "forbidden", nobody
    token = await server.platform.token(room, "c-1", "client")
    joint = await server.platform.http.post(
        f"/api/rooms/{room}/files",
        params={"request": asked["seq"]},  # joint by default: not the request's channel
        content=pdf(100),
        headers={**bearer(token), **named("a.pdf")},
    )
    assert (joint.status_code, joint.json()["error"]["code"]) == (404, "not_found")
    there = await server.platform.http.post(
        f"/api/rooms/{room}/files",
        params={"request": asked["seq"], "channel": "caucus:client"},
        content=pdf(100),
        headers={**bearer(token), **named("a.pdf")},
    )
    assert there.status_code == 201, there.text
    assert all(f.get("kind") != "file" for f in await freelancer.drain())


async def test_a_resumable_upload_keeps_its_request_until_its_finish(
    server: RunningServer,
) -> None:
    room, _client, _freelancer, moderator = await mediated(server, "T-evidence-tus")
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    frame = {"type": "request_evidence", "id": "ask-t", "party": "client", "item": "logs"}
    seq = (await moderator.acked(frame | {"due_at": due}))["seq"]
    http, token = server.platform.http, await server.platform.token(room, "c-1", "client")
    other = await server.platform.token(room, "f-1", "freelancer")
    content = pdf(4000)
    tus = {"tus-resumable": "1.0.0", "upload-length": str(len(content))}
    url = f"/api/rooms/{room}/uploads"
    meta = f"filename {b64('logs.pdf')},request {b64(str(seq))}"

    for headers, params, status, code in [
        ({**bearer(other), "upload-metadata": meta}, {}, 403, "not_your_request"),
        ({**bearer(token), "upload-metadata": meta}, {"request": seq + 1}, 400, "invalid"),
        (
            {**bearer(token), "upload-metadata": f"filename {b64('x.pdf')}"},
            {"request": "x"},
            400,
            "invalid",
        ),
        (
            {**bearer(token), "upload-metadata": f"filename {b64('x.pdf')}"},
            {"request": seq + 7},
            404,
            "not_found",
        ),
    ]:
        refused = await http.post(url, params=params, headers={**headers, **tus})
        assert (refused.status_code, refused.json()["error"]["code"]) == (status, code)

    created = await http.post(url, headers={**bearer(token), **tus, "upload-metadata": meta})
    assert created.status_code == 201, created.text
    upload = created.json()["url"]
    head = await http.head(upload, headers={**bearer(token), "tus-resumable": "1.0.0"})
    assert f"request {b64(str(seq))}" in head.headers["upload-metadata"]
    sent = await http.patch(
        upload,
        content=content,
        headers={
            **bearer(token),
            "tus-resumable": "1.0.0",
            "upload-offset": "0",
            "content-type": "application/offset+octet-stream",
        },
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["request"] == seq
    seen = await moderator.event("file", file=sent.json()["file"])
    assert seen["request"] == seq


async def test_a_resumable_upload_whose_request_closed_meanwhile_is_removed(
    server: RunningServer,
) -> None:
    room, _client, _freelancer, moderator = await mediated(server, "T-evidence-tus-closed")
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    frame = {"type": "request_evidence", "id": "ask-c", "party": "client", "item": "logs"}
    seq = (await moderator.acked(frame | {"due_at": due}))["seq"]
    http, token = server.platform.http, await server.platform.token(room, "c-1", "client")
    content = pdf(2000)
    created = await http.post(
        f"/api/rooms/{room}/uploads",
        params={"request": seq},
        headers={
            **bearer(token),
            "tus-resumable": "1.0.0",
            "upload-length": str(len(content)),
            "upload-metadata": f"filename {b64('late.pdf')}",
        },
    )
    assert created.status_code == 201, created.text
    review = {"type": "review_evidence", "id": "rv", "request": seq, "verdict": "satisfied"}
    await moderator.acked(review)
    patch = {"tus-resumable": "1.0.0", "content-type": "application/offset+octet-stream"}
    finish = await http.patch(
        created.json()["url"],
        content=content,
        headers={**bearer(token), **patch, "upload-offset": "0"},
    )
    assert (finish.status_code, finish.json()["error"]["code"]) == (409, "request_closed")
    gone = await http.head(
        created.json()["url"], headers={**bearer(token), "tus-resumable": "1.0.0"}
    )
    assert gone.status_code == 404
    assert await stored(server) == (0, 0, []) and await staged(server) == (0, 0)
