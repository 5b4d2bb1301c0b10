"""Logging: one JSON object per line in production, plain text on a terminal.

Log calls pass room and ticket ids as `extra` fields. Message bodies, file
names, deletion reasons, tokens and keys are never logged: they do not reach
any log call, and no URL carries them. The access log is ours
(mediation.http.request_log: the path, never the query string); uvicorn's is
off, and its own lines lose any query string (`without_query_strings`).
"""

import logging.config
import os
import sys
from typing import Any


class WithoutQueryStrings(logging.Filter):
    """uvicorn's lines name a socket's URL in full ('"WebSocket /ws?x=y" [accepted]'):
    those duplicate our access log and are dropped; any other path argument loses its
    query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and '"WebSocket %s"' in record.msg:
            return False
        if isinstance(record.args, tuple):
            record.args = tuple(_path_only(arg) for arg in record.args)
        return True


def _path_only(arg: object) -> object:
    return arg.partition("?")[0] if isinstance(arg, str) and arg.startswith("/") else arg


def without_query_strings() -> None:
    """Filter uvicorn's own lines (idempotent: uvicorn is configured once per server)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, WithoutQueryStrings) for f in logger.filters):
        logger.addFilter(WithoutQueryStrings())


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
