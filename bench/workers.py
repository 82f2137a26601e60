"""Throughput of `autoliq serve --workers N` for N = 1, 2, 4, each against a bare ASGI app served by
the same number of uvicorn worker processes, in one run.

For each endpoint, each worker count N of `--workers-list` (1 2 4) and each engine:

- `bare`: `bench/bare_app.py --workers N` (setadminautoliqaction) or `bench/bare_order_app.py
  --workers N` (placeorder): uvicorn + msgspec, no framework, no database; the floor at N workers;
- `sqlite`: `python -m autoliq serve --workers N` on a fresh temporary SQLite file;
- `postgresql`: the same on a fresh throwaway database on `--postgres`'s server (dropped
  afterwards; `--no-postgres` skips it, and it is skipped with a note when no server answers).

The endpoints (`--endpoints`):

- `setadminautoliqaction`: as `set_admin_action.py`: the admin alternates `LockTradingImmediately`
  and `Normal` over `--accounts` seeded accounts; every answer must carry `accountRiskStatus` and no
  `errorText`; after a SIGKILL the audit log must hold a row per acknowledged write and every
  status must match its latest log row;
- `placeorder`: `place_order.py`'s `fill` case: market orders of one lot alternating Buy and Sell
  per account; every answer must carry an `orderId` and no `failureReason`; after a SIGKILL the
  database must hold a fill and an order per acknowledged order, and no order unfilled.

The servers run in a process group of their own: the SIGKILL after the load hits the supervisor
and every worker at once (os.killpg), and the database is read only once none of them is alive.

Every figure comes from the same load generator (wrk, `--wrk-threads` threads, 1 by default,
`--connections` keep-alive connections, a Lua script checking each answer). Reported per (endpoint,
server, N): req/s, p50/p99, autoliq/bare at that N, scaling vs the smallest N (for autoliq and for
bare), the CPU of the server's whole process tree (supervisor + workers), of PostgreSQL, of wrk,
the machine's busy cores, and how the connections and the CPU split over the worker processes.
A footnote flags figures where wrk used nearly a core per thread (generator-limited) or the
machine's CPUs were saturated.

    .venv/bin/python bench/workers.py                         # both endpoints, SQLite and PostgreSQL
    .venv/bin/python bench/workers.py --no-postgres --workers-list 1 2
    .venv/bin/python bench/workers.py --endpoints placeorder --wrk-threads 2
    .venv/bin/python bench/workers.py --code head             # a snapshot of HEAD's src/

Results: a table on stdout, JSON under bench/results/workers-<time>.json. Exit code 1 when a run is
invalid (a wrong answer, an error, a failed database check).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import place_order
import set_admin_action
from _common import (
    NOISE_CORES,
    Load,
    LoadPhases,
    Server,
    add_database_arguments,
    add_generator_arguments,
    add_load_arguments,
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
    process_tree,
    run_bare,
    seed_organization,
    select_code,
    sqlalchemy_url,
    start_ready,
    subprocess_env,
    throwaway_postgres,
)

ORGANIZATION = "Bench"
ADMIN_NAME = "benchadmin"
ADMIN_PASSWORD = "bench-admin-password"  # a throwaway database's only user
READY_PATH = "/_autoliq/docs/openapi.json"
GENERATOR_BUSY = 0.85  # wrk's CPU per thread above which the generator may be the limit
MACHINE_BUSY = 0.9  # the machine's busy share of its cores above which the CPUs are saturated


# -- the endpoints --


@dataclass(frozen=True)
class Endpoint:
    """One endpoint's load: the bare app and its load, how autoliq is prepared and loaded, what the
    database must say after the SIGKILL."""

    key: str
    path: str
    bare_app: str
    bare_load: Callable[[int, argparse.Namespace], Load]
    prepare: Callable[[int, str, argparse.Namespace], None]  # (port, token, args), after login
    load: Callable[[int, str, list[int], argparse.Namespace], Load]  # (port, token, account ids, args)
    counts: Callable[[str], dict[str, Any]]  # the database's counts (url)
    check: Callable[[dict[str, Any], dict[str, Any], int], dict[str, Any]]  # before, after, acked


def _no_preparation(port: int, token: str, args: argparse.Namespace) -> None:
    return None


def _admin_load(port: int, token: str, account_ids: list[int], args: argparse.Namespace) -> Load:
    return set_admin_action.make_load(port, token, set_admin_action.request_bodies(account_ids), args)


def _admin_check(before: dict[str, Any], after: dict[str, Any], acked: int) -> dict[str, Any]:
    rows = after["log_rows"] - before["log_rows"]
    mismatches = after["status_vs_latest_log_mismatches"]
    ok = rows >= acked and mismatches == 0
    text = f"{'yes' if ok else 'NO'} ({rows} rows / {acked} acked"
    text += f", {mismatches} status mismatches)" if mismatches else ")"
    return {"ok": ok, "text": text, "audit_rows_added": rows, "acknowledged": acked, "mismatches": mismatches}


def _set_price(port: int, token: str, args: argparse.Namespace) -> None:
    place_order.set_price(port, token, args.symbol, args.price)


FILL = place_order.CASES["fill"]


def _order_load(port: int, token: str, account_ids: list[int], args: argparse.Namespace) -> Load:
    return Load(
        "127.0.0.1",
        port,
        place_order.PATH,
        token,
        place_order.order_bodies(account_ids, FILL.actions, args.symbol),
        args.connections,
        args.threads,
        args.timeout,
        must_contain=FILL.must_contain,
        must_not_contain=FILL.must_not_contain,
    )


def _order_check(before: dict[str, Any], after: dict[str, Any], acked: int) -> dict[str, Any]:
    out = place_order.check_database(FILL, before, after, acked)
    if after["admin_actions"].get("LockTradingImmediately", 0):
        out["ok"] = False
        out["text"] += f"; UNEXPECTED LOCKS {after['admin_actions']}"
    return out


ENDPOINTS = {
    "setadminautoliqaction": Endpoint(
        "setadminautoliqaction",
        set_admin_action.PATH,
        "bare_app.py",
        set_admin_action.bare_load,
        _no_preparation,
        _admin_load,
        set_admin_action.audit_counts,
        _admin_check,
    ),
    "placeorder": Endpoint(
        "placeorder",
        place_order.PATH,
        "bare_order_app.py",
        place_order.bare_load,
        _set_price,
        _order_load,
        place_order.db_counts,
        _order_check,
    ),
}


# -- what happens during the load (halfway through each phase) --


def established_connections(pids: set[int], port: int) -> dict[int, int]:
    """{pid: TCP connections established on local `port`} for the processes `pids` (from
    /proc/net/tcp{,6} and each process's open file descriptors)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    out: dict[int, int] = {}
    for pid in pids:
        count = 0
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    count += 1
        except OSError:
            continue
        out[pid] = count
    return out


def make_probe(port: int, pg_url: str | None) -> Callable[[int], dict[str, Any]]:
    """The mid-run probe: connections per server process, and PostgreSQL's backends on the
    database (autoliq's pools in every worker)."""

    def probe(server_pid: int) -> dict[str, Any]:
        pids = process_tree(server_pid)
        conns = established_connections(pids, port)
        out: dict[str, Any] = {"connections_by_process": {str(p): n for p, n in sorted(conns.items())}}
        if pg_url is not None:
            from sqlalchemy import create_engine, text

            engine = create_engine(sqlalchemy_url(pg_url))
            try:
                with engine.connect() as conn:
                    out["pg_backends"] = conn.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND pid <> pg_backend_pid()"
                        )
                    ).scalar_one()
            finally:
                engine.dispose()
        return out

    return probe


