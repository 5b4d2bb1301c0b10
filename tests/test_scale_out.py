"""Many processes, one room: PostgreSQL as the truth, Redis for fan-out, and their outages.

Every scenario runs real server processes and the resilient clients of
tests/resilient.py, then checks the same end state as the crash tests:
nothing acked is lost, nothing is stored or delivered twice, no seq gap,
and every client holds every message it may see.
"""

import asyncio
import contextlib
import json
import secrets
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from tests.conftest import free_port
from tests.databases import ADMIN_URL, PostgresDatabases, unavailable
from tests.outages import RedisProcess, TcpProxy
from tests.peers import Peer
from tests.server_process import API_KEY, ServerProcess
from tests.traffic import Rooms, check, open_rooms, stored_transcripts

pytestmark = pytest.mark.slow

SHARED_REDIS = "redis://127.0.0.1:6379/0"
POSTGRES_PORT = int(ADMIN_URL.rsplit(":", 1)[1].split("/")[0])


@pytest.fixture
async def pg_url(postgres: PostgresDatabases) -> AsyncIterator[str]:
    try:
        url = await postgres.create()
    except OSError as exc:
        unavailable("PostgreSQL", exc)
    yield url
    await postgres.drop(url)


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of our own on the shared Redis, removed afterwards."""
    prefix = "mediation-test-" + secrets.token_hex(4)
    client = aioredis.Redis.from_url(SHARED_REDIS)
    try:
        await client.ping()
    except (OSError, aioredis.ConnectionError) as exc:
        unavailable("Redis", exc)
    yield prefix
    async for key in client.scan_iter(match=prefix + ":*"):
        await client.delete(key)
    await client.aclose()


def node(tmp_path: Path, name: str, **env: str) -> ServerProcess:
    directory = tmp_path / name
    directory.mkdir()
    return ServerProcess(directory, free_port(), **env)


async def start(*servers: ServerProcess) -> None:
    await asyncio.gather(*(asyncio.to_thread(s.start) for s in servers))


async def readiness(server: ServerProcess) -> dict[str, str]:
    async with httpx.AsyncClient() as http:
        response = await http.get(server.base_url + "/readyz", timeout=5)
        return {**response.json(), "http": str(response.status_code)}


def spread(rooms: Rooms, first: ServerProcess, second: ServerProcess) -> None:
    """Client on one process, freelancer on the other, moderator on either."""
    for members in rooms.values():
        members[0][1].urls = [first.ws_url]
        members[1][1].urls = [second.ws_url]
        members[2][1].urls = [first.ws_url, second.ws_url]


async def run(rooms: Rooms, during: Callable[[], Awaitable[None]] | None = None) -> None:
    everyone = [c for members in rooms.values() for _, c in members]
    finish = asyncio.Event()
    running = [asyncio.create_task(c.run(finish)) for c in everyone]
    if during is not None:
        await during()
    finish.set()
    await asyncio.wait_for(asyncio.gather(*running), timeout=120)
    await asyncio.gather(*(c.catch_up() for c in everyone))


@contextlib.asynccontextmanager
async def two_nodes(
    tmp_path: Path, pg_url: str, redis_url: str, **env: str
) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    """Two server processes on one database and one Redis, stopped afterwards."""
    env = {"MEDIATION_DATABASE_URL": pg_url, "MEDIATION_REDIS_URL": redis_url, **env}
    a, b = node(tmp_path, "a", **env), node(tmp_path, "b", **env)
    await start(a, b)
    try:
        yield a, b
    finally:
        for server in (a, b):
            server.close()


async def test_two_processes_behave_as_one_room(
    tmp_path: Path, pg_url: str, redis_prefix: str
) -> None:
    prefix = {"MEDIATION_REDIS_PREFIX": redis_prefix}
    async with two_nodes(tmp_path, pg_url, SHARED_REDIS, **prefix) as (a, b):
        rooms = await open_rooms(a.base_url, [a.ws_url], rooms=4, per_client=100)
        spread(rooms, a, b)
        await run(rooms)
        assert (await readiness(a))["status"] == "ready"
    check(rooms, await stored_transcripts(pg_url, rooms), "two processes")


async def test_concurrent_writers_on_two_processes_keep_seq_gapless(
    tmp_path: Path, pg_url: str, redis_prefix: str
) -> None:
    prefix = {"MEDIATION_REDIS_PREFIX": redis_prefix}
    async with two_nodes(tmp_path, pg_url, SHARED_REDIS, **prefix) as (a, b):
        rooms = await open_rooms(a.base_url, [a.ws_url], rooms=1, per_client=300)
        spread(rooms, a, b)
        for _, client in next(iter(rooms.values())):
            client.channels, client.pace, client.window = ("joint",), 500.0, 16
        await run(rooms)
    stored = await stored_transcripts(pg_url, rooms)
    check(rooms, stored, "concurrent writers")
    [records] = stored.values()
    # 900 messages and the 3 members' joined records share one gapless position order
    assert sorted(r.position for r in records) == list(range(1, 904))


async def test_redis_killed_and_restarted_mid_traffic(tmp_path: Path, pg_url: str) -> None:
    own_redis = RedisProcess(free_port(), tmp_path)
    own_redis.start()
    seen_while_down: list[dict[str, str]] = []
    try:
        async with two_nodes(tmp_path, pg_url, own_redis.url) as (a, b):

            async def outage() -> None:
                await asyncio.sleep(1.5)
                own_redis.kill()
                await asyncio.sleep(1.0)
                seen_while_down.append(await readiness(a))
                await asyncio.sleep(1.0)
                own_redis.start()

            rooms = await open_rooms(a.base_url, [a.ws_url], rooms=3, per_client=150)
            spread(rooms, a, b)
            await run(rooms, during=outage)
    finally:
        own_redis.kill()
    assert seen_while_down[0]["status"] == "degraded", seen_while_down
    assert seen_while_down[0]["http"] == "200"
    check(rooms, await stored_transcripts(pg_url, rooms), "redis outage")


async def test_postgres_refused_mid_traffic_loses_nothing_acked(
    tmp_path: Path, pg_url: str
) -> None:
    proxy = TcpProxy(free_port(), POSTGRES_PORT)
    await proxy.open()
    via_proxy = pg_url.replace(f":{POSTGRES_PORT}/", f":{proxy.port}/")
    a = node(tmp_path, "a", MEDIATION_DATABASE_URL=via_proxy)
    await start(a)
    seen_while_down: list[dict[str, str]] = []

    async def outage() -> None:
        await asyncio.sleep(1.5)
        await proxy.cut()
        await asyncio.sleep(0.5)
        seen_while_down.append(await readiness(a))
        await asyncio.sleep(1.5)
        await proxy.open()

    try:
        rooms = await open_rooms(a.base_url, [a.ws_url], rooms=3, per_client=150)
        await run(rooms, during=outage)
    finally:
        a.close()
        with contextlib.suppress(Exception):
            await proxy.cut()
    assert seen_while_down[0]["http"] == "503", seen_while_down
    refused = [e for members in rooms.values() for _, c in members for e in c.errors]
    assert refused, "the outage should have refused some sends"
    assert {e["code"] for e in refused} == {"unavailable"}
    closes = {code for members in rooms.values() for _, c in members for code in c.close_codes}
    assert 1013 in closes  # refused senders were sent away to resend in order
    check(rooms, await stored_transcripts(pg_url, rooms), "postgres outage")


async def test_workers_share_one_port_and_behave_as_one(
    tmp_path: Path, pg_url: str, redis_prefix: str
) -> None:
    server = node(
        tmp_path,
        "w",
        MEDIATION_DATABASE_URL=pg_url,
        MEDIATION_REDIS_URL=SHARED_REDIS,
        MEDIATION_REDIS_PREFIX=redis_prefix,
        MEDIATION_WORKERS="2",
    )
    await start(server)
    try:
        rooms = await open_rooms(server.base_url, [server.ws_url], rooms=4, per_client=60)
        await run(rooms)
        client = aioredis.Redis.from_url(SHARED_REDIS)
        workers = [key async for key in client.scan_iter(match=redis_prefix + ":node:*")]
        await client.aclose()
        assert len(workers) == 2  # both workers are alive and in the cluster
        await asyncio.to_thread(server.stop)  # SIGTERM to the parent drains both
    finally:
        server.close()
    check(rooms, await stored_transcripts(pg_url, rooms), "two workers, one port")


async def test_presence_spans_processes_and_a_dead_process_drops_out(
    tmp_path: Path, pg_url: str, redis_prefix: str
) -> None:
    env = {"MEDIATION_REDIS_PREFIX": redis_prefix, "MEDIATION_REDIS_HEARTBEAT": "0.3"}
    async with two_nodes(tmp_path, pg_url, SHARED_REDIS, **env) as (a, b):
        rooms = await open_rooms(a.base_url, [a.ws_url], rooms=1, per_client=0)
        [members] = rooms.values()
        tokens = {role: c.token for role, c in members}
        client = await Peer.connect(a.ws_url)
        await client.hello(tokens["client"])
        freelancer = await Peer.connect(b.ws_url)
        welcome = await freelancer.hello(tokens["freelancer"])
        assert {"user": "c0", "role": "client", "online": True} in welcome["room"]["participants"]
        seen = await client.next("presence")  # across processes
        assert (seen["user"], seen["online"]) == ("f0", True)

        await asyncio.to_thread(a.stop, signal.SIGKILL)  # no goodbye from process a
        gone = await freelancer.next("presence", timeout=10)
        assert (gone["user"], gone["online"]) == ("c0", False)


async def test_queue_changes_reach_consoles_on_every_process(
    tmp_path: Path, pg_url: str, redis_prefix: str
) -> None:
    prefix = {"MEDIATION_REDIS_PREFIX": redis_prefix}
    async with (
        two_nodes(tmp_path, pg_url, SHARED_REDIS, **prefix) as (a, b),
        httpx.AsyncClient(headers={"authorization": f"Bearer {API_KEY}"}) as platform,
    ):
        minted = await platform.post(
            a.base_url + "/api/staff/tokens", json={"user": "m-1", "role": "moderator"}
        )
        token = minted.json()["token"]
        seen: list[str] = []

        async def watch() -> None:
            async with (
                httpx.AsyncClient(timeout=None) as http,
                http.stream(
                    "GET",
                    f"{a.base_url}/api/queue/events",
                    headers={"authorization": f"Bearer {token}"},
                ) as stream,
            ):
                async for line in stream.aiter_lines():
                    if line.startswith("data: "):
                        seen.append(json.loads(line.removeprefix("data: "))["room"])

        watching = asyncio.create_task(watch())
        await asyncio.sleep(0.5)  # subscribed
        opened = await platform.post(  # on the other process
            b.base_url + "/api/rooms",
            json={"ticket": {"provider": "local", "id": "T-q"}, "client": "c", "freelancer": "f"},
        )
        room = opened.json()["id"]
        async with asyncio.timeout(5):
            while room not in seen:
                await asyncio.sleep(0.05)
        watching.cancel()
