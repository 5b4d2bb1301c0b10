"""docs/operations.md's nginx site, run in front of a server: TLS, HTTP, an upload, and a
socket's hello, welcome and message round trip over wss; the client's address and scheme
believed from nginx only when FORWARDED_ALLOW_IPS names it.

The client talks to nginx from 127.0.0.3 and nginx to the server from 127.0.0.1, so the
address the server logs tells which one it believed.
"""

import asyncio
import datetime
import ipaddress
import os
import re
import shutil
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mediation.config import Settings
from tests.conftest import RunningServer, free_port, serving
from tests.files import pdf, upload
from tests.log_capture import all_logs
from tests.peers import Peer, Platform

OPERATIONS = Path(__file__).resolve().parent.parent / "docs" / "operations.md"
CLIENT_ADDRESS = "127.0.0.3"  # the browser, as nginx sees it
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # the proxy is the subject


def nginx_or_skip() -> str:
    """nginx, or a skip (a failure under CI=true, where .ci/run installs it)."""
    if Path(NGINX).exists():
        return NGINX
    message = "nginx is missing: apt-get install -y nginx-light"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def self_signed(into: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = into / "cert.pem", into / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def documented_site() -> str:
    """The nginx site of docs/operations.md, as written there."""
    found = re.search(r"```nginx\n(.*?)```", OPERATIONS.read_text(), re.DOTALL)
    assert found, "docs/operations.md has no nginx block"
    return found.group(1)


def substitute(site: str, old: str, new: str) -> str:
    """`site` with `old` replaced once: the recipe must still hold what the test replaces."""
    assert site.count(old) == 1, f"the recipe no longer has {old!r} exactly once"
    return site.replace(old, new)


@dataclass
class Proxy:
    https: str
    http: str
    tls: ssl.SSLContext


@asynccontextmanager
async def nginx(tmp: Path, upstream: int) -> AsyncIterator[Proxy]:
    """The documented site on free local ports, in front of `upstream`."""
    executable = nginx_or_skip()
    tmp.mkdir()
    cert, key = self_signed(tmp)
    tls_port, plain_port = free_port(), free_port()
    site = documented_site()
    site = substitute(site, "server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream};")
    site = substitute(site, "listen 80;", f"listen 127.0.0.1:{plain_port};")
    site = substitute(site, "listen 443 ssl http2;", f"listen 127.0.0.1:{tls_port} ssl http2;")
    site = re.sub(r"\n *listen \[::\]:\d+[^;]*;", "", site)  # IPv6 may be off here
    live = "/etc/letsencrypt/live/mediation.example.com"
    site = substitute(site, f"{live}/fullchain.pem;", f"{cert};")
    site = substitute(site, f"{live}/privkey.pem;", f"{key};")
    site = substitute(site, "/var/log/nginx/mediation.log", str(tmp / "access.log"))
    temp_paths = "".join(
        f"    {kind}_temp_path {tmp / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = tmp / "nginx.conf"
    conf.write_text(
        "daemon off;\nworker_processes 1;\n"
        f"pid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'} info;\n"
        + ("user root;\n" if os.geteuid() == 0 else "")  # the files are in a 0700 directory
        + "events { worker_connections 256; }\n"
        + f"http {{\n{temp_paths}    access_log off;\n{site}}}\n"
    )
    process = await asyncio.create_subprocess_exec(
        executable, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)
    )
    try:
        await listening(tls_port, process)
        context = ssl.create_default_context(cafile=str(cert))
        yield Proxy(f"https://127.0.0.1:{tls_port}", f"http://127.0.0.1:{plain_port}", context)
    finally:
        process.terminate()
        await process.wait()


async def listening(port: int, process: asyncio.subprocess.Process) -> None:
    for _ in range(200):
        if process.returncode is not None:
            raise AssertionError(f"nginx exited with {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.025)
        else:
            writer.close()
            return
    raise AssertionError("nginx did not listen")


def through(proxy: Proxy, server: RunningServer) -> RunningServer:
    """`server` as seen through the proxy, from CLIENT_ADDRESS."""
    transport = httpx.AsyncHTTPTransport(verify=proxy.tls, local_address=CLIENT_ADDRESS)
    http = httpx.AsyncClient(base_url=proxy.https, transport=transport)
    return RunningServer(
        server.settings, server.services, proxy.https, Platform(http, server.platform.api_key)
    )


async def joined(proxy: Proxy, outside: RunningServer, room: str, user: str, role: str) -> Peer:
    token = await outside.platform.token(room, user, role)
    peer = await Peer.connect(
        outside.ws_url, ssl=proxy.tls, local_addr=(CLIENT_ADDRESS, 0), open_timeout=5
    )
    welcome = await peer.hello(token)
    assert welcome["type"] == "welcome", welcome
    return peer


async def test_the_documented_nginx_site_serves_http_uploads_and_sockets_over_tls(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "127.0.0.1")  # nginx, as the server sees it
    with all_logs() as logs:
        async with serving(settings) as server, nginx(tmp_path / "nginx", settings.port) as proxy:
            outside = through(proxy, server)
            http = outside.platform.http
            try:
                page = await http.get("/", headers={"x-forwarded-for": "203.0.113.66"})
                assert page.status_code == 200
                assert "text/html" in page.headers["content-type"]
                # X-Forwarded-Proto: https came from a trusted proxy
                assert page.headers["strict-transport-security"].startswith("max-age=")
                async with httpx.AsyncClient() as plain:
                    moved = await plain.get(f"{proxy.http}/console.html")
                assert moved.status_code == 301
                assert moved.headers["location"].startswith("https://")

                room = await outside.platform.open_room("PROXY-1")
                client = await joined(proxy, outside, room, "c-1", "client")
                freelancer = await joined(proxy, outside, room, "f-1", "freelancer")
                await client.acked(
                    {"type": "send", "id": "m1", "channel": "joint", "body": "through nginx"}
                )
                heard = await freelancer.next("message")
                assert (heard["body"], heard["sender"]["user"]) == ("through nginx", "c-1")

                token = await outside.platform.token(room, "c-1", "client")
                evidence = pdf(3 * 1024 * 1024)  # past nginx's default 1 MiB body limit
                stored = await upload(outside, room, token, evidence)
                assert stored.status_code == 201, stored.text
                await client.close()
                await freelancer.close()
            finally:
                await http.aclose()
            await asyncio.sleep(0.2)  # the sockets' access lines are written as they end
    lines = [r for r in logs.records if r.name == "mediation.http.request_log"]
    seen = {(getattr(r, "method", ""), getattr(r, "path", "")): r for r in lines}
    assert {getattr(r, "client", "") for r in lines} == {CLIENT_ADDRESS}  # not the forged one
    assert getattr(seen["WEBSOCKET", "/ws"], "status", 0) == 101
    assert getattr(seen["POST", f"/api/rooms/{room}/files"], "status", 0) == 201


async def test_an_untrusted_proxy_is_not_believed(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "192.0.2.1")  # some other proxy
    with all_logs() as logs:
        async with serving(settings) as server, nginx(tmp_path / "nginx", settings.port) as proxy:
            outside = through(proxy, server)
            try:
                page = await outside.platform.http.get("/")
            finally:
                await outside.platform.http.aclose()
    assert page.status_code == 200
    assert "strict-transport-security" not in page.headers
    lines = [r for r in logs.records if r.name == "mediation.http.request_log"]
    assert {getattr(r, "client", "") for r in lines} == {"127.0.0.1"}  # nginx itself