# -- the targets --


def target_name(endpoint: str, server: str, workers: int) -> str:
    return f"{endpoint}-{server}-w{workers}"


def run_bare_target(
    endpoint: Endpoint, workers: int, args: argparse.Namespace, generator: str, workdir: Path
) -> dict[str, Any]:
    name = target_name(endpoint.key, "bare", workers)
    # The probe needs the port, known once the server is made: run_bare gives it the pid only.
    probe_port: dict[str, int] = {}

    def make_load(port: int, a: argparse.Namespace) -> Load:
        probe_port["port"] = port
        return endpoint.bare_load(port, a)

    def probe(server_pid: int) -> dict[str, Any]:
        return make_probe(probe_port["port"], None)(server_pid)

    result = run_bare(endpoint.bare_app, make_load, args, generator, workdir, workers, name, probe)
    result.update(endpoint=endpoint.key, server="bare", workers=workers)
    return result


def run_autoliq_target(
    endpoint: Endpoint,
    engine: str,
    url: str,
    workers: int,
    args: argparse.Namespace,
    generator: str,
    workdir: Path,
) -> dict[str, Any]:
    name = target_name(endpoint.key, engine, workers)
    seed_env = subprocess_env(**args.code_env)
    seed_s = seed_organization(url, ORGANIZATION, ADMIN_NAME, ADMIN_PASSWORD, args.accounts, env=seed_env)
    account_ids = organization_account_ids(url, ORGANIZATION)
    port = free_port()
    argv = autoliq_cmd("serve", "--database-url", url, "--port", str(port), "--host", "127.0.0.1")
    # --log-level info: uvicorn's "Application startup complete" once per worker (readiness); no
    # access log, so nothing is logged per request.
    argv += ["--workers", str(workers), "--log-level", "info"]
    server = Server(
        name,
        argv,
        port,
        workdir / f"{name}.log",
        subprocess_env(AUTOLIQ_ADMIN_PASSWORD=ADMIN_PASSWORD, AUTOLIQ_ENVIRONMENT="demo", **args.code_env),
        new_session=True,
    )
    code = args.code_label or code_version()
    start_ready(server, READY_PATH, workers)
    try:
        token = login(port, ADMIN_NAME, ADMIN_PASSWORD)
        endpoint.prepare(port, token, args)
        before = endpoint.counts(url)
        phases = LoadPhases(generator, endpoint.load(port, token, account_ids, args), workdir / f"{name}.lua")
        phases.mid_run_probe = make_probe(port, url if engine == "postgresql" else None)
        loaded = load_target(phases, server, args)
    finally:
        # SIGKILL to the whole process group (supervisor and workers at once), and wait until none
        # is alive: what was acknowledged must already be in the database.
        server.stop(signal.SIGKILL)
    after = endpoint.counts(url)
    check = endpoint.check(before, after, phases.acknowledged)
    code_after = args.code_label or code_version()
    result: dict[str, Any] = {
        "target": name,
        "endpoint": endpoint.key,
        "server": engine,
        "workers": workers,
        "code": code,
        "code_after": code_after,
        "accounts": len(account_ids),
        "seed_s": seed_s,
        **loaded,
        "errors": phases.errors,
        "acknowledged": phases.acknowledged,
        "db_check": check,
        "db_before": before,
        "db_after": after,
        "valid": phases.errors == 0 and check["ok"],
        "server_log_tail": server.log_tail(12),
    }
    if after.get("pg_xact_commit") is not None and before.get("pg_xact_commit") is not None:
        commits = after["pg_xact_commit"] - before["pg_xact_commit"]
        result["pg_commits"] = commits
        result["approx_requests_per_commit"] = round(phases.acknowledged / commits, 2) if commits else None
    return result


