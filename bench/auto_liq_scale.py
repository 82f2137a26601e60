"""One price tick against many accounts holding the contract: how long post-trade risk takes to find
every breach, and to commit the liquidations.

For each size N (default 10,000, 100,000 and 1,000,000) and engine (SQLite; PostgreSQL when a
server answers), a fresh database holds N accounts, each long 1 ES bought at 5000 with $50,000 of
cash and a `dailyLossAutoLiq` limit: $1,000 for 99 % of them, $300 for every 100th. The state is
seeded straight into the tables as the service stores it, price triggers included (computed by
the service's own `price_triggers`; a sample is checked against the service's `evaluate_account`).
Then, in process, through `MarketData.set_prices` (the path of `POST /_autoliq/prices`):

1. `quiet`: ES to 4998.00 ($100 loss each): no account's trigger is reached;
2. `breach`: ES to 4993.00 ($350 loss each): exactly the 1 % with the $300 limit breach.

Measured, each in the same run on the same database:

- `detect`: the statement that finds the accounts a price reaches (`Store.candidates`, two index
  range scans), alone, timed over repeated runs (median);
- `baseline`: reading every holder of the contract (`SELECT account_id FROM position WHERE
  contract_id = ?`), what any approach that looks at each holder must at least do; the ratio
  `detect / baseline` is the figure to compare across machines;
- `tick` (with the garbage collector settled as in a server process: `api/gc_settle.py`): the whole
  `set_prices` call: detection, evaluation of each candidate, cancel-and-flatten
  of the breaching accounts through the gate, their locks, logs and alerts, and the durable commit.

Afterwards the run is checked account by account: each breaching account has exactly one closing
order and its fill at the breach price, is flat without triggers, has lost the $350 in cash and
realized P&L, is locked by its rule with one System log row and one alert; no other account has any
of these or lost its position and triggers. A failed check makes the run invalid (exit code 1).

    .venv/bin/python bench/auto_liq_scale.py                    # 10k, 100k, 1M; SQLite and PostgreSQL
    .venv/bin/python bench/auto_liq_scale.py --sizes 10000 100000 --no-postgres

Results: a table on stdout, JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, cast, func, insert, select, text

from _common import code_version, environment_info, postgres_reachable, throwaway_postgres, write_results
from autoliq.adapters.sql.db import create_db_engine, migrate
from autoliq.adapters.sql.schema import (
    account_risk_status_log,
    auto_liq_alert,
    auto_liq_layer,
    cash_balance,
    fill,
    position,
    trade_order,
    user_account_auto_liq,
)
from autoliq.adapters.sql.seed import add_accounts, ensure_organization, ensure_user
from autoliq.api.gc_settle import settle_gc
from autoliq.bootstrap import bootstrap
from autoliq.config import Settings
from autoliq.domain.auto_liq import Exposure, Mark, active_rules, price_triggers
from autoliq.domain.post_trade import AutoLiqSettings
from autoliq.domain.session import trade_date
from autoliq.domain.states import Role
from autoliq.service.clock import ManualClock
from autoliq.service.risk_engine import evaluate_account

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # a Tuesday, 09:00 in Chicago: the market is open
ENTRY = Decimal(5000)
QUIET, BREACH = 4998.0, 4993.0
WIDE, TIGHT = 1000.0, 300.0
CASH_CENTS = 5_000_000
BATCH = 20_000


def _batches(n: int) -> list[range]:
    return [range(i, min(i + BATCH, n)) for i in range(0, n, BATCH)]


def seed(database_url: str, n: int, contract_id: int, tick: Decimal) -> list[int]:
    """N accounts long 1 ES at 5000 with their settings, cash and price triggers; the tight ones."""
    migrate(database_url)
    engine = create_db_engine(database_url, writer=True, pool_size=1)
    day = trade_date(NOW)
    value = Decimal(50)
    ticks = int(ENTRY / tick)
    lots = f"[[1,{ticks}]]"
    triggers = {}
    for limit in (WIDE, TIGHT):
        rules = AutoLiqSettings(id=0, daily_loss_auto_liq=limit)
        exposure = Exposure(CASH_CENTS / 100, 0, 0, CASH_CENTS / 100, 0, float(value), float(value * ENTRY))
        active = active_rules(rules, None, frozenset())
        triggers[limit] = price_triggers(rules, exposure, Mark(None, None), active, tick)
    with engine.begin() as conn:
        org, _ = ensure_organization(conn, "Scale Firm", NOW)
        owner = ensure_user(conn, org, "scale-trader", Role.TRADER, lambda: "x", NOW)
        ensure_user(conn, org, "scale-admin", Role.ADMIN, lambda: "x", NOW)
        first, _ = add_accounts(conn, org, owner, n, "SCALE", NOW)
    assert first is not None
    ids = list(range(first, first + n))
    tight: list[int] = []
    for chunk in _batches(n):
        rows = [(ids[i], TIGHT if i % 100 == 0 else WIDE) for i in chunk]
        tight.extend(a for a, limit in rows if limit == TIGHT)
        with engine.begin() as conn:
            conn.execute(
                insert(user_account_auto_liq),
                [
                    {"id": a, "changes_locked": False, "do_not_unlock": False, "daily_loss_auto_liq": limit,
                     "updated": NOW}
                    for a, limit in rows
                ],
            )  # fmt: skip
            conn.execute(
                insert(cash_balance),
                [
                    {"account_id": a, "amount_cents": CASH_CENTS, "realized_cents": 0,
                     "week_realized_cents": 0, "amount_sod_cents": CASH_CENTS, "timestamp": NOW,
                     "trade_date": day}
                    for a, _ in rows
                ],
            )  # fmt: skip
            conn.execute(
                insert(position),
                [
                    {"account_id": a, "contract_id": contract_id, "lots": lots, "bought": 1,
                     "bought_ticks": ticks, "sold": 0, "sold_ticks": 0, "realized_ticks": 0, "timestamp": NOW,
                     "trade_date": day, "trigger_low_ticks": triggers[limit][0],
                     "trigger_high_ticks": triggers[limit][1]}
                    for a, limit in rows
                ],
            )  # fmt: skip
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return tight


def timed_reads(services: Any, contract_id: int, price_ticks: int, repeat: int) -> dict[str, Any]:
    """Median of `repeat` runs of the detection statement and of the every-holder baseline."""

    async def one(work: Any) -> tuple[float, Any]:
        start = time.perf_counter()
        result = await services.uow.read(work)
        return time.perf_counter() - start, result

    async def run() -> dict[str, Any]:
        detect, base = [], []
        found: Any = None
        holders = 0
        for _ in range(repeat):
            seconds, found = await one(lambda s: s.candidates(contract_id, price_ticks))
            detect.append(seconds)
            seconds, holders = await one(
                lambda s: len(
                    s.conn.execute(
                        select(position.c.account_id).where(position.c.contract_id == contract_id)
                    ).all()
                )
            )
            base.append(seconds)
        return {
            "detect_ms": statistics.median(detect) * 1000,
            "baseline_ms": statistics.median(base) * 1000,
            "candidates": len(found),
            "holders": holders,
        }

    return asyncio.run(run())


def check(database_url: str, tight: set[int], n: int, contract_id: int, tick: Decimal) -> list[str]:
    """After the breach tick, account by account: each tight account has exactly one closing order
    (an admin market sell of 1, filled) and its fill at the breach price, is flat with no price
    triggers left, has lost the $350 in realized P&L and cash, is locked by `dailyLossAutoLiq`, with one
    System log row and one alert; every other account has none of these and kept its position and
    triggers."""
    engine = create_db_engine(database_url, writer=False, pool_size=1)
    price = int(Decimal(str(BREACH)) / tick)
    loss = int((Decimal(str(BREACH)) - ENTRY) * 50 * 100)  # cents: 1 ES is $50 a point
    problems: list[str] = []

    def per_account(query: Any) -> dict[int, tuple[Any, ...]]:
        return {int(r[0]): tuple(r[1:]) for r in conn.execute(query)}

    with engine.connect() as conn:
        o, f, log, al = trade_order, fill, account_risk_status_log, auto_liq_alert
        admin = func.min(cast(o.c.admin, Integer))
        orders = per_account(
            select(o.c.account_id, func.count(), func.min(o.c.action), func.min(o.c.status),
                   func.sum(o.c.qty), func.min(o.c.fill_ticks), admin).group_by(o.c.account_id)
        )  # fmt: skip
        fills = per_account(
            select(f.c.account_id, func.count(), func.sum(f.c.qty), func.min(f.c.price_ticks)).group_by(
                f.c.account_id
            )
        )
        logs = per_account(
            select(log.c.account_id, func.count(), func.min(log.c.actor)).group_by(log.c.account_id)
        )
        alerts = per_account(
            select(al.c.account_id, func.count(), func.min(al.c.rule)).group_by(al.c.account_id)
        )
        layers = per_account(
            select(auto_liq_layer.c.account_id, auto_liq_layer.c.state, auto_liq_layer.c.rule)
        )
        cash = per_account(
            select(cash_balance.c.account_id, cash_balance.c.amount_cents, cash_balance.c.realized_cents)
        )
        p = position
        positions = per_account(
            select(p.c.account_id, p.c.lots, p.c.trigger_low_ticks, p.c.trigger_high_ticks).where(
                p.c.contract_id == contract_id
            )
        )
    engine.dispose()
    wanted = {
        "orders": (1, "Sell", "Filled", 1, price, 1),
        "fills": (1, 1, price),
        "logs": (1, "system"),
        "alerts": (1, "dailyLossAutoLiq"),
        "layers": ("Locked", "dailyLossAutoLiq"),
    }
    found = {"orders": orders, "fills": fills, "logs": logs, "alerts": alerts, "layers": layers}
    for name, rows in found.items():
        strangers = set(rows) - tight
        if strangers:
            problems.append(
                f"{name}: {len(strangers)} accounts that did not breach have some, e.g. {min(strangers)}"
            )
        wrong = [
            a
            for a in tight
            if tuple(int(v) if isinstance(v, bool) else v for v in rows.get(a, ())) != wanted[name]
        ]
        if wrong:
            problems.append(
                f"{name}: {len(wrong)} breaching accounts wrong, e.g. {wrong[0]}: {rows.get(wrong[0])}"
            )
    for account_id, (lots, low, high) in positions.items():
        breached = account_id in tight
        if breached and (lots != "[]" or low is not None or high is not None):
            problems.append(f"account {account_id}: breached but holds {lots} (triggers {low}, {high})")
        elif not breached and (lots == "[]" or (low, high) == (None, None)):
            problems.append(f"account {account_id}: did not breach but holds {lots} (triggers {low}, {high})")
        expected_cash = (CASH_CENTS + loss, loss) if breached else (CASH_CENTS, 0)
        if cash.get(account_id) != expected_cash:
            problems.append(f"account {account_id}: cash {cash.get(account_id)}, expected {expected_cash}")
        if len(problems) > 20:
            break
    if len(positions) != n:
        problems.append(f"{len(positions)} positions, expected {n}")
    return problems


def sample_check(services: Any, ids: list[int]) -> list[str]:
    """The seeded triggers are what the service itself stores: evaluate a sample, compare."""

    async def run() -> list[str]:
        def read(store: Any) -> dict[int, tuple[Any, Any]]:
            rows = store.conn.execute(
                select(
                    position.c.account_id, position.c.trigger_low_ticks, position.c.trigger_high_ticks
                ).where(position.c.account_id.in_(ids))
            )
            return {r[0]: (r[1], r[2]) for r in rows}

        before = await services.uow.read(read)
        await services.uow.write(lambda s: [evaluate_account(s, a, NOW) for a in ids])
        after = await services.uow.read(read)
        return [f"account {a}: seeded {before[a]}, service {after[a]}" for a in ids if before[a] != after[a]]

    return asyncio.run(run())


def run_case(database_url: str, n: int, repeat: int) -> dict[str, Any]:
    settings = Settings(database_url=database_url)
    probe = bootstrap(settings, clock=ManualClock(NOW))
    contract = probe.market.contract_by_name("ESZ6")
    tick = contract.product.tick_size
    probe.stop()
    started = time.perf_counter()
    tight = seed(database_url, n, contract.id, tick)
    seed_s = time.perf_counter() - started
    services = bootstrap(settings, clock=ManualClock(NOW), run_migrations=False)
    services.start()
    # As a server process does once its start-up is done (`autoliq serve`: api/gc_settle.py).
    settle_gc(settings.gc_gen0_threshold)
    try:
        problems = sample_check(services, [tight[0], tight[0] + 1, tight[-1]])
        out: dict[str, Any] = {"accounts": n, "breaching": len(tight), "seed_s": seed_s}
        for name, price in (("quiet", QUIET), ("breach", BREACH)):
            reads = timed_reads(services, contract.id, int(Decimal(str(price)) / tick), repeat)
            start = time.perf_counter()
            asyncio.run(services.market.set_prices([(contract.name, price)]))
            tick_s = time.perf_counter() - start
            out[name] = {
                **reads,
                "tick_ms": tick_s * 1000,
                "detect_over_baseline": reads["detect_ms"] / reads["baseline_ms"],
            }
        expected = {"quiet": 0, "breach": len(tight)}
        for name, count in expected.items():
            if out[name]["candidates"] != count:
                problems.append(f"{name}: {out[name]['candidates']} candidates, expected {count}")
    finally:
        services.stop()
    problems += check(database_url, set(tight), n, contract.id, tick)
    out["problems"] = problems
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=7, help="runs of each timed read (median)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    engines = ["sqlite"]
    if not args.no_postgres:
        reason = postgres_reachable(args.postgres)
        if reason is None:
            engines.append("postgres")
        else:
            print(f"PostgreSQL skipped: {reason}", file=sys.stderr)
    results: list[dict[str, Any]] = []
    for engine in engines:
        for n in args.sizes:
            print(f"{engine} {n:,} accounts ...", file=sys.stderr, flush=True)
            if engine == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    result = run_case(f"sqlite:///{Path(tmp) / 'scale.db'}", n, args.repeat)
            else:
                with throwaway_postgres(args.postgres, f"autoliq_scale_{n}") as url:
                    result = run_case(url, n, args.repeat)
            results.append({"engine": engine, **result})
    header = (
        f"{'engine':8} {'accounts':>9} {'breach':>6} | {'detect ms':>9} {'all-holders ms':>14} {'ratio':>6} "
        f"| {'quiet tick ms':>13} {'breach tick ms':>14} {'per liquidation ms':>18}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        b, q = r["breach"], r["quiet"]
        per = b["tick_ms"] / max(1, r["breaching"])
        print(
            f"{r['engine']:8} {r['accounts']:>9,} {r['breaching']:>6,} | {b['detect_ms']:>9.2f} "
            f"{b['baseline_ms']:>14.1f} {b['detect_over_baseline']:>6.3f} | {q['tick_ms']:>13.1f} "
            f"{b['tick_ms']:>14.0f} {per:>18.2f}"
        )
        for problem in r["problems"]:
            print(f"  INVALID: {problem}")
    path = write_results(
        "auto_liq_scale", {"code": code_version(), "environment": environment_info(), "results": results}
    )
    print(f"results: {path}")
    return 1 if any(r["problems"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
