"""Redaction end to end, on SQLite and PostgreSQL: a moderator removes a message's text
over the socket; every view and the history show the notice, the ciphertext is gone
from the database, an export made before still verifies and so does the new one."""

import asyncio
import base64
import hashlib
import json
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from mediation.config import Settings
from tests.conftest import RunningServer, ServerFactory
from tests.peers import Peer
from tests.test_amendments import room_of_three
from tests.test_export import edited, exported, public_key, refused, tamper
from transcripts import bundle
from transcripts.schema import outbox, records
from transcripts.verify import verify

CARD = "my card is 4111 1111 1111 1111"
EDITED = "sorry: my card is 4111 1111 1111 1112"


async def card_and_edit(client: Peer) -> int:
    """The client's message with a card number, and its edit (the seq after it)."""
    sent = await client.acked({"type": "send", "id": "m1", "channel": "joint", "body": CARD})
    seq: int = sent["seq"]
    edit = {"type": "edit", "id": "e1", "channel": "joint", "target": seq, "body": EDITED}
    assert (await client.acked(edit))["seq"] == seq + 1
    return seq


def redact(target: int, reason: str = "payment_data", cid: str = "rd1") -> dict[str, Any]:
    return {"type": "redact", "id": cid, "channel": "joint", "target": target, "reason": reason}


async def stored(server: RunningServer, room: str, channel: str) -> list[Any]:
    query = select(records).where(records.c.room_id == room, records.c.channel == channel)
    async with server.services.db.read() as conn:
        return list((await conn.execute(query.order_by(records.c.seq))).all())


async def test_a_redaction_removes_the_text_for_everyone_and_the_chain_still_verifies(
    server: RunningServer, tmp_path: Path
) -> None:
    room, client, freelancer, moderator = await room_of_three(server, "T-redact")
    seq = await card_and_edit(client)
    before = await exported(server, room)
    sealed_before = {row.seq: row.sealed for row in await stored(server, room, "joint")}

    ack = await moderator.acked(redact(seq))
    assert ack["seq"] == seq + 2
    notice = await freelancer.event("redaction", channel="joint", target=seq)  # at once
    assert (notice["reason"], notice["sender"]) == (
        "payment_data",
        {"user": "m-1", "role": "moderator"},
    )

    # the rows: ciphertext gone, the body's digest kept, the redaction's position named
    rows = {row.seq: row for row in await stored(server, room, "joint")}
    redaction_position = rows[seq + 2].position
    for target, text in ((seq, CARD), (seq + 1, EDITED)):
        row = rows[target]
        assert row.sealed == b""
        assert row.body_sha256 == hashlib.sha256(_body(target, seq, text)).digest()
        assert row.redacted_by == redaction_position
    every_ciphertext = [row.sealed for row in await stored(server, room, "joint")]
    for target in (seq, seq + 1):
        assert sealed_before[target] not in every_ciphertext

    # a replay and the history: no text, the notice
    late, _ = await server.peer(room, "f-1", "freelancer")
    joint = [f for f in await late.drain() if f.get("channel") == "joint"]
    removed = {"by": {"user": "m-1", "role": "moderator"}, "reason": "payment_data"}
    message, edit = joint[0], joint[1]
    assert (message["type"], message["body"]) == ("message", "")
    assert message["redacted"] | {"at": None} == removed | {"at": None}
    assert message["redacted"]["at"] == notice["ts"]
    assert edit["kind"] == "edit" and "body" not in edit
    assert edit["redacted"]["reason"] == "payment_data"
    await client.send_json({"type": "history", "channel": "joint", "id": "h1"})
    page = await client.next("history")
    assert [m.get("redacted", {}).get("reason") for m in page["messages"][:2]] == [
        "payment_data",
        "payment_data",
    ]
    assert CARD not in json.dumps(page) and EDITED not in json.dumps(page)

    # the export made before still verifies; the new one verifies and says so
    key = await public_key(server)
    assert verify(before, key).ok
    after = await exported(server, room)
    verdict = verify(after, key)
    assert verdict.ok, verdict.reason
    assert "1 redaction," in verdict.reason
    lines = [json.loads(line) for line in after]
    by_seq = {(o.get("channel"), o.get("seq")): (i, o) for i, o in enumerate(lines)}
    at, line = by_seq[("joint", seq)]
    assert line["body"] is None
    assert line["body_sha256"] == hashlib.sha256(CARD.encode()).hexdigest()
    assert CARD.encode() not in b"".join(after)

    def forged(obj: dict[str, Any]) -> None:
        obj["body_sha256"] = hashlib.sha256(b"something else").hexdigest()

    tampered = verify(edited(after, at, forged), key)
    assert not tampered.ok and "does not match its hash" in tampered.reason

    assert await command_line_verdict(after, key, tmp_path) == (0, "1 redaction,")

    html = await server.platform.http.get(
        f"/api/rooms/{room}/export", params={"format": "html"}, headers=server.platform.auth
    )
    assert "text removed by a moderator" in html.text and "4111" not in html.text
    report = await server.platform.http.get("/api/reports/rooms", headers=server.platform.auth)
    [row] = [r for r in report.json()["rooms"] if r["room"] == room]
    assert row["redactions"] == 1


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_no_copy_of_the_ciphertext_is_left_in_the_sqlite_files(
    server: RunningServer, settings: Settings
) -> None:
    room, client, _, moderator = await room_of_three(server, "T-redact-files")
    seq = await card_and_edit(client)
    sealed = {row.seq: row.sealed for row in await stored(server, room, "joint")}
    await moderator.acked(redact(seq))
    path = Path(settings.database_url.split("///", 1)[1])
    with closing(sqlite3.connect(path)) as conn:  # as the next automatic checkpoint would
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    on_disk = b"".join(f.read_bytes() for f in path.parent.glob(path.name + "*"))
    assert len(on_disk) > 100_000
    for target in (seq, seq + 1):
        assert sealed[target] not in on_disk
        assert sealed[target][12:28] not in on_disk  # not even a piece of it


