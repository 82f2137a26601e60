"""Helpers shared by the benchmark scripts (run by hand, never by pytest)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ProcStat:
    """The fields of /proc/PID/stat the benchmarks use."""

    state: str  # R, S, D, Z (zombie: dead, not yet reaped), ...
    ppid: int
    pgrp: int
    cpu_s: float  # user + system, all threads


def process_stat(pid: int) -> ProcStat:
    """/proc/PID/stat of process `pid` (OSError when it is gone)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return ProcStat(fields[0], int(fields[1]), int(fields[2]), (int(fields[11]) + int(fields[12])) / CLK_TCK)


def all_process_stats() -> dict[int, ProcStat]:
    """`process_stat` of every process on the machine (those that vanish meanwhile left out)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                out[int(entry.name)] = process_stat(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return out


def process_tree(pid: int, stats: dict[int, ProcStat] | None = None) -> set[int]:
    """`pid` and its descendants alive now (a server and, e.g., uvicorn's worker processes)."""
    stats = all_process_stats() if stats is None else stats
    children: dict[int, list[int]] = defaultdict(list)
    for child, st in stats.items():
        children[st.ppid].append(child)
    tree: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        if current in tree:
            continue
        tree.add(current)
        todo.extend(children.get(current, ()))
    return tree


def tree_cpu_seconds(pid: int) -> dict[int, float]:
    """{pid: CPU seconds so far} for `pid` and its live descendants (see `process_tree`)."""
    stats = all_process_stats()
    return {p: stats[p].cpu_s for p in process_tree(pid, stats) if p in stats}


def process_group_alive(pgid: int) -> list[int]:
    """The processes of group `pgid` still alive (zombies are dead: they only wait to be reaped)."""
    return [pid for pid, st in all_process_stats().items() if st.pgrp == pgid and st.state != "Z"]


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
    before: dict[int, tuple[str, float]],
    after: dict[int, tuple[str, float]],
    server_pid: int | Collection[int],
) -> dict[str, Any]:
    """CPU seconds between two snapshots: the server (one pid, or its process tree), wrk,
    PostgreSQL's processes, everyone else (processes that started and ended in between are not
    seen)."""
    server_pids = {server_pid} if isinstance(server_pid, int) else set(server_pid)
    groups: dict[str, Any] = {"server": 0.0, "wrk": 0.0, "postgres": 0.0, "others": 0.0}
    others: dict[str, float] = {}
    for pid, (comm, cpu) in after.items():
        used = cpu - before[pid][1] if pid in before else cpu
        if pid in server_pids:
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
    """A server subprocess on a loopback port, with its output in a log file.

    With `new_session` it leads a process group of its own (`start_new_session`): `stop` signals
    the whole group (os.killpg), so a SIGKILL reaches a supervisor's worker processes too, and
    waits until none of them is alive."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        port: int,
        log_path: Path,
        env: dict[str, str],
        new_session: bool = False,
    ) -> None:
        self.name = name
        self.argv = argv
        self.port = port
        self.log_path = log_path
        self.env = env
        self.new_session = new_session
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def pids(self) -> set[int]:
        """The server's process and its descendants alive now (uvicorn's workers, ...)."""
        return process_tree(self.pid)

    def start(self, ready_path: str, timeout: float = 60.0, ready_log: tuple[str, int] | None = None) -> None:
        """Start it and wait (bounded) until `GET ready_path` gets any HTTP answer and, with
        `ready_log` (text, n), until its log holds `text` at least n times (e.g. uvicorn's
        "Application startup complete" once per worker process)."""
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=REPO_DIR,
            start_new_session=self.new_session,
        )
        log.close()
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}{ready_path}"
        answered = False
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            if not answered:
                try:
                    with urllib.request.urlopen(url, timeout=2):
                        answered = True
                except urllib.error.HTTPError:
                    answered = True  # any HTTP answer means it is serving
                except OSError:
                    time.sleep(0.1)
                    continue
            if ready_log is None or self._log_count(ready_log[0]) >= ready_log[1]:
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def _log_count(self, text: str) -> int:
        try:
            return self.log_path.read_text(errors="replace").count(text)
        except OSError:
            return 0

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        """Send `sig` (to the whole process group with `new_session`), wait (bounded), then SIGKILL
        if still alive; the exit code."""
        if self.proc is None:
            return None
        if self.new_session:
            return self._stop_group(sig, timeout)
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=timeout)

    def _stop_group(self, sig: int, timeout: float) -> int | None:
        assert self.proc is not None
        pgid = self.proc.pid  # start_new_session: the leader's pid is the group's id
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            code = self.proc.wait(timeout=timeout)
        # The leader is gone; its workers may not be yet (or may outlive it after a SIGTERM).
        if not self._wait_group(pgid, timeout):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            if not self._wait_group(pgid, timeout):
                raise RuntimeError(f"{self.name}: processes of group {pgid} survive SIGKILL")
        return code

    @staticmethod
    def _wait_group(pgid: int, timeout: float) -> bool:
        """Wait (at most `timeout` s) until no process of group `pgid` is alive; whether none is."""
        deadline = time.monotonic() + timeout
        while process_group_alive(pgid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

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
    from autoliq.adapters.sql.db import normalize_url

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


# -- HTTP load with checked answers (used by set_admin_action.py and place_order.py) --
#
# The path and the check of each answer (substrings it must and must not contain) are parameters.


@dataclass
class Load:
    """What a load phase sends, and what every answer must look like (HTTP 200 and, as plain
    substrings, all of `must_contain` and none of `must_not_contain`)."""

    host: str
    port: int
    path: str
    token: str
    bodies: list[bytes]
    connections: int
    threads: int
    timeout_s: int
    must_contain: tuple[str, ...]
    must_not_contain: tuple[str, ...] = ()

    def answer_ok(self, status: int, body: bytes) -> bool:
        return (
            status == 200
            and all(s.encode() in body for s in self.must_contain)
            and not any(s.encode() in body for s in self.must_not_contain)
        )


_CHECKED_LUA = r"""
local path = [==[%(path)s]==]
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(token)s" }
local must = { %(must)s }
local must_not = { %(must_not)s }
local bodies = {
%(bodies)s
}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("offset", (#threads - 1) * 997)
end

function init(args)
  reqs = {}
  for i = 1, #bodies do
    reqs[i] = wrk.format("POST", path, headers, bodies[i])
  end
  n = #reqs
  idx = offset %% n
  ok = 0
  bad = 0
  bad_sample = ""
end

function request()
  idx = idx + 1
  if idx > n then idx = 1 end
  return reqs[idx]
end

local function good(status, body)
  if status ~= 200 or body == nil then return false end
  for _, s in ipairs(must) do
    if not string.find(body, s, 1, true) then return false end
  end
  for _, s in ipairs(must_not) do
    if string.find(body, s, 1, true) then return false end
  end
  return true
end

function response(status, hdrs, body)
  if good(status, body) then
    ok = ok + 1
  else
    bad = bad + 1
    if bad_sample == "" then bad_sample = status .. " " .. string.sub(body or "", 1, 300) end
  end
end

function done(summary, latency, requests)
  local okt, badt, sample = 0, 0, ""
  for _, t in ipairs(threads) do
    okt = okt + t:get("ok")
    badt = badt + t:get("bad")
    local s = t:get("bad_sample")
    if sample == "" and s then sample = s end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"duration_s":%%.6f,"requests":%%d,"connect_errors":%%d,"read_errors":%%d,' ..
    '"write_errors":%%d,"status_errors":%%d,"timeout_errors":%%d,"ok":%%d,"bad":%%d,' ..
    '"mean_ms":%%.4f,"max_ms":%%.4f,"p50_ms":%%.4f,"p90_ms":%%.4f,"p99_ms":%%.4f,"p999_ms":%%.4f}\n',
    summary.duration / 1e6, summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
    okt, badt, latency.mean / 1000, latency.max / 1000, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000))
  io.write("WRKSAMPLE " .. sample .. "\n")
