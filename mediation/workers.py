"""`mediation serve --workers N`: N draining servers sharing one listening socket.

uvicorn's own `--workers` runs plain uvicorn servers, which would drop acks
at shutdown; here the parent binds the socket once and forks workers that
each run `DrainingServer` on it, forwards SIGTERM/SIGINT to them, and
replaces a worker that dies while the service is up. Workers share nothing
in memory, so fan-out between them needs Redis.
"""

import logging
import multiprocessing
import os
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from types import FrameType

from mediation.app import create_app
from mediation.config import Settings
from mediation.server import DrainingServer

log = logging.getLogger(__name__)
_fork = multiprocessing.get_context("fork")


def _listen(settings: Settings) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(settings: Settings, sock: socket.socket) -> None:
    DrainingServer(create_app(settings), settings).run(sockets=[sock])


def run_workers(settings: Settings, count: int) -> None:
    if not settings.redis_url:
        raise SystemExit("--workers > 1 needs MEDIATION_REDIS_URL: workers share rooms via Redis")
    sock = _listen(settings)
    log.info("serving on %s:%s with %d workers", settings.host, settings.port, count)
    workers: list[BaseProcess] = []
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers:
            if worker.pid is not None and worker.is_alive():
                os.kill(worker.pid, signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(count):
        workers.append(_spawn(settings, sock))
    while not stopping:
        for i, worker in enumerate(workers):
            if not worker.is_alive() and not stopping:
                log.warning("worker %s exited with %s: replacing it", worker.pid, worker.exitcode)
                workers[i] = _spawn(settings, sock)
        time.sleep(0.5)
    for worker in workers:
        worker.join()


def _spawn(settings: Settings, sock: socket.socket) -> BaseProcess:
    worker = _fork.Process(target=_worker, args=(settings, sock), daemon=False)
    worker.start()
    return worker
