"""Every log record the server writes, at every level, for tests that check what logs hold."""

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

TRACE = 5  # uvicorn's level below DEBUG
# The test's own clients log their requests (URLs included): they are not the server.
CLIENT_SIDE = ("httpx", "httpcore", "websockets.client")
# uvicorn's loggers: their levels are set by uvicorn, and its access log does not propagate.
UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


class Capture(logging.Handler):
    """The root logger at DEBUG and uvicorn's at TRACE, with this handler on each, keeping
    every record. On uvicorn's access logger too: a handler there switches it on (uvicorn
    checks for one), so its lines are also proven clean."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def loudest(self) -> None:
        """(Again, after a server started: uvicorn.Config sets uvicorn's loggers itself.)"""
        logging.getLogger().setLevel(logging.DEBUG)
        logging.getLogger().addHandler(self)
        for name in UVICORN:
            logging.getLogger(name).setLevel(TRACE)
            logging.getLogger(name).addHandler(self)


@contextmanager
def all_logs() -> Iterator[Capture]:
    """Capture everything while inside; levels and handlers are put back after."""
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in UVICORN)]
    saved = [(logger, logger.level) for logger in loggers]
    capture = Capture()
    capture.loudest()
    try:
        yield capture
    finally:
        for logger, level in saved:
            logger.removeHandler(capture)
            logger.setLevel(level)


def server_side(records: Iterable[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in records if not r.name.startswith(CLIENT_SIDE)]


def everything_in(record: logging.LogRecord) -> str:
    """All a record holds: its message, its args, its extra fields, its exception."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        message = ""
    exception = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
    return "\n".join((message, repr(record.__dict__), exception))


def leaks(records: Iterable[logging.LogRecord], secrets: Iterable[str]) -> list[str]:
    """Each (logger, secret) where a server-side record holds one of `secrets`."""
    wanted = [s for s in secrets if s]
    found = []
    for record in server_side(records):
        text = everything_in(record)
        found += [f"{record.name}: {secret!r}" for secret in wanted if secret in text]
    return found
