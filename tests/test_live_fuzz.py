"""A live fuzz run against a real server process: random and malformed input to `/ws`
and the HTTP API (tests/fuzzing.py), a bounded number of inputs in a bounded time,
while a well-behaved room holds a steady conversation next to it.

Asserted: the server stays up (/healthz), no answer is a 500 and the server logs no
unhandled exception, no socket gets `internal` or closes with a code outside the
protocol's, memory stays bounded, and the well-behaved room sees no error, no close,
and every message it sent acked and delivered.
"""

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.conftest import free_port
from tests.databases import PostgresDatabases, fresh_database
from tests.fuzzing import SocketInput, Vocabulary, http_input, socket_input
from tests.server_process import API_KEY, ServerProcess

SEED = 12
INPUTS = 2000  # socket and HTTP together
TIME_BUDGET = 90.0  # seconds: the run stops there even if inputs are left
RSS_GROWTH_LIMIT = 256 * 1024 * 1024  # bytes: generous, huge frames are buffered whole
# What a fuzzed socket may end with: normal, going away, too big, the hello refusals, a
# hello timeout, too slow, and the limits on connections (try again later).
EXPECTED_CLOSES = {1000, 1001, 1009, 1013, 4401, 4403, 4404, 4408, 4429}
WELL_BEHAVED_PACE = 0.05  # seconds between the well-behaved room's messages


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@dataclass
class Findings:
    """Everything the run saw that it must not have."""

    server_errors: list[str] = field(default_factory=list)  # 5xx answers
    internal: list[str] = field(default_factory=list)  # `internal` error frames
    closes: Counter[tuple[int | None, str]] = field(default_factory=Counter)  # with the last input
    answered: Counter[str] = field(default_factory=Counter)

    def unexpected_closes(self, huge_frames: bool) -> dict[tuple[int | None, str], int]:
        """Closes outside the protocol's codes, after a huge frame or (not `huge_frames`) any
        other input."""
        return {
            (code, label): n
            for (code, label), n in self.closes.items()
            if code not in EXPECTED_CLOSES and (label == "huge frame") == huge_frames
        }


@dataclass
class WellBehaved:
    """A room with its three people talking at a steady pace; what went wrong for them."""

    ws: dict[str, ClientConnection]
    errors: list[dict[str, Any]] = field(default_factory=list)
    closed: list[tuple[str, int | None]] = field(default_factory=list)
    sent: Counter[str] = field(default_factory=Counter)
    acked: Counter[str] = field(default_factory=Counter)
    delivered: Counter[str] = field(default_factory=Counter)

    async def read(self, role: str) -> None:
        ws = self.ws[role]
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if frame["type"] == "error":
                    self.errors.append(frame)
                elif frame["type"] == "ack":
                    self.acked[role] += 1
                elif frame["type"] == "message":
                    self.delivered[role] += 1
        except ConnectionClosed:
            pass
        if ws.close_code != 1000:
            self.closed.append((role, ws.close_code))

    async def talk(self, stop: asyncio.Event) -> None:
        n = 0
        while not stop.is_set():
            role = ("client", "freelancer", "moderator")[n % 3]
            await self.ws[role].send(
                json.dumps({"type": "send", "id": f"wb-{n}", "channel": "joint", "body": "hi"})
            )
            self.sent[role] += 1
            n += 1
            await asyncio.sleep(WELL_BEHAVED_PACE)


async def connect(url: str) -> ClientConnection:
    return await websockets.connect(
        url, subprotocols=[Subprotocol("mediation.v1")], max_size=None, open_timeout=5
    )


async def hello(ws: ClientConnection, token: str) -> None:
    await ws.send(json.dumps({"type": "hello", "token": token}))
    while json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] != "welcome":
        pass


class Deployment:
    """The server process and the platform's calls to it."""

    def __init__(self, process: ServerProcess) -> None:
        self.process = process
        self.http = httpx.AsyncClient(base_url=process.base_url, timeout=10)
        self.auth = {"authorization": f"Bearer {API_KEY}"}

    async def room(self, ticket: str) -> str:
        body = {"ticket": {"provider": "local", "id": ticket}, "client": "c", "freelancer": "f"}
        response = await self.http.post("/api/rooms", json=body, headers=self.auth)
        assert response.status_code == 201, response.text
        room: str = response.json()["id"]
        return room

    async def token(self, room: str, user: str, role: str) -> str:
        response = await self.http.post(
            f"/api/rooms/{room}/tokens", json={"user": user, "role": role}, headers=self.auth
        )
        assert response.status_code == 201, response.text
        token: str = response.json()["token"]
        return token


