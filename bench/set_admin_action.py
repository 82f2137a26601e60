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
from pathlib import Path
from typing import Any

from _common import (
    PYTHON,
    RESULTS_DIR,
    Load,
    LoadPhases,
    Server,
    add_database_arguments,
    add_generator_arguments,
    add_load_arguments,
    autoliq_cmd,
    brief,
    code_version,
    finish_load_results,
    fmt,
    free_port,
    load_target,
    login,
    organization_account_ids,
    parse_load_command_line,
    postgres_reachable,
    postgres_settings,
    print_load_table,
    run_bare,
    seed_organization,
    sqlalchemy_url,
    subprocess_env,
    throwaway_postgres,
)

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


def make_load(port: int, token: str, bodies: list[bytes], args: argparse.Namespace) -> Load:
    """The load: every answer must be a successful setadminautoliqaction answer."""
    return Load(
        "127.0.0.1",
        port,
        PATH,
        token,
        bodies,
        args.connections,
        args.threads,
        args.timeout,
        must_contain=('"accountRiskStatus":{',),
        must_not_contain=('"errorText"',),
    )


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


# -- the targets --


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


def bare_load(port: int, args: argparse.Namespace) -> Load:
    """The same load for the bare app (which ignores the token), over `--accounts` made-up ids."""
    return make_load(
        port, "bare-app-ignores-the-token", request_bodies(list(range(1, args.accounts + 1))), args
    )


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
    seed_s = seed_organization(url, ORGANIZATION, ADMIN_NAME, ADMIN_PASSWORD, args.accounts)
    account_ids = organization_account_ids(url, ORGANIZATION)
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
        token = login(port, ADMIN_NAME, ADMIN_PASSWORD)
        load = make_load(port, token, request_bodies(account_ids), args)
        phases = LoadPhases(generator, load, workdir / "set_admin_action.lua")
        loaded = load_target(phases, server, args)
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
        **loaded,
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


def durable_text(target: dict[str, Any]) -> str:
    durable = target.get("durable")
    if durable is None:
        return "-"
    rows, acked = target["audit_rows_added"], target["acknowledged_writes"]
    return f"{'yes' if durable else 'NO'} ({rows} rows / {acked} acked)"


def print_table(results: dict[str, Any]) -> None:
    targets = results["targets"]
    print_load_table(targets, 19, 20, "durable", durable_text, ".")
    for name, target in targets.items():
        if name == "bare" or "skipped" in target:
            continue
        ratio = target.get("ratio_vs_bare")
        met = ratio is not None and ratio >= 0.5 and target["valid"]
        print(
            f"goal autoliq/bare >= 0.5 with every answer durable, {name}: "
            f"{'MET' if met else 'NOT MET'} (ratio {fmt(ratio, '.3f')}, "
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
    add_load_arguments(parser)
    add_database_arguments(parser)
    add_generator_arguments(parser)
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
    setup = parse_load_command_line(parser, PATH)
    if setup is None:
        return 2
    args, generator, results = setup
    targets = results["targets"]
    args.profile_dir = RESULTS_DIR / f"profile-{time.strftime('%Y%m%dT%H%M%S')}"
    if args.profile:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="autoliq-bench-") as tmp:
        workdir = Path(tmp)
        print(f"load generator: {results['load_generator']['version']}, {args.connections} connections")
        print(f"bare app: warm-up {args.warmup} s, measuring {args.duration} s ...", flush=True)
        targets["bare"] = run_bare("bare_app.py", bare_load, args, generator, workdir)
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
    return finish_load_results("set_admin_action", results)


if __name__ == "__main__":
    sys.exit(main())
