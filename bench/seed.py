"""How long `autoliq seed --accounts 100000` takes, on SQLite and on PostgreSQL.

Each backend gets a fresh database (a temporary SQLite file; a throwaway PostgreSQL database
`autoliq_seed_bench_<pid>` on the server of `--postgres`, dropped afterwards, skipped when none
answers). The CLI runs as a subprocess, exactly as a user runs it; the script times it from the
outside (wall time, including interpreter start, migrations and the admin's password hash) and
also reads the time the CLI itself reports for the seeding. A second run with `--accounts 0` on
another fresh database measures that fixed overhead. Afterwards the accounts and their risk
statuses are counted in the database.

    .venv/bin/python bench/seed.py
    .venv/bin/python bench/seed.py --accounts 1000000 --no-postgres

Results: a table on stdout, JSON under bench/results/. Exit code 1 when a count is wrong.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    add_database_arguments,
    add_quiet_arguments,
    environment_info,
    postgres_reachable,
    postgres_settings,
    seed_cmd,
    sqlalchemy_url,
    subprocess_env,
    system_cpu,
    throwaway_postgres,
    wait_until_quiet,
    write_results,
)

ORGANIZATION = "Seed Bench"
ADMIN_NAME = "seedadmin"
ADMIN_PASSWORD = "seed-bench-password"


def run_seed(url: str, accounts: int) -> dict[str, Any]:
    """`autoliq seed` on `url`: wall seconds, the seconds it reports, and its output."""
    cmd = seed_cmd(url, ORGANIZATION, ADMIN_NAME, ADMIN_PASSWORD, accounts)
    times0 = os.times()
    busy0, total0 = system_cpu()
    started = time.perf_counter()
    out = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=1800,
        env=subprocess_env(COLUMNS="200"),
        check=False,
    )
    wall = time.perf_counter() - started
    busy1, total1 = system_cpu()
    times1 = os.times()
    cli_cpu = times1.children_user - times0.children_user + times1.children_system - times0.children_system
    machine = (os.cpu_count() or 1) * (busy1 - busy0) / max(total1 - total0, 1.0)
    if out.returncode != 0:
        raise RuntimeError(f"autoliq seed failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    reported = re.search(r"in ([0-9.]+) s\s*$", out.stdout.strip())
    return {
        "wall_s": wall,
        "reported_s": float(reported.group(1)) if reported else None,
        "cli_cpu_cores": cli_cpu / wall,
        # PostgreSQL's backend for the CLI, and anyone else's work (skews the figure on SQLite).
        "rest_cpu_cores": max(0.0, machine - cli_cpu / wall),
        "output": out.stdout.strip().splitlines()[-1:] if out.stdout.strip() else [],
    }


def count(url: str) -> dict[str, int]:
    """The seeded organization's accounts, and how many of them have a risk status."""
    from sqlalchemy import create_engine, text

    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            params = {"name": ORGANIZATION}
            accounts = conn.execute(
                text(
                    "SELECT count(*) FROM account a JOIN organization o ON o.id = a.organization_id "
                    "WHERE o.name = :name"
                ),
                params,
            ).scalar_one()
            statuses = conn.execute(
                text(
                    "SELECT count(*) FROM account_risk_status s JOIN account a ON a.id = s.id "
                    "JOIN organization o ON o.id = a.organization_id WHERE o.name = :name"
                ),
                params,
            ).scalar_one()
            return {"accounts": int(accounts), "risk_statuses": int(statuses)}
    finally:
        engine.dispose()


