"""Rate limits never reorder a sender's messages (issue 12, F5).

The bucket is per person per room, shared by all their sockets here, and
`history` spends it too. A sender over the rate is first slowed down (the
server stops reading its socket); past `rate_max_wait` the write is refused
with `retry_after_ms`, and so is every later write, until the refused ones
come back in order. So the stored order always equals the sending order.
"""

import asyncio
import dataclasses
from collections import Counter
from typing import Any

from mediation.config import Settings
from tests.conftest import RunningServer, ServerFactory
from tests.peers import Peer

DEFAULT_RETRY_S = 0.2  # what a client waits when the refusal does not say


class PipeliningSender:
    """A v1 client that never waits for acks: it sends on, and after each `rate_limited`
    resends the refused ids, unchanged and in the order they were refused."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.unanswered: dict[str, str] = {}  # id -> body, in sending order
        self.copies: Counter[str] = Counter()  # frames of an id on the way, unanswered
        self.refused: list[str] = []  # refused, not yet resent
        self.refusals: list[dict[str, Any]] = []
        self.acked: list[str] = []
        self._resend: asyncio.Task[None] | None = None

    async def send(self, cid: str, body: str) -> None:
        self.unanswered.setdefault(cid, body)
        self.copies[cid] += 1
        await self.peer.send(cid, "joint", body)

    async def run(self, ids: list[str], every: float) -> None:
        reader = asyncio.create_task(self._read(len(ids)))
        for cid in ids:
            await self.send(cid, f"message {cid}")
            await asyncio.sleep(every)
        await asyncio.wait_for(reader, 60)

    async def _read(self, total: int) -> None:
        while len(self.acked) < total:
            frame = await self.peer.next("ack", "error", timeout=10)
            cid = frame.get("id")
            if cid is None or cid not in self.unanswered:
                continue
            self.copies[cid] -= 1
            if frame["type"] == "ack":
                del self.unanswered[cid]
                self.acked.append(cid)
                continue
            assert frame["code"] == "rate_limited", frame
            self.refusals.append(frame)
            if self.copies[cid] == 0:  # no later copy is on the way
                self.refused.append(cid)
            if self._resend is None or self._resend.done():
                wait = frame.get("retry_after_ms", DEFAULT_RETRY_S * 1000) / 1000
                self._resend = asyncio.create_task(self._resend_after(wait))

    async def _resend_after(self, wait: float) -> None:
        await asyncio.sleep(wait)
        ids, self.refused = self.refused, []
        for cid in ids:
            await self.send(cid, self.unanswered[cid])


def limited(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, **changes)


async def stored_order(server: RunningServer, room: str, channel: str = "joint") -> list[str]:
    records = await server.services.store.read(room, channel, 0, 10_000, 10_000)
    return [r.client_id for r in records]


async def test_a_pipelining_sender_over_the_limit_is_stored_in_sending_order(
    start_server: ServerFactory, settings: Settings
) -> None:
    server = await start_server(
        limited(settings, rate_per_second=10.0, rate_burst=5, rate_max_wait=0.05)
    )
    room = await server.platform.open_room("T-1")
    peer, _ = await server.peer(room, "c-1", "client")
    sender = PipeliningSender(peer)
    ids = [f"n{i:02}" for i in range(50)]
    await sender.run(ids, every=0.005)
    assert sorted(sender.acked) == ids
    assert await stored_order(server, room) == ids
    # rate_max_wait is below 1/rate: past the burst every send waits too long at first
    assert sender.refusals, "the limits were low enough to refuse some sends"
    assert all(r["retry_after_ms"] >= 0 for r in sender.refusals)


async def test_a_sender_just_over_the_rate_is_slowed_down_not_refused(
    start_server: ServerFactory, settings: Settings
) -> None:
    server = await start_server(
        limited(settings, rate_per_second=20.0, rate_burst=2, rate_max_wait=2.0)
    )
    room = await server.platform.open_room("T-1")
    peer, _ = await server.peer(room, "c-1", "client")
    ids = [f"s{i}" for i in range(8)]
    for cid in ids:
        await peer.send(cid, "joint", cid)
    replies = [await peer.next("ack", "error") for _ in ids]
    assert [r["type"] for r in replies] == ["ack"] * len(ids), replies
    assert await stored_order(server, room) == ids


async def test_all_sockets_of_a_person_share_one_bucket(
    start_server: ServerFactory, settings: Settings
) -> None:
    server = await start_server(
        limited(settings, rate_per_second=0.5, rate_burst=5, rate_max_wait=0.0)
    )
    room = await server.platform.open_room("T-1")
    sockets = [(await server.peer(room, "c-1", "client"))[0] for _ in range(10)]
    for n, peer in enumerate(sockets):
        for i in range(3):
            await peer.send(f"p{n}-{i}", "joint", "hello")
    replies = [await peer.next("ack", "error") for peer in sockets for _ in range(3)]
    acks = [r for r in replies if r["type"] == "ack"]
    refused = [r for r in replies if r["type"] == "error"]
    assert {r["code"] for r in refused} == {"rate_limited"}
    assert len(acks) <= 6, f"{len(acks)} acks: 10 sockets of one person had 10 buckets"
    # another person in the room has a bucket of their own
    freelancer, _ = await server.peer(room, "f-1", "freelancer")
    await freelancer.send("f-0", "joint", "hi")
    assert (await freelancer.next("ack", "error"))["type"] == "ack"


async def test_history_spends_the_bucket(start_server: ServerFactory, settings: Settings) -> None:
    server = await start_server(
        limited(settings, rate_per_second=0.5, rate_burst=5, rate_max_wait=0.0)
    )
    room = await server.platform.open_room("T-1")
    peer, _ = await server.peer(room, "c-1", "client")
    for i in range(10):
        await peer.send_json({"type": "history", "channel": "joint", "limit": 1, "id": f"h{i}"})
    replies = [await peer.next("history", "error") for _ in range(10)]
    pages = [r for r in replies if r["type"] == "history"]
    refused = [r for r in replies if r["type"] == "error"]
    assert len(pages) <= 6, f"{len(pages)} history pages answered: history cost nothing"
    assert refused and {r["code"] for r in refused} == {"rate_limited"}
    assert all("retry_after_ms" in r for r in refused)
    # the pages spent what the person's writes draw on too
    await peer.send("after", "joint", "after the paging")
    assert (await peer.next("ack", "error"))["code"] == "rate_limited"
