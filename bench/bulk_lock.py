"""How fast the operator CLI locks and verifies 10,000 accounts on a local autoliq.

Two targets, each on a fresh SQLite file seeded with `--accounts` accounts (`autoliq seed`) and its
own `autoliq serve` on a free loopback port:

1. `cli`: `python -m autoliq accounts lock --all --json` exactly as an operator runs it (login, the
   account and status lists, then every account written and read back through the SDK: autoliq's
   bulk route, `--concurrency` accounts a request, 1,000 by default, read back by
   `accountRiskStatus/items`; the journal fsync'd, one line per account; requests through the pacing
   transport: unpaced on loopback; no progress bar: stderr is not a terminal). `--per-account` passes
   the CLI's `--per-account`: one request per account, as against Tradovate;
2. `sdk-loop`: the floor of that code path: a child process running the SDK alone over the same
   accounts, as many a call as the CLI has in flight: `AsyncClient.lock_many(..., verify=True)` (with
   `--per-account`: `AsyncClient.lock(..., verify=True)`, `--concurrency` at a time), and nothing
   else (no journal, no pacing, httpx's own single connection pool).

Per target: the client's wall time (interpreter start to exit), the run itself (the CLI's reported
`elapsedSeconds`: from the first write to the last read-back; the same span for the loop), accounts/s
over the run, requests sent, and CPU (cores, averaged over the client's wall time) used by the client,
by the server and by every other process (other people's tests on a shared machine: read the figures
with that column). Then the ratio cli/sdk-loop of accounts/s.

Checks, any failure making the run invalid (exit code 1): the client exits 0 and reports every
account done; the CLI's journal holds one `done` line per account; in the database every account of
the organization is `LockTradingImmediately` and has exactly one new log row (nothing sent twice).

    .venv/bin/python bench/bulk_lock.py                        # 10,000 accounts, the CLI's defaults
    .venv/bin/python bench/bulk_lock.py --per-account --concurrency 32   # one request per account
    .venv/bin/python bench/bulk_lock.py --accounts 2000 --concurrency 8 --targets cli

Results: a table on stdout, JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    Server,
    autoliq_cmd,
    code_version,
    environment_info,
    fmt,
    free_port,
    process_cpu_seconds,
    seed_organization,
    sqlalchemy_url,
    subprocess_env,
    system_cpu,
    wait_until_quiet,
    write_results,
)

ORGANIZATION = "Bulk Lock Bench"
ADMIN_NAME = "bulkbench"
ADMIN_PASSWORD = "bulk-bench-password"
LOCK = "LockTradingImmediately"
CLIENT_TIMEOUT = 1800


# -- the sdk-loop child --


async def sdk_loop(url: str, concurrency: int, per_account: bool) -> dict[str, Any]:
    """Lock every account with the SDK alone (`verify=True`): `concurrency` accounts a `lock_many`
    call, or (`per_account`) `concurrency` `lock` calls at a time."""
    from autoliq.client import ActionResult, AsyncClient

    password = os.environ["BULK_BENCH_PASSWORD"]
    async with AsyncClient(url, name=ADMIN_NAME, password=password, trust_env=False) as client:
        await client.login()
        ids = [a["id"] for a in await client.accounts()]
        done = 0
        started = time.perf_counter()
        if per_account:
            gate = asyncio.Semaphore(concurrency)

            async def lock(account_id: int) -> None:
                nonlocal done
                async with gate:
                    result = await client.lock(account_id, "bench sdk-loop", verify=True)
                    done += result.applied

            await asyncio.gather(*(lock(a) for a in ids))
            requests = 2 * len(ids) + 2
        else:
            requests = 2
            for start in range(0, len(ids), concurrency):
                chunk = ids[start : start + concurrency]
                outcomes = await client.lock_many(chunk, "bench sdk-loop", verify=True)
                done += sum(1 for o in outcomes if isinstance(o, ActionResult) and o.applied)
                requests += 1 + -(-len(chunk) // 500)
        elapsed = time.perf_counter() - started
    return {"selected": len(ids), "done": done, "elapsedSeconds": elapsed, "requests": requests}


# -- measuring one target --


def database_check(url: str) -> dict[str, Any]:
    """Every account of the organization locked, with exactly one log row each."""
    from sqlalchemy import create_engine, text

    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            params = {"name": ORGANIZATION}
            org = (
                "JOIN account a ON a.id = {t} JOIN organization o ON o.id = a.organization_id "
                "WHERE o.name = :name"
            )
            statuses = dict(
                conn.execute(
                    text(
                        "SELECT s.admin_action, count(*) FROM account_risk_status s "
                        + org.format(t="s.id")
                        + " GROUP BY s.admin_action"
                    ),
                    params,
                ).all()
            )
            per_account = dict(
                conn.execute(
                    text(
                        "SELECT n, count(*) FROM (SELECT l.account_id, count(*) AS n "
                        "FROM account_risk_status_log l "
                        + org.format(t="l.account_id")
                        + " GROUP BY l.account_id) x GROUP BY n"
                    ),
                    params,
                ).all()
            )
    finally:
        engine.dispose()
    return {"statuses": {str(k): v for k, v in statuses.items()}, "log_rows_per_account": per_account}


def run_client(argv: list[str], env: dict[str, str], server: Server) -> dict[str, Any]:
    """Run the client to completion; its output, wall time and the CPU split while it ran."""
    server_cpu0 = process_cpu_seconds(server.pid)
    busy0, total0 = system_cpu()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=CLIENT_TIMEOUT, env=env, check=False)
    wall = time.perf_counter() - started
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy1, total1 = system_cpu()
    server_cpu = process_cpu_seconds(server.pid) - server_cpu0
    client_cpu = (children1.ru_utime - children0.ru_utime) + (children1.ru_stime - children0.ru_stime)
    machine = (os.cpu_count() or 1) * (busy1 - busy0) / max(total1 - total0, 1.0)
    return {
        "returncode": out.returncode,
        "stdout": out.stdout,
        "stderr_tail": out.stderr[-2000:],
        "wall_s": wall,
        "client_cpu_cores": client_cpu / wall,
        "server_cpu_cores": server_cpu / wall,
        "others_cpu_cores": max(0.0, machine - (client_cpu + server_cpu) / wall),
    }


def measure(target: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url = f"sqlite:///{workdir / f'{target}.db'}"
    seed_s = seed_organization(url, ORGANIZATION, ADMIN_NAME, ADMIN_PASSWORD, args.accounts)
    port = free_port()
    server = Server(
        target,
        autoliq_cmd("serve", "--port", str(port), "--database-url", url),
        port,
        workdir / f"{target}-server.log",
        subprocess_env(AUTOLIQ_ADMIN_PASSWORD=ADMIN_PASSWORD, AUTOLIQ_ENVIRONMENT="demo"),
    )
    code = code_version()
    server.start("/_autoliq/health")
    base = f"http://127.0.0.1:{port}"
    env = subprocess_env(AUTOLIQ_PASSWORD=ADMIN_PASSWORD, BULK_BENCH_PASSWORD=ADMIN_PASSWORD)
    journal = workdir / f"{target}.jsonl"
    concurrency = args.concurrency or (32 if args.per_account else 1000)  # the CLI's loopback defaults
    if target == "cli":
        argv = autoliq_cmd(
            "accounts", "lock", "--all", "--reason", "bench bulk lock", "--json", "--journal", str(journal),
            "--url", base, "--user", ADMIN_NAME,
        )  # fmt: skip
        if args.concurrency:
            argv += ["--concurrency", str(args.concurrency)]
        if args.per_account:
            argv.append("--per-account")
    else:
        mode = "per-account" if args.per_account else "bulk"
        argv = [sys.executable, __file__, "--sdk-loop-child", base, str(concurrency), mode]
    try:
        before = {"load_average": os.getloadavg()}
        if args.quiet_wait > 0:
            before["machine_cpu_cores"] = round(wait_until_quiet(args.quiet_wait), 2)
        ran = run_client(argv, env, server)
    finally:
        server.stop()
    result: dict[str, Any] = {"target": target, "code": code, "accounts": args.accounts, "seed_s": seed_s}
    result.update(before=before, **{k: v for k, v in ran.items() if k != "stdout"})
    problems = []
    try:
        report = json.loads(ran["stdout"])
    except ValueError:
        report = {}
        problems.append(f"no JSON report (exit {ran['returncode']}): {ran['stderr_tail']}")
    done = report.get("counts", {}).get("done", report.get("done"))
    elapsed = report.get("elapsedSeconds")
    result.update(
        done=done,
        run_s=elapsed,
        accounts_per_s=(done / elapsed) if done and elapsed else None,
        requests=report.get("requests"),
    )
    if ran["returncode"] != 0:
        problems.append(f"exit code {ran['returncode']}")
    if done != args.accounts:
        problems.append(f"done {done} of {args.accounts}")
    if target == "cli":
        lines = [json.loads(line) for line in journal.read_text().splitlines()] if journal.exists() else []
        verified = {line["accountId"] for line in lines if line.get("outcome") == "done"}
        result["journal_done_lines"] = len(verified)
        if len(verified) != args.accounts:
            problems.append(f"journal: {len(verified)} done lines")
    check = database_check(url)
    result["database"] = check
    if check["statuses"] != {LOCK: args.accounts}:
        problems.append(f"statuses {check['statuses']}")
    if check["log_rows_per_account"] != {1: args.accounts}:
        problems.append(f"log rows per account {check['log_rows_per_account']}")
    result["problems"] = problems
    result["valid"] = not problems
    return result


def print_table(results: dict[str, Any]) -> None:
    rows = [
        ("target", "accounts", "wall s", "run s", "acc/s", "requests", "client", "server", "other", "check"),
    ]
    for r in results["targets"].values():
        rows.append(
            (
                r["target"],
                str(r["accounts"]),
                fmt(r["wall_s"], ".1f"),
                fmt(r["run_s"], ".1f"),
                fmt(r["accounts_per_s"], ".0f"),
                str(r["requests"]),
                fmt(r["client_cpu_cores"], ".2f"),
                fmt(r["server_cpu_cores"], ".2f"),
                fmt(r["others_cpu_cores"], ".2f"),
                "ok" if r["valid"] else "INVALID: " + "; ".join(r["problems"]),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.rjust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1])
    print("client/server/other: CPU cores over the client's wall time; load average before each run:")
    for r in results["targets"].values():
        print(f"  {r['target']}: {' '.join(f'{x:.2f}' for x in r['before']['load_average'])}")
    ratio = results.get("cli_vs_sdk_loop")
    if ratio is not None:
        print(f"cli / sdk-loop accounts/s: {ratio:.2f}")


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--sdk-loop-child":
        per_account = sys.argv[4] == "per-account"
        print(json.dumps(asyncio.run(sdk_loop(sys.argv[2], int(sys.argv[3]), per_account))))
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=10_000, help="accounts to lock (10,000)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="accounts in flight (default: the CLI's own: 1,000 a bulk request on loopback, 32 per account)",
    )
    parser.add_argument(
        "--per-account",
        action="store_true",
        help="one request per account (the CLI's --per-account), as against Tradovate",
    )
    parser.add_argument(
        "--targets",
        nargs="+",
        choices=("cli", "sdk-loop"),
        default=["cli", "sdk-loop"],
        help="what to measure",
    )
    parser.add_argument(
        "--quiet-wait",
        type=int,
        default=120,
        help="wait up to this many seconds for an idle machine before each target (0: don't)",
    )
    args = parser.parse_args()
    if args.accounts < 1 or (args.concurrency is not None and args.concurrency < 1):
        parser.error("--accounts and --concurrency must be positive")
    results: dict[str, Any] = {"environment": environment_info(), "arguments": vars(args), "targets": {}}
    with tempfile.TemporaryDirectory(prefix="autoliq-bench-bulk-") as tmp:
        for target in args.targets:
            print(f"{target}: seeding {args.accounts} accounts, locking them all ...", flush=True)
            results["targets"][target] = measure(target, args, Path(tmp))
    targets = results["targets"]
    if all(t in targets and targets[t]["accounts_per_s"] for t in ("cli", "sdk-loop")):
        results["cli_vs_sdk_loop"] = targets["cli"]["accounts_per_s"] / targets["sdk-loop"]["accounts_per_s"]
    print_table(results)
    path = write_results("bulk_lock", results)
    print(f"results: {path}")
    return 0 if all(t["valid"] for t in targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
