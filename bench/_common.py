"""Helpers shared by the benchmark scripts (run by hand, never by pytest)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
PYTHON = sys.executable
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process `pid` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the ")" closing comm, field 3 (state) is index 0: utime is field 14, stime field 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def system_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]  # idle + iowait
    total = sum(parts[:8])
    return float(total - idle), float(total)


def wait_until_quiet(max_wait: float, threshold_cores: float = 0.3) -> float:
    """Wait (at most `max_wait` s) until the machine's CPU use over one second is below
    `threshold_cores`; the last use measured, in cores. Other people's tests skew benchmarks."""
    ncpu = os.cpu_count() or 1
    deadline = time.monotonic() + max_wait
    while True:
        busy0, total0 = system_cpu()
        time.sleep(1.0)
        busy1, total1 = system_cpu()
        cores = ncpu * (busy1 - busy0) / max(total1 - total0, 1.0)
        if cores < threshold_cores or time.monotonic() >= deadline:
            return cores


def cpu_snapshot() -> dict[int, tuple[str, float]]:
    """{pid: (command name, CPU seconds so far)} for every process on the machine."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            out[int(entry.name)] = (comm, process_cpu_seconds(int(entry.name)))
        except (OSError, ValueError, IndexError):
            continue
    return out


def cpu_by_group(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], server_pid: int
) -> dict[str, Any]:
    """CPU seconds between two snapshots: the server, wrk, PostgreSQL's processes, everyone else
    (processes that started and ended in between are not seen)."""
    groups: dict[str, Any] = {"server": 0.0, "wrk": 0.0, "postgres": 0.0, "others": 0.0}
    others: dict[str, float] = {}
    for pid, (comm, cpu) in after.items():
        used = cpu - before[pid][1] if pid in before else cpu
        if pid == server_pid:
            groups["server"] += used
        elif comm == "wrk":
            groups["wrk"] += used
        elif comm == "postgres":
            groups["postgres"] += used
        else:
            groups["others"] += used
            if used > 0:
                others[comm] = others.get(comm, 0.0) + used
    groups["top_others"] = sorted(others.items(), key=lambda x: -x[1])[:4]
    return groups


def other_processes_cpu(exclude: set[int], top: int = 3) -> list[tuple[str, float]]:
    """The processes (not in `exclude`) using the most CPU over the last half second."""

    def snapshot() -> dict[int, tuple[str, float]]:
        out = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in exclude:
                continue
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                out[int(entry.name)] = (cmd.strip()[:80], process_cpu_seconds(int(entry.name)))
            except OSError:
                continue
        return out

    first = snapshot()
    time.sleep(0.5)
    second = snapshot()
    used = [(cmd, (cpu - first[pid][1]) / 0.5) for pid, (cmd, cpu) in second.items() if pid in first and cmd]
    return sorted(used, key=lambda x: -x[1])[:top]


class Server:
    """A server subprocess on a loopback port, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], port: int, log_path: Path, env: dict[str, str]) -> None:
        self.name = name
        self.argv = argv
        self.port = port
        self.log_path = log_path
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, ready_path: str, timeout: float = 60.0) -> None:
        """Start it and wait (bounded) until `GET ready_path` gets any HTTP answer."""
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=REPO_DIR
        )
        log.close()
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}{ready_path}"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # any HTTP answer means it is serving
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        """Send `sig`, wait (bounded), then SIGKILL if still alive; the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=timeout)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def post_json(url: str, payload: dict[str, Any], token: str | None = None, timeout: float = 30) -> Any:
    """POST a JSON body (setup only: not the load generator); the decoded answer."""
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def sqlalchemy_url(url: str) -> str:
    """The URL as SQLAlchemy needs it (postgresql:// -> psycopg 3), as autoliq itself maps it."""
    from autoliq.adapters.db import normalize_url

    return normalize_url(url)


def _libpq_kwargs(url: str) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    kwargs: dict[str, Any] = {"host": u.host or "127.0.0.1", "port": u.port or 5432, "user": u.username}
    if u.password:
        kwargs["password"] = u.password
    return {k: v for k, v in kwargs.items() if v is not None}


def _check_loopback(url: str) -> None:
    from sqlalchemy.engine import make_url

    host = make_url(url).host or "127.0.0.1"
    if host not in ("localhost", "::1") and not host.startswith("127."):
        raise SystemExit(f"refusing a non-loopback PostgreSQL host {host!r}: benchmarks stay on this machine")


def postgres_reachable(url: str) -> str | None:
    """None when a PostgreSQL server answers at `url`, else the reason it does not."""
    _check_loopback(url)
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        dbname = make_url(url).database or "postgres"
        with psycopg.connect(dbname=dbname, connect_timeout=3, **_libpq_kwargs(url)):
            return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".strip()


@contextlib.contextmanager
def throwaway_postgres(url: str, name: str) -> Iterator[str]:
    """Create database `name` on the server of `url`, yield its URL, drop it afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    _check_loopback(url)
    base = make_url(url)
    admin_db = base.database or "postgres"
    kwargs = _libpq_kwargs(url)
    with psycopg.connect(dbname=admin_db, autocommit=True, connect_timeout=5, **kwargs) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dbname=admin_db, autocommit=True, connect_timeout=5, **kwargs) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_settings(url: str) -> dict[str, str]:
    """The server settings that decide whether a commit is durable."""
    import psycopg
    from sqlalchemy.engine import make_url

    out: dict[str, str] = {}
    dbname = make_url(url).database or "postgres"
    with psycopg.connect(dbname=dbname, connect_timeout=5, **_libpq_kwargs(url)) as conn:
        for setting in ("server_version", "fsync", "synchronous_commit", "wal_sync_method"):
            row = conn.execute(f"SHOW {setting}").fetchone()
            out[setting] = str(row[0]) if row else "?"
    return out


def code_version() -> str:
    """The checked-out commit, with "+dirty" when src/ has uncommitted changes (read-only git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_DIR, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return head + ("+dirty" if dirty else "")


def environment_info() -> dict[str, Any]:
    """What the figures were measured on."""
    info: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    info["code"] = code_version()
    for module in ("uvicorn", "uvloop", "httptools", "litestar", "msgspec", "sqlalchemy", "psycopg"):
        try:
            mod = __import__(module)
            info[module] = getattr(mod, "__version__", "?")
        except ImportError:
            info[module] = None
    return info


def write_results(prefix: str, data: dict[str, Any]) -> Path:
    """Write `data` as bench/results/<prefix>-<UTC time>.json; its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{prefix}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def autoliq_cmd(*args: str) -> list[str]:
    """`python -m autoliq ARGS` with this interpreter."""
    return [PYTHON, "-m", "autoliq", *args]


# Settings the benchmark decides itself; tuning knobs (AUTOLIQ_WRITE_BATCH_MAX, ...) pass through.
_OWN_SETTINGS = (
    "AUTOLIQ_HOST",
    "AUTOLIQ_PORT",
    "AUTOLIQ_DATABASE_URL",
    "AUTOLIQ_ENVIRONMENT",
    "AUTOLIQ_ADMIN_PASSWORD",
    "AUTOLIQ_TRADER_PASSWORD",
)


def subprocess_env(**extra: str) -> dict[str, str]:
    """This environment less the settings the benchmark chooses itself, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in _OWN_SETTINGS}
    env.update(extra)
    return env


def passed_through_settings() -> dict[str, str]:
    """The AUTOLIQ_* tuning variables the servers inherit (recorded with the results)."""
    return {k: v for k, v in os.environ.items() if k.startswith("AUTOLIQ_") and k not in _OWN_SETTINGS}