end
"""


def _lua_long_string(text: str) -> str:
    if "]==]" in text:
        raise ValueError(f"cannot quote {text!r} for Lua")
    return f"[==[{text}]==]"


def write_checked_lua(load: Load, path: Path) -> Path:
    """The wrk script for `load` (rotates the bodies, checks every answer), written to `path`."""
    if not re.fullmatch(r"[A-Za-z0-9_\-.~+/=]+", load.token):
        raise ValueError("unexpected characters in the access token")
    bodies = ",\n".join(f"  {_lua_long_string(b.decode())}" for b in load.bodies)
    path.write_text(
        _CHECKED_LUA
        % {
            "path": load.path,
            "token": load.token,
            "must": ", ".join(_lua_long_string(s) for s in load.must_contain),
            "must_not": ", ".join(_lua_long_string(s) for s in load.must_not_contain),
            "bodies": bodies,
        }
    )
    return path


def wrk_version() -> str | None:
    exe = shutil.which("wrk")
    if exe is None:
        return None
    out = subprocess.run([exe, "-v"], capture_output=True, text=True, timeout=10, check=False)
    return (out.stdout + out.stderr).splitlines()[0].strip() if (out.stdout + out.stderr) else "wrk"


def ensure_wrk(install: bool) -> bool:
    """True when wrk is on PATH; with `install`, as root, apt-get installs it if missing."""
    if shutil.which("wrk"):
        return True
    if not install:
        return False
    if os.geteuid() != 0:
        print("wrk is missing and this is not root: install it with `apt-get install wrk`", file=sys.stderr)
        return False
    print("installing wrk with apt-get ...", file=sys.stderr)
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        if subprocess.run(cmd, capture_output=True, timeout=600, check=False).returncode != 0:
            return False
    return shutil.which("wrk") is not None


def run_checked_wrk(load: Load, lua: Path, seconds: int) -> dict[str, Any]:
    """One wrk run with a script from `write_checked_lua`; its summary (errors = bad answers,
    socket errors and timeouts)."""
    url = f"http://{load.host}:{load.port}{load.path}"
    cmd = [
        "wrk",
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{seconds}s",
        f"--timeout={load.timeout_s}s",
        "--latency",
        "-s",
        str(lua),
        url,
    ]
    before = os.times()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, check=False)
    after = os.times()
    summary: dict[str, Any] | None = None
    sample = ""
    for line in out.stdout.splitlines():
        if line.startswith("WRKJSON "):
            summary = json.loads(line[len("WRKJSON ") :])
        elif line.startswith("WRKSAMPLE "):
            sample = line[len("WRKSAMPLE ") :].strip()
    if out.returncode != 0 or summary is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    errors = sum(summary[k] for k in summary if k.endswith("_errors"))
    summary["bad"] += errors - summary["status_errors"]  # status errors are already counted as bad
    summary["errors"] = summary["bad"]
    summary["error_sample"] = sample
    summary["rps"] = summary["requests"] / summary["duration_s"]
    summary["loadgen_cpu_s"] = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    summary["wrk_output"] = out.stdout
    return summary


async def _read_http_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
            break
    if length is None:
        raise ValueError("answer without content-length")
    return status, await reader.readexactly(length)


async def _python_checked_load(load: Load, seconds: float) -> dict[str, Any]:
    head = (
        f"POST {load.path} HTTP/1.1\r\nHost: {load.host}:{load.port}\r\n"
        f"Authorization: Bearer {load.token}\r\nContent-Type: application/json\r\n"
    ).encode()
    wires = [head + b"Content-Length: %d\r\n\r\n" % len(b) + b for b in load.bodies]
    n = len(wires)
    latencies: list[int] = []
    counts: Counter[str] = Counter()
    samples: list[str] = []
    started = time.perf_counter()
    deadline = started + seconds
    last_done = [started]

    async def connection(offset: int) -> None:
        try:
            reader, writer = await asyncio.open_connection(load.host, load.port)
        except OSError:
            counts["connect_errors"] += 1
            return
        idx = offset
        try:
            while time.perf_counter() < deadline:
                wire = wires[idx % n]
                idx += 1
                t0 = time.perf_counter_ns()
                writer.write(wire)
                status, body = await _read_http_answer(reader)
                latencies.append(time.perf_counter_ns() - t0)
                last_done[0] = time.perf_counter()
                if load.answer_ok(status, body):
                    counts["ok"] += 1
                else:
                    counts["bad"] += 1
                    if not samples:
                        samples.append(f"{status} {body[:300].decode(errors='replace')}")
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
            counts["read_errors"] += 1
            if not samples:
                samples.append(f"{type(exc).__name__}: {exc}")
        finally:
            writer.close()

    tasks = [asyncio.create_task(connection(i * 997)) for i in range(load.connections)]
    _, pending = await asyncio.wait(tasks, timeout=seconds + load.timeout_s)
    for task in pending:  # stuck past the timeout: count them, then stop them
        counts["timeout_errors"] += 1
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5)
    duration = max(last_done[0] - started, 1e-9)
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] / 1e6

    errors = counts["bad"] + counts["connect_errors"] + counts["read_errors"] + counts["timeout_errors"]
    return {
        "duration_s": duration,
        "requests": len(latencies),
        "connect_errors": counts["connect_errors"],
        "read_errors": counts["read_errors"],
        "write_errors": 0,
        "status_errors": 0,
        "timeout_errors": counts["timeout_errors"],
        "ok": counts["ok"],
        "bad": errors,
        "errors": errors,
        "error_sample": samples[0] if samples else "",
        "mean_ms": (sum(latencies) / len(latencies) / 1e6) if latencies else float("nan"),
        "max_ms": latencies[-1] / 1e6 if latencies else float("nan"),
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "p999_ms": pct(99.9),
        "rps": len(latencies) / duration,
    }


def run_python_checked_load(load: Load, seconds: int) -> dict[str, Any]:
    """One run of the asyncio load generator in this process (uvloop when installed)."""
    before = os.times()
    try:
        import uvloop

        summary = uvloop.run(_python_checked_load(load, seconds))
    except ImportError:
        summary = asyncio.run(_python_checked_load(load, seconds))
    after = os.times()
    summary["loadgen_cpu_s"] = (after.user - before.user) + (after.system - before.system)
    return summary


NOISE_CORES = 0.1  # other processes' CPU during a run above which it is measured again


class LoadPhases:
    """Runs load phases against one server; keeps the answers acknowledged and the errors.

    The server's CPU is that of its whole process tree (the process and its descendants, e.g.
    uvicorn's worker processes), per process in `server_cpu_by_process_cores`. `mid_run_probe`,
    when set, is called with the server's pid halfway through each phase (in another thread); what
    it returns is the phase's `mid_run`."""

    def __init__(self, generator: str, load: Load, lua_path: Path) -> None:
        self.generator = generator
        self.load = load
        self.lua = write_checked_lua(load, lua_path) if generator == "wrk" else None
        self.acknowledged = 0
        self.errors = 0
        self.mid_run_probe: Callable[[int], dict[str, Any]] | None = None

    def _start_probe(self, seconds: int, server_pid: int) -> tuple[threading.Timer, dict[str, Any]] | None:
        probe = self.mid_run_probe
        if probe is None:
            return None
        found: dict[str, Any] = {}

        def call() -> None:
            try:
                found.update(probe(server_pid))
            except Exception as exc:  # a diagnostic: never the run's failure
                found["probe_error"] = f"{type(exc).__name__}: {exc}"

        timer = threading.Timer(seconds / 2, call)
        timer.start()
        return timer, found

    def run(self, seconds: int, server_pid: int) -> dict[str, Any]:
        snap0 = cpu_snapshot()
        tree0 = tree_cpu_seconds(server_pid)
        busy0, total0 = system_cpu()
        probe = self._start_probe(seconds, server_pid)
        try:
            if self.lua is not None:
                summary = run_checked_wrk(self.load, self.lua, seconds)
            else:
                summary = run_python_checked_load(self.load, seconds)
        finally:
            if probe is not None:
                probe[0].cancel()
                probe[0].join()
        busy1, total1 = system_cpu()
        tree1 = tree_cpu_seconds(server_pid)
        groups = cpu_by_group(snap0, cpu_snapshot(), set(tree0) | set(tree1))
        duration = summary["duration_s"]
        summary["postgres_cpu_cores"] = groups["postgres"] / duration
        summary["others_top_cpu_s"] = groups["top_others"]
        # Other people's work on the machine during the run: it skews the figures.
        summary["others_cpu_cores"] = (
            max(0.0, groups["others"] - (summary["loadgen_cpu_s"] if self.lua is None else 0.0)) / duration
        )
        # A process that started during the phase counts whole; one that ended is not seen.
        by_process = {pid: cpu - tree0.get(pid, 0.0) for pid, cpu in tree1.items()}
        server_cpu = sum(by_process.values())
        summary["server_processes"] = len(tree1)
        summary["server_cpu_by_process_cores"] = {
            str(pid): round(cpu / duration, 3) for pid, cpu in sorted(by_process.items())
        }
        summary["server_cpu_s"] = server_cpu
        summary["server_cpu_cores"] = server_cpu / duration
        summary["server_cpu_us_per_request"] = (
            server_cpu / summary["requests"] * 1e6 if summary["requests"] else None
        )
        ncpu = os.cpu_count() or 1
        summary["machine_busy_cores"] = ncpu * (busy1 - busy0) / max(total1 - total0, 1.0)
        summary["loadgen_cpu_cores"] = summary["loadgen_cpu_s"] / duration
        if probe is not None:
            summary["mid_run"] = probe[1]
        self.acknowledged += summary["ok"]
        self.errors += summary["errors"]
        return summary


