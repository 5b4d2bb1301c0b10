"""Logging: one JSON object per line in production, plain text on a terminal.

Log calls pass room and ticket ids as `extra` fields. Message bodies, file
names, deletion reasons, tokens and keys are never logged: they do not reach
any log call, and no URL carries them. The access log is ours
(mediation.http.request_log: the path, never the query string); uvicorn's is
off, and its own lines are cleaned (`UvicornHygiene`).
"""

import logging.config
import os
import sys
from typing import Any

from websockets.frames import Frame


class UvicornHygiene(logging.Filter):
    """uvicorn's own lines, cleaned of what must never be logged:

    - a socket's handshake line names its URL in full ('"WebSocket /ws?x=y" [accepted]'):
      dropped, our access log has the socket;
    - at DEBUG, the websockets protocol under uvicorn logs every frame ("< TEXT '{...}'"),
      a hello's token and a message's body: dropped;
    - any other path argument (uvicorn's own access line, were it on) loses its query string.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and '"WebSocket %s"' in record.msg:
            return False
        if isinstance(record.args, tuple):
            if any(isinstance(arg, Frame) for arg in record.args):
                return False
            record.args = tuple(_path_only(arg) for arg in record.args)
        return True


def _path_only(arg: object) -> object:
    return arg.partition("?")[0] if isinstance(arg, str) and arg.startswith("/") else arg


UVICORN_LOGGERS = ("uvicorn.error", "uvicorn.access")


def uvicorn_hygiene() -> None:
    """Filter uvicorn's own lines (idempotent: uvicorn is configured once per server)."""
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, UvicornHygiene) for f in logger.filters):
            logger.addFilter(UvicornHygiene())


def configure(level: str = "INFO") -> None:
    fmt = os.environ.get("MEDIATION_LOG_FORMAT") or ("text" if sys.stderr.isatty() else "json")
    formatters: dict[str, dict[str, Any]] = {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "{asctime}{levelname}{name}{message}",
            "style": "{",
            "rename_fields": {"asctime": "ts", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    }
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {fmt: formatters[fmt]},
            "handlers": {"out": {"class": "logging.StreamHandler", "formatter": fmt}},
            "root": {"level": level, "handlers": ["out"]},
            "loggers": {"uvicorn": {"handlers": [], "propagate": True}},
        }
    )
