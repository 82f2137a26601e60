"""Throughput and latency of `POST /v1/order/placeorder`, over HTTP.

One run measures, with the same load generator and settings each time:

1. `bench/bare_order_app.py` (uvicorn + msgspec decoding a `PlaceOrder`, no framework, no
   database, a constant `{"orderId":...}` answer): the floor;
2. autoliq on SQLite (a temporary file, WAL, synchronous=FULL), two cases on fresh databases:
   - `reject`: every account locked (`LockTradingImmediately`), market Buy orders: every answer
     must be HTTP 200 with `"failureReason":"TradingLocked"` and the database must not change;
   - `fill`: accounts Normal, market orders alternating Buy and Sell per account (positions stay
     within a lot): every answer must be HTTP 200 with an `orderId` and no `failureReason`; after a
     SIGKILL the `fill` and `trade_order` tables must hold at least one row per acknowledged order;
3. with `--floor`, `bench/floor_order_app.py`: the `fill` case's durable work on SQLite (token,
   checks, order, fill, FIFO position, cash and outbox rows, group commit with fsync) written as
   directly as CPython allows, without autoliq's layers: what the work itself costs on this runtime;
4. the same two cases on PostgreSQL (a throwaway database per case on the server of `--postgres`,
   dropped afterwards; skipped with a note when no server answers).

`--cases invalid-contract` adds a diagnostic: an unknown symbol, refused (`InvalidContract`) after
the framework, the token and the account check but before the transaction: what a request costs
without the write path.

For each autoliq case the accounts are seeded with `python -m autoliq seed`, the server starts, the
organization admin logs in, sets the last price of `--symbol` (`POST /_autoliq/prices`) and, for
`reject`, locks every account (`setadminautoliqaction`). The load (after a warm-up, for a fixed
time) cycles over the accounts. Any wrong answer, socket error or timeout makes the run invalid.

The load generator is `wrk` (one thread, `--connections` keep-alive connections, a Lua script that
rotates the bodies and checks each answer); without wrk, a Python asyncio generator on raw streams
(slower: on the bare app it, not the server, may be the limit).

    .venv/bin/python bench/place_order.py                       # 64 connections, 10 s each
    .venv/bin/python bench/place_order.py --no-postgres --cases fill
    .venv/bin/python bench/place_order.py --no-postgres --cases fill --floor
    .venv/bin/python bench/place_order.py --code head      # a snapshot of HEAD's src/ (git archive)
    .venv/bin/python bench/place_order.py --no-postgres --profile  # then each case again under py-spy

Results: a table on stdout, JSON under bench/results/. Exit code 1 when a run is invalid.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (
    FLOOR_TOKEN,
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
    post_json,
    postgres_reachable,
    postgres_settings,
    print_load_table,
    print_profiles,
    profile_phase,
    run_bare,
    run_floor,
    seed_organization,
    select_code,
    set_profile_dir,
    sqlalchemy_url,
    subprocess_env,
    throwaway_postgres,
)

PATH = "/v1/order/placeorder"
LOCK_PATH = "/v1/accountRiskStatus/setadminautoliqaction"
PRICES_PATH = "/_autoliq/prices"
ORGANIZATION = "Bench"
ADMIN_NAME = "benchadmin"
ADMIN_PASSWORD = "bench-admin-password"  # a throwaway database's only user


@dataclass(frozen=True)
class Case:
    """One autoliq case: how the accounts are prepared, what is sent, what each answer must be."""

    name: str
    lock_accounts: bool
    actions: tuple[str, ...]
    must_contain: tuple[str, ...]
    must_not_contain: tuple[str, ...]
    goal_ratio: float | None
    books_orders: bool  # accepted orders: fills and orders in the database; else it must not change
    symbol: str | None = None  # None: --symbol


CASES = {
    "reject": Case(
        "reject",
        lock_accounts=True,
        actions=("Buy",),
        must_contain=('"failureReason":"TradingLocked"',),
        must_not_contain=('"orderId"', '"errorText"'),
        goal_ratio=0.5,
        books_orders=False,
    ),
    "fill": Case(
        "fill",
        lock_accounts=False,
        actions=("Buy", "Sell"),
        must_contain=('"orderId":',),
        must_not_contain=('"failureReason"', '"errorText"'),
        goal_ratio=0.3,
        books_orders=True,
    ),
    # A diagnostic, not run by default: an unknown symbol is refused after the framework, the token
    # and the account check but before the transaction, so its cost is everything but the write path.
    "invalid-contract": Case(
        "invalid-contract",
        lock_accounts=False,
        actions=("Buy",),
        must_contain=('"failureReason":"InvalidContract"',),
        must_not_contain=('"orderId"', '"errorText"'),
        goal_ratio=None,
        books_orders=False,
        symbol="ZZZ9",
    ),
}
DEFAULT_CASES = ("reject", "fill")


# -- the requests --


def order_bodies(account_ids: list[int], actions: tuple[str, ...], symbol: str) -> list[bytes]:
    """len(actions) x N market orders of one lot: every account with the first action, then every
    account with the next, so each account alternates (Buy, Sell, Buy, ...) and consecutive
    requests hit different accounts."""
    bodies = []
    for action in actions:
        for account_id in account_ids:
            body = {
                "accountId": account_id,
                "action": action,
                "symbol": symbol,
                "orderQty": 1,
                "orderType": "Market",
            }
            bodies.append(json.dumps(body, separators=(",", ":")).encode())
    return bodies


# -- setup through the API --


def set_price(port: int, token: str, symbol: str, price: float) -> Any:
    answer = post_json(
        f"http://127.0.0.1:{port}{PRICES_PATH}", {"prices": [{"symbol": symbol, "price": price}]}, token
    )
    prices = answer.get("prices") if isinstance(answer, dict) else None
    if not prices or prices[0].get("symbol") != symbol or float(prices[0].get("price")) != float(price):
        raise RuntimeError(f"setting the price of {symbol} failed: {answer}")
    return answer


def lock_accounts(port: int, token: str, account_ids: list[int]) -> None:
    """`LockTradingImmediately` on every account (8 requests at a time); each answer checked."""
    url = f"http://127.0.0.1:{port}{LOCK_PATH}"

    def lock(account_id: int) -> None:
        body = {
            "accountId": account_id,
            "adminAction": "LockTradingImmediately",
            "adminActionReasonCode": "Other",
            "adminActionReason": "bench",
        }
        answer = post_json(url, body, token)
        status = answer.get("accountRiskStatus") or {}
        if status.get("adminAction") != "LockTradingImmediately":
            raise RuntimeError(f"locking account {account_id} failed: {answer}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lock, account_ids))


# -- the database, read directly --


def db_counts(url: str) -> dict[str, Any]:
    """Orders and fills, filled orders without a fill, the largest net position, the accounts'
    admin actions (and PostgreSQL's commit counter)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            one = lambda sql: conn.execute(text(sql)).scalar()  # noqa: E731
            out: dict[str, Any] = {
                "orders": int(one("SELECT count(*) FROM trade_order")),
                "fills": int(one("SELECT count(*) FROM fill")),
                "orders_not_filled": int(one("SELECT count(*) FROM trade_order WHERE status <> 'Filled'")),
                "filled_orders_without_fill": int(
                    one(
                        "SELECT count(*) FROM trade_order o WHERE o.status = 'Filled' "
                        "AND NOT EXISTS (SELECT 1 FROM fill f WHERE f.order_id = o.id)"
                    )
                ),
                "max_abs_net_position": int(one("SELECT coalesce(max(abs(bought - sold)), 0) FROM position")),
                "positions": int(one("SELECT count(*) FROM position")),
            }
            rows = conn.execute(
                text(
                    "SELECT s.admin_action, count(*) FROM account_risk_status s "
                    "JOIN account a ON a.id = s.id JOIN organization o ON o.id = a.organization_id "
                    "WHERE o.name = :name GROUP BY s.admin_action"
                ),
                {"name": ORGANIZATION},
            )
            out["admin_actions"] = {str(r[0]): int(r[1]) for r in rows}
            if conn.dialect.name == "sqlite":
                out["journal_mode"] = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            else:
                commits = one("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
                out["pg_xact_commit"] = int(commits) if commits is not None else None
            return out
    finally:
        engine.dispose()


def check_database(case: Case, before: dict[str, Any], after: dict[str, Any], acked: int) -> dict[str, Any]:
    """What the database says after the SIGKILL, and whether it is right for the case."""
    orders = after["orders"] - before["orders"]
    fills = after["fills"] - before["fills"]
    out: dict[str, Any] = {"orders_added": orders, "fills_added": fills, "acknowledged": acked}
    if not case.books_orders:
        # A refused order changes nothing: no order, no fill.
        out["ok"] = orders == 0 and fills == 0
        out["text"] = f"{'unchanged' if out['ok'] else 'CHANGED'} ({orders} orders, {fills} fills added)"
    else:
        out["unacknowledged_fills"] = fills - acked
        out["ok"] = (
            fills >= acked
            and orders >= acked
            and after["filled_orders_without_fill"] == 0
            and after["orders_not_filled"] == 0
        )
        out["text"] = (
            f"{'yes' if out['ok'] else 'NO'} ({fills} fills, {orders} orders / {acked} acked; "
            f"max |net| {after['max_abs_net_position']})"
        )
    return out


# -- the targets --


def fill_load(port: int, token: str, args: argparse.Namespace) -> Load:
    """The `fill` case's load over `--accounts` ids 1..N, for an app other than autoliq."""
    return Load(
        "127.0.0.1",
        port,
        PATH,
        token,
        order_bodies(list(range(1, args.accounts + 1)), ("Buy", "Sell"), args.symbol),
        args.connections,
        args.threads,
        args.timeout,
        must_contain=('"orderId":',),
        must_not_contain=('"failureReason"', '"errorText"'),
    )


def bare_load(port: int, args: argparse.Namespace) -> Load:
    """For the bare app, which ignores the token."""
    return fill_load(port, "bare-app-ignores-the-token", args)


def floor_load(port: int, args: argparse.Namespace) -> Load:
    """For `floor_order_app.py` (its token; it lists ESZ6 only)."""
    if args.symbol != "ESZ6":
        raise SystemExit("--floor books ESZ6 only (floor_order_app.py's one contract)")
    return fill_load(port, FLOOR_TOKEN, args)


def run_case(
    name: str, case: Case, url: str, args: argparse.Namespace, generator: str, workdir: Path
) -> dict[str, Any]:
    seed_env = subprocess_env(**args.code_env)
    seed_s = seed_organization(url, ORGANIZATION, ADMIN_NAME, ADMIN_PASSWORD, args.accounts, env=seed_env)
    account_ids = organization_account_ids(url, ORGANIZATION)
    port = free_port()
    server = Server(
        name,
        autoliq_cmd("serve", "--database-url", url, "--port", str(port), "--host", "127.0.0.1"),
        port,
        workdir / f"{name}.log",
        subprocess_env(AUTOLIQ_ADMIN_PASSWORD=ADMIN_PASSWORD, AUTOLIQ_ENVIRONMENT="demo", **args.code_env),
    )
    # What this server runs: a snapshot of a commit, or the working tree as it is now (others may
    # commit or edit src/ while a run goes on; "+dirty" = uncommitted changes in src/).
    code = args.code_label or code_version()
    server.start("/_autoliq/docs/openapi.json")
    profile = None
    try:
        token = login(port, ADMIN_NAME, ADMIN_PASSWORD)
        set_price(port, token, args.symbol, args.price)
        if case.lock_accounts:
            lock_accounts(port, token, account_ids)
        before = db_counts(url)
        load = Load(
            "127.0.0.1",
            port,
            PATH,
            token,
            order_bodies(account_ids, case.actions, case.symbol or args.symbol),
            args.connections,
            args.threads,
            args.timeout,
            must_contain=case.must_contain,
            must_not_contain=case.must_not_contain,
        )
        phases = LoadPhases(generator, load, workdir / f"{name}.lua")
        loaded = load_target(phases, server, args)
        if args.profile:
            profile = profile_phase(phases, server, args.profile_seconds, args.profile_rate, args.profile_dir)
    finally:
        # SIGKILL: no graceful shutdown that could flush queued writes; what was acknowledged
        # must already be in the database.
        server.stop(signal.SIGKILL)
    after = db_counts(url)
    database = check_database(case, before, after, phases.acknowledged)
    expected_locked = len(account_ids) if case.lock_accounts else 0
    locks_ok = after["admin_actions"].get("LockTradingImmediately", 0) == expected_locked
    code_after = args.code_label or code_version()
    result: dict[str, Any] = {
        "target": name,
        "case": case.name,
        "database": url.split("://", 1)[0],
        "code": code,
        "code_after": code_after,
        "accounts": len(account_ids),
        "seed_s": seed_s,
        **loaded,
        "errors": phases.errors,
        "acknowledged_orders": phases.acknowledged,
        "db_check": database,
        "db_before": before,
        "db_after": after,
        "locks_as_expected": locks_ok,
        "valid": phases.errors == 0 and database["ok"] and locks_ok,
        "server_log_tail": server.log_tail(10),
    }
    if after.get("pg_xact_commit") is not None and before.get("pg_xact_commit") is not None:
        commits = after["pg_xact_commit"] - before["pg_xact_commit"]
        result["pg_commits"] = commits
        result["approx_requests_per_commit"] = (
            round(phases.acknowledged / commits, 2) if commits > 0 else None
        )
    if profile is not None:
        result["profile"] = profile
    return result


# -- output --


def database_text(target: dict[str, Any]) -> str:
    if "rows_of_record" in target:  # the floor: its fills after SIGKILL
        ok = "yes" if target["durable"] else "NO"
        return f"{ok} ({target['rows_of_record']} fills / {target['acknowledged_writes']} acked)"
    return target["db_check"]["text"] if "db_check" in target else "-"


def print_table(results: dict[str, Any]) -> None:
    targets = results["targets"]
    w = max(len("target"), *(len(n) for n in targets))
    print_load_table(
        targets,
        w,
        w,
        "database",
        database_text,
        ";\ndatabase = after SIGKILL: reject must add no order or fill, fill at least one of each per"
        "\nacknowledged order (acked counts the warm-up too).",
    )
    for name, target in targets.items():
        if name in ("bare", "floor") or "skipped" in target:
            continue
        goal = CASES[target["case"]].goal_ratio
        if goal is None:
            continue
        ratio = target.get("ratio_vs_bare")
        met = ratio is not None and ratio >= goal and target["valid"]
        print(
            f"goal autoliq/bare >= {goal} ({target['case']}, every answer checked), {name}: "
            f"{'MET' if met else 'NOT MET'} (ratio {fmt(ratio, '.3f')}, "
            f"{'valid' if target['valid'] else 'INVALID'})"
        )
        if target.get("approx_requests_per_commit") is not None:
            print(
                f"  {name}: ~{target['approx_requests_per_commit']} requests per commit "
                f"({target['pg_commits']} commits, pg_stat_database)"
            )
    for name, target in targets.items():
        if target.get("errors"):
            sample = (target.get("measured") or {}).get("error_sample") or ""
            print(f"ERRORS in {name}: {target['errors']}  first: {sample[:200]}")
        if "db_check" in target and not target["db_check"]["ok"]:
            print(f"DATABASE CHECK FAILED in {name}: {target['db_check']['text']}")
        if target.get("code") and target.get("code") != target.get("code_after"):
            print(f"WARNING: src/ changed during {name} ({target['code']} -> {target['code_after']})")
        if target.get("locks_as_expected") is False:
            print(f"UNEXPECTED ACCOUNT STATES in {name}: {target['db_after']['admin_actions']}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_load_arguments(parser)
    parser.add_argument("--symbol", default="ESZ6", help="contract ordered (ESZ6; must be listed today)")
    parser.add_argument("--price", type=float, default=5000, help="its last price, on the tick (5000)")
    parser.add_argument(
        "--cases",
        nargs="+",
        choices=tuple(CASES),
        default=list(DEFAULT_CASES),
        help="autoliq cases (reject fill; invalid-contract: a diagnostic refused before the transaction)",
    )
    add_database_arguments(parser)
    add_generator_arguments(parser)
    add_profile_arguments(parser)
    parser.add_argument(
        "--code",
        choices=("worktree", "head"),
        default="worktree",
        help="autoliq as checked out (worktree), or a snapshot of HEAD's src/ (git archive) that "
        "edits to the working tree during the run cannot reach",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure bench/floor_order_app.py: the fill's durable work on SQLite, no autoliq layers",
    )
    setup = parse_load_command_line(parser, PATH)
    if setup is None:
        return 2
    args, generator, results = setup
    targets = results["targets"]
    cases = [CASES[c] for c in CASES if c in args.cases]
    set_profile_dir(args)
    with tempfile.TemporaryDirectory(prefix="autoliq-bench-order-") as tmp:
        workdir = Path(tmp)
        select_code(args, workdir)
        results["code"] = args.code_label or code_version()
        print(f"load generator: {results['load_generator']['version']}, {args.connections} connections")
        print(f"bare app: warm-up {args.warmup} s, measuring {args.duration} s ...", flush=True)
        targets["bare"] = run_bare("bare_order_app.py", bare_load, args, generator, workdir)
        if args.floor:
            print("floor (the fill's durable work without autoliq's layers): load ...", flush=True)
            targets["floor"] = run_floor(
                "floor_order_app.py", floor_load, "SELECT count(*) FROM fill", args, generator, workdir
            )
        if not args.no_sqlite:
            for case in cases:
                name = f"sqlite-{case.name}"
                print(
                    f"autoliq on SQLite, {case.name}: seeding {args.accounts} accounts, then load ...",
                    flush=True,
                )
                url = f"sqlite:///{workdir / f'{name}.db'}"
                targets[name] = run_case(name, case, url, args, generator, workdir)
        if not args.no_postgres:
            reason = postgres_reachable(args.postgres)
            for case in cases:
                name = f"postgresql-{case.name}"
                if reason is not None:
                    targets[name] = {"skipped": f"no PostgreSQL at {args.postgres}: {reason.splitlines()[0]}"}
                    continue
                db_name = f"autoliq_bench_order_{os.getpid()}_{case.name}"
                print(
                    f"autoliq on PostgreSQL, {case.name} (database {db_name}): seeding, then load ...",
                    flush=True,
                )
                with throwaway_postgres(args.postgres, db_name) as pg_url:
                    target = run_case(name, case, pg_url, args, generator, workdir)
                    target["postgres_settings"] = postgres_settings(pg_url)
                    targets[name] = target
        print_table(results)
        print_profiles(targets, args)
    return finish_load_results("place_order", results)


if __name__ == "__main__":
    sys.exit(main())