def brief(summary: dict[str, Any]) -> dict[str, Any]:
    """A load summary without wrk's raw output."""
    return {k: v for k, v in summary.items() if k != "wrk_output"}


def settle_machine(quiet_wait: int, server: Server) -> dict[str, Any]:
    """Before loading a server: wait (at most `quiet_wait` s) for the machine to be idle, and say
    if it was not."""
    if quiet_wait <= 0:
        return {}
    cores = wait_until_quiet(quiet_wait)
    out: dict[str, Any] = {"machine_cpu_before_cores": round(cores, 2)}
    if cores >= 0.3:
        busy = other_processes_cpu({os.getpid(), *server.pids()})
        out["busy_processes"] = busy
        print(
            f"  warning: the machine is not idle ({cores:.2f} cores busy before the load): "
            + "; ".join(f"{cmd} {c:.2f}" for cmd, c in busy),
            flush=True,
        )
    return out


def measure_quietly(
    phases: LoadPhases, server: Server, duration: int, noisy_retries: int, quiet_wait: int
) -> tuple[dict[str, Any], list[Any]]:
    """The measured run; while other processes used CPU during it, wait for quiet and measure
    again (at most `noisy_retries` times). (The run kept, the noisy runs set aside.)"""
    noisy: list[Any] = []
    measured = phases.run(duration, server.pid)
    for _ in range(noisy_retries):
        if measured["others_cpu_cores"] <= NOISE_CORES:
            break
        print(
            f"  {server.name}: others used {measured['others_cpu_cores']:.2f} cores: measuring again",
            flush=True,
        )
        noisy.append(brief(measured))
        settle_machine(quiet_wait, server)
        measured = phases.run(duration, server.pid)
    return measured, noisy


