"""`autoliq serve` start-up failures: one line naming the cause, exit 2, before anything is migrated,
seeded or printed (issue 13). The three reproductions run `python -m autoliq serve` as a user would
(the exit code and the whole output); the other causes run in process (Typer's runner).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from autoliq.cli.main import app
from tests.conftest import PG_URL
from tests.server import LOOPBACK, free_port

runner = CliRunner()
SUPPLIED_PW = "supplied-admin-pw"


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port another socket is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.fixture
def missing_pg_database(pg_template: str) -> str:
    """The URL of a database that does not exist on the reachable PostgreSQL server."""
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/autoliq_missing_{uuid.uuid4().hex[:12]}"


def serve_process(workdir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m autoliq serve ARGS` in `workdir` with a clean AUTOLIQ_* environment, run to its end."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AUTOLIQ_")}
    clean.update(AUTOLIQ_ADMIN_PASSWORD=SUPPLIED_PW, **env)
    return subprocess.run(
        [sys.executable, "-m", "autoliq", "serve", *args],
        cwd=workdir,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line_and_nothing_done(stdout: str, stderr: str, cause: str, workdir: Path) -> None:
    """Exactly one line, `error: ...` naming `cause`, and nothing created, migrated or printed."""
    assert stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("error: "), stderr
    assert cause in stderr
    assert "Traceback" not in stderr and SUPPLIED_PW not in stderr
    assert list(workdir.iterdir()) == []  # no SQLite file, no startup lock


# -- the reproductions, as a user runs them --


@pytest.mark.postgres
def test_serve_when_postgres_database_missing_then_one_line_exit_2(
    tmp_path: Path, missing_pg_database: str
) -> None:
    port = free_port()

    done = serve_process(tmp_path, "--port", str(port), "--database-url", missing_pg_database)

    assert done.returncode == 2
    name = missing_pg_database.rpartition("/")[2]
    assert_one_line_and_nothing_done(done.stdout, done.stderr, f'database "{name}" does not exist', tmp_path)
    assert done.stderr.startswith(f"error: cannot open database {missing_pg_database}: ")
    with socket.socket() as sock:  # the port bound for the server was let go
        sock.bind((LOOPBACK, port))


def test_serve_when_database_url_unparsable_then_one_line_exit_2(tmp_path: Path) -> None:
    done = serve_process(tmp_path, "--port", str(free_port()), AUTOLIQ_DATABASE_URL="foo")

    assert done.returncode == 2
    assert_one_line_and_nothing_done(done.stdout, done.stderr, "database URL 'foo' cannot be read", tmp_path)


def test_serve_when_port_busy_then_one_line_exit_2_before_migrating_seeding_or_printing(
    tmp_path: Path, busy_port: int
) -> None:
    done = serve_process(tmp_path, "--port", str(busy_port), "--database-url", "sqlite:///new.db")

    assert done.returncode == 2
    assert_one_line_and_nothing_done(
        done.stdout, done.stderr, f"cannot listen on {LOOPBACK}:{busy_port}: Address already in use", tmp_path
    )


# -- other causes, in process --


def serve(workdir: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.chdir(workdir)
    for name in [n for n in os.environ if n.startswith("AUTOLIQ_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AUTOLIQ_ADMIN_PASSWORD", SUPPLIED_PW)
    return runner.invoke(app, ["serve", "--port", str(free_port()), *args])


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        pytest.param(
            "postgresql://postgres:secret-pw@127.0.0.1:{port}/x", "Connection refused", id="pg-unreachable"
        ),
        pytest.param(
            "sqlite:///no/such/dir/a.db", "directory no/such/dir does not exist", id="sqlite-no-dir"
        ),
        pytest.param("mysql://u@h/d", "mysql is not supported", id="unsupported-scheme"),
        pytest.param("sqlite:///not-sqlite.db", "not-sqlite.db is not a SQLite database", id="not-sqlite"),
    ],
)
def test_serve_when_database_cannot_be_used_then_one_line_naming_it_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, cause: str
) -> None:
    url = url.format(port=free_port())  # nothing listens there
    if "not-sqlite" in url:
        (tmp_path / "not-sqlite.db").write_text("a text file, not a database\n")

    result = serve(tmp_path, monkeypatch, "--database-url", url)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and cause in result.stderr
    assert "secret-pw" not in result.output
    if "not-sqlite" in url:  # left as it was
        assert [p.name for p in tmp_path.iterdir()] == ["not-sqlite.db"]
        assert (tmp_path / "not-sqlite.db").read_text() == "a text file, not a database\n"
    else:
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("variable", ["AUTOLIQ_ADMIN_PASSWORD", "AUTOLIQ_TRADER_PASSWORD"])
def test_serve_when_supplied_password_shorter_than_12_then_refused_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, "eleven-char")

    result = runner.invoke(app, ["serve", "--port", str(free_port()), "--database-url", "sqlite:///a.db"])

    assert result.exit_code == 2
    assert result.output == f"error: {variable} must be at least 12 characters (has 11)\n"
    assert list(tmp_path.iterdir()) == []
