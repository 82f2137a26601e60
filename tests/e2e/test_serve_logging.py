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


def test_serve_when_log_format_json_then_the_banner_is_a_json_line_too_and_no_password_is_written(
    tmp_path: Path,
) -> None:
    """Every line, stdout and stderr: the start-up banner is one JSON log line (the URLs, the
    seeded organization), and a password is never in it, neither the supplied admin's nor the
    generated trader's (named as not logged, with how to set it)."""
    server = ServerProcess(
        f"sqlite:///{tmp_path / 'banner.db'}",
        tmp_path,
        trader_password=None,
        extra_args=["--log-format", "json"],
    )
    with server, server.client() as client:
        assert client.get("/_autoliq/health").status_code == 200
    stdout, stderr = server.stdout_text(), server.stderr_text()
    lines = _json_lines(stderr) + ([] if not stdout.strip() else _json_lines(stdout))
    [banner] = [line for line in lines if line["message"] == "autoliq started"]
    assert banner["desk_url"] == f"{server.base_url}/desk/"
    assert banner["docs_url"] == f"{server.base_url}/_autoliq/docs"
    assert banner["base_url"] == f"{server.base_url}/v1"
    assert banner["seeded_organization"] == "Demo Prop Firm"
    assert banner["generated_passwords_not_logged"] == ["trader"]
    assert server.admin_password is not None and server.admin_password not in stdout + stderr
    assert "generated, shown once" not in stdout + stderr


def test_serve_when_log_format_from_environment_then_json(tmp_path: Path) -> None:
    stderr = _served(tmp_path, extra_env={"AUTOLIQ_LOG_FORMAT": "json"}, extra_args=["--log-level", "info"])

    lines = _json_lines(stderr)
    assert any(line["message"] == STARTED for line in lines), stderr


def test_serve_when_log_format_text_then_plain_lines(tmp_path: Path) -> None:
    stderr = _served(tmp_path, extra_args=["--log-format", "text", "--log-level", "info"])

    assert STARTED in stderr
    for line in stderr.splitlines():
        assert not line.lstrip().startswith("{"), stderr


PROBE = "/_autoliq/health?probe=access-log"
MISSING = "/_autoliq/no-such-route"


def _served_with_access(tmp_path: Path, **options: Any) -> ServerProcess:
    """Start a server, answer a probe and a 404, stop it; the stopped server (its output files)."""
    server = ServerProcess(f"sqlite:///{tmp_path / 'access.db'}", tmp_path, **options)
    with server, server.client() as client:
        assert client.get(PROBE).status_code == 200
        assert client.get(MISSING).status_code == 404
    return server


def _access_lines(text: str) -> list[dict[str, Any]]:
    """The JSON lines of uvicorn's access logger in `text` (other lines, such as the banner, skipped)."""
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            obj = json.loads(line)
            if obj["logger"] == "uvicorn.access":
                lines.append(obj)
    return lines


@pytest.mark.parametrize(
    ("args", "env"),
    [
        pytest.param(["--access-log", "--log-level", "info"], {}, id="flag"),
        pytest.param(["--access-log"], {}, id="flag-at-the-default-log-level"),
        pytest.param(["--access-log", "--workers", "2"], {}, id="flag-two-workers"),
        pytest.param(["--log-level", "error"], {"AUTOLIQ_ACCESS_LOG": "1"}, id="environment"),
    ],
)
def test_serve_when_access_log_with_json_then_one_json_line_per_request_on_stdout(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    server = _served_with_access(tmp_path, extra_env=env, extra_args=["--log-format", "json", *args])

    stdout, stderr = server.stdout_text(), server.stderr_text()
    mine = [line for line in _access_lines(stdout) if line["path"] in (PROBE, MISSING)]
    assert [(line["method"], line["path"], line["status"]) for line in mine] == [
        ("GET", PROBE, 200),
        ("GET", MISSING, 404),
    ], stdout
    assert all(line["level"] == "INFO" and line["client"] and line["http_version"] for line in mine)
    assert not any(PROBE in line for line in stdout.splitlines() if not line.startswith("{")), stdout
    assert _access_lines(stderr) == [] and PROBE not in stderr, stderr  # access lines go to stdout only


@pytest.mark.parametrize(
    ("args", "env"),
    [
        pytest.param([], {}, id="default"),
        pytest.param(["--no-access-log", "--workers", "2"], {"AUTOLIQ_ACCESS_LOG": "1"}, id="flag-over-env"),
    ],
)
def test_serve_when_access_log_off_then_no_access_line(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    server = _served_with_access(
        tmp_path, extra_env=env, extra_args=["--log-format", "json", "--log-level", "info", *args]
    )

    stdout, stderr = server.stdout_text(), server.stderr_text()
    assert STARTED in stderr  # the server did log at info
    assert _access_lines(stdout) == [] and _access_lines(stderr) == []
    assert PROBE not in stdout + stderr and MISSING not in stdout + stderr


def test_serve_when_access_log_with_text_then_uvicorns_plain_access_line_on_stdout(tmp_path: Path) -> None:
    server = _served_with_access(tmp_path, extra_args=["--access-log"])

    stdout = server.stdout_text()
    assert any(f'"GET {PROBE} HTTP/1.1" 200' in line for line in stdout.splitlines()), stdout
    assert any(f'"GET {MISSING} HTTP/1.1" 404' in line for line in stdout.splitlines()), stdout
