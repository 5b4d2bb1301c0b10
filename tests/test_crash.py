"""Delivery guarantees across crashes: SIGKILL and SIGTERM while rooms are busy.

Several rooms of three resilient clients send continuously; the server, a
real process on SQLite, is killed at random moments and restarted. After
the dust settles every acked message is stored exactly once, no channel has
a seq gap, each sender's messages are stored in its sending order, and every
client holds every seq it may see, having never been sent one twice.
"""

import asyncio
import random
import signal
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.databases import sqlite_url
from tests.server_process import ServerProcess
from tests.traffic import Rooms, check, open_rooms, stored_transcripts
from transcripts.store_types import Record

pytestmark = pytest.mark.slow


async def run_with_interruptions(
    tmp_path: Path, sig: signal.Signals, interruptions: int
) -> tuple[Rooms, dict[str, list[Record]]]:
    server = ServerProcess(tmp_path, free_port())
    await asyncio.to_thread(server.start)
    try:
        rooms = await open_rooms(server.base_url, [server.ws_url], rooms=4, per_client=200)
        everyone = [c for members in rooms.values() for _, c in members]
        finish = asyncio.Event()
        running = [asyncio.create_task(c.run(finish)) for c in everyone]
        for _ in range(interruptions):
            await asyncio.sleep(random.uniform(0.3, 1.0))
            await asyncio.to_thread(server.stop, sig)
            await asyncio.sleep(random.uniform(0.0, 0.3))
            await asyncio.to_thread(server.start)
        # every interruption hit live traffic: nobody had finished sending
        assert all(c.sent < c.total for c in everyone)
        finish.set()
        await asyncio.wait_for(asyncio.gather(*running), timeout=120)
        # others may have committed after a client's last read: one last visit each
        await asyncio.gather(*(c.catch_up() for c in everyone))
    finally:
        await asyncio.to_thread(server.stop, signal.SIGTERM)
        server.close()
    return rooms, await stored_transcripts(sqlite_url(tmp_path), rooms)


async def test_sigkill_loses_nothing_acked_and_duplicates_nothing(tmp_path: Path) -> None:
    rooms, stored = await run_with_interruptions(tmp_path, signal.SIGKILL, interruptions=5)
    check(rooms, stored, "SIGKILL x5")
    assert all(c.connections > 1 for m in rooms.values() for _, c in m)  # lived through it


async def test_sigterm_drains_and_clients_only_ever_see_going_away(tmp_path: Path) -> None:
    rooms, stored = await run_with_interruptions(tmp_path, signal.SIGTERM, interruptions=3)
    check(rooms, stored, "SIGTERM x3")
    for members in rooms.values():
        for _, client in members:
            assert client.errors == []
            assert set(client.close_codes) <= {1001}, client.close_codes