# -- the comparisons and the table --


def annotate(targets: dict[str, Any], workers_list: list[int]) -> None:
    """Set each measured target's `ratio_vs_bare` (autoliq / bare at the same N), `scaling` (req/s
    over its own at the smallest N) and `flags`."""
    base_n = min(workers_list)
    ncpu = os.cpu_count() or 1
    for target in targets.values():
        m = target.get("measured")
        if not m:
            continue
        ep, server, n = target["endpoint"], target["server"], target["workers"]
        bare = (targets.get(target_name(ep, "bare", n)) or {}).get("measured")
        base = (targets.get(target_name(ep, server, base_n)) or {}).get("measured")
        target["ratio_vs_bare"] = m["rps"] / bare["rps"] if server != "bare" and bare else None
        target["scaling"] = m["rps"] / base["rps"] if base else None
        threads = target.get("wrk_threads", 1)
        flags = []
        if m["loadgen_cpu_cores"] >= GENERATOR_BUSY * threads:
            flags.append("G")
        if m["machine_busy_cores"] >= MACHINE_BUSY * ncpu:
            flags.append("C")
        if unbalanced(m, n, m.get("mid_run")):
            flags.append("B")
        if m["others_cpu_cores"] > NOISE_CORES:
            flags.append("N")
        if not target.get("valid", True):
            flags.append("!")
        target["flags"] = "".join(flags)


def unbalanced(measured: dict[str, Any], workers: int, probed: Any) -> bool:
    """Whether the connections were spread unevenly over the workers: one of them without any, or
    one with more than twice its fair share (seen halfway through the measured run)."""
    if workers < 2 or not probed:
        return False
    conns = [n for n in (measured["mid_run"].get("connections_by_process") or {}).values() if n > 0]
    total = sum(conns)
    return bool(total) and (len(conns) < workers or max(conns) > 2 * total / workers)


def _split(values: dict[str, Any], minimum: float) -> str:
    shown = sorted((v for v in values.values() if v >= minimum), reverse=True)
    return "/".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in shown) or "-"


