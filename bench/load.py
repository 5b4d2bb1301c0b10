"""The load generator: one mode of a scenario against a running deployment,
its sockets joined, a warm-up, then the measured window and the drain."""

import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from websockets.asyncio.client import ClientConnection

from bench.bots import Bot, join
from bench.loop import run_async
from bench.pacing import Pacing
from bench.results import Recorder, Result
from bench.scenario import Options
from bench.seats import Seat, place, provision
from bench.servers import Server
from bench.usage import Usage

SETUP_TIMEOUT = 60.0  # rooms, tokens, 3 x rooms sockets joined
DRAIN_TIMEOUT = 20.0  # for the acks still owed when sending stops
CONNECT_CONCURRENCY = 50


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def connect_all(servers: Sequence[Server], seats: Sequence[Seat]) -> list[ClientConnection]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    joins = (join(place(seat, servers).ws_url, seat, gate) for seat in seats)
    async with asyncio.timeout(SETUP_TIMEOUT):
        return list(await asyncio.gather(*joins))


async def drain(bots: Sequence[Bot], senders: Sequence[asyncio.Task[None]]) -> int:
    """Wait for the acks still owed; return how many never came."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < deadline:
        if all(t.done() for t in senders) and not any(b.sent_at for b in bots):
            break
        await asyncio.sleep(0.05)
    for task in senders:
        task.cancel()
    return sum(len(b.sent_at) for b in bots)


async def measure(
    servers: Sequence[Server], bots: Sequence[Bot], recorder: Recorder, options: Options, mode: str
) -> Result:
    stop = asyncio.Event()
    readers = [asyncio.create_task(b.read()) for b in bots]
    senders = [asyncio.create_task(b.send_until(stop)) for b in bots]
    await asyncio.sleep(options.warmup)
    usage = await asyncio.to_thread(Usage.now, servers)
    recorder.start = time.perf_counter()
    await asyncio.sleep(options.seconds)
    recorder.end = time.perf_counter()
    usage = await asyncio.to_thread(Usage.now, servers) - usage
    stop.set()
    for bot in bots:
        bot.pacing.wake()
    unacked = await drain(bots, senders)
    await asyncio.gather(*(b.ws.close() for b in bots), return_exceptions=True)
    await asyncio.gather(*readers, return_exceptions=True)
    return Result.of(mode, recorder, usage, unacked)


async def load(
    servers: Sequence[Server],
    seats: Sequence[Seat],
    options: Options,
    mode: str,
    pacing: Callable[[], Pacing],
) -> Result:
    budget = SETUP_TIMEOUT + options.warmup + options.seconds + DRAIN_TIMEOUT + 30
    async with asyncio.timeout(budget):
        sockets = await connect_all(servers, seats)
        recorder, body = Recorder(), "x" * options.body_bytes
        bots = [
            Bot(ws, seat, pacing(), body, recorder) for ws, seat in zip(sockets, seats, strict=True)
        ]
        try:
            return await measure(servers, bots, recorder, options, mode)
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def run_mode(
    mode: str,
    deployment: AbstractContextManager[list[Server]],
    options: Options,
    pacing: Callable[[], Pacing],
    seating: Callable[[Server, int], list[Seat]] = provision,
) -> Result:
    """Start the deployment, open the rooms (over the first server's API by default),
    run the load; stop it all again."""
    log(f"[{mode}] starting")
    with deployment as servers:
        seats = seating(servers[0], options.rooms)
        log(
            f"[{mode}] {len(servers)} server process(es), {options.rooms} rooms, "
            f"{len(seats)} sockets; {options.warmup:g} s warm-up + {options.seconds:g} s measured"
        )
        result = run_async(load(servers, seats, options, mode, pacing))
    log(f"[{mode}] done")
    return result