@asynccontextmanager
async def deployed(data_dir: Path, database_url: str) -> AsyncIterator[Deployment]:
    limits_off = {  # the fuzz is about input; the limits have their own tests, and here
        # the fuzzer and the well-behaved room share one address
        f"MEDIATION_{name}": "100000"
        for name in (
            "MAX_CONNECTIONS",
            "MAX_CONNECTIONS_PER_IP",
            "MAX_CONNECTIONS_PER_PERSON",
            "AUTH_FAILURE_BURST",
            "MINT_BURST",
        )
    }
    process = ServerProcess(
        data_dir, free_port(), MEDIATION_DATABASE_URL=database_url, **limits_off
    )
    process.start()
    deployment = Deployment(process)
    try:
        yield deployment
    finally:
        await deployment.http.aclose()
        process.close()


class Fuzzer:
    def __init__(self, deployment: Deployment, vocab: Vocabulary, rng: random.Random) -> None:
        self.deployment = deployment
        self.vocab = vocab
        self.rng = rng
        self.findings = Findings()
        self.sockets: list[ClientConnection] = []
        self.readers: list[asyncio.Task[None]] = []
        self.last: dict[ClientConnection, str] = {}  # the last input each socket was sent

    async def read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                if isinstance(raw, str):
                    frame = json.loads(raw)
                    if frame.get("type") == "error":
                        self.findings.answered[frame["code"]] += 1
                        if frame["code"] == "internal":
                            self.findings.internal.append(raw[:300])
        except ConnectionClosed:
            pass
        self.findings.closes[ws.close_code, self.last.get(ws, "hello")] += 1

    async def socket(self, joined: bool) -> ClientConnection:
        ws = await connect(self.deployment.process.ws_url)
        if joined:
            await hello(ws, self.rng.choice(self.vocab.tokens))
        self.readers.append(asyncio.create_task(self.read(ws)))
        return ws

    async def send_on_socket(self, sent: SocketInput) -> None:
        if sent.fresh or not self.sockets:
            ws = await self.socket(joined=not sent.fresh and self.rng.random() < 0.8)
            if not sent.fresh:
                self.sockets.append(ws)
        else:
            ws = self.rng.choice(self.sockets)
        self.last[ws] = sent.label
        with suppress(ConnectionClosed):
            await ws.send(sent.payload)
        if sent.label == "huge frame" and ws in self.sockets:  # closing: not to be reused
            self.sockets.remove(ws)
        if sent.fresh:
            await asyncio.sleep(0.005)
            await ws.close()
        self.sockets = [s for s in self.sockets if s.close_code is None]
        if len(self.sockets) > 8:  # a few open at once: drop the oldest
            await self.sockets.pop(0).close()

    async def send_over_http(self) -> None:
        request = http_input(self.rng, self.vocab)
        client = self.deployment.http
        built = client.build_request(
            request.method,
            request.path,
            params=request.params,
            headers=request.headers,
            content=request.body,
        )
        try:
            response = await client.send(built, stream=True)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            return  # a refused oversized body may close the connection early: allowed
        try:
            status = response.status_code
            if status >= 500 and status != 503:
                body = (await response.aread())[:300].decode(errors="replace")
                self.findings.server_errors.append(
                    f"{request.method} {request.path} {request.params} -> {status} {body}"
                )
            self.findings.answered[f"http {status}"] += 1
        finally:
            await response.aclose()

    async def run(self, inputs: int, deadline: float) -> int:
        done = 0
        while done < inputs and time.monotonic() < deadline:
            if self.rng.random() < 0.5:
                await self.send_on_socket(socket_input(self.rng, self.vocab))
            else:
                await self.send_over_http()
            done += 1
        for ws in self.sockets:
            await ws.close()
        await asyncio.gather(*self.readers)
        return done


async def well_behaved(deployment: Deployment) -> WellBehaved:
    room = await deployment.room("GOOD-1")
    users = {"client": "c", "freelancer": "f", "moderator": "m-good"}
    sockets = {}
    for role, user in users.items():
        ws = await connect(deployment.process.ws_url)
        await hello(ws, await deployment.token(room, user, role))
        sockets[role] = ws
    return WellBehaved(sockets)