def check_text(target: dict[str, Any]) -> str:
    return target["db_check"]["text"] if "db_check" in target else "-"


def print_table(results: dict[str, Any], args: argparse.Namespace) -> None:
    targets = results["targets"]
    base_n = min(args.workers_list)
    header = (
        f"{'endpoint':<21} {'server':<10} {'W':>2} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'x W' + str(base_n):>5} {'vs bare':>7} {'srv':>5} {'pg':>5} {'wrk':>5} {'busy':>5} "
        f"{'other':>5} {'us/req':>6} {'req/cmt':>7} {'flags':>5}  check"
    )
    print()
    print(header)
    print("-" * len(header))
    previous = None
    for target in targets.values():
        if previous is not None and previous != target["endpoint"]:
            print()
        previous = target["endpoint"]
        lead = f"{target['endpoint']:<21} {target['server']:<10} {target['workers']:>2}"
        if "skipped" in target:
            print(f"{lead} skipped: {target['skipped']}")
            continue
        m = target["measured"]
        print(
            f"{lead} {m['rps']:>7.0f} {m['p50_ms']:>7.2f} {m['p99_ms']:>7.2f} "
            f"{fmt(target['scaling'], '.2f'):>5} {fmt(target['ratio_vs_bare'], '.3f'):>7} "
            f"{m['server_cpu_cores']:>5.2f} {m['postgres_cpu_cores']:>5.2f} {m['loadgen_cpu_cores']:>5.2f} "
            f"{m['machine_busy_cores']:>5.2f} {m['others_cpu_cores']:>5.2f} "
            f"{fmt(m['server_cpu_us_per_request'], '.0f'):>6} "
            f"{fmt(target.get('approx_requests_per_commit'), '.1f'):>7} {target['flags']:>5}  "
            f"{check_text(target)}"
        )
    ncpu = os.cpu_count() or 1
    print()
    print(
        f"W = worker processes; x W{base_n} = req/s over the same server's at W={base_n}; vs bare = autoliq"
        " req/s\nover bare's at the same W; srv = CPU cores of the server's process tree (supervisor and"
        " workers),\npg = PostgreSQL's processes, wrk = the load generator, busy = the whole machine"
        f" ({ncpu} cores),\nother = everything else (others' work: above {NOISE_CORES} the figures are"
        " skewed); us/req = server\nCPU per request (all processes); req/cmt = requests per PostgreSQL"
        " commit (pg_stat_database,\nwarm-up included); check = the database after the SIGKILL of the"
        " whole process group (acked counts\nthe warm-up too)."
    )
    flagged = {f for t in targets.values() for f in t.get("flags", "")}
    if "G" in flagged:
        print(
            f"G: wrk used >= {GENERATOR_BUSY} core per thread ({args.threads} thread(s)): the generator,"
            " not the server, may\n   be the limit; that req/s (for bare: the floor of the ratio) is"
            " generator-limited. Try --wrk-threads 2."
        )
    if "C" in flagged:
        print(
            f"C: the machine's CPUs were saturated (busy >= {MACHINE_BUSY:.0%} of {ncpu} cores): server,"
            " PostgreSQL and wrk\n   compete for the same cores, so more workers cannot add throughput."
        )
    if "B" in flagged:
        print(
            "B: the connections were unbalanced over the workers (one without any, or one with more"
            "\n   than twice its share): uvicorn's workers accept from one shared socket and wrk opens its"
            "\n   connections at once and keeps them, so whichever worker wakes first takes most; see the"
            "\n   split below."
        )
    if "N" in flagged:
        print("N: other processes used CPU during the run: rerun on a quiet machine.")
    if "!" in flagged:
        print("!: INVALID: errors or a failed database check (see below).")
    print_split(targets)
    for name, target in targets.items():
        if target.get("errors"):
            sample = (target.get("measured") or {}).get("error_sample") or ""
            print(f"ERRORS in {name}: {target['errors']}  first: {sample[:200]}")
        if "db_check" in target and not target["db_check"]["ok"]:
            print(f"DATABASE CHECK FAILED in {name}: {target['db_check']['text']}")
        if target.get("code") and target.get("code") != target.get("code_after"):
            print(f"WARNING: src/ changed during {name} ({target['code']} -> {target['code_after']})")


