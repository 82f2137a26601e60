"""JSON log lines and the logging configuration handed to uvicorn."""

from __future__ import annotations

import json
import logging
import logging.config
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from autoliq.telemetry.logs import TEXT_FORMAT, JsonFormatter, configure_logging, uvicorn_log_config

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def _record(
    message: str = "locked %s",
    args: tuple[Any, ...] = (7,),
    *,
    name: str = "autoliq.test",
    level: int = logging.WARNING,
    exc_info: Any = None,
    **extra: Any,
) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, message, args, exc_info)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root and uvicorn loggers back as they were (configure_logging changes them)."""
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in UVICORN_LOGGERS)]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate, lg.disabled) for lg in loggers]
    yield
    for lg, handlers, level, propagate, disabled in saved:
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate
        lg.disabled = disabled


def test_json_formatter_when_record_has_extra_then_one_json_object_with_the_standard_fields() -> None:
    before = datetime.now(UTC)
    record = _record(account_id=7, when=datetime(2026, 11, 24, tzinfo=UTC), tags=["a"])

    line = JsonFormatter().format(record)

    assert "\n" not in line
    out = json.loads(line)
    ts = datetime.fromisoformat(out.pop("ts"))
    assert ts.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= ts <= datetime.now(UTC) + timedelta(seconds=1)
    assert out == {
        "level": "WARNING",
        "logger": "autoliq.test",
        "message": "locked 7",
        "pid": os.getpid(),
        "account_id": 7,
        "when": "2026-11-24 00:00:00+00:00",
        "tags": ["a"],
    }


def test_json_formatter_when_exception_then_exc_holds_the_traceback() -> None:
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        record = _record("write failed", (), level=logging.ERROR, exc_info=sys.exc_info())

    out = json.loads(JsonFormatter().format(record))

    assert out["message"] == "write failed" and out["level"] == "ERROR"
    assert out["exc"].startswith("Traceback (most recent call last):")
    assert out["exc"].rstrip().endswith("ZeroDivisionError: division by zero")


def test_json_formatter_when_extra_reuses_a_standard_name_then_the_standard_field_wins() -> None:
    out = json.loads(JsonFormatter().format(_record(level_hint="x", pid="fake", logger="fake")))

    assert out["pid"] == os.getpid() and out["logger"] == "autoliq.test" and out["level_hint"] == "x"


def test_json_formatter_when_uvicorn_access_line_then_request_fields_added() -> None:
    record = _record(
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/_autoliq/ready", "1.1", 503),
        name="uvicorn.access",
        level=logging.INFO,
    )

    out = json.loads(JsonFormatter().format(record))

    assert out["message"] == '127.0.0.1:5000 - "GET /_autoliq/ready HTTP/1.1" 503'
    assert (out["client"], out["method"], out["path"], out["http_version"], out["status"]) == (
        "127.0.0.1:5000",
        "GET",
        "/_autoliq/ready",
        "1.1",
        503,
    )


@pytest.mark.usefixtures("restore_logging")
def test_configure_logging_when_json_then_root_and_uvicorn_write_json_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = configure_logging("info", "json")

    assert config == uvicorn_log_config("info")
    logging.getLogger("autoliq.service").info("started", extra={"workers": 2})
    logging.getLogger("uvicorn.error").warning("shutting down")
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "10.0.0.1:1", "POST", "/v1/order/placeorder", "1.1", 200
    )
    logging.getLogger("autoliq.service").debug("below the level")

    captured = capsys.readouterr()
    errors = [json.loads(line) for line in captured.err.splitlines()]
    access = [json.loads(line) for line in captured.out.splitlines()]
    assert [(e["logger"], e["message"]) for e in errors] == [
        ("autoliq.service", "started"),
        ("uvicorn.error", "shutting down"),
    ]
    assert errors[0]["workers"] == 2 and errors[0]["pid"] == os.getpid()
    assert [(a["logger"], a["path"], a["status"]) for a in access] == [
        ("uvicorn.access", "/v1/order/placeorder", 200)
    ]


@pytest.mark.usefixtures("restore_logging")
def test_uvicorn_log_config_when_applied_again_by_uvicorn_then_existing_loggers_stay_enabled() -> None:
    ours = logging.getLogger("autoliq.adapters.sql.readiness")
    configure_logging("warning", "json")

    logging.config.dictConfig(uvicorn_log_config("warning"))  # as uvicorn.run does, in each worker

    assert not ours.disabled
    assert isinstance(logging.getLogger().handlers[0].formatter, JsonFormatter)
    assert logging.getLogger().level == logging.WARNING


@pytest.mark.usefixtures("restore_logging")
def test_configure_logging_when_text_then_plain_lines_and_uvicorn_keeps_its_own_config() -> None:
    assert configure_logging("warning", "text") is None

    root = logging.getLogger()
    assert root.level == logging.WARNING
    assert [h.formatter._fmt for h in root.handlers if h.formatter] == [TEXT_FORMAT]  # type: ignore[union-attr]


@pytest.mark.usefixtures("restore_logging")
def test_configure_logging_when_trace_level_then_below_debug() -> None:
    configure_logging("trace", "json")

    assert logging.getLogger().level == 5


@pytest.mark.parametrize(
    ("level", "fmt", "message"),
    [
        ("info", "xml", "log format must be"),
        ("loud", "json", "unknown log level"),
        ("loud", "text", "unknown log level"),
    ],
)
def test_configure_logging_when_unknown_format_or_level_then_refused(
    level: str, fmt: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        configure_logging(level, fmt)
