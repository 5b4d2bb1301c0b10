"""The abusive clients of `python -m bench abuse`, each bounded in count and
time: it stops when `stop` is set, and returns what happened to it, by outcome.

They run in a process of their own (`python -m bench.abusers SPEC`, started
and stopped by the bench for each phase), at the lowest priority, so that opening
thousands of client sockets never stalls the well-behaved bots' event loop: what the
bench measures is the server, not its own load generator. Each abuser connects from a
loopback address of its own (127.0.0.0/8 is all loopback on Linux), none of them from
127.0.0.1, the well-behaved rooms' address: per-address limits see them as the
different hosts they would be on the internet.
"""

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from contextlib import suppress
from functools import partial
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from bench.loop import run_async

BAD_TOKEN_ATTEMPTS = 1000
BAD_TOKEN_CONCURRENCY = 50
IDLE_ADDRESSES = tuple(f"127.0.0.{n}" for n in range(10, 30))  # 20 hosts
IDLE_PER_ADDRESS = 100  # the server's default per-address cap: 2,000 held in all
IDLE_CONCURRENCY = 100
IDLE_PER_SECOND = 1000.0  # sockets opened per second at most
HISTORY_WINDOW = 16  # history requests in flight at once
NEVER_READS_EVERY = 0.05  # seconds between the history requests of the client that never reads
CLOSE_WAIT = 5.0  # seconds to wait for the server to close a refused socket

# Where each abuser connects from; the well-behaved rooms connect from 127.0.0.1.
SOURCES = {
    "bad tokens": "127.0.0.2",
    "send flood": "127.0.0.3",
    "history flood": "127.0.0.4",
    "never reads": "127.0.0.5",
    "idle sockets": f"{IDLE_ADDRESSES[0]}..{IDLE_ADDRESSES[-1]}",
}
NAMES = tuple(SOURCES)
IDLE = "idle sockets"

Abuser = Callable[[asyncio.Event], Coroutine[Any, Any, Counter[str]]]


async def _open(url: str, source: str) -> ClientConnection:
    return await connect(
        url,
        subprotocols=[Subprotocol("mediation.v1")],
        compression=None,
        max_size=None,
        open_timeout=10,
        close_timeout=2,  # winding down 2,000 sockets on a niced CPU: no 10 s waits
        local_addr=(source, 0),
    )


async def _joined(url: str, token: str, source: str) -> ClientConnection:
    ws = await _open(url, source)
    await ws.send(json.dumps({"type": "hello", "token": token}))
    while json.loads(await ws.recv())["type"] != "welcome":
        pass
    return ws


def _refusal(exc: Exception) -> str:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return f"refused {status}" if status else f"refused ({exc.__class__.__name__})"


async def bad_tokens(url: str, stop: asyncio.Event) -> Counter[str]:
    """1,000 connections from one address, each with a `hello` whose token is not ours."""
    seen: Counter[str] = Counter()
    gate = asyncio.Semaphore(BAD_TOKEN_CONCURRENCY)

    async def attempt(n: int) -> None:
        async with gate:
            if stop.is_set():
                return
            try:
                ws = await _open(url, SOURCES["bad tokens"])
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                refusal = _refusal(exc)
                if refusal not in seen:  # when the throttle kicked in
                    seen[f"attempts before the first {refusal}"] = seen.total()
                seen[refusal] += 1
                return
            with suppress(ConnectionClosed):
                await ws.send(json.dumps({"type": "hello", "token": f"eyJhbGciOi.bad.{n}"}))
                with suppress(TimeoutError):
                    async with asyncio.timeout(CLOSE_WAIT):
                        async for _ in ws:
                            pass
            await ws.close()
            seen[f"closed {ws.close_code}"] += 1

    await asyncio.gather(*(attempt(n) for n in range(BAD_TOKEN_ATTEMPTS)))
    return seen


async def _count_replies(
    ws: ClientConnection, seen: Counter[str], replied: asyncio.Semaphore | None
) -> None:
    with suppress(ConnectionClosed):
        async for raw in ws:
            frame = json.loads(raw)
            kind = frame["type"]
            seen[f"{kind} {frame['code']}" if kind == "error" else kind] += 1
            if replied is not None and kind in ("history", "error"):
                replied.release()
    seen[f"closed {ws.close_code}"] += 1


async def send_flood(url: str, token: str, stop: asyncio.Event) -> Counter[str]:
    """One socket sending as fast as the server takes it, reading its answers."""
    seen: Counter[str] = Counter()
    ws = await _joined(url, token, SOURCES["send flood"])
    reader = asyncio.create_task(_count_replies(ws, seen, None))
    n = 0
    with suppress(ConnectionClosed):
        while not stop.is_set():
            frame = {"type": "send", "id": f"flood-{n}", "channel": "joint", "body": "x" * 200}
            await ws.send(json.dumps(frame))
            n += 1
            if n % 50 == 0:
                await asyncio.sleep(0)  # let the reader and the stop in
    seen["sent"] = n
    await ws.close()
    await reader
    return seen


async def history_flood(url: str, token: str, stop: asyncio.Event) -> Counter[str]:
    """One socket paging history without pause, `HISTORY_WINDOW` requests in flight."""
    seen: Counter[str] = Counter()
    ws = await _joined(url, token, SOURCES["history flood"])
    window = asyncio.Semaphore(HISTORY_WINDOW)
    reader = asyncio.create_task(_count_replies(ws, seen, window))
    n = 0
    with suppress(ConnectionClosed):
        while not stop.is_set():
            with suppress(TimeoutError):
                async with asyncio.timeout(1):
                    await window.acquire()
                    frame = {"type": "history", "channel": "joint", "limit": 200, "id": f"h{n}"}
                    await ws.send(json.dumps(frame))
                    n += 1
    seen["asked"] = n
    await ws.close()
    await reader
    return seen