async def test_a_body_dropped_without_a_redaction_fails_verification(
    server: RunningServer,
) -> None:
    """The rule: a record may lack its body only where a redaction names it."""
    room, client, _, moderator = await room_of_three(server, "T-redact-rule")
    seq = await card_and_edit(client)
    other = await client.acked({"type": "send", "id": "m2", "channel": "joint", "body": "hi"})
    await moderator.acked(redact(seq))
    lines = await exported(server, room)
    wanted = ("joint", other["seq"])
    at = next(i for i, line in enumerate(lines) if _place(json.loads(line)) == wanted)

    def dropped(obj: dict[str, Any]) -> None:  # the link still holds: the digest is right
        obj["body_sha256"] = hashlib.sha256(obj.pop("body").encode()).hexdigest()
        obj["body"] = None

    # re-signed, so that the signature holds and only the rule can fail
    key = Ed25519PrivateKey.generate()
    verdict = verify(resigned(edited(lines, at, dropped), key), key.public_key())
    assert not verdict.ok
    assert f"joint #{other['seq']}) has no body and no redaction names it" in verdict.reason


async def test_a_text_emptied_in_the_database_without_a_redaction_is_refused_at_export(
    server: RunningServer,
) -> None:
    room, client, _, _ = await room_of_three(server, "T-redact-forged")
    sent = await client.acked({"type": "send", "id": "m1", "channel": "joint", "body": CARD})
    digest = hashlib.sha256(CARD.encode()).digest()
    statement = "update records set sealed=:e, body_sha256=:d, redacted_by=1"
    statement += " where room_id=:r and channel='joint' and seq=:s"
    await tamper(server, statement, e=b"", d=digest, r=room, s=sent["seq"])
    assert "has no body and no redaction names it" in await refused(server, room)


