"""HTTP hardening: credentials and names out of URLs (F1, F8), security headers (F9), the
Origin check on /ws (F10), throttled failed authentication and token minting (F4/F15)."""

import json
import logging
from dataclasses import replace

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from mediation.config import Settings
from tests.conftest import RunningServer, ServerFactory
from tests.files import bearer, pdf, upload
from tests.log_capture import all_logs, server_side
from tests.peers import Peer

HOST = "https://market.example"


def forwarded(address: str, **headers: str) -> dict[str, str]:
    """A request as a trusted proxy (127.0.0.1, uvicorn's default) forwards it for `address`."""
    return {"x-forwarded-for": address, **headers}


async def staff(server: RunningServer, user: str, role: str = "moderator") -> str:
    minted = await server.platform.http.post(
        "/api/staff/tokens", json={"user": user, "role": role}, headers=server.platform.auth
    )
    assert minted.status_code == 201, minted.text
    token: str = minted.json()["token"]
    return token


# F1 ---------------------------------------------------------------------------------------


async def test_the_queue_stream_takes_its_token_in_a_header_and_never_from_the_url(
    server: RunningServer,
) -> None:
    token = await staff(server, "m-1")
    http = server.platform.http
    for path in ("/api/queue/events", "/api/queue"):
        refused = await http.get(path, params={"token": token})
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, "unauthorized")
    async with http.stream("GET", "/api/queue/events", headers=bearer(token)) as stream:
        assert stream.status_code == 200
        assert stream.headers["cache-control"] == "no-store"


# F8 ---------------------------------------------------------------------------------------