def load_target(phases: LoadPhases, server: Server, args: argparse.Namespace) -> dict[str, Any]:
    """A started server's load: wait for a quiet machine, `--warmup` seconds, then the measured
    `--duration` seconds (again while noisy, see `measure_quietly`); the target's result fields
    (the quiet wait's, `warmup`, `measured`, `noisy_attempts`)."""
    quiet = settle_machine(args.quiet_wait, server)
    warmup = phases.run(args.warmup, server.pid) if args.warmup > 0 else None
    measured, noisy = measure_quietly(phases, server, args.duration, args.noisy_retries, args.quiet_wait)
    return {
        **quiet,
        "warmup": brief(warmup) if warmup else None,
        "measured": measured,
        "noisy_attempts": noisy,
    }


def bare_server(app_script: str, workdir: Path, workers: int = 1, name: str = "bare") -> Server:
    """`bench/<app_script> --port PORT` (started by the caller); with `workers` > 1, `--workers N`
    (uvicorn's supervisor and N worker processes, in a process group of their own; `start_ready`
    waits for every worker)."""
    port = free_port()
    argv = [PYTHON, str(BENCH_DIR / app_script), "--port", str(port)]
    if workers > 1:
        argv += ["--workers", str(workers), "--log-level", "info"]
    return Server(name, argv, port, workdir / f"{name}.log", subprocess_env(), new_session=workers > 1)


STARTUP_LINE = "Application startup complete"  # uvicorn, at log level info, once per worker process


def start_ready(server: Server, ready_path: str, workers: int) -> None:
    """`server.start`; with several workers, also until each has logged `STARTUP_LINE` (the server
    must run at log level info)."""
    server.start(ready_path, ready_log=(STARTUP_LINE, workers) if workers > 1 else None)


