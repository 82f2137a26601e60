"""Logging for `autoliq serve`: plain text, or one JSON object per line for log shippers.

`configure_logging(level, fmt)` configures the root logger and returns the `log_config` to pass to
`uvicorn.run` (None keeps uvicorn's own): with `json`, uvicorn's error and access loggers write the
same JSON lines, in every worker process (uvicorn applies the dict in each one).
"""

from __future__ import annotations

import copy
import json
import logging
import logging.config
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from autoliq.config import LOG_FORMATS

__all__ = ["LOG_FORMATS", "JsonFormatter", "configure_logging", "server_log_config", "uvicorn_log_config"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
TRACE = 5  # uvicorn's `trace` level

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys() | {"message", "asctime"}
)
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: `ts` (ISO-8601 UTC), `level`, `logger`, `message`, `pid`, the
    record's `extra` fields, and `exc` (the formatted traceback) when there is an exception.
    uvicorn's access lines also carry `client`, `method`, `path`, `http_version` and `status`."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        out: dict[str, Any] = {
            key: value for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            out.update(zip(_ACCESS_FIELDS, record.args, strict=True))
        # The standard fields win over an `extra` field of the same name.
        out.update(
            ts=datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            level=record.levelname,
            logger=record.name,
            message=record.getMessage(),
            pid=record.process,
        )
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def _level_number(level: str) -> int:
    name = level.strip().upper()
    if name == "TRACE":
        return TRACE
    number = logging.getLevelName(name)
    if not isinstance(number, int):
        raise ValueError(f"unknown log level {level!r}")
    return number


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: the root logger and uvicorn's loggers write JSON lines
    (access lines to stdout, the rest to stderr, as uvicorn does)."""
    number = _level_number(level)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
            "access": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": number, "propagate": False},
            "uvicorn.error": {"level": number},
            "uvicorn.access": {"handlers": ["access"], "level": logging.INFO, "propagate": False},
        },
        "root": {"handlers": ["default"], "level": number},
    }


def configure_logging(level: str, fmt: str) -> dict[str, Any] | None:
    """Configure the root logger for `fmt` (`text` or `json`) at `level` (a name: `info`, `warning`,
    ..., or uvicorn's `trace`); the `log_config` to pass to `uvicorn.run` (None for `text`)."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {fmt!r}")
    if fmt == "json":
        config = uvicorn_log_config(level)
        logging.config.dictConfig(config)
        return config
    logging.basicConfig(level=_level_number(level), format=TEXT_FORMAT, force=True)
    return None


def logging_restorer() -> Callable[[], None]:
    """A function that puts the root logger's handlers and level back as they are now: `serve` calls
    it when it stops before serving, so that a handler it set on a stream that is then closed (an
    in-process caller's, such as a test runner's) is not left behind for the next log line."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level

    def restore() -> None:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)

    return restore


def server_log_config(fmt: str, uvicorn_level: str) -> dict[str, Any]:
    """The `log_config` for `uvicorn.run` (with `log_level=None`, so that uvicorn keeps these levels):
    `fmt`'s formatters, uvicorn's error lines at `uvicorn_level`, and its access lines always at
    `info`, so that `--access-log` shows them whatever `--log-level` says."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {fmt!r}")
    if fmt == "json":
        config = uvicorn_log_config("info")
    else:
        from uvicorn.config import LOGGING_CONFIG

        config = copy.deepcopy(LOGGING_CONFIG)
    number = _level_number(uvicorn_level)
    loggers = config["loggers"]
    loggers["uvicorn"]["level"] = number
    loggers["uvicorn.error"]["level"] = number
    loggers["uvicorn.access"]["level"] = logging.INFO
    return dict(config)
