"""Throughput and latency of `POST /v1/accountRiskStatus/setadminautoliqaction`, over HTTP.

One run measures, with the same load generator and settings each time:

1. `bench/bare_app.py` (uvicorn + msgspec, no framework, no database): the floor;
2. autoliq on SQLite (a temporary file, WAL, synchronous=FULL);
3. autoliq on PostgreSQL (a throwaway database `autoliq_bench_<pid>` created on the server of
   `--postgres`, dropped afterwards; skipped with a note when no server answers).

Each server is a subprocess on a free loopback port. For autoliq the accounts are seeded with
`python -m autoliq seed` before the server starts, the admin logs in, and the requests cycle over
the accounts and over LockTradingImmediately / Normal. After a warm-up the load runs for a fixed
time; every answer is checked (HTTP 200 with `accountRiskStatus`, no `errorText`): any error makes
the run invalid. Then autoliq is killed with SIGKILL (no graceful flush) and the audit log
(`account_risk_status_log`) is counted straight from the database: every acknowledged write must
have its row.

The load generator is `wrk` (one thread, `--connections` keep-alive connections, a Lua script that
rotates the bodies and checks each answer); without wrk, a Python asyncio generator on raw streams
(slower: on the bare app it, not the server, may be the limit).

    .venv/bin/python bench/set_admin_action.py                      # 64 connections, 10 s each
    .venv/bin/python bench/set_admin_action.py --duration 20 --profile
    .venv/bin/python bench/set_admin_action.py --no-postgres --connections 32

Results: a table on stdout, JSON under bench/results/. Exit code 1 when a run is invalid.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (
    DEFAULT_POSTGRES,
    PYTHON,
    RESULTS_DIR,
    Server,
    autoliq_cmd,
    code_version,
    cpu_by_group,
    cpu_snapshot,
    environment_info,
    free_port,
    other_processes_cpu,
    passed_through_settings,
    post_json,
    postgres_reachable,
    postgres_settings,
    process_cpu_seconds,
    sqlalchemy_url,
    subprocess_env,
    system_cpu,
    throwaway_postgres,
    wait_until_quiet,
    write_results,
)

BENCH_DIR = Path(__file__).resolve().parent
PATH = "/v1/accountRiskStatus/setadminautoliqaction"
ACTIONS = ("LockTradingImmediately", "Normal")
ORGANIZATION = "Bench"
ADMIN_NAME = "benchadmin"
ADMIN_PASSWORD = "bench-admin-password"  # a throwaway database's only user


# -- the requests --


def request_bodies(account_ids: list[int]) -> list[bytes]:
    """2 x N bodies: every account with one action, then every account with the other, so each
    account alternates between a lock and Normal and consecutive requests hit different accounts."""
    bodies = []
    for action in ACTIONS:
        for account_id in account_ids:
            body = {
                "accountId": account_id,
                "adminAction": action,
                "adminActionReasonCode": "Other",
                "adminActionReason": "bench load",
            }
            bodies.append(json.dumps(body, separators=(",", ":")).encode())
    return bodies


def answer_ok(status: int, body: bytes) -> bool:
    """A successful setadminautoliqaction answer."""
    return status == 200 and b'"accountRiskStatus":{' in body and b'"errorText"' not in body


@dataclass
class Load:
    """What a load phase sends."""

    host: str
    port: int
    token: str
    bodies: list[bytes]
    connections: int
    threads: int
    timeout_s: int


# -- wrk --

_LUA = r"""
local path = "%(path)s"
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(token)s" }
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

function response(status, hdrs, body)
  if status == 200 and string.find(body, '"accountRiskStatus":{', 1, true)
     and not string.find(body, '"errorText"', 1, true) then
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


def write_lua(load: Load, directory: Path) -> Path:
    """The wrk script for `load`."""
    if not re.fullmatch(r"[A-Za-z0-9_\-.~+/=]+", load.token):
        raise ValueError("unexpected characters in the access token")
    bodies = ",\n".join(f"  [==[{b.decode()}]==]" for b in load.bodies)
    path = directory / "set_admin_action.lua"
    path.write_text(_LUA % {"path": PATH, "token": load.token, "bodies": bodies})
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


def run_wrk(load: Load, lua: Path, seconds: int) -> dict[str, Any]:
    """One wrk run; its summary."""
    url = f"http://{load.host}:{load.port}{PATH}"
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


# -- the Python fallback load generator --


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
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


async def _python_load(load: Load, seconds: float) -> dict[str, Any]:
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {load.host}:{load.port}\r\n"
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
                status, body = await _read_answer(reader)
                latencies.append(time.perf_counter_ns() - t0)
                last_done[0] = time.perf_counter()
                if answer_ok(status, body):
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
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] / 1e6

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