def measure(name: str, url: str, overhead_url: str, accounts: int, quiet_wait: int) -> dict[str, Any]:
    """Seed `accounts` on `url` and 0 on `overhead_url` (both fresh); verify the counts."""
    before = wait_until_quiet(quiet_wait) if quiet_wait > 0 else None
    overhead = run_seed(overhead_url, 0)
    seeded = run_seed(url, accounts)
    counts = count(url)
    ok = counts["accounts"] == accounts and counts["risk_statuses"] == accounts
    wall, reported = seeded["wall_s"], seeded["reported_s"]
    return {
        "target": name,
        "accounts": accounts,
        "machine_cpu_before_cores": before,
        "wall_s": wall,
        "accounts_per_s_wall": accounts / wall,
        "reported_s": reported,
        "accounts_per_s_reported": accounts / reported if reported else None,
        "cli_cpu_cores": seeded["cli_cpu_cores"],
        "rest_cpu_cores": seeded["rest_cpu_cores"],
        "overhead_wall_s": overhead["wall_s"],
        "wall_minus_overhead_s": wall - overhead["wall_s"],
        "cli_output": seeded["output"],
        "counted": counts,
        "valid": ok,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100_000, help="accounts to seed (100000)")
    add_database_arguments(parser)
    add_quiet_arguments(parser, "backend")
    args = parser.parse_args()
    if args.accounts < 1:
        parser.error("--accounts must be positive")

    results: dict[str, Any] = {
        "benchmark": "autoliq seed",
        "environment": environment_info(),
        "params": dict(vars(args)),
        "targets": {},
    }
    targets = results["targets"]
    with tempfile.TemporaryDirectory(prefix="autoliq-seed-bench-") as tmp:
        if not args.no_sqlite:
            print(f"SQLite: seeding {args.accounts} accounts ...", flush=True)
            targets["sqlite"] = measure(
                "sqlite",
                f"sqlite:///{Path(tmp) / 'seed.db'}",
                f"sqlite:///{Path(tmp) / 'overhead.db'}",
                args.accounts,
                args.quiet_wait,
            )
    if not args.no_postgres:
        reason = postgres_reachable(args.postgres)
        if reason is not None:
            targets["postgresql"] = {"skipped": f"no PostgreSQL at {args.postgres}: {reason.splitlines()[0]}"}
        else:
            name = f"autoliq_seed_bench_{os.getpid()}"
            print(f"PostgreSQL (database {name}): seeding {args.accounts} accounts ...", flush=True)
            with (
                throwaway_postgres(args.postgres, name) as url,
                throwaway_postgres(args.postgres, name + "_0") as overhead_url,
            ):
                pg = measure("postgresql", url, overhead_url, args.accounts, args.quiet_wait)
                pg["postgres_settings"] = postgres_settings(url)
                targets["postgresql"] = pg

    print()
    header = (
        f"{'backend':<12} {'accounts':>9} {'wall s':>7} {'acc/s':>9} {'CLI s':>7} {'acc/s':>9} "
        f"{'0-acct s':>8} {'cli':>5} {'rest':>5}  verified"
    )
    print(header)
    print("-" * len(header))
    for name, t in targets.items():
        if "skipped" in t:
            print(f"{name:<12} skipped: {t['skipped']}")
            continue
        reported = "-" if t["reported_s"] is None else f"{t['reported_s']:.2f}"
        rate = "-" if t["accounts_per_s_reported"] is None else f"{t['accounts_per_s_reported']:.0f}"
        verdict = "yes" if t["valid"] else f"NO ({t['counted']})"
        print(
            f"{name:<12} {t['accounts']:>9} {t['wall_s']:>7.2f} {t['accounts_per_s_wall']:>9.0f} "
            f"{reported:>7} {rate:>9} {t['overhead_wall_s']:>8.2f} {t['cli_cpu_cores']:>5.2f} "
            f"{t['rest_cpu_cores']:>5.2f}  {verdict}"
        )
    print(
        "\nwall s = the CLI subprocess from start to exit; CLI s = the time it reports for the seeding"
        "\n(after start-up and migrations); 0-acct s = the same command with --accounts 0 (fixed overhead);"
        "\ncli / rest = CPU cores used by the CLI / by everything else (PostgreSQL, other people's work)."
    )
    path = write_results("seed", results)
    print(f"\nresults: {path}")
    valid = all(t.get("valid", True) for t in targets.values())
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