def run_bare(
    app_script: str,
    make_load: Callable[[int, argparse.Namespace], Load],
    args: argparse.Namespace,
    generator: str,
    workdir: Path,
    workers: int = 1,
    name: str = "bare",
    mid_run_probe: Callable[[int], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The floor: `bench/<app_script> --port PORT` (see `bare_server`) loaded with
    `make_load(PORT, args)`; its result."""
    server = bare_server(app_script, workdir, workers, name)
    start_ready(server, "/", workers)
    try:
        phases = LoadPhases(generator, make_load(server.port, args), workdir / f"{name}.lua")
        phases.mid_run_probe = mid_run_probe
        loaded = load_target(phases, server, args)
    finally:
        server.stop()
    return {"target": name, **loaded, "errors": phases.errors, "valid": phases.errors == 0}


FLOOR_TOKEN = "floor-token"  # bench/floor.py's one caller


def run_floor(
    app_script: str,
    make_load: Callable[[int, argparse.Namespace], Load],
    count_sql: str,
    args: argparse.Namespace,
    generator: str,
    workdir: Path,
) -> dict[str, Any]:
    """A floor app (`bench/<app_script>`, see bench/floor.py: the endpoint's durable work on SQLite
    without autoliq's layers) on `--accounts` accounts, loaded with `make_load(PORT, args)` like
    autoliq (and profiled with `--profile`), killed with SIGKILL; durable when `count_sql` (its rows
    of record) counts at least the acknowledged writes."""
    import sqlite3

    database = workdir / f"floor-{Path(app_script).stem}.db"
    port = free_port()
    argv = [PYTHON, str(BENCH_DIR / app_script), "--port", str(port)]
    argv += ["--accounts", str(args.accounts), "--database", str(database)]
    server = Server("floor", argv, port, workdir / "floor.log", subprocess_env())
    server.start("/")
    profile = None
    try:
        phases = LoadPhases(generator, make_load(port, args), workdir / "floor.lua")
        loaded = load_target(phases, server, args)
        if args.profile:
            profile = profile_phase(phases, server, args.profile_seconds, args.profile_rate, args.profile_dir)
    finally:
        server.stop(signal.SIGKILL)
    with sqlite3.connect(database) as db:
        rows = int(db.execute(count_sql).fetchone()[0])
    durable = rows >= phases.acknowledged
    result: dict[str, Any] = {
        "target": "floor",
        **loaded,
        "errors": phases.errors,
        "acknowledged_writes": phases.acknowledged,
        "rows_of_record": rows,
        "durable": durable,
        "valid": phases.errors == 0 and durable,
    }
    if profile is not None:
        result["profile"] = profile
    return result


def fmt(value: float | None, spec: str) -> str:
    """`value` formatted with `spec`, "-" for None."""
    return "-" if value is None else format(value, spec)


def print_load_table(
    targets: dict[str, Any],
    name_width: int,
    skipped_width: int,
    last_title: str,
    last_text: Callable[[dict[str, Any]], str],
    notes_end: str,
) -> None:
    """The table of a load benchmark's targets, one row each, compared with the "bare" target
    (sets each target's `ratio_vs_bare`), the last column `last_text(target)`; then what the
    columns mean (ending with `notes_end`) and a warning per target other processes disturbed."""
    bare = targets.get("bare", {}).get("measured")
    header = (
        f"{'target':<{name_width}} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'ok':>7} {'errors':>6} "
        f"{'srv':>5} {'pg':>5} {'other':>5} {'us/req':>6} {'vs bare':>7} {'p50 x':>5} {'p99 x':>5}  "
        f"{last_title}"
    )
    print()
    print(header)
    print("-" * len(header))
    for name, target in targets.items():
        if "skipped" in target:
            print(f"{name:<{skipped_width}} skipped: {target['skipped']}")
            continue
        m = target["measured"]
        ratio = m["rps"] / bare["rps"] if bare else None
        p50x = m["p50_ms"] / bare["p50_ms"] if bare and bare["p50_ms"] else None
        p99x = m["p99_ms"] / bare["p99_ms"] if bare and bare["p99_ms"] else None
        target["ratio_vs_bare"] = ratio
        print(
            f"{name:<{name_width}} {m['rps']:>7.0f} {m['p50_ms']:>7.2f} {m['p99_ms']:>7.2f} {m['ok']:>7} "
            f"{target['errors']:>6} {m['server_cpu_cores']:>5.2f} {m['postgres_cpu_cores']:>5.2f} "
            f"{m['others_cpu_cores']:>5.2f} {fmt(m['server_cpu_us_per_request'], '.0f'):>6} "
            f"{fmt(ratio, '.3f'):>7} {fmt(p50x, '.1f'):>5} {fmt(p99x, '.1f'):>5}  {last_text(target)}"
        )
    print()
    print(
        "srv / pg / other = CPU cores used during the measured run by the server (its process tree), by"
        "\nPostgreSQL, by everything else (other people's work: above ~0.1 the figures are skewed);"
        "\nus/req = server CPU time per request; vs bare = req/s autoliq/bare; p50 x / p99 x = latency"
        "\nrelative to bare" + notes_end
    )
    for name, target in targets.items():
        m = target.get("measured")
        if m and m["others_cpu_cores"] > NOISE_CORES:
            who = ", ".join(f"{comm} {cpu / m['duration_s']:.2f}" for comm, cpu in m["others_top_cpu_s"])
            print(f"WARNING: other processes used CPU during {name} ({who}): rerun on a quiet machine")


# -- profiling with py-spy (--profile of set_admin_action.py and place_order.py) --

_CATEGORIES = (
    ("sqlalchemy/", "SQLAlchemy"),
    ("sqlite3/", "sqlite3 driver"),
    ("psycopg", "psycopg driver"),
    ("litestar/", "Litestar"),
    ("uvicorn/", "uvicorn"),
    ("httptools", "httptools"),
    ("msgspec", "msgspec"),
    ("autoliq/", "autoliq"),
    ("asyncio/", "asyncio"),
    ("uvloop", "uvloop"),
    ("threading.py", "threading"),
    ("queue.py", "queue"),
    ("concurrent/", "concurrent.futures"),
)


def _category(frame: str) -> str:
    for needle, name in _CATEGORIES:
        if needle in frame:
            return name
    return "other"


def _thread_role(thread_frame: str) -> str:
    """py-spy --threads names each stack's thread first: "thread (TID): NAME"."""
    name = thread_frame.split(":", 1)[-1].strip()
    if name.startswith("autoliq-writer"):
        return "writer thread"
    if name == "MainThread":
        return "event loop"
    if name.startswith(("asyncio_", "uvloop_", "ThreadPoolExecutor")):
        return "to_thread workers"
    return "other threads"


def parse_collapsed(path: Path) -> list[tuple[list[str], int]]:
    """py-spy's raw (collapsed) output: (frames outermost first, with the thread first; samples)."""
    out = []
    if not path.exists():
        return out
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            out.append((stack.split(";"), int(count)))
    return out


def _strip_line(frame: str) -> str:
    return re.sub(r":\d+\)$", ")", frame)


# Frames that only carry the stack (thread start, CLI, server loop): left out of the inclusive lists.
_PLUMBING = (
    "(threading.py)",
    "(<frozen runpy>)",
    "typer/",
    "click/",
    "(uvicorn/main.py)",
    "(uvicorn/server.py)",
    "(uvicorn/_compat.py)",
    "(asyncio/runners.py)",
    "(autoliq/cli/main.py)",
    "(autoliq/__main__.py)",
    "<module>",
)
# An executor thread waiting for work: py-spy may count it as running; it is not.
_IDLE_LEAVES = ("_worker (concurrent/futures/thread.py)",)


def summarize_profile(
    stacks: list[tuple[list[str], int]], wall_samples: int, top: int = 15, drop_idle: bool = True
) -> dict[str, Any]:
    """Self and inclusive time per function, per package and per thread (role)."""
    if drop_idle:
        stacks = [(st, c) for st, c in stacks if _strip_line(st[-1]) not in _IDLE_LEAVES]
    total = sum(c for _, c in stacks) or 1
    self_fn: Counter[str] = Counter()
    incl_fn: Counter[str] = Counter()
    self_cat: Counter[str] = Counter()
    incl_cat: Counter[str] = Counter()
    roles: Counter[str] = Counter()
    role_self: dict[str, Counter[str]] = defaultdict(Counter)
    role_incl: dict[str, Counter[str]] = defaultdict(Counter)
    for stack, count in stacks:
        frames = [_strip_line(f) for f in stack[1:]]  # stack[0] is the thread
        if not frames:
            continue
        role = _thread_role(stack[0])
        roles[role] += count
        self_fn[frames[-1]] += count
        self_cat[_category(frames[-1])] += count
        role_self[role][frames[-1]] += count
        for fn in set(frames):
            if not any(p in fn for p in _PLUMBING):
                incl_fn[fn] += count
                role_incl[role][fn] += count
        for cat in {_category(f) for f in frames}:
            incl_cat[cat] += count

    def share(counter: Counter[str], n: int = top, of: int = total) -> list[tuple[str, float]]:
        return [(k, round(100 * v / max(of, 1), 1)) for k, v in counter.most_common(n)]

    return {
        "samples": total,
        "wall_samples": wall_samples,
        "samples_per_wall_sample": round(total / max(wall_samples, 1), 3),
        "thread_roles_pct": share(roles),
        "self_by_category_pct": share(self_cat),
        "inclusive_by_category_pct": share(incl_cat),
        "self_top_pct": share(self_fn),
        "inclusive_top_pct": share(incl_fn, top + 10),
        # Within each thread (role): % of that thread's own samples.
        "per_role_self_top_pct": {r: share(c, 10, roles[r]) for r, c in role_self.items()},
        "per_role_inclusive_top_pct": {r: share(c, 15, roles[r]) for r, c in role_incl.items()},
    }


def profile_phase(
    phases: LoadPhases, server: Server, seconds: int, rate: int, workdir: Path
) -> dict[str, Any]:
    """Load the server while py-spy samples it three ways: on-CPU stacks, GIL holders, all stacks."""
    spy = Path(PYTHON).parent / "py-spy"
    exe = str(spy) if spy.exists() else shutil.which("py-spy")
    if exe is None:
        return {"skipped": "py-spy not installed (.venv/bin/pip install py-spy)"}
    modes = {"cpu": [], "gil": ["--gil"], "all": ["--idle"]}
    procs = {}
    for mode, extra in modes.items():
        out = workdir / f"profile-{server.name}-{mode}.txt"
        cmd = [exe, "record", "--pid", str(server.pid), "--duration", str(seconds), "--rate", str(rate)]
        cmd += ["--format", "raw", "--threads", "--function", "--output", str(out), *extra]
        log = (workdir / f"py-spy-{mode}.log").open("wb")
        procs[mode] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), out)
        log.close()
    time.sleep(0.5)  # let the samplers attach
    load = phases.run(seconds, server.pid)
    result: dict[str, Any] = {"load": brief(load), "rate_hz": rate, "seconds": seconds}
    for mode, (proc, out) in procs.items():
        try:
            proc.wait(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        stacks = parse_collapsed(out)
        result[mode] = summarize_profile(stacks, wall_samples=rate * seconds, drop_idle=mode != "all")
        result[mode]["raw_file"] = str(out)
    return result


def print_profile(name: str, profile: dict[str, Any]) -> None:
    if "skipped" in profile:
        print(f"\nprofile {name}: skipped ({profile['skipped']})")
        return
    load = profile["load"]
    print(
        f"\nprofile of {name} (py-spy {profile['rate_hz']} Hz, {profile['seconds']} s, under load: "
        f"{load['rps']:.0f} req/s, server CPU {load['server_cpu_cores']:.2f} cores; the samplers slow it)"
    )
    gil, cpu, every = profile["gil"], profile["cpu"], profile["all"]
    print(
        f"  GIL held (Python running) {100 * gil['samples_per_wall_sample']:.0f}% of the wall time; "
        f"by thread: {_pairs(gil['thread_roles_pct'])}"
    )
    print(f"  GIL-holding samples, innermost frame by package: {_pairs(gil['self_by_category_pct'][:8])}")
    print("  GIL-holding samples, top innermost functions:")
    for fn, pct in gil["self_top_pct"][:10]:
        print(f"    {pct:5.1f}%  {fn}")
    for role in ("writer thread", "event loop"):
        inclusive = gil["per_role_inclusive_top_pct"].get(role)
        if inclusive:
            print(f"  {role}, GIL-holding samples, inclusive (% of that thread's):")
            for fn, pct in inclusive[:10]:
                print(f"    {pct:5.1f}%  {fn}")
    print(
        f"  on-CPU samples (Python and C, GIL or not) by thread: {_pairs(cpu['thread_roles_pct'])}; "
        f"innermost frame by package: {_pairs(cpu['self_by_category_pct'][:6])}"
    )
    writer = every["per_role_self_top_pct"].get("writer thread")
    if writer:
        print("  writer thread, all samples (wall time, on- or off-CPU), innermost frame:")
        for fn, pct in writer[:6]:
            print(f"    {pct:5.1f}%  {fn}")


def _pairs(items: list[tuple[str, float]]) -> str:
    return ", ".join(f"{k} {v}%" for k, v in items)


def print_profiles(targets: dict[str, Any], args: argparse.Namespace) -> None:
    """`print_profile` for every target profiled, then where the raw stacks are (with --profile)."""
    for name, target in targets.items():
        if "profile" in target:
            print_profile(name, target["profile"])
    if args.profile:
        print(f"\npy-spy raw stacks (collapsed, for flamegraph tools): {args.profile_dir}")


def add_profile_arguments(parser: argparse.ArgumentParser) -> None:
    """--profile, --profile-seconds, --profile-rate (see `profile_phase`)."""
    parser.add_argument("--profile", action="store_true", help="then profile autoliq with py-spy under load")
    parser.add_argument("--profile-seconds", type=int, default=10)
    parser.add_argument("--profile-rate", type=int, default=100, help="py-spy samples per second")


def set_profile_dir(args: argparse.Namespace) -> None:
    """`args.profile_dir`: bench/results/profile-<time>/ for py-spy's raw stacks, created with --profile."""
    args.profile_dir = RESULTS_DIR / f"profile-{time.strftime('%Y%m%dT%H%M%S')}"
    if args.profile:
        args.profile_dir.mkdir(parents=True, exist_ok=True)


def seed_cmd(url: str, organization: str, admin: str, password: str, accounts: int) -> list[str]:
    """`python -m autoliq seed ...`: an organization, its admin, `accounts` accounts owned by the
    admin, on `url`."""
    return autoliq_cmd(
        "seed",
        "--organization",
        organization,
        "--admin-name",
        admin,
        "--admin-password",
        password,
        "--accounts",
        str(accounts),
        "--database-url",
        url,
    )


def seed_organization(
    url: str, organization: str, admin: str, password: str, accounts: int, env: dict[str, str] | None = None
) -> float:
    """`python -m autoliq seed` (see `seed_cmd`; `env` default `subprocess_env()`); the wall time
    it took."""
    started = time.perf_counter()
    cmd = seed_cmd(url, organization, admin, password, accounts)
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=600, env=env or subprocess_env(), check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"seed failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return time.perf_counter() - started


def organization_account_ids(url: str, organization: str) -> list[int]:
    """The ids of the organization's accounts, straight from the database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT a.id FROM account a JOIN organization o ON o.id = a.organization_id "
                    "WHERE o.name = :name ORDER BY a.id"
                ),
                {"name": organization},
            )
            return [int(r[0]) for r in rows]
    finally:
        engine.dispose()


def login(port: int, name: str, password: str) -> str:
    """An access token from `POST /v1/auth/accesstokenrequest`."""
    answer = post_json(
        f"http://127.0.0.1:{port}/v1/auth/accesstokenrequest", {"name": name, "password": password}
    )
    token = answer.get("accessToken")
    if not token:
        raise RuntimeError(f"login failed: {answer}")
    return str(token)


def snapshot_head_src(directory: Path) -> tuple[Path, str]:
    """Extract the committed `src/` of HEAD under `directory` (`git archive`, read-only), so servers
    started with `PYTHONPATH=<it>` run the last commit whatever happens to the working tree
    meanwhile (others' uncommitted work, mutation tests); (that src path, the short commit)."""
    import io
    import tarfile

    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_DIR, capture_output=True, text=True, timeout=10
    ).stdout.strip()
    if not head:
        raise RuntimeError("git rev-parse HEAD failed")
    out = subprocess.run(
        ["git", "archive", "--format=tar", head, "src"], cwd=REPO_DIR, capture_output=True, timeout=60
    )
    if out.returncode != 0:
        raise RuntimeError(f"git archive failed: {out.stderr.decode(errors='replace')}")
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        tar.extractall(directory, filter="data")
    src = directory / "src"
    check = subprocess.run(
        [PYTHON, "-c", "import autoliq; print(autoliq.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(PYTHONPATH=str(src)),
        check=False,
    )
    if not check.stdout.strip().startswith(str(src)):
        raise RuntimeError(f"the snapshot is not what `import autoliq` finds: {check.stdout} {check.stderr}")
    return src, head


# -- the command line of the scripts --


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """--duration, --warmup, --connections, --threads, --timeout, --accounts."""
    parser.add_argument("--duration", type=int, default=10, help="measured seconds per target (10)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per target (3)")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections (64)")
    parser.add_argument(
        "--threads", "--wrk-threads", type=int, default=1, help="wrk threads (1: the machine has 2 cores)"
    )
    parser.add_argument("--timeout", type=int, default=10, help="seconds before a request counts as failed")
    parser.add_argument("--accounts", type=int, default=1000, help="accounts the load is spread over (1000)")


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    """--postgres, --no-postgres, --no-sqlite."""
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help=f"server to use ({DEFAULT_POSTGRES})")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--no-sqlite", action="store_true", help="skip SQLite")


def add_generator_arguments(parser: argparse.ArgumentParser) -> None:
    """--load-generator, --no-install."""
    parser.add_argument(
        "--load-generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="wrk, the Python fallback, or auto: wrk when installed (apt-get installs it as root)",
    )
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")


def add_quiet_arguments(parser: argparse.ArgumentParser, unit: str = "target") -> None:
    """--noisy-retries (not with `unit` "backend": seed.py measures once), --quiet-wait."""
    if unit == "target":
        parser.add_argument(
            "--noisy-retries",
            type=int,
            default=3,
            help="measure a target again (up to N times) when other processes used CPU meanwhile (3)",
        )
    parser.add_argument(
        "--quiet-wait",
        type=int,
        default=120,
        help=f"wait up to this many seconds for an idle machine before each {unit} (0: don't)",
    )


def check_load_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with a usage error when the arguments of `add_load_arguments` are out of range."""
    if args.connections < 1 or args.duration < 1 or args.accounts < 1 or args.threads < 1:
        parser.error("--connections, --duration, --accounts and --threads must be positive")
    if args.threads > args.connections:
        parser.error("--threads must not exceed --connections")


def choose_load_generator(args: argparse.Namespace) -> str | None:
    """The load generator, "wrk" or "python", as `add_generator_arguments`' options say
    (installing wrk if need be); None when wrk was asked for and is not there."""
    if args.load_generator == "python":
        return "python"
    if ensure_wrk(install=not args.no_install):
        return "wrk"
    if args.load_generator == "wrk":
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return None
    print("wrk not available: using the Python asyncio load generator", file=sys.stderr)
    return "python"


def parse_load_command_line(
    parser: argparse.ArgumentParser, path: str
) -> tuple[argparse.Namespace, str, dict[str, Any]] | None:
    """Add `add_quiet_arguments`' options (last), parse and check the command line, choose the
    load generator: (the arguments, the generator, the results' start); None when wrk was asked
    for and is not there."""
    add_quiet_arguments(parser)
    args = parser.parse_args()
    check_load_arguments(parser, args)
    generator = choose_load_generator(args)
    if generator is None:
        return None
    return args, generator, results_header(path, generator, args)


def finish_load_results(prefix: str, results: dict[str, Any]) -> int:
    """Write the results (see `write_results`) and say where; the exit code: 1 when a target is
    invalid, else 0."""
    path = write_results(prefix, results)
    print(f"\nresults: {path}")
    valid = all(t.get("valid", True) for t in results["targets"].values())
    if not valid:
        print("INVALID RUN: see errors above", file=sys.stderr)
    return 0 if valid else 1


def results_header(path: str, generator: str, args: argparse.Namespace) -> dict[str, Any]:
    """The start of a load benchmark's results, before its targets."""
    return {
        "benchmark": "POST " + path,
        "environment": environment_info(),
        "load_generator": {
            "kind": generator,
            "version": wrk_version() if generator == "wrk" else "python asyncio (raw streams)",
            "threads": args.threads if generator == "wrk" else 1,
            "connections": args.connections,
        },
        "params": dict(vars(args)),
        "passed_through_settings": passed_through_settings(),
        "targets": {},
    }


def select_code(args: Any, workdir: Path) -> None:
    """`--code`: set `args.code_env` / `args.code_label` for a snapshot of HEAD's src/, or warn when
    the working tree's src/ has uncommitted changes (the figures then measure them)."""
    args.code_env, args.code_label = {}, None
    if args.code == "head":
        src, head = snapshot_head_src(workdir / "snapshot")
        args.code_env, args.code_label = {"PYTHONPATH": str(src)}, f"{head} (snapshot)"
        print(f"autoliq code: snapshot of HEAD {head}")
    elif code_version().endswith("+dirty"):
        print(
            "warning: src/ has uncommitted changes; the figures measure them (--code head: the last commit)",
            flush=True,
        )