def run_python_load(load: Load, seconds: int) -> dict[str, Any]:
    """One run of the asyncio load generator in this process (uvloop when installed)."""
    before = os.times()
    try:
        import uvloop

        summary = uvloop.run(_python_load(load, seconds))
    except ImportError:
        summary = asyncio.run(_python_load(load, seconds))
    after = os.times()
    summary["loadgen_cpu_s"] = (after.user - before.user) + (after.system - before.system)
    return summary


# -- a measured phase --


class Phases:
    """Runs load phases against one server and keeps what they acknowledged."""

    def __init__(self, generator: str, load: Load, workdir: Path) -> None:
        self.generator = generator
        self.load = load
        self.lua = write_lua(load, workdir) if generator == "wrk" else None
        self.acknowledged = 0
        self.errors = 0

    def run(self, seconds: int, server_pid: int) -> dict[str, Any]:
        snap0 = cpu_snapshot()
        cpu0 = process_cpu_seconds(server_pid)
        busy0, total0 = system_cpu()
        if self.lua is not None:
            summary = run_wrk(self.load, self.lua, seconds)
        else:
            summary = run_python_load(self.load, seconds)
        busy1, total1 = system_cpu()
        cpu1 = process_cpu_seconds(server_pid)
        groups = cpu_by_group(snap0, cpu_snapshot(), server_pid)
        summary["postgres_cpu_cores"] = groups["postgres"] / summary["duration_s"]
        summary["others_top_cpu_s"] = groups["top_others"]
        # Other people's work on the machine during the run: it skews the figures.
        summary["others_cpu_cores"] = (
            max(0.0, groups["others"] - (summary["loadgen_cpu_s"] if self.lua is None else 0.0))
            / summary["duration_s"]
        )
        server_cpu = cpu1 - cpu0
        summary["server_cpu_s"] = server_cpu
        summary["server_cpu_cores"] = server_cpu / summary["duration_s"]
        summary["server_cpu_us_per_request"] = (
            server_cpu / summary["requests"] * 1e6 if summary["requests"] else None
        )
        ncpu = os.cpu_count() or 1
        summary["machine_busy_cores"] = ncpu * (busy1 - busy0) / max(total1 - total0, 1.0)
        summary["loadgen_cpu_cores"] = summary["loadgen_cpu_s"] / summary["duration_s"]
        self.acknowledged += summary["ok"]
        self.errors += summary["errors"]
        return summary


# -- profiling with py-spy --

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


def profile_phase(phases: Phases, server: Server, seconds: int, rate: int, workdir: Path) -> dict[str, Any]:
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
    result: dict[str, Any] = {"load": _brief(load), "rate_hz": rate, "seconds": seconds}
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


# -- the targets --


def settle(args: argparse.Namespace, server: Server) -> dict[str, Any]:
    """Before loading a server: wait (bounded) for the machine to be idle, and say if it was not."""
    if args.quiet_wait <= 0:
        return {}
    cores = wait_until_quiet(args.quiet_wait)
    out: dict[str, Any] = {"machine_cpu_before_cores": round(cores, 2)}
    if cores >= 0.3:
        busy = other_processes_cpu({os.getpid(), server.pid})
        out["busy_processes"] = busy
        print(
            f"  warning: the machine is not idle ({cores:.2f} cores busy before the load): "
            + "; ".join(f"{cmd} {c:.2f}" for cmd, c in busy),
            flush=True,
        )
    return out


def _brief(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k != "wrk_output"}


def login(port: int) -> str:
    answer = post_json(
        f"http://127.0.0.1:{port}/v1/auth/accesstokenrequest",
        {"name": ADMIN_NAME, "password": ADMIN_PASSWORD},
    )
    token = answer.get("accessToken")
    if not token:
        raise RuntimeError(f"login failed: {answer}")
    return str(token)


def bench_account_ids(url: str) -> list[int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT a.id FROM account a JOIN organization o ON o.id = a.organization_id "
                    "WHERE o.name = :name ORDER BY a.id"
                ),
                {"name": ORGANIZATION},
            )
            return [int(r[0]) for r in rows]
    finally:
        engine.dispose()


