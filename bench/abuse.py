"""`python -m bench abuse`: what abuse costs a well-behaved room.

One server (SQLite, the default send limits and connection limits, loopback
only). `--rooms` well-behaved rooms hold a steady conversation throughout: 3
sockets each, `--rate` messages/s per socket, paced. Phase by phase (each
`--seconds` long) one abuse runs next to them, then all of them together:

- bad tokens: 1,000 connection attempts, each a `hello` with a token not ours;
- send flood: one socket sending as fast as the server takes it;
- history flood: one socket paging history without pause;
- never reads: a client that asks for history pages and never reads the answers;
- idle sockets: 2,000 connections that never say hello.

For each phase it prints the well-behaved rooms' ack and delivery latency
(p50, p99), the p99 against the phase without abuse (the goal: within 2x),
their errors, the server's CPU and peak RSS, and what each abuser got. Every
loop is bounded; the run stops by itself.

Processes, as in ../shared/perf: the server is pinned to one CPU, the bench
(the well-behaved bots) to another; each phase's abusers run in a process of
their own on the bench's CPU at nice 19, so the bots come first and the cost
of opening thousands of client sockets lands on no one's event loop but the
abusers'. The bots connect from 127.0.0.1, each abuser from another loopback
address (`abusers.SOURCES`).
"""

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from asyncio.subprocess import Process
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path

from websockets.asyncio.client import ClientConnection

from bench import abusers
from bench.bots import Bot, join
from bench.loop import run_async
from bench.pacing import RatePacing
from bench.results import Recorder, percentile_ms
from bench.seats import Seat, provision_room
from bench.servers import Server, pinned_cpus, running_server, shared_secrets
from bench.usage import process_cpu_seconds, process_rss_bytes

HELP = "a well-behaved room's latency next to bad tokens, floods, a stalled reader, idle sockets"
SETTLE = 3.0  # seconds between phases, for the server to shed the last abuse
SAMPLE_EVERY = 0.25  # seconds between RSS samples
ABUSER_GRACE = 30.0  # seconds an abuser has to wind down once its phase ends
ROOT = Path(__file__).resolve().parent.parent  # the repository
ABUSER_START = 30.0  # seconds the abusers' process has to start
HISTORY_SEED = 300  # messages in the abuse room, for the history pages
DEFAULT_LIMITS = {"MEDIATION_RATE_PER_SECOND": "20", "MEDIATION_RATE_BURST": "60"}
GOAL = 2.0


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Phase:
    name: str
    ack_p50: float
    ack_p99: float
    delivery_p50: float
    delivery_p99: float
    messages: int
    errors: int
    cpu: float  # server CPU seconds per second
    rss_peak: int  # bytes
    abuse: dict[str, Counter[str]]


@dataclass
class Abuse:
    """The server and the abuse room's credentials the abusers use."""

    server: Server
    tokens: list[str]  # the abuse room's client, freelancer, moderator

    cpu: int | None  # the one the abusers' process is pinned to

    def spec(self, running: Sequence[str], seconds: float) -> str:
        """What `python -m bench.abusers` is to run, as its argument."""
        return json.dumps(
            {
                "run": list(running),
                "url": self.server.ws_url,
                "port": self.server.port,
                "tokens": self.tokens,
                "limit": seconds + ABUSER_START,
                "cpus": None if self.cpu is None else [self.cpu],
            }
        )


