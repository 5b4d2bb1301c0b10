"""Logging: one JSON object per line in production, plain text on a terminal.

Log calls pass room and ticket ids as `extra` fields. Message bodies and
tokens are never logged: they do not reach any log call.
"""

import logging.config
import os
import sys
from typing import Any


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