def audit_counts(url: str) -> dict[str, Any]:
    """Rows in the audit log, and statuses that disagree with their latest log row."""
    from sqlalchemy import create_engine, text

    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT count(*) FROM account_risk_status_log")).scalar_one()
            mismatched = conn.execute(
                text(
                    "SELECT count(*) FROM account_risk_status s JOIN account_risk_status_log l "
                    "ON l.id = (SELECT max(id) FROM account_risk_status_log m WHERE m.account_id = s.id) "
                    "WHERE l.admin_action <> s.admin_action"
                )
            ).scalar_one()
            out: dict[str, Any] = {"log_rows": int(rows), "status_vs_latest_log_mismatches": int(mismatched)}
            if conn.dialect.name == "sqlite":
                out["journal_mode"] = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            else:
                commits = conn.execute(
                    text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
                ).scalar()
                out["pg_xact_commit"] = int(commits) if commits is not None else None
            return out
    finally:
        engine.dispose()


NOISE_CORES = 0.1  # other processes' CPU during a run above which it is measured again


def measure(phases: Phases, server: Server, args: argparse.Namespace) -> tuple[dict[str, Any], list[Any]]:
    """The measured run; while other processes used CPU during it, wait for quiet and measure
    again (at most --noisy-retries times). (The run kept, the noisy runs set aside.)"""
    noisy: list[Any] = []
    measured = phases.run(args.duration, server.pid)
    for _ in range(args.noisy_retries):
        if measured["others_cpu_cores"] <= NOISE_CORES:
            break
        print(
            f"  {server.name}: others used {measured['others_cpu_cores']:.2f} cores: measuring again",
            flush=True,
        )
        noisy.append(_brief(measured))
        settle(args, server)
        measured = phases.run(args.duration, server.pid)
    return measured, noisy


def run_bare(args: argparse.Namespace, generator: str, workdir: Path) -> dict[str, Any]:
    port = free_port()
    server = Server(
        "bare",
        [PYTHON, str(BENCH_DIR / "bare_app.py"), "--port", str(port)],
        port,
        workdir / "bare.log",
        subprocess_env(),
    )
    server.start("/")
    try:
        load = Load(
            "127.0.0.1",
            port,
            "bare-app-ignores-the-token",
            request_bodies(list(range(1, args.accounts + 1))),
            args.connections,
            args.threads,
            args.timeout,
        )
        phases = Phases(generator, load, workdir)
        quiet = settle(args, server)
        warmup = phases.run(args.warmup, server.pid) if args.warmup > 0 else None
        measured, noisy = measure(phases, server, args)
    finally:
        server.stop()
    return {
        "target": "bare",
        **quiet,
        "warmup": _brief(warmup) if warmup else None,
        "measured": measured,
        "noisy_attempts": noisy,
        "errors": phases.errors,
        "valid": phases.errors == 0,
    }


