"""What operators look at: /readyz, /metrics and the logs."""

import asyncio
import json
import re
from pathlib import Path

import httpx

from tests.conftest import RunningServer, free_port
from tests.peers import Peer
from tests.server_process import API_KEY, ServerProcess


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


async def test_readyz_reports_database_and_redis(server: RunningServer) -> None:
    response = await server.platform.http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "redis": "not configured"}


async def test_metrics_count_what_happened(server: RunningServer) -> None:
    room = await server.platform.open_room("T-metrics")
    client, _ = await server.peer(room, "c-1", "client")
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    for i in range(5):
        await client.send(f"m{i}", "joint", "counted")
        await client.next("ack")
    await client.send("bad", "notes", "not allowed")
    await client.next("error")
    await freelancer.drain()
    text = (await server.platform.http.get("/metrics")).text
    assert metric(text, "mediation_connections") == 2
    assert metric(text, "mediation_live_rooms") == 1
    # stored: the 5 messages and the room's 2 joined records
    assert metric(text, "mediation_messages_stored_total") == 7
    assert metric(text, "mediation_ack_latency_seconds_count") == 5
    assert metric(text, "mediation_commit_batch_size_sum") == 7
    assert metric(text, 'mediation_errors_total{code="forbidden"}') == 1
    # delivered: the 5 messages to the freelancer, and both joined records to both sockets
    everyone = [("c-1", "client"), ("f-1", "freelancer")]
    assert client.joins() == freelancer.joins() == everyone
    assert metric(text, "mediation_messages_delivered_total") == 5 + 2 * 2


async def test_logs_are_json_name_the_room_and_never_hold_a_body_or_token(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, free_port(), MEDIATION_LOG_FORMAT="json")
    await asyncio.to_thread(server.start)
    secret_body = "the password is HIPPOGRIFF-5521"
    try:
        auth = {"authorization": f"Bearer {API_KEY}"}
        async with httpx.AsyncClient(base_url=server.base_url, headers=auth) as http:
            room = (
                await http.post(
                    "/api/rooms",
                    json={
                        "ticket": {"provider": "local", "id": "LOG-1"},
                        "client": "c",
                        "freelancer": "f",
                    },
                )
            ).json()["id"]
            token = (
                await http.post(f"/api/rooms/{room}/tokens", json={"user": "c", "role": "client"})
            ).json()["token"]
        peer = await Peer.connect(server.ws_url)
        await peer.hello(token)
        await peer.send("s1", "joint", secret_body)
        await peer.next("ack")
        await peer.close()
        await asyncio.sleep(0.3)
    finally:
        await asyncio.to_thread(server.stop)
        server.close()
    lines = (tmp_path / "server.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    joined = [r for r in records if r.get("message") == "joined"]
    assert joined[0]["room"] == room
    assert joined[0]["ticket"] == "local/LOG-1"
    everything = "\n".join(lines)
    assert secret_body not in everything
    assert token not in everything
    assert token.split(".")[2] not in everything  # not even the signature