async def test_who_may_redact_what(server: RunningServer) -> None:
    _, client, _, moderator = await room_of_three(server, "T-redact-door")
    seq = await card_and_edit(client)
    cases = [
        (client, redact(seq, cid="p1"), "forbidden"),  # a party
        (moderator, redact(seq + 1, cid="x1"), "invalid"),  # an edit: its message is redacted
        (moderator, redact(99, cid="x2"), "invalid"),  # no such message
        (moderator, redact(seq, "because", cid="x3"), "invalid"),  # not a reason code
        (moderator, {**redact(1, cid="x4"), "channel": "room"}, "invalid"),  # a join record
    ]
    for peer, frame, code in cases:
        reply = await peer.act(frame)
        assert (reply["type"], reply["code"]) == ("error", code), (frame, reply)
    await moderator.acked(redact(seq))
    again = await moderator.act(redact(seq, cid="x5"))
    assert (again["type"], again["code"]) == ("error", "conflict")
    late_edit = {"type": "edit", "id": "e2", "channel": "joint", "target": seq, "body": "x"}
    refused = await client.act(late_edit)
    assert (refused["type"], refused["code"]) == ("error", "conflict")
    retract = {"type": "retract", "id": "r2", "channel": "joint", "target": seq}
    assert (await client.act(retract))["code"] == "conflict"


async def test_the_outside_world_hears_which_record_and_why_never_the_text(
    start_server: ServerFactory, settings: Settings
) -> None:
    server = await start_server(
        replace(settings, webhook_url="http://127.0.0.1:9/hook", webhook_secret=_SECRET)
    )
    room, client, _, moderator = await room_of_three(server, "T-redact-hook")
    seq = await card_and_edit(client)
    await moderator.acked(redact(seq, "abuse"))
    query = select(outbox.c.topic, outbox.c.data).where(outbox.c.room_id == room)

    async def rows() -> list[Any]:
        async with server.services.db.read() as conn:
            return list((await conn.execute(query)).all())

    [row] = [r for r in await rows() if r.topic == "message.redacted"]
    data = json.loads(row.data)
    assert (data["channel"], data["seq"], data["edits"]) == ("joint", seq, [seq + 1])
    assert (data["reason"], data["moderator"]) == ("abuse", "m-1")
    assert "4111" not in row.data


async def command_line_verdict(
    lines: list[bytes], key: Ed25519PublicKey, folder: Path
) -> tuple[int, str]:
    """`mediation verify` on the bundle: its exit code, and how it counts redactions."""
    (folder / "room.jsonl").write_bytes(b"".join(lines))
    pem = key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    (folder / "key.pem").write_bytes(pem)
    args = ["verify", str(folder / "room.jsonl"), "--public-key", str(folder / "key.pem")]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parents[1])}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "mediation", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.startswith("OK: intact: "), done.stdout + done.stderr
    return done.returncode, re.findall(r"\d+ redactions?,", done.stdout)[0]


def _place(obj: dict[str, Any]) -> tuple[str, int] | None:
    return (obj["channel"], obj["seq"]) if obj["type"] == "record" else None


def resigned(lines: list[bytes], key: Ed25519PrivateKey) -> list[bytes]:
    """`lines` with a footer made and signed again over what they hold now."""
    footer = json.loads(lines[-1])
    digest = hashlib.sha256(b"".join(lines[:-1])).hexdigest()
    core = bundle.footer_core(footer["records"], footer["chain_head"], digest, "test")
    signature = base64.b64encode(key.sign(bundle.signed_payload(core))).decode()
    return [*lines[:-1], bundle.line({**core, "signature": signature})]


def _body(target: int, message: int, text: str) -> bytes:
    if target == message:
        return text.encode()
    return json.dumps({"target": message, "text": text}, separators=(",", ":")).encode()


_SECRET = "whsec_" + "dGhlIG1hcmtldHBsYWNlJ3Mgd2ViaG9vayBzZWNyZXQh"