def print_split(targets: dict[str, Any]) -> None:
    """How the connections and the CPU split over the processes of each multi-worker server."""
    lines = []
    for name, target in targets.items():
        m = target.get("measured")
        if not m or target["workers"] < 2:
            continue
        conns = (m.get("mid_run") or {}).get("connections_by_process") or {}
        cpu = m.get("server_cpu_by_process_cores") or {}
        pg = (m.get("mid_run") or {}).get("pg_backends")
        line = (
            f"  {name:<36} connections {_split(conns, 1):<14} CPU cores {_split(cpu, 0.02):<24}"
            f" ({m['server_processes']} processes)"
        )
        if pg is not None:
            line += f", {pg} PostgreSQL backends"
        lines.append(line)
    if lines:
        print("\nper worker process, halfway through the measured run (descending; CPU below 0.02 left out):")
        print("\n".join(lines))


# -- the run --


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_load_arguments(parser)
    parser.set_defaults(duration=8, warmup=2)
    parser.add_argument(
        "--workers-list",
        type=int,
        nargs="+",
        default=[1, 2, 4],
        metavar="N",
        help="worker counts to measure (1 2 4); scaling is relative to the smallest",
    )
    parser.add_argument(
        "--endpoints",
        nargs="+",
        choices=tuple(ENDPOINTS),
        default=list(ENDPOINTS),
        help="setadminautoliqaction (lock/Normal) and placeorder (the fill case)",
    )
    parser.add_argument("--symbol", default="ESZ6", help="placeorder's contract (ESZ6; listed today)")
    parser.add_argument("--price", type=float, default=5000, help="its last price, on the tick (5000)")
    add_database_arguments(parser)
    add_generator_arguments(parser)
    parser.add_argument(
        "--code",
        choices=("worktree", "head"),
        default="worktree",
        help="autoliq as checked out, or a snapshot of HEAD's src/ (git archive)",
    )
    setup = parse_load_command_line(parser, " and ".join(e.path for e in ENDPOINTS.values()))
    if setup is None:
        return 2
    args, generator, results = setup
    if any(n < 1 or n > 64 for n in args.workers_list):
        parser.error("--workers-list: between 1 and 64")
    args.workers_list = sorted(set(args.workers_list))
    targets = results["targets"]
    endpoints = [ENDPOINTS[e] for e in ENDPOINTS if e in args.endpoints]
    engines = [e for e, skip in (("sqlite", args.no_sqlite), ("postgresql", args.no_postgres)) if not skip]
    pg_reason = postgres_reachable(args.postgres) if "postgresql" in engines else None
    with tempfile.TemporaryDirectory(prefix="autoliq-bench-workers-") as tmp:
        workdir = Path(tmp)
        select_code(args, workdir)
        results["code"] = args.code_label or code_version()
        print(
            f"load generator: {results['load_generator']['version']}, {args.threads} thread(s), "
            f"{args.connections} connections; warm-up {args.warmup} s, measuring {args.duration} s",
            flush=True,
        )
        for endpoint in endpoints:
            for n in args.workers_list:
                print(f"{endpoint.key}, {n} worker(s): bare app ...", flush=True)
                targets[target_name(endpoint.key, "bare", n)] = run_bare_target(
                    endpoint, n, args, generator, workdir
                )
                for engine in engines:
                    name = target_name(endpoint.key, engine, n)
                    if engine == "sqlite":
                        print(f"{endpoint.key}, {n} worker(s): autoliq on SQLite ...", flush=True)
                        url = f"sqlite:///{workdir / f'{name}.db'}"
                        targets[name] = run_autoliq_target(endpoint, engine, url, n, args, generator, workdir)
                        continue
                    if pg_reason is not None:
                        targets[name] = {
                            "endpoint": endpoint.key,
                            "server": engine,
                            "workers": n,
                            "skipped": f"no PostgreSQL at {args.postgres}: {pg_reason.splitlines()[0]}",
                        }
                        continue
                    db_name = f"autoliq_bench_workers_{os.getpid()}_{endpoint.key}_w{n}"
                    print(f"{endpoint.key}, {n} worker(s): autoliq on PostgreSQL ({db_name}) ...", flush=True)
                    with throwaway_postgres(args.postgres, db_name) as pg_url:
                        target = run_autoliq_target(endpoint, engine, pg_url, n, args, generator, workdir)
                        target["postgres_settings"] = postgres_settings(pg_url)
                    targets[name] = target
        for target in targets.values():
            target.setdefault("wrk_threads", args.threads if generator == "wrk" else 1)
        annotate(targets, args.workers_list)
        print_table(results, args)
    return finish_load_results("workers", results)


if __name__ == "__main__":
    sys.exit(main())
