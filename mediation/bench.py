"""Benchmark: the durable send path with group commit against a commit per message.

    python -m mediation.bench [--rooms 100] [--seconds 10] [--window 4] [--body-bytes 200]
                              [--modes per-message group]

For each mode a fresh server is started as a subprocess (its own temporary
data dir, embedded SQLite, free port, per-socket rate limit off), rooms and
tokens are opened over the HTTP API, then 3 sockets per room (client,
freelancer, moderator) send for a warm-up and a measured window with at most
`--window` unacknowledged sends each. The client and the freelancer write
to `joint`; the moderator cycles joint, caucus:client, joint,
caucus:freelancer. Reported: acked messages/s, deliveries/s (message frames
received by the other sockets), ack latency (send -> ack) p50/p99, and the
CPU the server and the load generator used. The load generator is the same
for every mode; only MEDIATION_COMMIT_MAX_BATCH differs (1 vs the default).
"""

import argparse
import asyncio
import http.client
import json
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Coroutine, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

T = TypeVar("T")

MODES: dict[str, dict[str, str]] = {
    "per-message": {"MEDIATION_COMMIT_MAX_BATCH": "1"},
    "group": {},  # the default batch (512)
}
ROLES = ("client", "freelancer", "moderator")
CHANNELS: dict[str, tuple[str, ...]] = {
    "client": ("joint",),
    "freelancer": ("joint",),
    "moderator": ("joint", "caucus:client", "joint", "caucus:freelancer"),
}
SERVER_START_TIMEOUT = 30.0
SERVER_STOP_TIMEOUT = 20.0
SETUP_TIMEOUT = 60.0  # rooms, tokens, 3 x rooms sockets joined
DRAIN_TIMEOUT = 20.0  # for the acks still owed when sending stops
CONNECT_CONCURRENCY = 50
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Options:
    rooms: int
    seconds: float
    warmup: float
    window: int
    body_bytes: int
    modes: tuple[str, ...]


@dataclass(frozen=True)
class Seat:
    role: str
    user: str
    token: str


class Frame(msgspec.Struct):
    """The fields of a server frame the bench looks at; the rest is skipped."""

    type: str
    id: str | None = None
    code: str | None = None


class SendFrame(msgspec.Struct, tag="send", tag_field="type"):
    id: str
    channel: str
    body: str


decode_frame = msgspec.json.Decoder(Frame).decode
encode_frame = msgspec.json.Encoder().encode


# --- the server under test -------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(data_dir: Path, port: int, api_key: str, mode: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")}
    env.update(
        PORT=str(port),
        MEDIATION_DATA_DIR=str(data_dir),
        MEDIATION_API_KEY=api_key,
        MEDIATION_RATE_PER_SECOND="1000000",
        MEDIATION_RATE_BURST="1000000",
        **MODES[mode],
    )
    return env


