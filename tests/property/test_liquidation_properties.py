"""The risk engine's set-based liquidation writes what the row-by-row one wrote, row for row.

It writes each table in one statement (all closing orders, then all fills, then the positions, then
the cash) where the row-by-row reference (tests/reference_liquidation.py) writes order, fill,
position and cash for one position after another: Hypothesis draws an account's positions (long,
short, several lots, with or without a price), working and suspended orders and running strategies;
both liquidations run on the same database state (a savepoint each, both engines) and must leave the
same rows in every table they touch, and emit the same events in the same order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, func, select

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.repositories import SqlStore
from autoliq.adapters.sql.schema import cash_balance, fill, order_strategy, position, trade_order
from autoliq.domain.accounting import Lot, PositionState
from autoliq.domain.instruments import PRODUCTS, ContractSpec, listed_contracts
from autoliq.domain.orders import OrderType, OrdStatus, TimeInForce
from autoliq.domain.states import Side
from autoliq.service import risk_engine
from tests import reference_liquidation
from tests.conftest import World

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
CONTRACTS = [c for p in PRODUCTS[:4] for c in listed_contracts(p, NOW.date(), 2)]

lot = st.tuples(st.integers(1, 50), st.integers(1, 400))
held = st.tuples(
    st.sampled_from(range(len(CONTRACTS))),
    st.sampled_from([1, -1]),
    st.lists(lot, min_size=1, max_size=3),
    st.one_of(st.none(), st.integers(1, 400)),  # the last price in ticks above the tick floor
)
resting = st.tuples(
    st.sampled_from(range(len(CONTRACTS))), st.sampled_from(list(Side)), st.integers(1, 9), st.booleans()
)


def _position(c: ContractSpec, sign: int, lots: list[tuple[int, int]]) -> PositionState:
    tick = c.product.tick_size
    held_lots = tuple(Lot(sign * q, (1000 + t) * tick) for q, t in lots)
    qty = sum(q for q, _ in lots)
    value = sum(((1000 + t) * tick * q for q, t in lots), Decimal(0))
    if sign > 0:
        return PositionState(held_lots, bought=qty, bought_value=value)
    return PositionState(held_lots, sold=qty, sold_value=value)


def _rows(conn: Connection, account_id: int, before: tuple[int, int], events: list[Any]) -> tuple[Any, ...]:
    """Every row of the account in the tables a liquidation writes. The ids of the orders and fills
    it created are numbered from 0 in id order (PostgreSQL's sequences do not roll back with the
    savepoint: the second run draws later ids); so are they in the events."""
    orders, fills, positions, cash, strategies = (
        [
            tuple(r)
            for r in conn.execute(select(t).where(t.c.account_id == account_id).order_by(*t.primary_key))
        ]
        for t in (trade_order, fill, position, cash_balance, order_strategy)
    )
    new_orders = {r[0]: n for n, r in enumerate(r for r in orders if r[0] > before[0])}
    new_fills = {r[0]: n for n, r in enumerate(r for r in fills if r[0] > before[1])}
    orders = [(("new", new_orders[r[0]]) if r[0] in new_orders else r[0], *r[1:]) for r in orders]
    fills = [
        (("new", new_fills[r[0]]), ("new", new_orders[r[1]]), *r[2:]) for r in fills if r[0] in new_fills
    ]
    named = [
        (
            e.entity_type,
            e.event_type,
            e.account_id,
            ("new", {"order": new_orders, "fill": new_fills}[e.entity_type][e.entity_id])
            if e.entity_type in ("order", "fill") and e.entity_id > before[e.entity_type == "fill"]
            else e.entity_id,
        )
        for e in events
    ]
    return tuple(map(tuple, (orders, fills, positions, cash, strategies, named)))


def _last_ids(conn: Connection) -> tuple[int, int]:
    return (
        conn.execute(select(func.coalesce(func.max(trade_order.c.id), 0))).scalar_one(),
        conn.execute(select(func.coalesce(func.max(fill.c.id), 0))).scalar_one(),
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    positions=st.lists(held, max_size=5, unique_by=lambda h: h[0]),
    orders=st.lists(resting, max_size=5),
    strategies=st.integers(0, 2),
)
def test_liquidation_when_set_based_then_same_rows_and_events_as_row_by_row(
    world: World,
    positions: list[tuple[int, int, list[tuple[int, int]], int | None]],
    orders: list[tuple[int, Side, int, bool]],
    strategies: int,
) -> None:
    account_id = world.demo_account_ids[0]
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn, conn.begin():
            store = SqlStore(conn)
            day = NOW.date()
            for index, sign, lots, last in positions:
                c = CONTRACTS[index]
                store.save_position(account_id, c, _position(c, sign, lots), NOW, day)
                if last is not None:
                    store.set_contract_price(c.id, 1000 + last, NOW)
            for index, side, qty, suspended in orders:
                c = CONTRACTS[index]
                store.insert_order(
                    account_id, c, side, OrderType.LIMIT, qty, TimeInForce.GTC,
                    OrdStatus.SUSPENDED if suspended else OrdStatus.WORKING, False, NOW,
                    limit_price=Decimal(1) * c.product.tick_size * 10,
                )  # fmt: skip
            for k in range(strategies):
                store.insert_strategy(
                    account_id, CONTRACTS[0].id, 2, Side.BUY, "{}", NOW,
                    initiator_id=None, uuid=None, custom_tag50=f"s{k}",
                )  # fmt: skip
            contracts = {c.id: c for c in CONTRACTS}
            later = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)

            results = []
            before = _last_ids(conn)
            for liquidate in (reference_liquidation.liquidate_account, risk_engine.liquidate_account):
                savepoint = conn.begin_nested()
                run = SqlStore(conn)
                liquidate(run, account_id, contracts, later)
                results.append(_rows(conn, account_id, before, list(run.events)))
                savepoint.rollback()
            row_by_row, set_based = results
            assert set_based == row_by_row
            conn.rollback()
    finally:
        engine.dispose()


def test_liquidation_when_no_price_then_closing_order_works_until_one_arrives(world: World) -> None:
    """A position without a price: its closing order is stored working (no fill, position kept)."""
    account_id = world.demo_account_ids[1]
    c = CONTRACTS[0]
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn, conn.begin():
            store = SqlStore(conn)
            store.save_position(account_id, c, _position(c, 1, [(3, 5)]), NOW, NOW.date())
            risk_engine.liquidate_account(store, account_id, None, NOW)
            [order] = conn.execute(select(trade_order).where(trade_order.c.account_id == account_id)).all()
            assert (order.status, order.action, order.qty, bool(order.admin)) == ("Working", "Sell", 3, True)
            assert conn.execute(select(fill).where(fill.c.account_id == account_id)).all() == []
            conn.rollback()
    finally:
        engine.dispose()