async def never_reads(port: int, token: str, stop: asyncio.Event) -> Counter[str]:
    """A client that joins, asks for history pages and never reads a byte of the answers:
    a tiny receive buffer, so TCP pushes back on the server at once."""
    seen: Counter[str] = Counter()
    protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/ws"))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind((SOURCES["never reads"], 0))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
        protocol.send_request(protocol.connect())
        for chunk in protocol.data_to_send():
            await loop.sock_sendall(sock, chunk)
        while protocol.state.name == "CONNECTING":  # the handshake's answer: read once
            protocol.receive_data(await loop.sock_recv(sock, 65536))
        frames: list[dict[str, object]] = [{"type": "hello", "token": token}]
        n = 0
        while not stop.is_set():
            for frame in frames:
                protocol.send_text(json.dumps(frame).encode())
            for chunk in protocol.data_to_send():
                async with asyncio.timeout(1):
                    await loop.sock_sendall(sock, chunk)
            n += 1
            frames = [{"type": "history", "channel": "joint", "limit": 200, "id": f"nr{n}"}]
            await asyncio.sleep(NEVER_READS_EVERY)
        seen["asked"] = n
    except (OSError, TimeoutError) as exc:
        seen[f"ended ({exc.__class__.__name__})"] += 1
    finally:
        sock.close()
    return seen


async def idle_sockets(url: str, held: asyncio.Event | None, stop: asyncio.Event) -> Counter[str]:
    """2,000 sockets that connect and never say hello, 100 from each of 20 addresses (the
    per-address cap), opened at `IDLE_PER_SECOND` at most (then `held` is set) and held
    until `stop`."""
    seen: Counter[str] = Counter()
    gate = asyncio.Semaphore(IDLE_CONCURRENCY)
    sockets: list[ClientConnection] = []
    start = time.monotonic()
    sources = [a for _ in range(IDLE_PER_ADDRESS) for a in IDLE_ADDRESSES]  # round robin

    async def open_one(n: int, source: str) -> None:
        await asyncio.sleep(n / IDLE_PER_SECOND)
        async with gate:
            if stop.is_set():
                return
            try:
                sockets.append(await _open(url, source))
                seen["opened"] += 1
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                seen[_refusal(exc)] += 1

    await asyncio.gather(*(open_one(n, source) for n, source in enumerate(sources)))
    seen["ms to open them"] = round((time.monotonic() - start) * 1000)
    if held is not None:
        held.set()
    await stop.wait()
    seen["closed by the server"] = sum(1 for ws in sockets if ws.close_code is not None)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return seen


def chosen(
    names: Sequence[str],
    url: str,
    port: int,
    tokens: Sequence[str],
    held: asyncio.Event | None = None,
) -> dict[str, Abuser]:
    """The abusers named, against the server at `url` (`port`), with the abuse room's
    client, freelancer and moderator tokens; `held` is set once the idle sockets are."""
    client, freelancer, _moderator = tokens
    every: dict[str, Abuser] = {
        "bad tokens": partial(bad_tokens, url),
        "send flood": partial(send_flood, url, client),
        "history flood": partial(history_flood, url, freelancer),
        "never reads": partial(never_reads, port, client),
        IDLE: partial(idle_sockets, url, held),
    }
    return {name: every[name] for name in names}


async def run(spec: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Run the abusers of `spec` until SIGTERM (or its `limit` in seconds), then each
    one's outcome counts. Prints `ready` once they run; with the idle sockets, `opening`
    before, while those are opened, and `ready` once they are held."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.call_later(spec["limit"], stop.set)  # bounded even if the bench is gone
    held = asyncio.Event()
    abusers = chosen(spec["run"], spec["url"], spec["port"], spec["tokens"], held)
    tasks: dict[str, asyncio.Task[Counter[str]]] = {}
    if IDLE in abusers:  # first the 2,000 sockets, then the others next to them
        print("opening", flush=True)
        tasks[IDLE] = asyncio.create_task(abusers.pop(IDLE)(stop))
        waiting = asyncio.create_task(held.wait())
        await asyncio.wait([tasks[IDLE], waiting], return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
    tasks.update({name: asyncio.create_task(abuser(stop)) for name, abuser in abusers.items()})
    print("ready", flush=True)
    outcomes: dict[str, dict[str, int]] = {}
    for name, task in tasks.items():
        try:
            outcomes[name] = dict(await task)
        except (TimeoutError, OSError, ConnectionClosed, InvalidHandshake) as exc:
            outcomes[name] = {f"abuser failed ({exc.__class__.__name__})": 1}
    return outcomes


def main(argv: Sequence[str]) -> None:
    """`python -m bench.abusers SPEC`: SPEC is JSON with `run` (abuser names),
    `url`, `port`, `tokens`, `limit` (seconds) and `cpus` (to pin to, or null). Prints
    `ready` once they run (see `run`), then their outcomes as one line of JSON."""
    spec = json.loads(argv[0])
    os.nice(19)  # the well-behaved bots share this core: they come first
    if spec.get("cpus"):
        os.sched_setaffinity(0, spec["cpus"])
    print(json.dumps(run_async(run(spec))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
