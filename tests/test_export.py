"""Signed exports: intact bundles verify offline; every kind of tampering is named."""

import asyncio
import base64
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import text

from tests.conftest import RunningServer
from transcripts import bundle
from transcripts.signing import load_public_pem
from transcripts.verify import verify

BODIES = ["the files were late", "they were not <b>late</b>", "let's settle", "note: firm"]


async def conversation(server: RunningServer, ticket: str = "T-export") -> str:
    """Three people join and send four messages: positions 1-3 are the room's `joined`
    records of c-1, f-1 and m-1, positions 4-7 the messages (BODIES, in order)."""
    room = await server.platform.open_room(ticket)
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    for i, (peer, channel) in enumerate(
        [
            (client, "joint"),
            (freelancer, "joint"),
            (moderator, "caucus:client"),
            (moderator, "notes"),
        ]
    ):
        await peer.send(f"x{i}", channel, BODIES[i])
        await peer.next("ack")
    return room


async def exported(server: RunningServer, room: str, token: str | None = None) -> list[bytes]:
    auth = {"authorization": f"Bearer {token}"} if token else server.platform.auth
    response = await server.platform.http.get(f"/api/rooms/{room}/export", headers=auth)
    assert response.status_code == 200, response.text
    return response.content.splitlines(keepends=True)


async def public_key(server: RunningServer) -> Ed25519PublicKey:
    keys = (await server.platform.http.get("/.well-known/mediation-signing-keys")).json()
    [active] = [k for k in keys["keys"] if k["id"] == keys["active"]]
    return load_public_pem(active["pem"].encode())


async def test_an_intact_export_verifies_offline(server: RunningServer) -> None:
    room = await conversation(server)
    lines = await exported(server, room)
    verdict = verify(lines, await public_key(server))
    assert verdict.ok, verdict.reason
    assert verdict.records == 7
    header = json.loads(lines[0])
    assert header["room"]["ticket"] == {"provider": "local", "id": "T-export"}
    assert {"user": "m-1", "role": "moderator"} in header["room"]["participants"]
    records = [json.loads(x) for x in lines[1:-1]]
    assert [r["position"] for r in records] == [1, 2, 3, 4, 5, 6, 7]
    assert [(r["kind"], r["channel"], r["seq"], r["sender"]["user"]) for r in records[:3]] == [
        ("joined", "room", 1, "c-1"),
        ("joined", "room", 2, "f-1"),
        ("joined", "room", 3, "m-1"),
    ]
    assert [r["body"] for r in records[:3]] == ["{}", "{}", "{}"]
    assert [r["kind"] for r in records[3:]] == ["message"] * 4
    assert [r["body"] for r in records[3:]] == BODIES
    assert [r["channel"] for r in records[3:]] == [
        "joint",
        "joint",
        "caucus:client",
        "notes",
    ]


def edited(lines: list[bytes], index: int, change: Callable[[dict[str, Any]], None]) -> list[bytes]:
    obj = json.loads(lines[index])
    change(obj)
    return [*lines[:index], bundle.line(obj), *lines[index + 1 :]]


async def test_each_alteration_of_the_bundle_fails_with_its_reason(server: RunningServer) -> None:
    room = await conversation(server)
    lines = await exported(server, room)
    key = await public_key(server)

    def flip(obj: dict[str, Any]) -> None:
        obj["body"] = obj["body"][:-1] + chr(ord(obj["body"][-1]) ^ 1)

    swapped = [*lines[:4], lines[5], lines[4], *lines[6:]]  # the first two messages
    cases = {
        "one byte of a message": (edited(lines, 5, flip), "position 5 (joint #2): content"),
        "a record removed": ([*lines[:5], *lines[6:]], "expected position 5"),
        "two records swapped": (swapped, "expected position 4"),
        "a joined record removed": ([lines[0], *lines[2:]], "expected position 1"),
        "truncated": (lines[:-1], "no footer"),
    }
    for name, (broken, reason) in cases.items():
        verdict = verify(broken, key)
        assert not verdict.ok, name
        assert reason in verdict.reason, (name, verdict.reason)


async def test_re_signing_with_another_key_fails(server: RunningServer) -> None:
    room = await conversation(server)
    lines = await exported(server, room)
    footer = json.loads(lines[-1])
    core = bundle.footer_core(
        footer["records"], footer["chain_head"], footer["digest"], footer["key_id"]
    )
    forged = Ed25519PrivateKey.generate().sign(bundle.signed_payload(core))
    lines[-1] = bundle.line({**core, "signature": base64.b64encode(forged).decode()})
    verdict = verify(lines, await public_key(server))
    assert not verdict.ok
    assert "signature does not verify" in verdict.reason