@dataclass
class Server:
    port: int
    api_key: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far (Linux /proc)."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def request(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {
                "authorization": f"Bearer {self.api_key}",
                "content-type": "application/json",
            }
            conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()

    def post(self, path: str, body: object) -> dict[str, Any]:
        status, reply = self.request("POST", path, body)
        if status != 201:
            raise RuntimeError(f"POST {path}: {status} {reply}")
        result: dict[str, Any] = reply
        return result

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_tail()}")
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not healthy after {SERVER_START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # drains, then exits
            try:
                self.process.wait(SERVER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def running_server(mode: str) -> Iterator[Server]:
    """A fresh server in `mode`, with its own temp data dir; all removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="mediation-bench-") as tmp:
        data_dir, port, api_key = Path(tmp), free_port(), secrets.token_urlsafe(24)
        log_path = data_dir / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "mediation", "serve"],
                env=server_env(data_dir, port, api_key, mode),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        server = Server(port, api_key, process, log_path)
        try:
            server.wait_healthy()
            yield server
        finally:
            server.stop()


def provision_room(server: Server, index: int) -> list[Seat]:
    """One room, and a token for each of its three participants."""
    users = {"client": f"c-{index}", "freelancer": f"f-{index}", "moderator": f"m-{index}"}
    room = server.post(
        "/api/rooms",
        {
            "ticket": {"provider": "local", "id": f"BENCH-{index}"},
            "client": users["client"],
            "freelancer": users["freelancer"],
        },
    )["id"]
    return [
        Seat(
            role,
            users[role],
            server.post(f"/api/rooms/{room}/tokens", {"user": users[role], "role": role})["token"],
        )
        for role in ROLES
    ]


def provision(server: Server, rooms: int) -> list[Seat]:
    with ThreadPoolExecutor(8) as pool:
        per_room = pool.map(lambda i: provision_room(server, i), range(rooms))
        return [seat for seats in per_room for seat in seats]


# --- the load generator ----------------------------------------------------


@dataclass
class Recorder:
    """What happened inside the measured window [start, end)."""

    start: float = float("inf")
    end: float = float("inf")
    latencies: list[float] = field(default_factory=list)
    deliveries: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def measuring(self, now: float) -> bool:
        return self.start <= now < self.end

    def acked(self, sent: float, now: float) -> None:
        if self.measuring(now):
            self.latencies.append(now - sent)

    def delivered(self, now: float) -> None:
        if self.measuring(now):
            self.deliveries += 1


class Bot:
    """One participant's socket: sends with a bounded window, reads acks and messages."""

    def __init__(
        self, ws: ClientConnection, seat: Seat, options: Options, recorder: Recorder
    ) -> None:
        self.ws = ws
        self.channels = CHANNELS[seat.role]
        self.body = "x" * options.body_bytes
        self.window = asyncio.Semaphore(options.window)
        self.recorder = recorder
        self.sent_at: dict[str, float] = {}

    async def send_until(self, stop: asyncio.Event) -> None:
        n = 0
        while True:
            await self.window.acquire()
            if stop.is_set():
                return
            cid = str(n)
            frame = SendFrame(cid, self.channels[n % len(self.channels)], self.body)
            self.sent_at[cid] = time.perf_counter()
            await self.ws.send(encode_frame(frame).decode())
            n += 1

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                self.on_frame(decode_frame(raw), time.perf_counter())
        except ConnectionClosed:
            pass

    def on_frame(self, frame: Frame, now: float) -> None:
        if frame.type == "message":
            self.recorder.delivered(now)
        elif frame.type in ("ack", "error") and frame.id in self.sent_at:
            sent = self.sent_at.pop(frame.id)
            if frame.type == "ack":
                self.recorder.acked(sent, now)
            else:
                self.recorder.errors[frame.code or "?"] += 1
            self.window.release()


async def join(url: str, seat: Seat, gate: asyncio.Semaphore) -> ClientConnection:
    """A socket that has said hello and got its welcome."""
    async with gate:
        ws = await connect(
            url, subprotocols=[Subprotocol("mediation.v1")], compression=None, max_size=None
        )
        await ws.send(json.dumps({"type": "hello", "token": seat.token, "since": {}}))
        while True:
            frame = decode_frame(await ws.recv())
            if frame.type == "welcome":
                return ws
            if frame.type == "error":
                raise RuntimeError(f"hello failed for {seat.user}: {frame.code}")


async def connect_all(server: Server, seats: Sequence[Seat]) -> list[ClientConnection]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    async with asyncio.timeout(SETUP_TIMEOUT):
        return list(await asyncio.gather(*(join(server.ws_url, s, gate) for s in seats)))


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


@dataclass(frozen=True)
class Result:
    mode: str
    seconds: float
    acked: int
    deliveries: int
    p50_ms: float
    p99_ms: float
    server_cpu: float  # seconds, within the window
    client_cpu: float
    errors: int
    unacked: int

    @property
    def acked_per_s(self) -> float:
        return self.acked / self.seconds

    @property
    def deliveries_per_s(self) -> float:
        return self.deliveries / self.seconds

    @property
    def server_us_per_msg(self) -> float:
        return self.server_cpu / self.acked * 1e6 if self.acked else float("nan")


def percentile_ms(samples: Sequence[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def measure(
    server: Server, bots: Sequence[Bot], recorder: Recorder, options: Options, mode: str
) -> Result:
    stop = asyncio.Event()
    readers = [asyncio.create_task(b.read()) for b in bots]
    senders = [asyncio.create_task(b.send_until(stop)) for b in bots]
    await asyncio.sleep(options.warmup)
    server_cpu, client_cpu, recorder.start = (
        server.cpu_seconds(),
        time.process_time(),
        time.perf_counter(),
    )
    await asyncio.sleep(options.seconds)
    recorder.end = time.perf_counter()
    server_cpu, client_cpu = server.cpu_seconds() - server_cpu, time.process_time() - client_cpu
    stop.set()
    for bot in bots:
        bot.window.release()  # wake senders waiting on a full window
    unacked = await drain(bots, senders)
    await asyncio.gather(*(b.ws.close() for b in bots), return_exceptions=True)
    await asyncio.gather(*readers, return_exceptions=True)
    return Result(
        mode,
        recorder.end - recorder.start,
        len(recorder.latencies),
        recorder.deliveries,
        percentile_ms(recorder.latencies, 50),
        percentile_ms(recorder.latencies, 99),
        server_cpu,
        client_cpu,
        sum(recorder.errors.values()),
        unacked,
    )


async def load(server: Server, seats: Sequence[Seat], options: Options, mode: str) -> Result:
    budget = SETUP_TIMEOUT + options.warmup + options.seconds + DRAIN_TIMEOUT + 30
    async with asyncio.timeout(budget):
        sockets = await connect_all(server, seats)
        recorder = Recorder()
        bots = [Bot(ws, seat, options, recorder) for ws, seat in zip(sockets, seats, strict=True)]
        try:
            return await measure(server, bots, recorder, options, mode)
        finally:
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def run_async(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def run_mode(mode: str, options: Options) -> Result:
    log(f"[{mode}] starting server")
    with running_server(mode) as server:
        seats = provision(server, options.rooms)
        log(
            f"[{mode}] {options.rooms} rooms, {len(seats)} sockets; "
            f"{options.warmup:g} s warm-up + {options.seconds:g} s measured"
        )
        result = run_async(load(server, seats, options, mode))
    log(f"[{mode}] done")
    return result


# --- report ----------------------------------------------------------------


HEADER = (
    "mode",
    "acked msg/s",
    "deliveries/s",
    "ack p50 ms",
    "ack p99 ms",
    "server CPU",
    "µs/msg",
    "gen CPU",
    "errors",
    "unacked",
)


def row(r: Result) -> tuple[str, ...]:
    return (
        r.mode,
        f"{r.acked_per_s:,.0f}",
        f"{r.deliveries_per_s:,.0f}",
        f"{r.p50_ms:.1f}",
        f"{r.p99_ms:.1f}",
        f"{r.server_cpu / r.seconds:.0%}",
        f"{r.server_us_per_msg:.0f}",
        f"{r.client_cpu / r.seconds:.0%}",
        str(r.errors),
        str(r.unacked),
    )


def table(results: Sequence[Result]) -> str:
    rows = [HEADER, *(row(r) for r in results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    return "\n".join(lines)


def ratios(results: Sequence[Result]) -> str | None:
    by_mode = {r.mode: r for r in results}
    group, single = by_mode.get("group"), by_mode.get("per-message")
    if group is None or single is None or not single.acked:
        return None
    return (
        f"group / per-message: acked msg/s x{group.acked_per_s / single.acked_per_s:.2f}, "
        f"deliveries/s x{group.deliveries_per_s / single.deliveries_per_s:.2f}, "
        f"ack p50 x{group.p50_ms / single.p50_ms:.2f}, "
        f"ack p99 x{group.p99_ms / single.p99_ms:.2f}"
    )


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def raise_fd_limit() -> None:
    """Room for the sockets, here and in the server (which inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m mediation.bench", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--rooms", type=int, default=100, help="rooms, 3 sockets each")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured lead-in")
    parser.add_argument("--window", type=int, default=4, help="unacked sends per socket")
    parser.add_argument("--body-bytes", type=int, default=200, help="message body size")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=["per-message", "group"])
    args = parser.parse_args(argv)
    return Options(
        args.rooms, args.seconds, args.warmup, args.window, args.body_bytes, tuple(args.modes)
    )


def main(argv: Sequence[str] | None = None) -> None:
    options = parse_args(argv)
    raise_fd_limit()
    results = [run_mode(mode, options) for mode in options.modes]
    print(
        f"{options.rooms} rooms x 3 sockets, window {options.window}, "
        f"body {options.body_bytes} B, {options.seconds:g} s measured"
    )
    print(table(results))
    summary = ratios(results)
    if summary:
        print(summary)


if __name__ == "__main__":
    main()
