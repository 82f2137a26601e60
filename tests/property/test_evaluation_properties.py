"""The risk engine's set-based evaluation of many accounts writes what evaluating them one by one
wrote, row for row, and emits the same events in the same order.

`risk_engine.evaluate_accounts` reads its accounts in a few statements, decides in memory and writes
each table once for all of them; the reference (tests/reference_evaluation.py) evaluates one account
after the other through the per-account port, as the engine did before. Hypothesis draws a book of
several accounts: post-trade settings (alert, liquidate-only and auto-liq limits, trailing drawdown
in both modes, profit targets, doNotUnlock), cash with realized P&L, positions with or without a
price, working and suspended orders, running strategies, an admin action, a trailing mark, a layer
already set and rules already alerted today. Both evaluations run on the same database state (a
savepoint each, both engines) and must leave the same rows in every table an evaluation touches.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Table, func, select

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.repositories import SqlStore
from autoliq.adapters.sql.schema import (
    account_risk_status,
    account_risk_status_log,
    auto_liq_alert,
    auto_liq_layer,
    cash_balance,
    fill,
    order_strategy,
    position,
    risk_timer,
    trade_order,
)
from autoliq.domain.auto_liq import AutoLiqLayer, LayerState, Level
from autoliq.domain.events import AlertRaised, RiskStatusChanged, TradingEntityChanged
from autoliq.domain.instruments import PRODUCTS, listed_contracts
from autoliq.domain.model import RiskStatus
from autoliq.domain.orders import OrderType, OrdStatus, TimeInForce
from autoliq.domain.post_trade import AutoLiqSettings, TrailingMode
from autoliq.domain.states import AdminAction, Side
from autoliq.service import risk_engine
from tests import reference_evaluation
from tests.conftest import World
from tests.property.test_liquidation_properties import _position

SET_UP = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
CONTRACTS = [c for p in PRODUCTS[:3] for c in listed_contracts(p, SET_UP.date(), 2)]

limit = st.one_of(st.none(), st.integers(1, 60).map(lambda k: float(k * 50)))
rules = st.fixed_dictionaries(
    {
        "daily_loss_alert": limit,
        "daily_loss_liq_only": limit,
        "daily_loss_auto_liq": limit,
        "weekly_loss_auto_liq": limit,
        "daily_profit_auto_liq": limit,
        "trailing_max_drawdown": limit,
        "trailing_max_drawdown_mode": st.sampled_from([TrailingMode.EOD, TrailingMode.REAL_TIME]),
        "do_not_unlock": st.booleans(),
    }
)
lot = st.tuples(st.integers(1, 20), st.integers(1, 400))
held = st.tuples(
    st.sampled_from(range(len(CONTRACTS))), st.sampled_from([1, -1]), st.lists(lot, min_size=1, max_size=2)
)
resting = st.tuples(st.sampled_from(range(len(CONTRACTS))), st.sampled_from(list(Side)), st.booleans())
book = st.fixed_dictionaries(
    {
        "rules": rules,
        "realized": st.integers(-400_000, 400_000),
        "deposit": st.integers(-2_000_000, 2_000_000),
        "positions": st.lists(held, max_size=3, unique_by=lambda h: h[0]),
        "orders": st.lists(resting, max_size=3),
        "strategies": st.integers(0, 1),
        "admin": st.sampled_from([AdminAction.NORMAL, AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY]),
        "mark": st.one_of(st.none(), st.integers(4_000_000, 6_000_000).map(lambda c: c / 100)),
        "layer": st.booleans(),
        "alerted": st.booleans(),
    }
)
prices = st.lists(st.one_of(st.none(), st.integers(1, 400)), min_size=len(CONTRACTS), max_size=len(CONTRACTS))

NEW_IDS: tuple[Table, ...] = (trade_order, fill, account_risk_status_log, auto_liq_alert)
"""Tables whose rows an evaluation inserts with new ids (numbered from 0 to compare: PostgreSQL's
sequences do not roll back with the savepoint)."""


def _set_up(store: SqlStore, account_id: int, drawn: dict[str, Any]) -> None:
    day = SET_UP.date()
    store.save_auto_liq_settings(AutoLiqSettings(id=account_id, **drawn["rules"]), SET_UP)
    store.adjust_cash(account_id, 5_000_000 + drawn["deposit"], SET_UP, day)
    if drawn["realized"]:
        store.add_realized(account_id, drawn["realized"], SET_UP, day)
    for index, sign, lots in drawn["positions"]:
        c = CONTRACTS[index]
        store.save_position(account_id, c, _position(c, sign, lots), SET_UP, day)
    for index, side, suspended in drawn["orders"]:
        c = CONTRACTS[index]
        store.insert_order(
            account_id, c, side, OrderType.LIMIT, 1, TimeInForce.GTC,
            OrdStatus.SUSPENDED if suspended else OrdStatus.WORKING, False, SET_UP,
            limit_price=Decimal(10) * c.product.tick_size,
        )  # fmt: skip
    for k in range(drawn["strategies"]):
        store.insert_strategy(
            account_id, CONTRACTS[0].id, 2, Side.BUY, "{}", SET_UP,
            initiator_id=None, uuid=None, custom_tag50=f"s{k}",
        )  # fmt: skip
    status = RiskStatus(id=account_id, admin_action=drawn["admin"])
    if drawn["mark"] is not None:
        status = replace(status, max_net_liq=drawn["mark"])
    store.save_risk_status(status)
    if drawn["layer"]:
        store.save_auto_liq_layers(
            [AutoLiqLayer(account_id, LayerState.LIQUIDATE_ONLY, "dailyLossLiqOnly", SET_UP, None)]
        )
    if drawn["alerted"]:
        store.add_alert(account_id, SET_UP, day, "dailyLossAlert", Level.ALERT, "already")


def _max_ids(conn: Connection) -> dict[str, int]:
    return {t.name: conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one() for t in NEW_IDS}


def _rows(conn: Connection, ids: list[int], before: dict[str, int], events: list[Any]) -> tuple[Any, ...]:
    """Every row of the accounts in the tables an evaluation writes, new ids renumbered, and the
    events with the same renumbering."""
    renumber: dict[str, dict[int, tuple[str, int]]] = {}
    for t in NEW_IDS:
        fresh = conn.execute(select(t.c.id).where(t.c.id > before[t.name]).order_by(t.c.id)).scalars()
        renumber[t.name] = {i: ("new", n) for n, i in enumerate(fresh)}

    def rid(table: str, value: Any) -> Any:
        return renumber[table].get(value, value)

    tables = []
    for t in (
        *NEW_IDS,
        position,
        cash_balance,
        order_strategy,
        account_risk_status,
        auto_liq_layer,
        risk_timer,
    ):
        key = t.c.id if t.name == "account_risk_status" else t.c.account_id
        rows = conn.execute(select(t).where(key.in_(ids))).mappings().all()
        out = []
        for r in rows:
            row = dict(r)
            if t in NEW_IDS:
                row["id"] = rid(t.name, row["id"])
            if t is fill:
                row["order_id"] = rid("trade_order", row["order_id"])
            if t is risk_timer:
                del row["id"]  # deleted and added again: the one-by-one path draws more ids
            out.append(tuple(sorted((k, repr(v)) for k, v in row.items())))
        tables.append(sorted(out))
    named = []
    for e in events:
        if isinstance(e, TradingEntityChanged):
            table = {"order": "trade_order", "fill": "fill"}.get(e.entity_type)
            named.append(
                (
                    "entity",
                    e.entity_type,
                    e.event_type,
                    e.account_id,
                    rid(table, e.entity_id) if table else e.entity_id,
                )
            )
        elif isinstance(e, RiskStatusChanged):
            entry = asdict(e.log_entry)
            entry["id"] = rid("account_risk_status_log", entry["id"])
            named.append(
                ("status", e.organization_id, e.account_id, e.owner_user_id, repr(e.status), repr(entry))
            )
        elif isinstance(e, AlertRaised):
            alert = asdict(e.alert)
            alert["id"] = rid("auto_liq_alert", alert["id"])
            named.append(("alert", e.organization_id, e.owner_user_id, repr(alert)))
        else:
            assert is_dataclass(e)
            named.append(("other", repr(e)))
    return (*tables, named)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(books=st.lists(book, min_size=1, max_size=4), last=prices, eod=st.booleans())
def test_evaluation_when_set_based_then_same_rows_and_events_as_one_by_one(
    world: World, books: list[dict[str, Any]], last: list[int | None], eod: bool
) -> None:
    ids = world.demo_account_ids[: len(books)]
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn, conn.begin():
            store = SqlStore(conn)
            for account_id, drawn in zip(ids, books, strict=True):
                _set_up(store, account_id, drawn)
            for c, price in zip(CONTRACTS, last, strict=True):
                if price is not None:
                    store.set_contract_price(c.id, 1000 + price, SET_UP)
            before = _max_ids(conn)
            results = []
            found = []
            # Accounts in a drawn order, one twice: both paths evaluate each once, in that order.
            order = [*reversed(ids), ids[0]]
            for evaluate in (reference_evaluation.evaluate_accounts, risk_engine.evaluate_accounts):
                savepoint = conn.begin_nested()
                run = SqlStore(conn)
                done = evaluate(run, order, NOW, end_of_day=eod)
                found.append(
                    {
                        a: (x[0], x[1]) if isinstance(x, tuple) else (x.breaches, x.acted)
                        for a, x in done.items()
                    }
                )
                results.append(_rows(conn, ids, before, list(run.events)))
                savepoint.rollback()
            one_by_one, set_based = results
            assert set_based == one_by_one
            assert found[1] == found[0]
            conn.rollback()
    finally:
        engine.dispose()