async def tamper(server: RunningServer, statement: str, **params: object) -> None:
    async with server.services.db.write() as conn:
        await conn.execute(text(statement), params)
    server.services.store.keys.ciphers.clear()  # as after a restart: nothing cached


async def refused(server: RunningServer, room: str) -> str:
    response = await server.platform.http.get(
        f"/api/rooms/{room}/export", headers=server.platform.auth
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "tampered"
    message: str = error["message"]
    assert room in message
    return message


async def test_a_changed_ciphertext_is_refused_at_export(server: RunningServer) -> None:
    room = await conversation(server)
    [row] = await server.services.store.rows_by_position(room, 5, 6, 1)
    sealed = row.sealed
    await tamper(
        server,
        "update records set sealed=:s where room_id=:r and position=6",
        s=sealed[:-1] + bytes([sealed[-1] ^ 1]),
        r=room,
    )
    assert "position 6" in await refused(server, room)


async def test_a_deleted_row_is_refused_at_export(server: RunningServer) -> None:
    room = await conversation(server)
    await tamper(server, "delete from records where room_id=:r and position=5", r=room)
    assert "position 5 is missing" in await refused(server, room)


async def test_the_last_row_deleted_is_refused_at_export(server: RunningServer) -> None:
    room = await conversation(server)
    await tamper(server, "delete from records where room_id=:r and position=7", r=room)
    assert "missing" in await refused(server, room)


async def test_two_rows_swapped_are_refused_at_export(server: RunningServer) -> None:
    room = await conversation(server)
    rows = await server.services.store.rows_by_position(room, 3, 5, 2)
    for row, other in ((rows[0], rows[1]), (rows[1], rows[0])):
        await tamper(
            server,
            "update records set sealed=:s, hash=:h where room_id=:r and position=:p",
            s=other.sealed,
            h=other.hash,
            r=room,
            p=row.position,
        )
    assert "position 4" in await refused(server, room)


async def test_a_row_moved_to_another_room_is_refused_at_export(server: RunningServer) -> None:
    first = await conversation(server, "T-first")
    second = await conversation(server, "T-second")
    [row] = await server.services.store.rows_by_position(first, 3, 4, 1)
    await tamper(
        server,
        "update records set sealed=:s, hash=:h where room_id=:r and position=4",
        s=row.sealed,
        h=row.hash,
        r=second,
    )
    assert "position 4" in await refused(server, second)


async def test_only_an_auditor_of_the_room_or_the_platform_may_export(
    server: RunningServer,
) -> None:
    room = await conversation(server)
    other = await server.platform.open_room("T-other")
    auditor = await server.platform.token(room, "aud-1", "auditor")
    assert len(await exported(server, room, auditor)) == 9  # header, 3 joined, 4 messages, footer
    for token, status in [
        (await server.platform.token(room, "c-1", "client"), 403),
        (await server.platform.token(other, "aud-1", "auditor"), 403),
        ("not-a-token", 401),
    ]:
        response = await server.platform.http.get(
            f"/api/rooms/{room}/export", headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code == status


async def test_the_html_rendering_is_readable_and_escaped(server: RunningServer) -> None:
    room = await conversation(server)
    response = await server.platform.http.get(
        f"/api/rooms/{room}/export?format=html", headers=server.platform.auth
    )
    assert response.headers["content-type"].startswith("text/html")
    assert "they were not &lt;b&gt;late&lt;/b&gt;" in response.text
    assert "<b>late</b>" not in response.text
    assert "@media print" in response.text


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_the_command_line_exports_and_verifies(server: RunningServer, tmp_path: Path) -> None:
    room = await conversation(server)
    env = {"MEDIATION_DATA_DIR": str(server.settings.data_dir), "PATH": "/usr/bin:/bin"}
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "mediation", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    keys = await asyncio.to_thread(run, "keys", "public")
    pem = tmp_path / "key.pem"
    pem.write_text(keys.stdout.split("\n", 1)[1])
    out = tmp_path / "room.jsonl"
    assert (await asyncio.to_thread(run, "export", room, "--out", str(out))).returncode == 0
    ok = await asyncio.to_thread(run, "verify", str(out), "--public-key", str(pem))
    assert (ok.returncode, ok.stdout.split(":")[0]) == (0, "OK")
    out.write_bytes(out.read_bytes().replace(b"let's settle", b"let's settlE"))
    broken = await asyncio.to_thread(run, "verify", str(out), "--public-key", str(pem))
    assert broken.returncode == 1
    assert "position 6" in broken.stdout
