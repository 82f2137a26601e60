"""`ServerProcess`: the real `autoliq serve` in a child process, on a loopback port, for end-to-end tests.

    with ServerProcess(database_url, tmp_path) as server:
        httpx.post(f"{server.base_url}/v1/auth/accesstokenrequest", json={...})

The child gets a clean environment (every inherited AUTOLIQ_* variable removed), the known seed
passwords (unless told otherwise), a market that never shuts (AUTOLIQ_MARKET_HOURS=always), its
working directory in `workdir` and its stdout/stderr in files there. Entering waits, bounded,
until `POST /v1/auth/accesstokenrequest` answers; leaving always stops the process (SIGTERM, then
SIGKILL).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

ADMIN_PASSWORD = "admin-pw-e2e"
TRADER_PASSWORD = "trader-pw-e2e"
LOOPBACK = "127.0.0.1"
STARTUP_TIMEOUT = 60.0  # the machine is small and shared: generous, but bounded
STOP_TIMEOUT = 20.0
HTTP_TIMEOUT = 10.0
REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def http_client(base_url: str, token: str | None = None) -> httpx.Client:
    """A keep-alive client for `base_url` that ignores proxy settings, with a hard timeout."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=HTTP_TIMEOUT, trust_env=False)


class ServerStartError(RuntimeError):
    """The server exited, or did not answer in time."""


