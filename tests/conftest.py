"""Fixtures: a real server on a real socket, and the peers that talk to it."""

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mediation.app import create_app
from mediation.config import Settings
from mediation.server import DrainingServer
from mediation.services import Services
from tests.databases import PostgresDatabases, fresh_database
from tests.peers import Peer, Platform


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class RunningServer:
    settings: Settings
    services: Services
    base_url: str
    platform: Platform

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1) + "/ws"

    async def peer(self, room: str, user: str, role: str) -> tuple[Peer, dict[str, Any]]:
        """A peer that has joined `room`, and its welcome."""
        token = await self.platform.token(room, user, role)  # first: hello deadlines are short
        peer = await Peer.connect(self.ws_url)
        welcome = await peer.hello(token)
        assert welcome["type"] == "welcome", welcome
        return peer, welcome


@pytest.fixture(scope="session")
async def postgres() -> AsyncIterator[PostgresDatabases]:
    databases = PostgresDatabases()
    yield databases
    if databases.ready:
        await databases.drop_all()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Every test that runs a server runs on both databases (parametrize to narrow)."""
    name: str = request.param
    return name


@pytest.fixture
async def database_url(
    backend: str, tmp_path: Path, postgres: PostgresDatabases
) -> AsyncIterator[str]:
    url = await fresh_database(backend, tmp_path, postgres)
    yield url
    if backend == "postgresql":
        await postgres.drop(url)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        port=free_port(),
        rate_burst=10_000,
        rate_per_second=10_000.0,
        gc_tuning=False,  # in-process servers: a freeze would pin earlier tests' garbage
    )


ServerFactory = Callable[[Settings], Awaitable[RunningServer]]


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[RunningServer]:
    """A server on a real socket for the length of the block (any fixture scope)."""
    app = create_app(settings)
    server = DrainingServer(app, settings)
    server.config.log_level = "warning"
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
            raise RuntimeError("server did not start")
        await asyncio.sleep(0.01)
    base_url = f"http://127.0.0.1:{settings.port}"
    http = httpx.AsyncClient(base_url=base_url)
    services: Services = app.state.services
    try:
        yield RunningServer(settings, services, base_url, Platform(http, services.secrets.api_key))
    finally:
        await http.aclose()
        server.should_exit = True
        await task


@pytest.fixture
async def start_server() -> AsyncIterator[ServerFactory]:
    """Start servers with given settings; all are stopped after the test."""
    async with AsyncExitStack() as running:

        async def start(settings: Settings) -> RunningServer:
            return await running.enter_async_context(serving(settings))

        yield start


@pytest.fixture
async def server(start_server: ServerFactory, settings: Settings) -> RunningServer:
    return await start_server(settings)
