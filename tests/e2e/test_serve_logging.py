"""`autoliq serve --log-format json`: every line the server and its workers log is one JSON object,
uvicorn's own lines included; `text` keeps plain lines. A real server process on loopback (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autoliq.cli.main import LogFormat
from autoliq.config import LOG_FORMATS
from tests.server import ServerProcess

pytestmark = pytest.mark.slow

STARTED = "Application startup complete."


def _served(tmp_path: Path, **options: Any) -> str:
    """Start a server, answer one request, stop it; its stderr."""
    server = ServerProcess(f"sqlite:///{tmp_path / 'logs.db'}", tmp_path, **options)
    with server, server.client() as client:
        assert client.get("/_autoliq/health").status_code == 200
    return server.stderr_text()


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "the server logged nothing"
    parsed = []
    for line in lines:
        obj = json.loads(line)  # raises on any line that is not JSON
        assert isinstance(obj, dict) and {"ts", "level", "logger", "message", "pid"} <= obj.keys(), line
        parsed.append(obj)
    return parsed


def test_log_format_choices_when_listed_then_they_are_the_settings_formats() -> None:
    assert tuple(f.value for f in LogFormat) == LOG_FORMATS


def test_serve_when_log_format_json_with_two_workers_then_every_line_is_json_from_each_worker(
    tmp_path: Path,
) -> None:
    stderr = _served(tmp_path, extra_args=["--log-format", "JSON", "--log-level", "info", "--workers", "2"])

    lines = _json_lines(stderr)
    started = {line["pid"] for line in lines if line["message"] == STARTED}
    assert len(started) == 2, stderr  # each worker configured its logging from the option
    assert all(line["logger"].startswith("uvicorn") for line in lines if line["message"] == STARTED)


def test_serve_when_log_format_from_environment_then_json(tmp_path: Path) -> None:
    stderr = _served(tmp_path, extra_env={"AUTOLIQ_LOG_FORMAT": "json"}, extra_args=["--log-level", "info"])

    lines = _json_lines(stderr)
    assert any(line["message"] == STARTED for line in lines), stderr


def test_serve_when_log_format_text_then_plain_lines(tmp_path: Path) -> None:
    stderr = _served(tmp_path, extra_args=["--log-format", "text", "--log-level", "info"])

    assert STARTED in stderr
    for line in stderr.splitlines():
        assert not line.lstrip().startswith("{"), stderr