class ServerProcess:
    """`python -m autoliq serve` as a child process.

    `host=None` leaves out `--host` (the server's default applies); `port_via_env` and
    `database_url_via_env` pass AUTOLIQ_PORT / AUTOLIQ_DATABASE_URL instead of the flags. Passwords
    set to None are not passed at all, so the server generates and prints them. The server hashes
    passwords at the suite's test-only cost (tests/cheap_hash_serve.py) unless `real_hash_cost`.
    """

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        *,
        admin_password: str | None = ADMIN_PASSWORD,
        trader_password: str | None = TRADER_PASSWORD,
        host: str | None = LOOPBACK,
        port_via_env: bool = False,
        database_url_via_env: bool = False,
        extra_env: Mapping[str, str] | None = None,
        extra_args: Sequence[str] = (),
        startup_timeout: float = STARTUP_TIMEOUT,
        real_hash_cost: bool = False,
    ) -> None:
        if host is not None and host != LOOPBACK:
            raise ValueError("end-to-end servers listen on loopback only")
        self.database_url = database_url
        self.workdir = workdir
        self.admin_password = admin_password
        self.trader_password = trader_password
        self.host = host
        self.port_via_env = port_via_env
        self.database_url_via_env = database_url_via_env
        self.extra_env = dict(extra_env or {})
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.real_hash_cost = real_hash_cost
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._files: list[IO[bytes]] = []
        self.forced_kill = False
        """True when the last `terminate` had to fall back to SIGKILL."""
        self.stdout_path = workdir / "server-not-started.stdout"
        self.stderr_path = workdir / "server-not-started.stderr"

    # -- addresses --
    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>` (no path: Tradovate's routes are under /v1, ours under /_autoliq)."""
        return f"http://{LOOPBACK}:{self.port}"

    def client(self, token: str | None = None) -> httpx.Client:
        """A keep-alive client for this server, optionally with a bearer token."""
        return http_client(self.base_url, token)

    def login(self, name: str = "admin", password: str | None = None) -> dict[str, Any]:
        """The access-token answer for `name` (the known password of `admin`/`trader` by default)."""
        if password is None:
            password = self.admin_password if name == "admin" else self.trader_password
        assert password is not None, f"no known password for {name!r}"
        with self.client() as c:
            r = c.post("/v1/auth/accesstokenrequest", json={"name": name, "password": password})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        assert "accessToken" in body, body
        return body

    # -- output --
    def stdout_text(self) -> str:
        """Everything the current (or last) run printed to stdout so far."""
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    def stderr_text(self) -> str:
        """Everything the current (or last) run printed to stderr so far."""
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    # -- lifecycle --
    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.terminate()

    def start(self) -> None:
        """Start the server on a fresh free port and wait until it answers; a lost port race is retried."""
        for _attempt in range(3):
            self._spawn()
            try:
                self._wait_ready()
                return
            except ServerStartError:
                output = self.stderr_text()
                self.kill9()
                if "address already in use" not in output.lower():
                    raise
            except BaseException:  # interrupted while waiting: never leave the child behind
                self.kill9()
                raise
        raise ServerStartError(f"could not bind a free port in 3 attempts:\n{self.stderr_text()}")

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOLIQ_")}
        if self.admin_password is not None:
            env["AUTOLIQ_ADMIN_PASSWORD"] = self.admin_password
        if self.trader_password is not None:
            env["AUTOLIQ_TRADER_PASSWORD"] = self.trader_password
        if self.port_via_env:
            env["AUTOLIQ_PORT"] = str(self.port)
        if self.database_url_via_env:
            env["AUTOLIQ_DATABASE_URL"] = self.database_url
        # A market that never shuts: the tests trade at whatever hour the suite runs (a weekend, the
        # daily halt). SessionClosed has its own tests (tests/integration/test_market_hours.py);
        # a test of the CME hours passes AUTOLIQ_MARKET_HOURS=cme in `extra_env`.
        env["AUTOLIQ_MARKET_HOURS"] = "always"
        if not self.real_hash_cost:  # `-m tests.cheap_hash_serve` from the server's own directory
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        env.update(self.extra_env)
        return env

    def argv(self) -> list[str]:
        """The command line the server is started with."""
        command = "autoliq" if self.real_hash_cost else "tests.cheap_hash_serve"
        argv = [sys.executable, "-m", command, "serve"]
        if not self.port_via_env:
            argv += ["--port", str(self.port)]
        if not self.database_url_via_env:
            argv += ["--database-url", self.database_url]
        if self.host is not None:
            argv += ["--host", self.host]
        return argv + self.extra_args

    def restart_on_same_port(self) -> None:
        """Start the stopped server again on the port it had (clients reconnect to the same URL)."""
        self._spawn(port=self.port)
        try:
            self._wait_ready()
        except BaseException:
            self.kill9()
            raise

    def _spawn(self, port: int | None = None) -> None:
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("the server is already running")
        self._close_files()
        self.port = port or free_port()
        stem = f"server-{os.getpid()}-{time.monotonic_ns()}-{self.port}"
        self.stdout_path = self.workdir / f"{stem}.stdout"
        self.stderr_path = self.workdir / f"{stem}.stderr"
        out = self.stdout_path.open("wb")
        err = self.stderr_path.open("wb")
        self._files = [out, err]
        # Its own process group: a crash test kills the server with its worker processes.
        self.process = subprocess.Popen(
            self.argv(),
            cwd=self.workdir,
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        probe = {"name": "readiness-probe", "password": "not-a-password"}
        with http_client(self.base_url) as c:
            while True:
                code = self.process.poll()
                if code is not None:
                    raise ServerStartError(
                        f"autoliq serve exited with {code} before answering:\n"
                        f"stdout:\n{self.stdout_text()}\nstderr:\n{self.stderr_text()}"
                    )
                try:
                    r = c.post("/v1/auth/accesstokenrequest", json=probe, timeout=2.0)
                    if r.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise ServerStartError(
                        f"autoliq serve did not answer within {self.startup_timeout:.0f} s:\n"
                        f"stdout:\n{self.stdout_text()}\nstderr:\n{self.stderr_text()}"
                    )
                time.sleep(0.1)

    def kill9(self) -> None:
        """SIGKILL the server and its worker processes (no shutdown code runs at all) and reap it."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT)
        self._close_files()

    def worker_pids(self) -> list[int]:
        """The worker processes of a `--workers N` server (the supervisor's children), by pid."""
        assert self.process is not None
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis.
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) != self.process.pid:
                continue
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            # uvicorn spawns its workers with multiprocessing (not its resource tracker).
            if "spawn_main" in cmdline and "resource_tracker" not in cmdline:
                children.append(int(entry.name))
        return sorted(children)

    def terminate(self) -> int | None:
        """Stop the server gracefully (SIGTERM), SIGKILL it if it lingers; its exit code (uvicorn
        re-raises the SIGTERM after its graceful shutdown, so a clean stop gives -SIGTERM)."""
        if self.process is None:
            return None
        self.forced_kill = False
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.forced_kill = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)
        self._close_files()
        return self.process.returncode

    def _close_files(self) -> None:
        for f in self._files:
            f.close()
        self._files = []
