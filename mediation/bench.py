"""Benchmarks of the send path, each against real server subprocesses.

    python -m mediation.bench [commit] [--rooms 100] [--seconds 10] [--window 4]
                              [--body-bytes 200] [--modes per-message group]
    python -m mediation.bench scale-out [--rooms 100] [--seconds 10] [--rate 5]
                              [--postgres URL] [--redis URL]
                              [--modes 1-process 1-process+redis 2-processes]

`commit` (the default): group commit against a commit per message on
embedded SQLite. A fresh server per mode (its own temporary data dir, free
port, per-socket rate limit off); each socket keeps at most `--window` sends
unacknowledged, so the load is as high as the server allows. Only
MEDIATION_COMMIT_MAX_BATCH differs (1 vs the default).

`scale-out`: one server process against two sharing PostgreSQL and Redis,
at a fixed offered load: every socket sends `--rate` messages/s, paced, not
window-limited. Each mode gets a fresh PostgreSQL database (created, migrated
with `python -m mediation migrate`, dropped afterwards); the run gets its own
Redis key prefix, whose keys are deleted afterwards. With two processes a
room's client is on process A, its freelancer on B and its moderator on A or
B by turns, so every message crosses Redis for at least one recipient.

Both share the load generator: rooms and tokens opened over the HTTP API,
then 3 sockets per room (client, freelancer, moderator) send for a warm-up
and a measured window. The client and the freelancer write to `joint`; the
moderator cycles joint, caucus:client, joint, caucus:freelancer. Every
message id carries its send time, so each recipient measures delivery
latency (send -> receipt, one clock: the load generator's). Reported:
acked and delivered messages/s (message frames received by the other
sockets), ack and delivery latency p50/p99, errors, and the CPU used by the
servers, the load generator and the whole machine.
"""

import argparse
import asyncio
import http.client
import json
import os
import random
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import asyncpg  # type: ignore[import-untyped]
import msgspec
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from mediation.secrets import b64

T = TypeVar("T")

ROLES = ("client", "freelancer", "moderator")
CHANNELS: dict[str, tuple[str, ...]] = {
    "client": ("joint",),
    "freelancer": ("joint",),
    "moderator": ("joint", "caucus:client", "joint", "caucus:freelancer"),
}
RECIPIENTS = {"joint": 2, "caucus:client": 1, "caucus:freelancer": 1}  # other sockets
SERVER_START_TIMEOUT = 30.0
SERVER_STOP_TIMEOUT = 20.0
SETUP_TIMEOUT = 60.0  # rooms, tokens, 3 x rooms sockets joined
DRAIN_TIMEOUT = 20.0  # for the acks still owed when sending stops
SERVICE_TIMEOUT = 10.0  # one PostgreSQL or Redis admin call
MIGRATE_TIMEOUT = 60.0
CONNECT_CONCURRENCY = 50
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Options:
    scenario: str
    rooms: int
    seconds: float
    warmup: float
    body_bytes: int
    modes: tuple[str, ...]
    window: int = 4  # commit: unacked sends per socket
    rate: float = 5.0  # scale-out: sends per socket per second
    postgres: str = ""  # scale-out: admin URL (asyncpg form)
    redis: str = ""  # scale-out


@dataclass(frozen=True)
class Seat:
    room: int
    role: str
    user: str
    token: str


class Sender(msgspec.Struct):
    user: str


class Frame(msgspec.Struct):
    """The fields of a server frame the bench looks at; the rest is skipped."""

    type: str
    id: str | None = None
    code: str | None = None
    sender: Sender | None = None


class SendFrame(msgspec.Struct, tag="send", tag_field="type"):
    id: str
    channel: str
    body: str


decode_frame = msgspec.json.Decoder(Frame).decode
encode_frame = msgspec.json.Encoder().encode


# --- the servers under test ------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def shared_secrets() -> dict[str, str]:
    """The keys every process of one deployment must share."""
    return {
        "MEDIATION_MASTER_KEY": "bench:" + b64(secrets.token_bytes(32)),
        "MEDIATION_TOKEN_SECRET": secrets.token_urlsafe(32),
        "MEDIATION_API_KEY": secrets.token_urlsafe(24),
    }


