"""Connections are bounded (issue 12, F3).

A request's headers have a deadline (slowloris); a process holds at most
`max_connections` connections, a client address at most
`max_connections_per_ip` sockets, a person at most
`max_connections_per_person` joined sockets in a room. Each refusal is
counted by reason in `mediation_connections_refused`.
"""

import asyncio
import dataclasses
import json
import socket
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from mediation.config import Settings
from tests.conftest import RunningServer, ServerFactory
from tests.peers import Peer


def raw(port: int) -> socket.socket:
    """A plain TCP connection. The server runs on this test's loop: read it in a thread."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(10)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (TimeoutError if it never does)."""
    got = b""
    while chunk := sock.recv(4096):
        got += chunk
    return got


def one_answer(sock: socket.socket) -> bytes:
    """One whole answer of /healthz (its JSON body ends it)."""
    got = b""
    while not got.endswith(b"}"):
        got += sock.recv(4096)
    return got


async def refusals(server: RunningServer, reason: str) -> float:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        text = (await http.get("/metrics")).text
    label = f'mediation_connections_refused_total{{reason="{reason}"}} '
    lines = [line for line in text.splitlines() if line.startswith(label)]
    return float(lines[0].split()[-1]) if lines else 0.0


@pytest.fixture
def bounded(settings: Settings) -> Settings:
    return dataclasses.replace(settings, header_timeout=1.0)


@pytest.mark.parametrize("backend", ["sqlite"])  # no database involved
@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(b"GET /healthz HTT", id="half-a-request-line"),
        pytest.param(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", id="half-the-headers"),
        pytest.param(b"", id="nothing"),
    ],
)
async def test_a_request_whose_headers_never_end_is_closed(
    start_server: ServerFactory, bounded: Settings, sent: bytes
) -> None:
    server = await start_server(bounded)
    sock = raw(server.settings.port)
    started = time.monotonic()
    sock.sendall(sent)
    answer = await asyncio.to_thread(read_until_closed, sock)
    assert time.monotonic() - started < 5.0  # closed, rather than held for minutes
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert await refusals(server, "header_timeout") == 1
    # requests that finish their headers in time are served, on kept-alive connections too
    sock = raw(server.settings.port)
    for _ in range(2):
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await asyncio.to_thread(one_answer, sock)).startswith(b"HTTP/1.1 200 ")
        await asyncio.sleep(0.6)  # two requests span more than the header deadline
    sock.close()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_connections_past_the_process_cap_get_503(
    start_server: ServerFactory, bounded: Settings
) -> None:
    server = await start_server(dataclasses.replace(bounded, max_connections=3))
    await server.platform.http.aclose()  # only our own connections from here
    held = [raw(server.settings.port) for _ in range(5)]
    await asyncio.sleep(0.2)
    answers = []
    for sock in held[3:]:
        answers.append(await asyncio.to_thread(read_until_closed, sock))
    assert all(a.startswith(b"HTTP/1.1 503 ") for a in answers), answers
    for sock in held:
        sock.close()
    await asyncio.sleep(0.2)
    assert await refusals(server, "max_connections") == 2


async def test_sockets_past_the_address_cap_are_refused_with_503(
    start_server: ServerFactory, bounded: Settings
) -> None:
    server = await start_server(dataclasses.replace(bounded, max_connections_per_ip=3))
    held = [await Peer.connect(server.ws_url) for _ in range(3)]
    with pytest.raises(InvalidStatus) as refused:
        await Peer.connect(server.ws_url)
    assert refused.value.response.status_code == 503
    await held.pop().close()
    await asyncio.sleep(0.2)
    held.append(await Peer.connect(server.ws_url))  # a place came free
    assert await refusals(server, "per_ip") == 1
    for peer in held:  # open sockets would hold the server's shutdown for 5 s
        await peer.close()


async def test_a_person_holds_at_most_the_cap_of_sockets_in_a_room(
    start_server: ServerFactory, bounded: Settings
) -> None:
    server = await start_server(dataclasses.replace(bounded, max_connections_per_person=3))
    room = await server.platform.open_room("T-1")
    token = await server.platform.token(room, "c-1", "client")
    held = []
    for _ in range(3):
        peer = await Peer.connect(server.ws_url)
        assert (await peer.hello(token))["type"] == "welcome"
        held.append(peer)
    extra = await Peer.connect(server.ws_url)
    reply = await extra.hello(token)
    assert (reply["type"], reply["code"]) == ("error", "too_many_connections")
    assert await extra.close_code_when_closed() == 1013
    # others are not affected, and a place that comes free can be taken
    await server.peer(room, "f-1", "freelancer")
    await held.pop().close()
    await asyncio.sleep(0.2)
    again = await Peer.connect(server.ws_url)
    assert (await again.hello(token))["type"] == "welcome"
    assert await refusals(server, "per_person") == 1


def raw_from(address: str, port: int) -> socket.socket:
    """A plain TCP connection from a loopback address of its own (127.0.0.0/8 is all ours)."""
    sock = socket.create_connection(("127.0.0.1", port), source_address=(address, 0))
    sock.settimeout(10)
    return sock


@pytest.mark.parametrize("backend", ["sqlite"])  # no database involved
async def test_a_throttled_address_is_refused_429_before_its_request_is_parsed(
    start_server: ServerFactory, bounded: Settings
) -> None:
    server = await start_server(
        dataclasses.replace(bounded, auth_failure_burst=3, auth_failure_per_second=0.01)
    )
    guesser = httpx.AsyncHTTPTransport(local_address="127.0.0.2")  # not a trusted proxy
    async with httpx.AsyncClient(base_url=server.base_url, transport=guesser) as http:
        for n in range(3):
            wrong = await http.get("/api/queue", headers={"authorization": f"Bearer bad-{n}"})
            assert wrong.status_code == 401
    sock = raw_from("127.0.0.2", server.settings.port)
    sock.sendall(b"GET /ws HTTP/1.1\r\n")  # a request line, never finished: nothing parsed
    answer = await asyncio.to_thread(read_until_closed, sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 429 Too Many Requests\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().lower().split("\r\n")[1:])
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert int(headers["retry-after"]) >= 1
    error = json.loads(body)["error"]
    assert (error["code"], error["retry_after_ms"] > 0) == ("rate_limited", True)
    assert await refusals(server, "throttled") == 1
    # another address is served, and so is the trusted proxy (127.0.0.1) that forwards
    # for the guesser: there the app refuses it, after the headers, with the same 429
    neighbour = raw_from("127.0.0.3", server.settings.port)
    neighbour.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await asyncio.to_thread(one_answer, neighbour)).startswith(b"HTTP/1.1 200 ")
    async with httpx.AsyncClient(base_url=server.base_url) as proxy:
        forwarded = {"x-forwarded-for": "127.0.0.2", **server.platform.auth}
        refused = await proxy.get("/api/queue", headers=forwarded)
        assert refused.status_code == 429
        assert (await proxy.get("/api/queue", headers=server.platform.auth)).status_code == 200
    assert await refusals(server, "throttled") == 1
