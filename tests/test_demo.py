"""`mediation demo` as a newcomer runs it: a real process, its standard output, its page."""

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from mediation.config import Settings
from tests.conftest import free_port, serving
from tests.databases import sqlite_url
from tests.peers import Peer

REPO = Path(__file__).resolve().parent.parent
API_KEY = "demo-test-api-key"
ROLES = ["client", "freelancer", "moderator", "console", "auditor"]


@dataclass
class Demo:
    base: str
    output: str  # what it printed on standard output
    log: Path  # its standard error: the logs

    @property
    def api(self) -> dict[str, str]:
        return {"authorization": f"Bearer {API_KEY}"}


@asynccontextmanager
async def demo(data_dir: Path, *args: str) -> AsyncIterator[Demo]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")},
        "PYTHONPATH": str(REPO),
        "MEDIATION_DATA_DIR": str(data_dir),
        "MEDIATION_API_KEY": API_KEY,
        "MEDIATION_LOG_FORMAT": "json",
        "PORT": str(port),
    }
    log = data_dir.parent / f"{data_dir.name}-{port}.log"
    with log.open("wb") as errors:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mediation", "demo", *args,
            env=env, cwd=data_dir.parent, stdout=asyncio.subprocess.PIPE, stderr=errors,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            lines: list[str] = []
            while not lines or not lines[-1].startswith("Ctrl-C"):
                line = await asyncio.wait_for(proc.stdout.readline(), 30)
                assert line, "the demo exited: " + log.read_text()
                lines.append(line.decode().rstrip("\n"))
            yield Demo(f"http://127.0.0.1:{port}", "\n".join(lines), log)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
                await asyncio.wait_for(proc.wait(), 20)


class Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str]] = []
        self._open: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open = {name: value or "" for name, value in attrs} | {"text": ""}

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.found.append(self._open)
            self._open = None


async def page_links(http: httpx.AsyncClient, link: str) -> dict[str, str]:
    """The demo page's links by role; each must open in a tab of its own."""
    page = await http.get(link)
    assert page.status_code == 200
    parser = Anchors()
    parser.feed(page.text)
    for anchor in parser.found:
        assert anchor["target"] == "_blank", anchor
        assert "noopener" in anchor["rel"].split(), anchor
    return {anchor["text"]: anchor["href"] for anchor in parser.found}


def fragment(href: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(href).fragment).items()}


async def joins(ws_url: str, href: str) -> dict[str, object]:
    peer = await Peer.connect(ws_url)
    try:
        return await peer.hello(fragment(href)["token"])
    finally:
        await peer.close()


async def test_the_demo_prints_one_short_link_to_a_page_of_five_working_roles(
    tmp_path: Path,
) -> None:
    async with demo(tmp_path / "data") as running, httpx.AsyncClient() as http:
        urls = re.findall(r"https?://\S+", running.output)
        assert urls == [running.base + "/demo"], running.output
        assert max(len(line) for line in running.output.splitlines()) <= 100
        links = await page_links(http, urls[0])
        assert list(links) == ROLES
        room = fragment(links["client"])["room"]
        ws_url = running.base.replace("http", "ws", 1) + "/ws"
        for role, user in (("client", "alice"), ("freelancer", "bob"), ("moderator", "mod-1")):
            welcome = await joins(ws_url, links[role])
            assert welcome["type"] == "welcome", welcome
            assert welcome["you"] == {"user": user, "role": role}
            joined = welcome["room"]
            assert isinstance(joined, dict) and joined["id"] == room
        console = {"authorization": "Bearer " + fragment(links["console"])["token"]}
        queue = await http.get(running.base + "/api/queue", headers=console)
        assert room in [entry["id"] for entry in queue.json()["rooms"]]
        auditor = {"authorization": "Bearer " + fragment(links["auditor"])["token"]}
        assert (await http.get(running.base + "/api/queue", headers=auditor)).status_code == 403
        joined_as = await http.post(f"{running.base}/api/rooms/{room}/join", headers=auditor)
        reader = {"authorization": "Bearer " + joined_as.json()["token"]}  # as the audit page
        exported = await http.get(f"{running.base}/api/rooms/{room}/export", headers=reader)
        assert exported.status_code == 200
    assert "request_log" not in running.log.read_text()  # quiet by default


async def test_reset_starts_the_dispute_over_in_a_new_waiting_room(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with demo(data) as first, httpx.AsyncClient() as http:
        links = await page_links(http, first.base + "/demo")
        room = fragment(links["client"])["room"]
        console = {"authorization": "Bearer " + fragment(links["console"])["token"]}
        claimed = await http.post(f"{first.base}/api/rooms/{room}/claim", headers=console)
        assert claimed.json()["state"] == "mediating", claimed.text
    async with demo(data) as again, httpx.AsyncClient() as http:  # no reset: the same room
        assert f"room {room}, mediating." in again.output
        links = await page_links(http, again.base + "/demo")
        assert fragment(links["client"])["room"] == room
    async with demo(data, "--reset", "--verbose") as reset, httpx.AsyncClient() as http:
        links = await page_links(http, reset.base + "/demo")
        fresh = fragment(links["client"])["room"]
        assert fresh != room
        assert f"room {fresh}, waiting." in reset.output
        found = (await http.get(f"{reset.base}/api/rooms/{fresh}", headers=reset.api)).json()
        assert (found["state"], found["ticket"]["id"]) == ("waiting", "DEMO-2")
        old = (await http.get(f"{reset.base}/api/rooms/{room}", headers=reset.api)).json()
        assert old["state"] == "mediating"  # moved by its records only: left as it was
        welcome = await joins(reset.base.replace("http", "ws", 1) + "/ws", links["freelancer"])
        joined = welcome["room"]
        assert isinstance(joined, dict)
        assert (joined["id"], joined["state"]) == (fresh, "waiting")
    assert "GET /demo 200" in reset.log.read_text()  # --verbose: the request log is back


async def test_the_demo_page_is_no_route_of_the_server(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url(tmp_path), port=free_port())
    async with serving(settings) as server, httpx.AsyncClient() as http:
        assert (await http.get(server.base_url + "/demo")).status_code == 404
