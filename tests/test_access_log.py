"""Auditors read for a stated purpose, for a while, and every read is logged in a chain."""

import asyncio
import hashlib
import json
import time
from typing import Any

from tests.conftest import RunningServer

TAG = "mediation.access/1"


async def log_entries(server: RunningServer) -> list[dict[str, Any]]:
    response = await server.platform.http.get("/api/audit-log", headers=server.platform.auth)
    assert response.status_code == 200
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


def recompute_chain(entries: list[dict[str, Any]]) -> None:
    """The documented formula, re-implemented here with the standard library only."""
    prev = bytes(32)
    for number, e in enumerate(entries, start=1):
        assert e["position"] == number
        entry = json.dumps(
            [
                TAG,
                e["position"],
                e["ts"],
                e["actor"]["user"],
                e["actor"]["role"],
                e["purpose"],
                e["action"],
                e["room"],
            ],
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        prev = hashlib.sha256(prev + hashlib.sha256(entry).digest()).digest()
        assert e["hash"] == prev.hex(), f"entry {number} does not chain"


async def test_auditor_tokens_need_a_purpose_and_are_time_boxed(server: RunningServer) -> None:
    room = await server.platform.open_room("T-aud")
    response = await server.platform.http.post(
        f"/api/rooms/{room}/tokens",
        json={"user": "aud", "role": "auditor"},
        headers=server.platform.auth,
    )
    assert response.status_code == 403
    assert "purpose" in response.json()["error"]["message"]
    response = await server.platform.http.post(
        f"/api/rooms/{room}/tokens",
        json={"user": "aud", "role": "auditor", "purpose": "chargeback review", "ttl": 604800},
        headers=server.platform.auth,
    )
    assert response.status_code == 201
    grant = server.services.tokens.verify(response.json()["token"])
    assert grant.purpose == "chargeback review"
    assert grant.expires_at <= time.time() + 8 * 3600 + 5  # capped, whatever was asked


async def test_every_auditor_read_and_export_is_logged_and_the_log_chains(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-log")
    client, _ = await server.peer(room, "c-1", "client")  # parties are not logged
    await client.send("m", "joint", "hello")
    await client.next("ack")
    await server.peer(room, "aud-1", "auditor")
    token = await server.platform.token(room, "aud-1", "auditor", purpose="regulator request 7")
    export = await server.platform.http.get(
        f"/api/rooms/{room}/export", headers={"authorization": f"Bearer {token}"}
    )
    assert export.status_code == 200
    await server.platform.http.get(f"/api/rooms/{room}/export", headers=server.platform.auth)
    entries = await log_entries(server)
    assert [(e["actor"]["user"], e["action"], e["room"]) for e in entries] == [
        ("aud-1", "read", room),
        ("aud-1", "export", room),
        ("api-key", "export", room),
    ]
    assert entries[1]["purpose"] == "regulator request 7"
    recompute_chain(entries)


async def test_concurrent_appends_stay_gapless_and_chained(server: RunningServer) -> None:
    log = server.services.access_log
    await asyncio.gather(
        *(log.append(f"a{i}", "auditor", "load", "read", "r_x") for i in range(20))
    )
    entries = await log_entries(server)
    assert len(entries) == 20
    recompute_chain(entries)


async def test_the_audit_log_needs_the_api_key(server: RunningServer) -> None:
    response = await server.platform.http.get("/api/audit-log")
    assert response.status_code == 401