def seed_accounts(url: str, accounts: int) -> float:
    started = time.perf_counter()
    cmd = autoliq_cmd(
        "seed",
        "--organization",
        ORGANIZATION,
        "--admin-name",
        ADMIN_NAME,
        "--admin-password",
        ADMIN_PASSWORD,
        "--accounts",
        str(accounts),
        "--database-url",
        url,
    )
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=subprocess_env(), check=False)
    if out.returncode != 0:
        raise RuntimeError(f"seed failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return time.perf_counter() - started


def serve_cmd(url: str, port: int, switch_interval_ms: float | None) -> list[str]:
    """`python -m autoliq serve ...`; with a GIL switch interval, the same entry point called after
    `sys.setswitchinterval` (an experiment: how much the writer thread waits for the GIL)."""
    args = ["serve", "--database-url", url, "--port", str(port), "--host", "127.0.0.1"]
    if switch_interval_ms is None:
        return autoliq_cmd(*args)
    code = (
        f"import sys; sys.setswitchinterval({switch_interval_ms / 1000!r}); "
        f"sys.argv = ['autoliq', *{args!r}]; "
        "from autoliq.cli.main import main; main()"
    )
    return [PYTHON, "-c", code]


def run_autoliq(
    name: str, url: str, args: argparse.Namespace, generator: str, workdir: Path
) -> dict[str, Any]:
    seed_s = seed_accounts(url, args.accounts)
    account_ids = bench_account_ids(url)
    before = audit_counts(url)
    port = free_port()
    server = Server(
        name,
        serve_cmd(url, port, args.switch_interval),
        port,
        workdir / f"{name}.log",
        subprocess_env(AUTOLIQ_ADMIN_PASSWORD=ADMIN_PASSWORD, AUTOLIQ_ENVIRONMENT="demo"),
    )
    code = code_version()  # others may commit while a run goes on: record what this server ran
    server.start("/_autoliq/docs/openapi.json")
    profile = None
    try:
        token = login(port)
        load = Load(
            "127.0.0.1",
            port,
            token,
            request_bodies(account_ids),
            args.connections,
            args.threads,
            args.timeout,
        )
        phases = Phases(generator, load, workdir)
        quiet = settle(args, server)
        warmup = phases.run(args.warmup, server.pid) if args.warmup > 0 else None
        measured, noisy = measure(phases, server, args)
        if args.profile:
            profile = profile_phase(phases, server, args.profile_seconds, args.profile_rate, args.profile_dir)
    finally:
        # SIGKILL: no graceful shutdown that could flush queued writes; what was acknowledged
        # must already be in the database.
        server.stop(signal.SIGKILL)
    after = audit_counts(url)
    new_rows = after["log_rows"] - before["log_rows"]
    durable = new_rows >= phases.acknowledged and after["status_vs_latest_log_mismatches"] == 0
    result: dict[str, Any] = {
        "target": name,
        "database": url.split("://", 1)[0],
        "code": code,
        "accounts": len(account_ids),
        "seed_s": seed_s,
        **quiet,
        "warmup": _brief(warmup) if warmup else None,
        "measured": measured,
        "noisy_attempts": noisy,
        "errors": phases.errors,
        "acknowledged_writes": phases.acknowledged,
        "audit_rows_added": new_rows,
        "unacknowledged_rows": new_rows - phases.acknowledged,
        "audit": after,
        "durable": durable,
        "valid": phases.errors == 0 and durable,
        "server_log_tail": server.log_tail(10),
    }
    if "pg_xact_commit" in after and before.get("pg_xact_commit") is not None:
        commits = (after["pg_xact_commit"] or 0) - before["pg_xact_commit"]
        result["pg_commits"] = commits
        result["approx_writes_per_commit"] = round(new_rows / commits, 2) if commits > 0 else None
    if profile is not None:
        result["profile"] = profile
    return result


# -- output --


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(results: dict[str, Any]) -> None:
    targets = results["targets"]
    bare = targets.get("bare", {}).get("measured")
    header = (
        f"{'target':<19} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'ok':>7} {'errors':>6} "
        f"{'srv':>5} {'pg':>5} {'other':>5} {'us/req':>6} {'vs bare':>7} {'p50 x':>5} {'p99 x':>5}  durable"
    )
    print()
    print(header)
    print("-" * len(header))
    for name, target in targets.items():
        if "skipped" in target:
            print(f"{name:<20} skipped: {target['skipped']}")
            continue
        m = target["measured"]
        ratio = m["rps"] / bare["rps"] if bare else None
        p50x = m["p50_ms"] / bare["p50_ms"] if bare and bare["p50_ms"] else None
        p99x = m["p99_ms"] / bare["p99_ms"] if bare and bare["p99_ms"] else None
        target["ratio_vs_bare"] = ratio
        durable = target.get("durable")
        durable_text = (
            "-"
            if durable is None
            else f"{'yes' if durable else 'NO'} ({target['audit_rows_added']} rows / "
            f"{target['acknowledged_writes']} acked)"
        )
        print(
            f"{name:<19} {m['rps']:>7.0f} {m['p50_ms']:>7.2f} {m['p99_ms']:>7.2f} {m['ok']:>7} "
            f"{target['errors']:>6} {m['server_cpu_cores']:>5.2f} {m['postgres_cpu_cores']:>5.2f} "
            f"{m['others_cpu_cores']:>5.2f} {_fmt(m['server_cpu_us_per_request'], '.0f'):>6} "
            f"{_fmt(ratio, '.3f'):>7} {_fmt(p50x, '.1f'):>5} {_fmt(p99x, '.1f'):>5}  {durable_text}"
        )
    print()
    print(
        "srv / pg / other = CPU cores used during the measured run by the server process, by PostgreSQL,"
        "\nby everything else (other people's work: above ~0.1 the figures are skewed); us/req = server"
        "\nCPU time per request; vs bare = req/s autoliq/bare; p50 x / p99 x = latency relative to bare."
    )
    noisy = [n for n, t in targets.items() if t.get("measured", {}).get("others_cpu_cores", 0) > NOISE_CORES]
    for n in noisy:
        m = targets[n]["measured"]
        who = ", ".join(f"{comm} {cpu / m['duration_s']:.2f}" for comm, cpu in m["others_top_cpu_s"])
        print(f"WARNING: other processes used CPU during {n} ({who}): rerun on a quiet machine")
    for name, target in targets.items():
        if name == "bare" or "skipped" in target:
            continue
        ratio = target.get("ratio_vs_bare")
        met = ratio is not None and ratio >= 0.5 and target["valid"]
        print(
            f"goal autoliq/bare >= 0.5 with every answer durable, {name}: "
            f"{'MET' if met else 'NOT MET'} (ratio {_fmt(ratio, '.3f')}, "
            f"{'valid' if target['valid'] else 'INVALID'})"
        )
        if "approx_writes_per_commit" in target:
            print(
                f"  {name}: ~{target['approx_writes_per_commit']} writes per commit "
                f"({target['pg_commits']} commits, pg_stat_database)"
            )
    for name, target in targets.items():
        if target.get("errors"):
            sample = (target.get("measured") or {}).get("error_sample") or ""
            print(f"ERRORS in {name}: {target['errors']}  first: {sample[:200]}")
        if target.get("durable") is False:
            rows, acked = target["audit_rows_added"], target["acknowledged_writes"]
            print(f"NOT DURABLE in {name}: {rows} rows < {acked} acknowledged")


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


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="measured seconds per target (10)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per target (3)")
    parser.add_argument("--connections", type=int, default=64, help="keep-alive connections (64)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1: the machine has 2 cores)")
    parser.add_argument("--timeout", type=int, default=10, help="seconds before a request counts as failed")
    parser.add_argument("--accounts", type=int, default=1000, help="accounts the load is spread over (1000)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help=f"server to use ({DEFAULT_POSTGRES})")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--no-sqlite", action="store_true", help="skip SQLite")
    parser.add_argument(
        "--load-generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="wrk, the Python fallback, or auto: wrk when installed (apt-get installs it as root)",
    )
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")
    parser.add_argument("--profile", action="store_true", help="then profile autoliq with py-spy under load")
    parser.add_argument("--profile-seconds", type=int, default=10)
    parser.add_argument("--profile-rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        metavar="MS",
        help="experiment: run autoliq with sys.setswitchinterval(MS/1000) (Python's default: 5 ms)",
    )
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
        help="wait up to this many seconds for an idle machine before each target (0: don't)",
    )
    args = parser.parse_args()
    if args.connections < 1 or args.duration < 1 or args.accounts < 1 or args.threads < 1:
        parser.error("--connections, --duration, --accounts and --threads must be positive")
    if args.threads > args.connections:
        parser.error("--threads must not exceed --connections")

    if args.load_generator == "python":
        generator = "python"
    elif ensure_wrk(install=not args.no_install):
        generator = "wrk"
    elif args.load_generator == "wrk":
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    else:
        print("wrk not available: using the Python asyncio load generator", file=sys.stderr)
        generator = "python"

    results: dict[str, Any] = {
        "benchmark": "POST " + PATH,
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
    targets = results["targets"]
    args.profile_dir = RESULTS_DIR / f"profile-{time.strftime('%Y%m%dT%H%M%S')}"
    if args.profile:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="autoliq-bench-") as tmp:
        workdir = Path(tmp)
        print(f"load generator: {results['load_generator']['version']}, {args.connections} connections")
        print(f"bare app: warm-up {args.warmup} s, measuring {args.duration} s ...", flush=True)
        targets["bare"] = run_bare(args, generator, workdir)
        if not args.no_sqlite:
            print(f"autoliq on SQLite: seeding {args.accounts} accounts, then load ...", flush=True)
            sqlite_url = f"sqlite:///{workdir / 'bench.db'}"
            targets["autoliq-sqlite"] = run_autoliq("autoliq-sqlite", sqlite_url, args, generator, workdir)
        if not args.no_postgres:
            reason = postgres_reachable(args.postgres)
            if reason is not None:
                targets["autoliq-postgresql"] = {
                    "skipped": f"no PostgreSQL at {args.postgres}: {reason.splitlines()[0]}"
                }
            else:
                name = f"autoliq_bench_{os.getpid()}"
                print(f"autoliq on PostgreSQL (database {name}): seeding, then load ...", flush=True)
                with throwaway_postgres(args.postgres, name) as pg_url:
                    pg = run_autoliq("autoliq-postgresql", pg_url, args, generator, workdir)
                    pg["postgres_settings"] = postgres_settings(pg_url)
                    targets["autoliq-postgresql"] = pg
        print_table(results)
        for name, target in targets.items():
            if "profile" in target:
                print_profile(name, target["profile"])
        if args.profile:
            print(f"\npy-spy raw stacks (collapsed, for flamegraph tools): {args.profile_dir}")
    path = write_results("set_admin_action", results)
    print(f"\nresults: {path}")
    valid = all(t.get("valid", True) for t in targets.values())
    if not valid:
        print("INVALID RUN: see errors above", file=sys.stderr)
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
