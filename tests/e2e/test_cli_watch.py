"""`autoliq watch` across a server restart: it reconnects, syncs again and goes on printing events
(or, with `--no-reconnect`, says the stream ended and exits 1). A real server process (SQLite) on
loopback, stopped with SIGTERM and started again on the same port."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoliq.client import Client
from tests.server import ADMIN_PASSWORD, ServerProcess

pytestmark = pytest.mark.slow

WAIT = 60.0  # seconds: a bound for a wedged step, not an expected duration


class Pipe:
    """A child's pipe read without blocking past a deadline; everything read is kept."""

    def __init__(self, stream: object) -> None:
        self.fd = stream.fileno()  # type: ignore[attr-defined]
        self.text = ""

    def until(self, text: str, *, after: int = 0) -> None:
        """Read until `text` occurs at or after offset `after` of what was read."""
        deadline = time.monotonic() + WAIT
        while text not in self.text[after:]:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} not seen in {self.text!r}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 65536)
                assert chunk, f"the pipe closed before {text!r}: {self.text!r}"
                self.text += chunk.decode(errors="replace")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(f"sqlite:///{tmp_path / 'watch.db'}", tmp_path) as running:
        yield running


def watch(server: ServerProcess, tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOLIQ_")}
    env["AUTOLIQ_PASSWORD"] = ADMIN_PASSWORD
    argv = [sys.executable, "-m", "autoliq", "watch", "--json", *args]
    return subprocess.Popen(
        [*argv, "--url", server.base_url, "--user", "admin"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path,
    )  # fmt: skip


def act(server: ServerProcess, account: int, action: str) -> None:
    with Client(server.base_url, name="admin", password=ADMIN_PASSWORD, trust_env=False) as client:
        if action == "lock":
            client.lock(account, "e2e watch", verify=True)
        else:
            client.unlock(account, "e2e watch", verify=True)


def first_account(server: ServerProcess) -> int:
    with Client(server.base_url, name="admin", password=ADMIN_PASSWORD, trust_env=False) as client:
        return min(a["id"] for a in client.accounts())


def test_cli_watch_when_server_restarts_then_it_reconnects_and_prints_the_next_events(
    server: ServerProcess, tmp_path: Path
) -> None:
    account = first_account(server)
    watcher = watch(server, tmp_path, "--account", str(account), "--max-events", "2")
    err, out = Pipe(watcher.stderr), Pipe(watcher.stdout)
    try:
        err.until("watching accountRiskStatus")
        act(server, account, "lock")
        out.until("\n")
        # Act: the server stops (SIGTERM) and comes back on the same port
        server.terminate()
        err.until("reconnecting in")
        server.restart_on_same_port()
        err.until("reconnected: watching accountRiskStatus")
        act(server, account, "unlock")
        stdout, stderr = watcher.communicate(timeout=WAIT)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    # Assert: both changes printed, one before and one after the restart; the shutdown was named
    assert watcher.returncode == 0, err.text + stderr.decode()
    lines = (out.text + stdout.decode()).splitlines()
    assert [
        (e["entityType"], e["entity"]["id"], e["entity"]["adminAction"]) for e in map(json.loads, lines)
    ] == [
        ("accountRiskStatus", account, "LockTradingImmediately"),
        ("accountRiskStatus", account, "Normal"),
    ]
    assert "Maintenance: The server is shutting down" in err.text


def test_cli_watch_when_server_stops_with_no_reconnect_then_stream_ended_and_exit_1(
    server: ServerProcess, tmp_path: Path
) -> None:
    watcher = watch(server, tmp_path, "--no-reconnect")
    err = Pipe(watcher.stderr)
    try:
        err.until("watching accountRiskStatus")
        # Act
        server.terminate()
        _, stderr = watcher.communicate(timeout=WAIT)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    # Assert
    assert watcher.returncode == 1
    text = err.text + stderr.decode()
    assert (
        "the stream ended: the server shut the stream down: Maintenance: The server is shutting down" in text
    )
    assert "reconnecting" not in text