async def fuzz_vocabulary(deployment: Deployment, extreme_integers: bool) -> Vocabulary:
    rooms = [await deployment.room(f"FUZZ-{n}") for n in range(3)]
    tokens = [
        await deployment.token(room, user, role)
        for room in rooms
        for user, role in (("c", "client"), ("f", "freelancer"), ("m-9", "moderator"))
    ]
    return Vocabulary(rooms, tokens, API_KEY, extreme_integers=extreme_integers)


@dataclass
class Run:
    """What one fuzz run saw."""

    inputs: int
    findings: Findings
    healthy: bool
    rss_before: int
    rss_after: int
    log: str
    good: WellBehaved


async def fuzz(deployment: Deployment, extreme_integers: bool) -> Run:
    proc = deployment.process.proc
    assert proc is not None  # started by the fixture
    pid = proc.pid
    good = await well_behaved(deployment)
    vocab = await fuzz_vocabulary(deployment, extreme_integers)
    readers = [asyncio.create_task(good.read(role)) for role in good.ws]
    stop = asyncio.Event()
    talker = asyncio.create_task(good.talk(stop))
    await asyncio.sleep(0.5)
    rss_before = rss_bytes(pid)

    fuzzer = Fuzzer(deployment, vocab, random.Random(SEED))
    done = await fuzzer.run(INPUTS, time.monotonic() + TIME_BUDGET)

    stop.set()
    await talker
    for _ in range(100):  # the last sends' acks and deliveries
        if sum(good.acked.values()) == sum(good.sent.values()):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    healthy = (await deployment.http.get("/healthz")).status_code == 200
    rss_after = rss_bytes(pid)
    for ws in good.ws.values():
        await ws.close()
    await asyncio.gather(*readers)
    log = deployment.process.data_dir.joinpath("server.log").read_text(errors="replace")
    return Run(done, fuzzer.findings, healthy, rss_before, rss_after, log, good)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(("sqlite", False), id="sqlite-plain-integers"),
        pytest.param(("postgresql", False), id="postgresql-plain-integers"),
        pytest.param(("sqlite", True), id="sqlite-extreme-integers"),
    ],
)
async def run(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresDatabases,
) -> AsyncIterator[Run]:
    backend, extreme_integers = request.param
    data_dir = tmp_path_factory.mktemp(f"fuzz-{backend}")
    url = await fresh_database(backend, data_dir, postgres)
    async with deployed(data_dir, url) as deployment:
        yield await fuzz(deployment, extreme_integers)


async def test_the_run_covered_its_inputs(run: Run) -> None:
    assert run.inputs >= INPUTS // 4, f"only {run.inputs} inputs in {TIME_BUDGET} s"
    assert run.findings.answered["invalid"] > 0  # the malformed input reached the parser


async def test_the_server_stays_up_and_memory_stays_bounded(run: Run) -> None:
    assert run.healthy
    assert run.rss_after - run.rss_before < RSS_GROWTH_LIMIT, (run.rss_before, run.rss_after)


async def test_no_answer_is_a_server_error(run: Run) -> None:
    assert run.findings.server_errors == []
    assert run.findings.internal == []
    # Storage is up all along: `unavailable` would be bad input taken for an outage (F2).
    assert run.findings.answered["unavailable"] == 0


async def test_no_socket_ends_outside_the_protocol(run: Run) -> None:
    assert run.findings.unexpected_closes(huge_frames=False) == {}, run.findings.closes


async def test_a_frame_over_the_limit_ends_with_1009(run: Run) -> None:
    assert run.findings.unexpected_closes(huge_frames=True) == {}, run.findings.closes


async def test_the_server_logs_no_unhandled_exception(run: Run) -> None:
    assert "Traceback" not in run.log, run.log[run.log.index("Traceback") :][:3000]


async def test_a_well_behaved_room_next_to_it_is_unharmed(run: Run) -> None:
    good = run.good
    assert good.errors == [] and good.closed == [], (good.errors[:5], good.closed)
    assert good.acked == good.sent
    total = sum(good.sent.values())
    for role in good.ws:  # everyone gets everything in joint but their own
        assert good.delivered[role] == total - good.sent[role], (role, good.delivered)
