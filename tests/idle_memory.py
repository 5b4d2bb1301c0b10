"""Memory per idle socket: the RSS of a server process before and after N sockets
that connect and never say hello (not a test: figures for docs/operations.md).

    python -m tests.idle_memory 2000
"""

import asyncio
import sys
import tempfile
from pathlib import Path

import websockets
from websockets.typing import Subprotocol

from tests.conftest import free_port
from tests.server_process import ServerProcess


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def measure(count: int) -> None:
    server = ServerProcess(
        Path(tempfile.mkdtemp()),
        free_port(),
        MEDIATION_HELLO_TIMEOUT="600",
        MEDIATION_MAX_CONNECTIONS_PER_IP=str(count * 2),
        MEDIATION_MAX_CONNECTIONS=str(count * 2),
    )
    server.start()
    assert server.proc is not None
    try:
        protocols = [Subprotocol("mediation.v1")]
        warm = [await websockets.connect(server.ws_url, subprotocols=protocols) for _ in range(20)]
        for ws in warm:  # one-off allocations are not counted
            await ws.close()
        await asyncio.sleep(1)
        before = rss_kib(server.proc.pid)
        # a browser-like client: it offers permessage-deflate
        idle = [
            await websockets.connect(server.ws_url, subprotocols=protocols, ping_interval=None)
            for _ in range(count)
        ]
        await asyncio.sleep(2)
        after = rss_kib(server.proc.pid)
        print(
            f"{count} idle sockets: RSS {before / 1024:.1f} -> {after / 1024:.1f} MiB, "
            f"{(after - before) / count:.1f} KiB per socket"
        )
        for ws in idle:
            await ws.close()
    finally:
        server.close()


if __name__ == "__main__":
    asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
