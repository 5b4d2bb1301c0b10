"""The abusive clients of `python -m mediation.bench abuse`, each bounded in count and
time: it stops when `stop` is set, and returns what happened to it, by outcome."""

import asyncio
import json
import socket
from collections import Counter
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

BAD_TOKEN_ATTEMPTS = 1000
BAD_TOKEN_CONCURRENCY = 50
IDLE_SOCKETS = 2000
IDLE_CONCURRENCY = 100
HISTORY_WINDOW = 16  # history requests in flight at once
NEVER_READS_EVERY = 0.05  # seconds between the history requests of the client that never reads
CLOSE_WAIT = 5.0  # seconds to wait for the server to close a refused socket

Abuser = Callable[[asyncio.Event], Coroutine[Any, Any, Counter[str]]]


async def _open(url: str) -> ClientConnection:
    return await connect(
        url,
        subprotocols=[Subprotocol("mediation.v1")],
        compression=None,
        max_size=None,
        open_timeout=10,
    )


async def _joined(url: str, token: str) -> ClientConnection:
    ws = await _open(url)
    await ws.send(json.dumps({"type": "hello", "token": token}))
    while json.loads(await ws.recv())["type"] != "welcome":
        pass
    return ws


def _refusal(exc: Exception) -> str:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return f"refused {status}" if status else f"refused ({exc.__class__.__name__})"


async def bad_tokens(url: str, stop: asyncio.Event) -> Counter[str]:
    """1,000 connections, each with a `hello` whose token is not ours."""
    seen: Counter[str] = Counter()
    gate = asyncio.Semaphore(BAD_TOKEN_CONCURRENCY)

    async def attempt(n: int) -> None:
        async with gate:
            if stop.is_set():
                return
            try:
                ws = await _open(url)
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                seen[_refusal(exc)] += 1
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
    ws = await _joined(url, token)
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
    ws = await _joined(url, token)
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


async def idle_sockets(url: str, stop: asyncio.Event) -> Counter[str]:
    """2,000 sockets that connect and never say hello, held until `stop`."""
    seen: Counter[str] = Counter()
    gate = asyncio.Semaphore(IDLE_CONCURRENCY)
    held: list[ClientConnection] = []

    async def open_one() -> None:
        async with gate:
            if stop.is_set():
                return
            try:
                held.append(await _open(url))
                seen["opened"] += 1
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                seen[_refusal(exc)] += 1

    await asyncio.gather(*(open_one() for _ in range(IDLE_SOCKETS)))
    await stop.wait()
    seen["closed by the server"] = sum(1 for ws in held if ws.close_code is not None)
    await asyncio.gather(*(ws.close() for ws in held), return_exceptions=True)
    return seen
