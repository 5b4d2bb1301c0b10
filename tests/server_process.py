"""The server as a real OS process, so tests can SIGKILL and SIGTERM it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

API_KEY = "test-api-key"
MASTER_KEY = "k-test:" + "A" * 43  # 32 zero bytes, base64url: tests only
TOKEN_SECRET = "test-token-secret-of-sufficient-length"


class ServerProcess:
    def __init__(self, data_dir: Path, port: int, **env: str) -> None:
        self.data_dir = data_dir
        self.port = port
        self.env = {
            **os.environ,
            "MEDIATION_DATA_DIR": str(data_dir),
            "MEDIATION_API_KEY": API_KEY,
            "MEDIATION_MASTER_KEY": MASTER_KEY,  # shared by every node of a test cluster
            "MEDIATION_TOKEN_SECRET": TOKEN_SECRET,
            "MEDIATION_RATE_PER_SECOND": "100000",
            "MEDIATION_RATE_BURST": "100000",
            "MEDIATION_MAX_CONNECTIONS_PER_IP": "100000",  # every test client is 127.0.0.1
            "PORT": str(port),
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = (data_dir / "server.log").open("ab")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self, timeout: float = 20.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mediation", "serve"],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise TimeoutError("server did not become healthy")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 20.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