async def test_a_file_is_named_by_content_disposition_and_a_reason_comes_in_the_body(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-names")
    token = await server.platform.token(room, "c-1", "client")
    http = server.platform.http
    by_query = await http.post(
        f"/api/rooms/{room}/files",
        params={"channel": "joint", "name": "contract.pdf"},
        content=pdf(1000),
        headers=bearer(token),
    )
    assert (by_query.status_code, by_query.json()["error"]["code"]) == (400, "invalid")
    assert "Content-Disposition" in by_query.json()["error"]["message"]
    name = "€ résumé (final).pdf"
    made = await upload(server, room, token, pdf(1000), name)
    assert (made.status_code, made.json()["name"]) == (201, name)
    plain = await http.post(
        f"/api/rooms/{room}/files",
        content=pdf(1000),
        headers={
            **bearer(token),
            "content-disposition": 'attachment; filename="plain \\"q\\".pdf"',
        },
    )
    assert (plain.status_code, plain.json()["name"]) == (201, 'plain "q".pdf')
    bad = await http.post(
        f"/api/rooms/{room}/files",
        content=pdf(1000),
        headers={**bearer(token), "content-disposition": "attachment; filename*=UTF-8''%FF.pdf"},
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid")
    url = f"/api/rooms/{room}/files/{made.json()['file']}"
    deleted = await http.request(
        "DELETE", url + "?reason=ignored", json={"reason": "wrong version"}, headers=bearer(token)
    )
    assert deleted.status_code == 200, deleted.text
    export = await http.get(f"/api/rooms/{room}/export", headers=server.platform.auth)
    [record] = [
        line
        for line in map(json.loads, export.content.splitlines())
        if line.get("kind") == "file_deleted"
    ]
    assert json.loads(record["body"])["reason"] == "wrong version"
    unknown = await http.request(
        "DELETE",
        f"/api/rooms/{room}/files/{plain.json()['file']}",
        json={"why": "x"},
        headers=bearer(token),
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "invalid")
    bare = await http.delete(
        f"/api/rooms/{room}/files/{plain.json()['file']}", headers=bearer(token)
    )
    assert bare.status_code == 200  # no body: no reason


# F9 ---------------------------------------------------------------------------------------


def assert_common(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in response.headers  # plain HTTP


def policy(response: httpx.Response) -> dict[str, str]:
    directives = (
        d.strip().partition(" ") for d in response.headers["content-security-policy"].split(";")
    )
    return {name: value for name, _, value in directives}


@pytest.fixture
async def framed(start_server: ServerFactory, settings: Settings) -> RunningServer:
    return await start_server(replace(settings, frame_ancestors=(HOST, "https://b.example")))


@pytest.mark.parametrize("path", ["/", "/index.html", "/embed.js"])
async def test_the_party_view_may_be_framed_by_the_configured_hosts_only(
    framed: RunningServer, path: str
) -> None:
    response = await framed.platform.http.get(path)
    assert response.status_code == 200
    assert_common(response)
    csp = policy(response)
    assert csp["frame-ancestors"] == f"'self' {HOST} https://b.example"
    assert (csp["script-src"], csp["style-src"], csp["object-src"]) == (
        "'self'",
        "'self'",
        "'none'",
    )
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert "x-frame-options" not in response.headers  # it cannot name several origins


@pytest.mark.parametrize(
    "path", ["/console.html", "/audit.html", "/embed-example.html", "/console/app.js", "/style.css"]
)
async def test_staff_pages_and_the_rest_are_never_framed(framed: RunningServer, path: str) -> None:
    response = await framed.platform.http.get(path)
    assert response.status_code == 200
    assert_common(response)
    assert policy(response)["frame-ancestors"] == "'none'"
    assert policy(response)["script-src"] == "'self'"
    assert response.headers["x-frame-options"] == "DENY"


async def test_no_page_has_inline_script_or_style() -> None:
    """What the policy forbids is not there to forbid: scripts and styles are files."""
    from mediation.app import FRONTEND

    for page in FRONTEND.rglob("*.html"):
        text = page.read_text()
        assert "<style" not in text and " style=" not in text, page
        assert all("src=" in tag.split(">")[0] for tag in text.split("<script")[1:]), page


async def test_every_api_answer_is_no_store_and_allows_nothing(server: RunningServer) -> None:
    http = server.platform.http
    room = await server.platform.open_room("T-headers")
    token = await server.platform.token(room, "c-1", "client")
    made = await upload(server, room, token, pdf(1000))
    answers = [
        await http.get(f"/api/rooms/{room}", headers=server.platform.auth),
        await http.get(f"/api/rooms/{room}/export", headers=server.platform.auth),
        await http.get(f"/api/rooms/{room}/export?format=html", headers=server.platform.auth),
        await http.get(f"/api/rooms/{room}/files/{made.json()['file']}", headers=bearer(token)),
        await http.get("/api/reports/rooms?format=csv", headers=server.platform.auth),
        await http.get("/api/queue"),  # refused: errors too
        await http.get("/api/nothing-here"),
    ]
    for response in answers:
        assert_common(response)
        assert response.headers["cache-control"] == "no-store", response.url
        assert response.headers["x-frame-options"] == "DENY"
        assert policy(response)["default-src"] == "'none'"
    html = policy(answers[2])  # its own style, by hash; nothing else
    assert html["style-src"].startswith("'sha256-") and "script-src" not in html
    assert "sandbox" in policy(answers[3])  # a download keeps its own policy


async def test_hsts_only_over_tls_as_a_trusted_proxy_says(
    start_server: ServerFactory, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await start_server(settings)
    http = server.platform.http
    assert "strict-transport-security" not in (await http.get("/")).headers
    over_tls = await http.get("/", headers={"x-forwarded-proto": "https"})  # from 127.0.0.1
    assert over_tls.headers["strict-transport-security"].startswith("max-age=")
    api = await http.get("/api/queue", headers={"x-forwarded-proto": "https"})
    assert "strict-transport-security" in api.headers
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "192.0.2.1")  # a proxy that is not us
    other = await start_server(replace(settings, port=settings.port + 1))
    claimed = await other.platform.http.get("/", headers={"x-forwarded-proto": "https"})
    assert "strict-transport-security" not in claimed.headers


# F10 --------------------------------------------------------------------------------------


async def test_a_socket_from_a_foreign_origin_is_refused_before_the_handshake(
    start_server: ServerFactory, settings: Settings
) -> None:
    server = await start_server(
        replace(settings, allowed_origins=(HOST,), public_url="https://mediation.example")
    )
    room = await server.platform.open_room("T-origin")
    with pytest.raises(InvalidStatus) as refused:
        await Peer.connect(server.ws_url, origin="https://evil.example")
    assert refused.value.response.status_code == 403
    assert json.loads(refused.value.response.body or b"{}")["error"]["code"] == "forbidden"
    with pytest.raises(InvalidStatus):
        await Peer.connect(server.ws_url, origin="https://market.example.evil.example")
    ours = f"http://127.0.0.1:{settings.port}"
    for origin in (None, ours, HOST, "https://mediation.example"):  # no wildcard, exact
        peer = await Peer.connect(server.ws_url, origin=origin)
        welcome = await peer.hello(await server.platform.token(room, "c-1", "client"))
        assert welcome["type"] == "welcome", origin
        await peer.close()


# F4/F15 -----------------------------------------------------------------------------------


@pytest.fixture
async def strict(start_server: ServerFactory, settings: Settings) -> RunningServer:
    return await start_server(
        replace(
            settings,
            auth_failure_burst=5,
            auth_failure_per_second=0.01,
            mint_burst=4,
            mint_per_second=0.01,
            join_burst=2,
            join_per_second=0.01,
        )
    )


async def test_failed_authentication_throttles_the_address_even_for_the_right_key(
    strict: RunningServer,
) -> None:
    http, key = strict.platform.http, strict.platform.auth
    attacker, neighbour = forwarded("198.51.100.7"), forwarded("198.51.100.8")
    nothing = await http.get("/api/rooms/r_none", headers=attacker)  # no credential: no count
    assert nothing.status_code == 401
    for n in range(5):
        wrong = await http.get(
            "/api/rooms/r_none", headers={**attacker, **bearer(f"wrong-key-{n}")}
        )
        assert wrong.status_code == 401
    for headers in (bearer("wrong-again"), key):
        refused = await http.get("/api/queue", headers={**attacker, **headers})
        assert (refused.status_code, refused.json()["error"]["code"]) == (429, "rate_limited")
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"]["retry_after_ms"] > 0
    fine = await http.get("/api/queue", headers={**neighbour, **key})
    assert fine.status_code == 200  # another address is not held back


async def test_bad_room_and_staff_tokens_and_bad_hellos_count_too(strict: RunningServer) -> None:
    http = strict.platform.http
    room = await strict.platform.open_room("T-guess")
    address = forwarded("203.0.113.9")
    await http.get(f"/api/rooms/{room}/files/f_x", headers={**address, **bearer("bad-room")})
    await http.get("/api/queue", headers={**address, **bearer("bad-staff")})
    for n in range(3):
        peer = await Peer.connect(strict.ws_url, additional_headers=address)
        assert (await peer.hello(f"bad-{n}"))["code"] == "unauthorized"
        await peer.close()
    with pytest.raises(InvalidStatus) as refused:  # the socket refuses the address too
        await Peer.connect(strict.ws_url, additional_headers=address)
    assert refused.value.response.status_code == 429
    token = await strict.platform.token(room, "c-1", "client")
    made = await http.get(f"/api/rooms/{room}/export", headers={**address, **bearer(token)})
    assert made.status_code == 429


async def test_a_refused_handshake_is_logged_as_refused_not_as_an_error(
    strict: RunningServer,
) -> None:
    address = forwarded("203.0.113.10")
    with all_logs() as capture:
        capture.loudest()  # uvicorn set its own loggers as the server started
        for n in range(5):
            peer = await Peer.connect(strict.ws_url, additional_headers=address)
            assert (await peer.hello(f"bad-{n}"))["code"] == "unauthorized"
            await peer.close()
        for _ in range(3):
            with pytest.raises(InvalidStatus) as refused:
                await Peer.connect(strict.ws_url, additional_headers=address)
            assert refused.value.response.status_code == 429
        with pytest.raises(InvalidStatus) as foreign:
            await Peer.connect(strict.ws_url, origin="https://elsewhere.example")
        assert foreign.value.response.status_code == 403
    errors = [r.getMessage() for r in server_side(capture.records) if r.levelno >= logging.ERROR]
    assert errors == []


async def test_minting_and_joining_are_limited_per_caller(strict: RunningServer) -> None:
    http, key = strict.platform.http, strict.platform.auth
    room = await strict.platform.open_room("T-mint")
    minted = [
        await http.post(
            "/api/staff/tokens", json={"user": f"m-{n}", "role": "moderator"}, headers=key
        )
        for n in range(3)
    ]
    assert [r.status_code for r in minted] == [201, 201, 201]
    last = await http.post(
        f"/api/rooms/{room}/tokens", json={"user": "c-1", "role": "client"}, headers=key
    )
    assert last.status_code == 201
    over = await http.post(
        f"/api/rooms/{room}/tokens", json={"user": "c-1", "role": "client"}, headers=key
    )
    assert (over.status_code, over.json()["error"]["code"]) == (429, "rate_limited")
    assert "retry-after" in over.headers
    maya, max_ = (bearer(r.json()["token"]) for r in minted[:2])
    joins = [
        (await http.post(f"/api/rooms/{room}/join", headers=maya)).status_code for _ in range(3)
    ]
    assert joins == [201, 201, 429]
    assert (await http.post(f"/api/rooms/{room}/join", headers=max_)).status_code == 201


def test_the_throttles_hold_bounded_memory_and_refill() -> None:
    from mediation.abuse import Buckets  # here: the other tests also run against older code

    now = [0.0]
    buckets = Buckets(rate=1.0, burst=2, max_keys=100, clock=lambda: now[0])
    for n in range(10_000):
        buckets.take(f"198.51.{n // 256}.{n % 256}")
    assert len(buckets) == 100  # the least recently seen went first
    assert buckets.take("a") == buckets.take("a") == 0.0
    assert buckets.take("a") == pytest.approx(1.0)  # empty: wait a second, nothing spent
    now[0] += 0.5
    assert buckets.wait("a") == pytest.approx(0.5)
    now[0] += 0.5
    assert buckets.take("a") == 0.0
    now[0] += 10
    buckets.wait("a")
    assert "a" not in buckets._buckets  # full again: forgotten, as if never seen


def test_an_ipv6_host_is_counted_by_its_64() -> None:
    from mediation.abuse import AuthFailures, Buckets, Throttled

    failures = AuthFailures(Buckets(rate=0.001, burst=2))
    failures.failed("2001:db8:1:2::1")
    failures.failed("2001:db8:1:2:ffff::9")
    with pytest.raises(Throttled):
        failures.check("2001:db8:1:2::abcd")
    failures.check("2001:db8:1:3::1")  # the next /64 is someone else
    failures.check("192.0.2.1")
    failures.failed("::ffff:192.0.2.1")
    failures.failed("192.0.2.1")
    with pytest.raises(Throttled):
        failures.check("192.0.2.1")  # an IPv4-mapped address is that IPv4 address
