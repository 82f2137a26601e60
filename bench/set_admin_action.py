"""Throughput and latency of `POST /v1/accountRiskStatus/setadminautoliqaction`, over HTTP.

One run measures, with the same load generator and settings each time:

1. `bench/bare_app.py` (uvicorn + msgspec, no framework, no database): the floor;
2. autoliq on SQLite (a temporary file, WAL, synchronous=FULL);
3. with `--floor`, `bench/floor_admin_app.py`: the same durable work on SQLite (token, checks,
   status update, audit row, outbox row, group commit with fsync) written as directly as CPython
   allows, without autoliq's layers: what the work itself costs on this runtime;
4. autoliq on PostgreSQL (a throwaway database `autoliq_bench_<pid>` created on the server of
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
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import (
    FLOOR_TOKEN,
    PYTHON,
    Load,
    LoadPhases,
    Server,
    add_database_arguments,
    add_generator_arguments,
    add_load_arguments,
    add_profile_arguments,
    autoliq_cmd,
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
    print_profiles,
    profile_phase,
    run_bare,
    run_floor,
    seed_organization,
    set_profile_dir,
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


def floor_load(port: int, args: argparse.Namespace) -> Load:
    """The same load for `floor_admin_app.py` (its token, its accounts 1..N)."""
    return make_load(port, FLOOR_TOKEN, request_bodies(list(range(1, args.accounts + 1))), args)


# -- output --


def durable_text(target: dict[str, Any]) -> str:
    durable = target.get("durable")
    if durable is None:
        return "-"
    rows = target.get("audit_rows_added", target.get("rows_of_record"))
    acked = target["acknowledged_writes"]
    return f"{'yes' if durable else 'NO'} ({rows} rows / {acked} acked)"


def print_table(results: dict[str, Any]) -> None:
    targets = results["targets"]
    print_load_table(targets, 19, 20, "durable", durable_text, ".")
    for name, target in targets.items():
        if name in ("bare", "floor") or "skipped" in target:
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
            rows = target.get("audit_rows_added", target.get("rows_of_record"))
            acked = target["acknowledged_writes"]
            print(f"NOT DURABLE in {name}: {rows} rows < {acked} acknowledged")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_load_arguments(parser)
    add_database_arguments(parser)
    add_generator_arguments(parser)
    add_profile_arguments(parser)
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        metavar="MS",
        help="experiment: run autoliq with sys.setswitchinterval(MS/1000) (Python's default: 5 ms)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure bench/floor_admin_app.py: the same durable work on SQLite, no autoliq layers",
    )
    setup = parse_load_command_line(parser, PATH)
    if setup is None:
        return 2
    args, generator, results = setup
    targets = results["targets"]
    set_profile_dir(args)
    with tempfile.TemporaryDirectory(prefix="autoliq-bench-") as tmp:
        workdir = Path(tmp)
        print(f"load generator: {results['load_generator']['version']}, {args.connections} connections")
        print(f"bare app: warm-up {args.warmup} s, measuring {args.duration} s ...", flush=True)
        targets["bare"] = run_bare("bare_app.py", bare_load, args, generator, workdir)
        if args.floor:
            print("floor (the same durable work without autoliq's layers): load ...", flush=True)
            targets["floor"] = run_floor(
                "floor_admin_app.py",
                floor_load,
                "SELECT count(*) FROM account_risk_status_log",
                args,
                generator,
                workdir,
            )
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
        print_profiles(targets, args)
    return finish_load_results("set_admin_action", results)


if __name__ == "__main__":
    sys.exit(main())
