"""The servers under test: `mediation serve` subprocesses, each on a free port
with its own temporary data dir, spoken to over HTTP, or the bare relay
(`python -m bench.bare_relay`); all removed afterwards."""

import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediation.server_secrets import b64

SERVER_START_TIMEOUT = 30.0
SERVER_STOP_TIMEOUT = 20.0


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
    """The bench's environment minus any MEDIATION_ setting, send limits off, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")}
    env.update(
        MEDIATION_DATA_DIR=str(data_dir),
        MEDIATION_RATE_PER_SECOND="1000000",
        MEDIATION_RATE_BURST="1000000",
        MEDIATION_MINT_PER_SECOND="1000000",  # provisioning mints three tokens per room
        MEDIATION_MINT_BURST="1000000",
        MEDIATION_MAX_CONNECTIONS="1000000",  # every bot comes from this one address
        MEDIATION_MAX_CONNECTIONS_PER_IP="1000000",
        MEDIATION_MAX_CONNECTIONS_PER_PERSON="1000000",
    )
    env.update(settings)  # a scenario may set the limits back (abuse: the defaults)
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


def pinned_cpus() -> tuple[int | None, int | None]:
    """The CPU for the server and the one for the load, as ../shared/perf pins them;
    (None, None) with fewer than two CPUs, or without taskset."""
    mine = sorted(os.sched_getaffinity(0))
    if len(mine) < 2 or shutil.which("taskset") is None:
        return None, None
    return mine[0], mine[1]


@contextmanager
def running(
    module: list[str],
    env: Mapping[str, str],
    port: int,
    api_key: str,
    log_path: Path,
    cpu: int | None,
) -> Iterator[Server]:
    """`python -m <module...>` listening on `port`, its output in `log_path`, once healthy;
    stopped afterwards. With `cpu`, it and all its threads are pinned to that CPU (taskset,
    which execs it: the pid is the server's)."""
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our own modules, pinned by taskset)
            [*pin, sys.executable, "-m", *module],
            env=env,
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


@contextmanager
def running_server(settings: Mapping[str, str], cpu: int | None = None) -> Iterator[Server]:
    """A fresh `mediation serve` on a free port, with its own temp data dir; all removed
    after. Pinned to `cpu` if given."""
    with tempfile.TemporaryDirectory(prefix="mediation-bench-") as tmp:
        data_dir, port = Path(tmp), free_port()
        env = server_env(data_dir, {**settings, "PORT": str(port)})
        api_key = settings["MEDIATION_API_KEY"]
        with running(["mediation", "serve"], env, port, api_key, data_dir / "server.log", cpu) as s:
            yield s


@contextmanager
def running_relay(cpu: int | None = None) -> Iterator[Server]:
    """The bare relay (bench/bare_relay.py) on a free port, its log in a temp dir removed
    after; no API key (it has no HTTP API). Pinned to `cpu` if given."""
    with tempfile.TemporaryDirectory(prefix="mediation-bench-") as tmp:
        port = free_port()
        module = ["bench.bare_relay", "--port", str(port)]
        with running(module, os.environ, port, "", Path(tmp) / "relay.log", cpu) as relay:
            yield relay


@contextmanager
def running_servers(count: int, settings: Mapping[str, str]) -> Iterator[list[Server]]:
    with ExitStack() as stack:
        yield [stack.enter_context(running_server(settings)) for _ in range(count)]