def server_env(data_dir: Path, settings: Mapping[str, str]) -> dict[str, str]:
    """The bench's environment minus any MEDIATION_ setting, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")}
    env.update(
        MEDIATION_DATA_DIR=str(data_dir),
        MEDIATION_RATE_PER_SECOND="1000000",
        MEDIATION_RATE_BURST="1000000",
        **settings,
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

    def fetch(self, method: str, path: str, body: object = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {
                "authorization": f"Bearer {self.api_key}",
                "content-type": "application/json",
            }
            conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def request(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        status, content = self.fetch(method, path, body)
        return status, json.loads(content or b"null")

    def commit_batches(self) -> tuple[float, float]:
        """Group commits so far, and the messages in them (from /metrics)."""
        samples = dict(
            line.split(" ", 1)
            for line in self.fetch("GET", "/metrics")[1].decode().splitlines()
            if line.startswith("mediation_commit_batch_size_")
        )
        return (
            float(samples.get("mediation_commit_batch_size_count", 0)),
            float(samples.get("mediation_commit_batch_size_sum", 0)),
        )

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
def running_server(settings: Mapping[str, str]) -> Iterator[Server]:
    """A fresh `mediation serve` on a free port, with its own temp data dir; all removed after."""
    with tempfile.TemporaryDirectory(prefix="mediation-bench-") as tmp:
        data_dir, port = Path(tmp), free_port()
        log_path = data_dir / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "mediation", "serve"],
                env=server_env(data_dir, {**settings, "PORT": str(port)}),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        server = Server(port, settings["MEDIATION_API_KEY"], process, log_path)
        try:
            server.wait_healthy()
            yield server
        finally:
            server.stop()


@contextmanager
def running_servers(count: int, settings: Mapping[str, str]) -> Iterator[list[Server]]:
    with ExitStack() as stack:
        yield [stack.enter_context(running_server(settings)) for _ in range(count)]


# --- PostgreSQL and Redis for scale-out ------------------------------------


async def postgres_admin(admin_url: str, statement: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=SERVICE_TIMEOUT)
    try:
        await conn.execute(statement, timeout=SERVICE_TIMEOUT * 3)
    finally:
        await conn.close()


def sqlalchemy_url(admin_url: str, database: str) -> str:
    """`postgresql://.../admin_db` -> `postgresql+asyncpg://.../database`."""
    parts = urllib.parse.urlsplit(admin_url)
    return parts._replace(scheme="postgresql+asyncpg", path=f"/{database}").geturl()


def migrate(database_url: str) -> None:
    with tempfile.TemporaryDirectory(prefix="mediation-bench-") as tmp:
        done = subprocess.run(
            [sys.executable, "-m", "mediation", "migrate"],
            env=server_env(Path(tmp), {"MEDIATION_DATABASE_URL": database_url}),
            capture_output=True,
            text=True,
            timeout=MIGRATE_TIMEOUT,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"migrate failed ({done.returncode}):\n{done.stdout}{done.stderr}")


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A new, migrated database with a random name (its SQLAlchemy URL); dropped afterwards."""
    name = "mediation_bench_" + secrets.token_hex(4)
    run_async(postgres_admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        url = sqlalchemy_url(admin_url, name)
        migrate(url)
        yield url
    finally:
        run_async(postgres_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def redis_prefix(url: str) -> Iterator[str]:
    """A random key prefix on the Redis at `url`; its keys are deleted afterwards."""
    prefix = "mediation-bench-" + secrets.token_hex(4)
    with redis.Redis.from_url(
        url, socket_connect_timeout=SERVICE_TIMEOUT, socket_timeout=SERVICE_TIMEOUT
    ) as client:
        client.ping()  # fail before any server starts
        try:
            yield prefix
        finally:
            keys = list(client.scan_iter(match=prefix + ":*", count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])


# --- provisioning ----------------------------------------------------------


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
            index,
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


def place(seat: Seat, servers: Sequence[Server]) -> Server:
    """Client on the first process, freelancer on the second, moderator by turns."""
    index = {"client": 0, "freelancer": 1, "moderator": seat.room}[seat.role]
    return servers[index % len(servers)]


# --- the load generator ----------------------------------------------------


@dataclass
class Recorder:
    """What happened inside the measured window [start, end)."""

    start: float = float("inf")
    end: float = float("inf")
    sent: int = 0
    expected: int = 0  # deliveries owed for the messages sent
    ack_latencies: list[float] = field(default_factory=list)
    delivery_latencies: list[float] = field(default_factory=list)
    echoes: int = 0  # a sender's own message, besides its ack (several processes, rare)
    errors: Counter[str] = field(default_factory=Counter)

    def measuring(self, now: float) -> bool:
        return self.start <= now < self.end

    def on_send(self, channel: str, now: float) -> None:
        if self.measuring(now):
            self.sent += 1
            self.expected += RECIPIENTS[channel]

    def acked(self, sent: float, now: float) -> None:
        if self.measuring(now):
            self.ack_latencies.append(now - sent)

    def delivered(self, sent: float, now: float) -> None:
        if self.measuring(now):
            self.delivery_latencies.append(now - sent)


class Pacing(Protocol):
    """When a socket may send its next message."""

    async def turn(self) -> None: ...
    def settled(self) -> None: ...  # an ack or error came back
    def wake(self) -> None: ...  # sending stops: don't keep a sender waiting


class WindowPacing:
    """At most `window` sends unacknowledged: as fast as the server answers."""

    def __init__(self, window: int) -> None:
        self.free = asyncio.Semaphore(window)

    async def turn(self) -> None:
        await self.free.acquire()

    def settled(self) -> None:
        self.free.release()

    def wake(self) -> None:
        self.free.release()


class RatePacing:
    """`rate` sends a second at fixed intervals, whatever the acks do; a random phase."""

    def __init__(self, rate: float) -> None:
        self.interval = 1 / rate
        self.next = time.perf_counter() + random.random() * self.interval - self.interval

    async def turn(self) -> None:
        self.next += self.interval
        delay = self.next - time.perf_counter()
        if delay > 0:  # late (an overloaded generator): send at once, keep the schedule
            await asyncio.sleep(delay)

    def settled(self) -> None:
        pass

    def wake(self) -> None:
        pass


def message_id(n: int, sent: float) -> str:
    """A unique id (per socket) that carries the send time for the recipients."""
    return f"{n}@{sent:.6f}"


def sent_time(cid: str) -> float:
    return float(cid.rpartition("@")[2])


class Bot:
    """One participant's socket: sends as its pacing allows, reads acks and messages."""

    def __init__(
        self, ws: ClientConnection, seat: Seat, pacing: Pacing, body: str, recorder: Recorder
    ) -> None:
        self.ws = ws
        self.user = seat.user
        self.channels = CHANNELS[seat.role]
        self.pacing = pacing
        self.body = body
        self.recorder = recorder
        self.sent_at: dict[str, float] = {}  # awaiting an ack

    async def send_until(self, stop: asyncio.Event) -> None:
        n = 0
        while True:
            await self.pacing.turn()
            if stop.is_set():
                return
            channel, sent = self.channels[n % len(self.channels)], time.perf_counter()
            cid = message_id(n, sent)
            self.sent_at[cid] = sent
            self.recorder.on_send(channel, sent)
            try:
                await self.ws.send(encode_frame(SendFrame(cid, channel, self.body)).decode())
            except ConnectionClosed:
                self.recorder.errors["closed"] += 1
                return
            n += 1

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                self.on_frame(decode_frame(raw), time.perf_counter())
        except ConnectionClosed:
            pass

    def on_frame(self, frame: Frame, now: float) -> None:
        if frame.type == "message" and frame.id is not None:
            if frame.sender is not None and frame.sender.user == self.user:
                self.recorder.echoes += 1
            else:
                self.recorder.delivered(sent_time(frame.id), now)
        elif frame.type in ("ack", "error") and frame.id in self.sent_at:
            sent = self.sent_at.pop(frame.id)
            if frame.type == "ack":
                self.recorder.acked(sent, now)
            else:
                self.recorder.errors[frame.code or "?"] += 1
            self.pacing.settled()
        elif frame.type == "error":
            self.recorder.errors[frame.code or "?"] += 1


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


def machine_busy_seconds() -> float:
    """Non-idle CPU time of all cores so far (Linux /proc/stat)."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


@dataclass(frozen=True)
class Usage:
    """Counters read at both ends of the window: CPU seconds of the servers, the load
    generator and the whole machine, and the servers' group commits."""

    server_cpu: float
    generator_cpu: float
    machine_cpu: float
    commits: float
    committed: float  # messages in those commits

    @classmethod
    def now(cls, servers: Sequence[Server]) -> "Usage":
        batches = [s.commit_batches() for s in servers]
        return cls(
            sum(s.cpu_seconds() for s in servers),
            time.process_time(),
            machine_busy_seconds(),
            sum(commits for commits, _ in batches),
            sum(committed for _, committed in batches),
        )

    def __sub__(self, other: "Usage") -> "Usage":
        return Usage(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))


def percentile_ms(samples: Sequence[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


@dataclass(frozen=True)
class Result:
    mode: str
    seconds: float
    sent: int
    expected: int
    acked: int
    deliveries: int
    ack_p50_ms: float
    ack_p99_ms: float
    delivery_p50_ms: float
    delivery_p99_ms: float
    usage: Usage  # within the window
    errors: int
    echoes: int
    unacked: int

    @classmethod
    def of(cls, mode: str, recorder: Recorder, usage: Usage, unacked: int) -> "Result":
        acks, deliveries = recorder.ack_latencies, recorder.delivery_latencies
        return cls(
            mode,
            recorder.end - recorder.start,
            recorder.sent,
            recorder.expected,
            len(acks),
            len(deliveries),
            percentile_ms(acks, 50),
            percentile_ms(acks, 99),
            percentile_ms(deliveries, 50),
            percentile_ms(deliveries, 99),
            usage,
            sum(recorder.errors.values()),
            recorder.echoes,
            unacked,
        )

    @property
    def sent_per_s(self) -> float:
        return self.sent / self.seconds

    @property
    def acked_per_s(self) -> float:
        return self.acked / self.seconds

    @property
    def deliveries_per_s(self) -> float:
        return self.deliveries / self.seconds

    @property
    def server_us_per_msg(self) -> float:
        return self.usage.server_cpu / self.acked * 1e6 if self.acked else float("nan")

    @property
    def mean_batch(self) -> float:
        return self.usage.committed / self.usage.commits if self.usage.commits else float("nan")


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


def run_async(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def run_mode(
    mode: str,
    deployment: AbstractContextManager[list[Server]],
    options: Options,
    pacing: Callable[[], Pacing],
) -> Result:
    log(f"[{mode}] starting")
    with deployment as servers:
        seats = provision(servers[0], options.rooms)
        log(
            f"[{mode}] {len(servers)} server process(es), {options.rooms} rooms, "
            f"{len(seats)} sockets; {options.warmup:g} s warm-up + {options.seconds:g} s measured"
        )
        result = run_async(load(servers, seats, options, mode, pacing))
    log(f"[{mode}] done")
    return result


# --- scenarios -------------------------------------------------------------


COMMIT_MODES: dict[str, dict[str, str]] = {
    "per-message": {"MEDIATION_COMMIT_MAX_BATCH": "1"},
    "group": {},  # the default batch (512)
}
SCALE_OUT_MODES: dict[str, tuple[int, bool]] = {  # processes, Redis
    "1-process": (1, False),
    "1-process+redis": (1, True),
    "2-processes": (2, True),
}


def run_commit(options: Options) -> list[Result]:
    def deployment(mode: str) -> AbstractContextManager[list[Server]]:
        return running_servers(1, {**shared_secrets(), **COMMIT_MODES[mode]})

    return [
        run_mode(mode, deployment(mode), options, lambda: WindowPacing(options.window))
        for mode in options.modes
    ]


def run_scale_out(options: Options) -> list[Result]:
    @contextmanager
    def deployment(mode: str, prefix: str) -> Iterator[list[Server]]:
        processes, with_redis = SCALE_OUT_MODES[mode]
        with postgres_database(options.postgres) as database_url:
            settings = {**shared_secrets(), "MEDIATION_DATABASE_URL": database_url}
            if with_redis:
                settings.update(MEDIATION_REDIS_URL=options.redis, MEDIATION_REDIS_PREFIX=prefix)
            with running_servers(processes, settings) as servers:
                yield servers

    needs_redis = any(SCALE_OUT_MODES[mode][1] for mode in options.modes)
    with redis_prefix(options.redis) if needs_redis else nullcontext("") as prefix:
        return [
            run_mode(mode, deployment(mode, prefix), options, lambda: RatePacing(options.rate))
            for mode in options.modes
        ]


@dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[Result], str]


COLUMNS = {
    c.header: c
    for c in (
        Column("mode", lambda r: r.mode),
        Column("sent msg/s", lambda r: f"{r.sent_per_s:,.0f}"),
        Column("acked msg/s", lambda r: f"{r.acked_per_s:,.0f}"),
        Column("deliveries/s", lambda r: f"{r.deliveries_per_s:,.0f}"),
        Column("of expected", lambda r: f"{r.deliveries / r.expected:.1%}" if r.expected else "-"),
        Column("delivery p50 ms", lambda r: f"{r.delivery_p50_ms:.1f}"),
        Column("delivery p99 ms", lambda r: f"{r.delivery_p99_ms:.1f}"),
        Column("ack p50 ms", lambda r: f"{r.ack_p50_ms:.1f}"),
        Column("ack p99 ms", lambda r: f"{r.ack_p99_ms:.1f}"),
        Column("server CPU", lambda r: f"{r.usage.server_cpu / r.seconds:.0%}"),
        Column("µs/msg", lambda r: f"{r.server_us_per_msg:.0f}"),
        Column("gen CPU", lambda r: f"{r.usage.generator_cpu / r.seconds:.0%}"),
        Column("machine CPU", lambda r: f"{r.usage.machine_cpu / r.seconds:.0%}"),
        Column("commits/s", lambda r: f"{r.usage.commits / r.seconds:,.0f}"),
        Column("batch", lambda r: f"{r.mean_batch:.1f}"),
        Column("errors", lambda r: str(r.errors)),
        Column("echoes", lambda r: str(r.echoes)),
        Column("unacked", lambda r: str(r.unacked)),
    )
}


@dataclass(frozen=True)
class Scenario:
    run: Callable[[Options], list[Result]]
    columns: str  # headers of COLUMNS, comma-separated
    compare: tuple[str, str]  # (candidate, baseline) modes of the ratio line
    ratios: tuple[tuple[str, Callable[[Result], float]], ...]


SCENARIOS = {
    "commit": Scenario(
        run_commit,
        "mode, acked msg/s, deliveries/s, ack p50 ms, ack p99 ms, server CPU, µs/msg, gen CPU, "
        "errors, unacked",
        ("group", "per-message"),
        (
            ("acked msg/s", lambda r: r.acked_per_s),
            ("deliveries/s", lambda r: r.deliveries_per_s),
            ("ack p50", lambda r: r.ack_p50_ms),
            ("ack p99", lambda r: r.ack_p99_ms),
        ),
    ),
    "scale-out": Scenario(
        run_scale_out,
        "mode, sent msg/s, deliveries/s, of expected, delivery p50 ms, delivery p99 ms, "
        "ack p50 ms, ack p99 ms, server CPU, µs/msg, commits/s, batch, gen CPU, machine CPU, "
        "errors, echoes, unacked",
        ("2-processes", "1-process"),
        (
            ("deliveries/s", lambda r: r.deliveries_per_s),
            ("delivery p50", lambda r: r.delivery_p50_ms),
            ("delivery p99", lambda r: r.delivery_p99_ms),
            ("ack p50", lambda r: r.ack_p50_ms),
            ("ack p99", lambda r: r.ack_p99_ms),
            ("server CPU", lambda r: r.usage.server_cpu),
        ),
    ),
}


# --- report ----------------------------------------------------------------


def table(results: Sequence[Result], headers: str) -> str:
    columns = [COLUMNS[h] for h in headers.split(", ")]
    rows = [tuple(c.header for c in columns), *(tuple(c.cell(r) for c in columns) for r in results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(columns))]
    lines = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    return "\n".join(lines)


def ratios(results: Sequence[Result], scenario: Scenario) -> str | None:
    by_mode = {r.mode: r for r in results}
    candidate, baseline = (by_mode.get(mode) for mode in scenario.compare)
    if candidate is None or baseline is None:
        return None
    figures = ", ".join(
        f"{name} x{value(candidate) / value(baseline):.2f}"
        for name, value in scenario.ratios
        if value(baseline)
    )
    return f"{candidate.mode} / {baseline.mode}: {figures}"


def headline(options: Options) -> str:
    load = (
        f"{options.rate:g} msg/s per socket (offered {options.rate * options.rooms * 3:,.0f} msg/s)"
        if options.scenario == "scale-out"
        else f"window {options.window}"
    )
    return (
        f"{options.rooms} rooms x 3 sockets, {load}, "
        f"body {options.body_bytes} B, {options.seconds:g} s measured"
    )


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def raise_fd_limit() -> None:
    """Room for the sockets, here and in the server (which inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def parse_args(argv: Sequence[str] | None) -> Options:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*SCENARIOS, "-h", "--help"):
        argv.insert(0, "commit")  # the original benchmark, as it was invoked before scenarios
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--rooms", type=int, default=100, help="rooms, 3 sockets each")
    common.add_argument("--seconds", type=float, default=10.0, help="measured window")
    common.add_argument("--warmup", type=float, default=2.0, help="unmeasured lead-in")
    common.add_argument("--body-bytes", type=int, default=200, help="message body size")
    parser = argparse.ArgumentParser(
        prog="python -m mediation.bench", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    scenarios = parser.add_subparsers(dest="scenario", required=True)
    commit = scenarios.add_parser(
        "commit", parents=[common], help="group commit vs per-message commit (SQLite)"
    )
    commit.add_argument("--window", type=int, default=4, help="unacked sends per socket")
    commit.add_argument("--modes", nargs="+", choices=list(COMMIT_MODES), default=[*COMMIT_MODES])
    scale_out = scenarios.add_parser(
        "scale-out", parents=[common], help="one process vs two (PostgreSQL + Redis)"
    )
    scale_out.add_argument("--rate", type=float, default=5.0, help="sends/s per socket")
    scale_out.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="admin URL; the bench creates and drops its own database there",
    )
    scale_out.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    scale_out.add_argument(
        "--modes", nargs="+", choices=list(SCALE_OUT_MODES), default=[*SCALE_OUT_MODES]
    )
    args = parser.parse_args(argv)
    return Options(
        args.scenario,
        args.rooms,
        args.seconds,
        args.warmup,
        args.body_bytes,
        tuple(args.modes),
        **{k: getattr(args, k) for k in ("window", "rate", "postgres", "redis") if k in args},
    )


def main(argv: Sequence[str] | None = None) -> None:
    options = parse_args(argv)
    scenario = SCENARIOS[options.scenario]
    raise_fd_limit()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up as for Ctrl-C
    results = scenario.run(options)
    print(headline(options))
    print(table(results, scenario.columns))
    summary = ratios(results, scenario)
    if summary:
        print(summary)


if __name__ == "__main__":
    main()