async def abusers_started(abuse: Abuse, running: Sequence[str], seconds: float) -> Process:
    """The abusers' process, once it says they are running (or, first, opening the idle
    sockets: then `ready` follows once they are held and the others run)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.abusers",
        abuse.spec(running, seconds),
        cwd=ROOT,  # where `bench` is importable from: it is not installed with the product
        stdout=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(ABUSER_START):
            ready = await process.stdout.readline()
    except TimeoutError:
        ready = b""
    if ready.strip() not in (b"ready", b"opening"):
        process.kill()
        await process.wait()
        raise RuntimeError("the abusers' process did not start")
    return process


async def abusers_stopped(process: Process | None) -> dict[str, Counter[str]]:
    """Stop the abusers, and what each of them got."""
    if process is None:
        return {}
    assert process.stdout is not None
    with suppress(ProcessLookupError):  # done already: all its attempts made
        process.send_signal(signal.SIGTERM)
    try:
        async with asyncio.timeout(ABUSER_GRACE):
            out = await process.stdout.read()
    except TimeoutError:
        process.kill()
        out = b""
    await process.wait()
    if not out.strip():
        return {"abusers": Counter({f"abusers' process failed ({process.returncode})": 1})}
    got: dict[str, dict[str, int]] = json.loads(out)
    return {name: Counter(seen) for name, seen in got.items()}


def abuse_room(server: Server) -> tuple[str, list[str]]:
    """A room of its own for the abusers: its id, and the tokens of its client, freelancer
    and moderator."""
    room: str = server.post(
        "/api/rooms",
        {"ticket": {"provider": "local", "id": "ABUSE"}, "client": "ac", "freelancer": "af"},
    )["id"]
    people = {"ac": "client", "af": "freelancer", "am": "moderator"}
    return room, [
        server.post(f"/api/rooms/{room}/tokens", {"user": user, "role": role})["token"]
        for user, role in people.items()
    ]


async def seed_history(server: Server, room_token: Callable[[str], str]) -> None:
    """`HISTORY_SEED` messages in the abuse room, within the send limits: many moderators
    share the work (each person has a burst of its own)."""
    per_person = 50
    gate = asyncio.Semaphore(10)
    seats = [
        Seat(0, "moderator", f"seed-{k}", room_token(f"seed-{k}"))
        for k in range(HISTORY_SEED // per_person)
    ]
    sockets = [await join(server.ws_url, seat, gate) for seat in seats]
    for k, ws in enumerate(sockets):
        for n in range(per_person):
            await ws.send(f'{{"type":"send","id":"s{k}-{n}","channel":"joint","body":"seed"}}')
    await asyncio.sleep(1.0)
    await asyncio.gather(*(ws.close() for ws in sockets))


async def sample_rss(pid: int, stop: asyncio.Event, peak: list[int]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], process_rss_bytes(pid))
        await asyncio.sleep(SAMPLE_EVERY)


async def window(
    name: str, bots: Sequence[Bot], pid: int, until: Awaitable[object]
) -> tuple[Phase, object]:
    """The well-behaved rooms' latency, the server's CPU and peak RSS while `until` runs;
    and what it returned."""
    recorder = Recorder()
    for bot in bots:
        bot.recorder = recorder
    stop = asyncio.Event()
    peak = [process_rss_bytes(pid)]
    sampler = asyncio.create_task(sample_rss(pid, stop, peak))
    cpu = process_cpu_seconds(pid)
    recorder.start = time.perf_counter()
    result = await until
    recorder.end = time.perf_counter()
    cpu = process_cpu_seconds(pid) - cpu
    stop.set()
    await sampler
    acks, deliveries = recorder.ack_latencies, recorder.delivery_latencies
    measured = Phase(
        name,
        percentile_ms(acks, 50),
        percentile_ms(acks, 99),
        percentile_ms(deliveries, 50),
        percentile_ms(deliveries, 99),
        len(acks),
        sum(recorder.errors.values()),
        cpu / (recorder.end - recorder.start),
        peak[0],
        {},
    )
    return measured, result


async def phase(
    name: str, bots: Sequence[Bot], abuse: Abuse, running: Sequence[str], seconds: float
) -> list[Phase]:
    """One phase: the abusers in `running` for `seconds`. With the idle sockets, those are
    opened first, in a window (and a row) of their own, `name` + ' (opening)': the phase
    proper measures a server holding them, as the issue asks."""
    pid = abuse.server.process.pid
    process = await abusers_started(abuse, running, seconds) if running else None
    rows = []
    if process is not None and abusers.IDLE in running:
        assert process.stdout is not None
        opening, said = await window(
            f"{name} (opening)", bots, pid, asyncio.wait_for(process.stdout.readline(), 60)
        )
        if said != b"ready\n":
            raise RuntimeError("the abusers' process did not start")
        rows.append(opening)
    measured, _ = await window(name, bots, pid, asyncio.sleep(seconds))
    outcomes = await abusers_stopped(process)
    rows.append(replace(measured, abuse=outcomes))
    return rows


async def measure(
    server: Server, rooms: int, rate: float, seconds: float, warmup: float, cpu: int | None
) -> list[Phase]:
    seats = [seat for n in range(rooms) for seat in provision_room(server, n)]
    room, tokens = abuse_room(server)
    abuse = Abuse(server, tokens, cpu)

    def moderator_token(user: str) -> str:
        token: str = server.post(f"/api/rooms/{room}/tokens", {"user": user, "role": "moderator"})[
            "token"
        ]
        return token

    await seed_history(server, moderator_token)
    gate = asyncio.Semaphore(20)
    sockets: list[ClientConnection] = [await join(server.ws_url, s, gate) for s in seats]
    bots = [
        Bot(ws, seat, RatePacing(rate), "x" * 200, Recorder())
        for ws, seat in zip(sockets, seats, strict=True)
    ]
    readers = [asyncio.create_task(b.read()) for b in bots]
    talking = asyncio.Event()
    senders = [asyncio.create_task(b.send_until(talking)) for b in bots]
    await asyncio.sleep(warmup)
    names = list(abusers.NAMES)
    plan: list[tuple[str, list[str]]] = [("no abuse", []), *((k, [k]) for k in names)]
    plan.append(("all together", names))
    phases = []
    for name, running in plan:
        log(f"[abuse] {name}: {seconds:g} s")
        phases.extend(await phase(name, bots, abuse, running, seconds))
        await asyncio.sleep(SETTLE)
    talking.set()
    await asyncio.sleep(1.0)
    for task in senders:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    await asyncio.gather(*readers, *senders, return_exceptions=True)
    return phases


def report(phases: Sequence[Phase], rooms: int, rate: float, seconds: float) -> str:
    base = phases[0]
    lines = [
        f"{rooms} well-behaved rooms x 3 sockets at {rate:g} msg/s each; {seconds:g} s per phase;"
        f" goal: p99 within {GOAL:g}x of 'no abuse'",
        f"{'phase':<14}{'ack p50':>9}{'ack p99':>9}{'dlv p50':>9}{'dlv p99':>9}"
        f"{'ack p99 x':>10}{'dlv p99 x':>10}{'msgs':>7}{'errors':>7}{'CPU':>6}{'RSS MB':>8}  goal",
    ]
    for p in phases:
        ack_x, dlv_x = p.ack_p99 / base.ack_p99, p.delivery_p99 / base.delivery_p99
        met = "met" if max(ack_x, dlv_x) <= GOAL and not p.errors else "MISSED"
        lines.append(
            f"{p.name:<14}{p.ack_p50:>9.1f}{p.ack_p99:>9.1f}{p.delivery_p50:>9.1f}"
            f"{p.delivery_p99:>9.1f}{ack_x:>10.2f}{dlv_x:>10.2f}{p.messages:>7}{p.errors:>7}"
            f"{p.cpu:>6.0%}{p.rss_peak / 2**20:>8.0f}  {met}"
        )
    lines.append("what the abusers got:")
    for p in phases:
        for name, seen in p.abuse.items():
            got = ", ".join(f"{k}: {v}" for k, v in sorted(seen.items()))
            lines.append(f"  [{p.name}] {name}: {got}")
    return "\n".join(lines)


def main(argv: Sequence[str]) -> None:
    args = argparse.ArgumentParser(prog="python -m bench abuse", description=HELP)
    args.add_argument("--rooms", type=int, default=5, help="well-behaved rooms, 3 sockets each")
    args.add_argument("--rate", type=float, default=2.0, help="msg/s per well-behaved socket")
    args.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    args.add_argument("--warmup", type=float, default=2.0)
    opts = args.parse_args(argv)
    budget = 120 + 8 * (opts.seconds + SETTLE + ABUSER_START + ABUSER_GRACE)
    server_cpu, load_cpu = pinned_cpus()
    if load_cpu is not None:
        os.sched_setaffinity(0, [load_cpu])  # before any thread: they inherit it
    with running_server({**shared_secrets(), **DEFAULT_LIMITS}, server_cpu) as server:
        log(f"[abuse] server on port {server.port}; every phase bounded, {budget:.0f} s at most")
        log(f"[abuse] server on CPU {server_cpu}, bots and abusers (nice 19) on CPU {load_cpu}")

        async def bounded() -> list[Phase]:
            async with asyncio.timeout(budget):
                return await measure(
                    server, opts.rooms, opts.rate, opts.seconds, opts.warmup, load_cpu
                )

        phases = run_async(bounded())
    print(report(phases, opts.rooms, opts.rate, opts.seconds))
