"""The order path's raw-cursor statements (`TradingRepository`) store exactly what SQLAlchemy's column
types store, on both engines: raw writes read back through Core `select(...)` (as the API views read)
and through the store, Core writes read back through the store, and `admin_action` agrees with
`risk_status` (also from a prepared batch on PostgreSQL)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, Table, delete, insert, select, update

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.repositories import SqlStore
from autoliq.adapters.sql.schema import account_risk_status, cash_balance, fill, position, trade_order
from autoliq.domain.accounting import Lot, PositionState
from autoliq.domain.auto_liq import AutoLiqLayer, LayerState
from autoliq.domain.gate import Permission
from autoliq.domain.instruments import PRODUCTS_BY_NAME, ContractSpec
from autoliq.domain.model import RiskStatus
from autoliq.domain.money import INITIAL_BALANCE_CENTS, CashState
from autoliq.domain.orders import Order, OrderType, OrdStatus, TimeInForce
from autoliq.domain.states import AdminAction, Side
from tests.conftest import World

D = Decimal
ES = ContractSpec(PRODUCTS_BY_NAME["ES"], 2026, 12)  # tick 0.25
CL = ContractSpec(PRODUCTS_BY_NAME["CL"], 2027, 1)  # tick 0.01
GC = ContractSpec(PRODUCTS_BY_NAME["GC"], 2027, 2)  # tick 0.1

T_WHOLE = datetime(2026, 11, 24, 15, 0, 0, tzinfo=UTC)  # no microseconds
T_MICRO = datetime(2026, 11, 24, 15, 0, 0, 123456, tzinfo=UTC)
# Given in UTC+05:30: stored and read back as 2026-11-24 17:00:05.000007 UTC.
T_OFFSET = datetime(2026, 11, 24, 22, 30, 5, 7, tzinfo=timezone(timedelta(hours=5, minutes=30)))
T_LATE = datetime(2026, 11, 25, 23, 59, 59, 999999, tzinfo=UTC)
TUESDAY = date(2026, 11, 24)
WEDNESDAY = date(2026, 11, 25)
NEXT_MONDAY = date(2026, 11, 30)

ORDER_COLUMNS = [c.name for c in trade_order.columns if c.name not in ("id", "account_id")]
FILL_COLUMNS = [c.name for c in fill.columns if c.name not in ("id", "order_id", "account_id")]
POSITION_COLUMNS = [c.name for c in position.columns if c.name not in ("id", "account_id", "lots")]
CASH_COLUMNS = [c.name for c in cash_balance.columns if c.name != "account_id"]


@pytest.fixture
def local_time_not_utc() -> Iterator[None]:
    """The process's local time is UTC+05:30, so a time stored as local wall time would not round-trip."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "IST-05:30"  # POSIX: 5 h 30 east of UTC (no tz database needed)
    time.tzset()
    try:
        assert datetime(2026, 11, 24).astimezone().utcoffset() == timedelta(hours=5, minutes=30)
        yield
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


# An order placed alone: none of the linked-order columns (migration 0015_linked_orders) set.
NO_LINK_COLUMNS = dict(
    parent_id=None, oco_id=None, has_children=False, strategy_id=None, strategy_label=None, offset_ticks=None
)


def _core_row(conn: Connection, table: Table, key: str, value: int) -> dict[str, Any]:
    """One row as SQLAlchemy's column types read it."""
    return dict(conn.execute(select(table).where(table.c[key] == value)).one()._mapping)


def _driver_values(
    conn: Connection, table: Table, columns: list[str], key: str, value: int
) -> tuple[Any, ...]:
    """One row's columns exactly as the driver returns them (SQLite: the stored text and integers)."""
    sql = f"SELECT {', '.join(columns)} FROM {table.name} WHERE {key} = {int(value)}"
    return tuple(conn.exec_driver_sql(sql).one())


def _assert_utc(*values: datetime) -> None:
    for value in values:
        assert isinstance(value, datetime) and value.utcoffset() == timedelta(0), value


def _assert_day(value: Any, expected: date) -> None:
    assert type(value) is date and value == expected, value  # a datetime is a date too: type, not isinstance


def test_trading_repository_when_raw_cursor_writes_then_core_and_store_read_the_written_values(
    world: World, local_time_not_utc: None
) -> None:
    acc, twin = world.demo_account_ids[0], world.demo_account_ids[1]
    es_long = PositionState(
        lots=(Lot(2, D("4500.25")), Lot(1, D("4501.00")), Lot(3, D("4502.75"))),
        bought=6,
        bought_value=D("27009.75"),
        sold=0,
        sold_value=D(0),
        realized_points=D(0),
    )
    gc_short = PositionState(
        lots=(Lot(-1, D("2650.3")), Lot(-4, D("2651.1"))),
        bought=1,
        bought_value=D("2650.7"),
        sold=6,
        sold_value=D("15905.0"),
        realized_points=D("-0.4"),
    )
    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:
            store = SqlStore(conn)
            limit_id = store.insert_order(
                acc, ES, Side.BUY, OrderType.LIMIT, 3, TimeInForce.GTC, OrdStatus.WORKING, False, T_WHOLE,
                limit_price=D("4501.25"), cl_ord_id="cl-limit-1",
            )  # fmt: skip
            stop_id = store.insert_order(
                acc, ES, Side.SELL, OrderType.STOP_LIMIT, 2, TimeInForce.DAY, OrdStatus.WORKING, True,
                T_MICRO, limit_price=D("4499.50"), stop_price=D("4499.75"), triggered=True,
            )  # fmt: skip
            filled_id = store.insert_order(
                acc, CL, Side.SELL, OrderType.MARKET, 1, TimeInForce.IOC, OrdStatus.FILLED, True, T_OFFSET,
                fill_price=D("70.13"),
            )  # fmt: skip
            fill_id = store.insert_fill(filled_id, acc, CL, Side.SELL, 1, D("70.13"), T_OFFSET, TUESDAY)
            # The same ES position saved twice: the second save (upsert) replaces the first.
            store.save_position(acc, ES, PositionState(lots=(Lot(1, D("4400.00")),), bought=1,
                                bought_value=D("4400.00")), T_WHOLE, TUESDAY)  # fmt: skip
            store.save_position(acc, ES, es_long, T_MICRO, WEDNESDAY)
            store.save_position(acc, GC, gc_short, T_OFFSET, TUESDAY)
            # Cash: no row yet reads as the opening balance; two credits on Tuesday accumulate.
            assert store.cash(acc, TUESDAY) == CashState(
                INITIAL_BALANCE_CENTS, 0, 0, INITIAL_BALANCE_CENTS, TUESDAY
            )
            store.add_realized(acc, 12_345, T_WHOLE, TUESDAY)
            store.add_realized(acc, -2_000, T_MICRO, TUESDAY)
            store.set_contract_price(ES.id, 18003, T_MICRO)
            # Twins of the raw rows, written by SQLAlchemy Core (on another account), to compare storage.
            conn.execute(
                insert(trade_order),
                [
                    dict(account_id=twin, contract_id=ES.id, action="Buy", order_type="Limit", qty=3,
                         time_in_force="GTC", status="Working", admin=False, limit_ticks=18005,
                         stop_ticks=None, triggered=False, fill_ticks=None, cl_ord_id="cl-limit-1",
                         created=T_WHOLE, updated=T_WHOLE),
                    dict(account_id=twin, contract_id=ES.id, action="Sell", order_type="StopLimit", qty=2,
                         time_in_force="Day", status="Working", admin=True, limit_ticks=17998,
                         stop_ticks=17999, triggered=True, fill_ticks=None, cl_ord_id=None,
                         created=T_MICRO, updated=T_MICRO),
                    dict(account_id=twin, contract_id=CL.id, action="Sell", order_type="Market", qty=1,
                         time_in_force="IOC", status="Filled", admin=True, limit_ticks=None,
                         stop_ticks=None, triggered=False, fill_ticks=7013, cl_ord_id=None,
                         created=T_OFFSET, updated=T_OFFSET),
                ],
            )  # fmt: skip
            twin_ids = [r[0] for r in conn.execute(
                select(trade_order.c.id).where(trade_order.c.account_id == twin).order_by(trade_order.c.id)
            )]  # fmt: skip
            twin_fill_id = conn.execute(
                insert(fill)
                .values(order_id=twin_ids[2], account_id=twin, contract_id=CL.id, action="Sell", qty=1,
                        price_ticks=7013, timestamp=T_OFFSET, trade_date=TUESDAY)
                .returning(fill.c.id)
            ).scalar_one()  # fmt: skip
            conn.execute(
                insert(position),
                [
                    dict(account_id=twin, contract_id=ES.id, lots="[]", bought=6, bought_ticks=108039, sold=0,
                         sold_ticks=0, realized_ticks=0, timestamp=T_MICRO, trade_date=WEDNESDAY),
                    dict(account_id=twin, contract_id=GC.id, lots="[]", bought=1, bought_ticks=26507, sold=6,
                         sold_ticks=159050, realized_ticks=-4, timestamp=T_OFFSET, trade_date=TUESDAY),
                ],
            )  # fmt: skip
            conn.execute(
                insert(cash_balance).values(account_id=twin, amount_cents=5_010_345, realized_cents=10_345,
                                            week_realized_cents=10_345, amount_sod_cents=5_000_000,
                                            timestamp=T_MICRO, trade_date=TUESDAY)
            )  # fmt: skip

        with engine.connect() as conn:
            # -- trade_order, as Core reads it --
            limit_row = _core_row(conn, trade_order, "id", limit_id)
            stop_row = _core_row(conn, trade_order, "id", stop_id)
            filled_row = _core_row(conn, trade_order, "id", filled_id)
            assert limit_row == dict(
                id=limit_id, account_id=acc, contract_id=ES.id, action="Buy", order_type="Limit", qty=3,
                time_in_force="GTC", status="Working", admin=False, limit_ticks=18005, stop_ticks=None,
                triggered=False, fill_ticks=None, cl_ord_id="cl-limit-1", created=T_WHOLE, updated=T_WHOLE,
                **NO_LINK_COLUMNS,
            )  # fmt: skip
            assert stop_row == dict(
                id=stop_id, account_id=acc, contract_id=ES.id, action="Sell", order_type="StopLimit", qty=2,
                time_in_force="Day", status="Working", admin=True, limit_ticks=17998, stop_ticks=17999,
                triggered=True, fill_ticks=None, cl_ord_id=None, created=T_MICRO, updated=T_MICRO,
                **NO_LINK_COLUMNS,
            )  # fmt: skip
            assert filled_row == dict(
                id=filled_id, account_id=acc, contract_id=CL.id, action="Sell", order_type="Market", qty=1,
                time_in_force="IOC", status="Filled", admin=True, limit_ticks=None, stop_ticks=None,
                triggered=False, fill_ticks=7013, cl_ord_id=None, created=T_OFFSET, updated=T_OFFSET,
                **NO_LINK_COLUMNS,
            )  # fmt: skip
            for row in (limit_row, stop_row, filled_row):
                assert type(row["admin"]) is bool and type(row["triggered"]) is bool
                _assert_utc(row["created"], row["updated"])
            assert filled_row["created"].replace(tzinfo=None) == datetime(2026, 11, 24, 17, 0, 5, 7)
            assert stop_row["created"].microsecond == 123456
            # Core's bound values find the raw rows (SQLite compares the stored text).
            assert conn.execute(
                select(trade_order.c.id)
                .where(
                    trade_order.c.account_id == acc,
                    trade_order.c.created.in_([T_WHOLE, T_MICRO, T_OFFSET]),
                    trade_order.c.admin.is_(True),
                )
                .order_by(trade_order.c.id)
            ).scalars().all() == [stop_id, filled_id]

            # -- fill --
            fill_row = _core_row(conn, fill, "id", fill_id)
            assert fill_row == dict(
                id=fill_id, order_id=filled_id, account_id=acc, contract_id=CL.id, action="Sell", qty=1,
                price_ticks=7013, timestamp=T_OFFSET, trade_date=TUESDAY,
            )  # fmt: skip
            _assert_utc(fill_row["timestamp"])
            _assert_day(fill_row["trade_date"], TUESDAY)
            assert conn.execute(
                select(fill.c.id)
                .where(fill.c.trade_date == TUESDAY, fill.c.timestamp == T_OFFSET)
                .order_by(fill.c.id)
            ).scalars().all() == [fill_id, twin_fill_id]

            # -- position: the upsert kept one row per contract, with the last save's values --
            es_row = _core_row(conn, position, "id", _position_id(conn, acc, ES))
            gc_row = _core_row(conn, position, "id", _position_id(conn, acc, GC))
            assert {k: v for k, v in es_row.items() if k not in ("id", "lots")} == dict(
                account_id=acc, contract_id=ES.id, bought=6, bought_ticks=108039, sold=0, sold_ticks=0,
                realized_ticks=0, timestamp=T_MICRO, trade_date=WEDNESDAY, trigger_low_ticks=None,
                trigger_high_ticks=None,
            )  # fmt: skip
            assert {k: v for k, v in gc_row.items() if k not in ("id", "lots")} == dict(
                account_id=acc, contract_id=GC.id, bought=1, bought_ticks=26507, sold=6, sold_ticks=159050,
                realized_ticks=-4, timestamp=T_OFFSET, trade_date=TUESDAY, trigger_low_ticks=None,
                trigger_high_ticks=None,
            )  # fmt: skip
            # The lots text is JSON the views' json.loads reads: [quantity, price in ticks].
            assert json.loads(es_row["lots"]) == [[2, 18001], [1, 18004], [3, 18011]]
            assert json.loads(gc_row["lots"]) == [[-1, 26503], [-4, 26511]]
            _assert_utc(es_row["timestamp"], gc_row["timestamp"])
            _assert_day(es_row["trade_date"], WEDNESDAY)
            _assert_day(gc_row["trade_date"], TUESDAY)
            assert conn.execute(
                select(position.c.contract_id).where(
                    position.c.account_id == acc, position.c.trade_date == WEDNESDAY
                )
            ).scalars().all() == [ES.id]

            # -- cash_balance: two credits accumulated on one trade date --
            cash_row = _core_row(conn, cash_balance, "account_id", acc)
            assert cash_row == dict(
                account_id=acc, amount_cents=5_010_345, realized_cents=10_345, week_realized_cents=10_345,
                amount_sod_cents=5_000_000, timestamp=T_MICRO, trade_date=TUESDAY,
            )  # fmt: skip
            _assert_utc(cash_row["timestamp"])
            _assert_day(cash_row["trade_date"], TUESDAY)

            # -- stored exactly as SQLAlchemy stores the same values (SQLite: same text, same integers) --
            for raw_id, core_id in zip([limit_id, stop_id, filled_id], twin_ids, strict=True):
                assert _driver_values(conn, trade_order, ORDER_COLUMNS, "id", raw_id) == _driver_values(
                    conn, trade_order, ORDER_COLUMNS, "id", core_id
                )
            assert _driver_values(conn, fill, FILL_COLUMNS, "id", fill_id) == _driver_values(
                conn, fill, FILL_COLUMNS, "id", twin_fill_id
            )
            for contract in (ES, GC):
                assert _driver_values(
                    conn, position, POSITION_COLUMNS, "id", _position_id(conn, acc, contract)
                ) == _driver_values(
                    conn, position, POSITION_COLUMNS, "id", _position_id(conn, twin, contract)
                )
            assert _driver_values(conn, cash_balance, CASH_COLUMNS, "account_id", acc) == _driver_values(
                conn, cash_balance, CASH_COLUMNS, "account_id", twin
            )

            # -- the store's own reads --
            store = SqlStore(conn)
            assert store.working_orders(ES, acc) == [
                Order(limit_id, acc, ES.id, Side.BUY, OrderType.LIMIT, 3, TimeInForce.GTC, OrdStatus.WORKING,
                      False, T_WHOLE, limit_price=D("4501.25")),
                Order(stop_id, acc, ES.id, Side.SELL, OrderType.STOP_LIMIT, 2, TimeInForce.DAY,
                      OrdStatus.WORKING, True, T_MICRO, limit_price=D("4499.50"), stop_price=D("4499.75"),
                      triggered=True),
            ]  # fmt: skip
            working = store.working_orders(ES)
            assert [o.id for o in working] == [limit_id, stop_id, twin_ids[0], twin_ids[1]]
            for order in working:
                _assert_utc(order.created)
                assert type(order.admin) is bool and type(order.triggered) is bool
            assert store.working_orders(CL, acc) == []  # the filled order does not work
            assert store.position(acc, ES) == es_long
            assert store.position(acc, GC) == gc_short
            assert store.position(acc, GC).net_pos == -5
            assert store.position(acc, CL) == PositionState()
            # cash(): as of the row's own trade date, unchanged ...
            assert store.cash(acc, TUESDAY) == CashState(5_010_345, 10_345, 10_345, 5_000_000, TUESDAY)
            # ... the next day of the same week: day P&L reset, week P&L kept, start-of-day = amount ...
            assert store.cash(acc, WEDNESDAY) == CashState(5_010_345, 0, 10_345, 5_010_345, WEDNESDAY)
            # ... and the next week: the week's P&L reset too.
            assert store.cash(acc, NEXT_MONDAY) == CashState(5_010_345, 0, 0, 5_010_345, NEXT_MONDAY)
            assert store.last_price(ES) == D("4500.75")
            assert store.last_price(CL) is None
    finally:
        engine.dispose()


def _position_id(conn: Connection, account_id: int, contract: ContractSpec) -> int:
    return int(
        conn.execute(
            select(position.c.id).where(
                position.c.account_id == account_id, position.c.contract_id == contract.id
            )
        ).scalar_one()
    )


def test_trading_repository_when_realized_on_a_later_trade_date_then_cash_rolls_and_accumulates(
    world: World, local_time_not_utc: None
) -> None:
    acc = world.demo_account_ids[2]
    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:
            store = SqlStore(conn)
            store.add_realized(acc, 12_345, T_WHOLE, TUESDAY)
            store.add_realized(acc, -2_000, T_MICRO, TUESDAY)
            store.add_realized(acc, 500, T_LATE, WEDNESDAY)  # rolls Tuesday's row forward first
        with engine.begin() as conn:
            row = _core_row(conn, cash_balance, "account_id", acc)
            assert row == dict(
                account_id=acc, amount_cents=5_010_845, realized_cents=500, week_realized_cents=10_845,
                amount_sod_cents=5_010_345, timestamp=T_LATE, trade_date=WEDNESDAY,
            )  # fmt: skip
            _assert_utc(row["timestamp"])
            _assert_day(row["trade_date"], WEDNESDAY)
            store = SqlStore(conn)
            # An earlier trade date never rolls back.
            assert store.cash(acc, TUESDAY) == CashState(5_010_845, 500, 10_845, 5_010_345, WEDNESDAY)
            assert store.cash(acc, NEXT_MONDAY) == CashState(5_010_845, 0, 0, 5_010_845, NEXT_MONDAY)
            # A new week: the week's P&L starts again from this credit.
            store.add_realized(acc, -45, T_LATE + timedelta(days=5), NEXT_MONDAY)
            assert store.cash(acc, NEXT_MONDAY) == CashState(5_010_800, -45, -45, 5_010_845, NEXT_MONDAY)
            row = _core_row(conn, cash_balance, "account_id", acc)
            assert (row["amount_cents"], row["week_realized_cents"], row["trade_date"]) == (
                5_010_800,
                -45,
                NEXT_MONDAY,
            )
            _assert_day(row["trade_date"], NEXT_MONDAY)
    finally:
        engine.dispose()


def test_trading_repository_when_rows_written_by_core_then_raw_reads_return_them(world: World) -> None:
    acc, other = world.demo_account_ids[3], world.demo_account_ids[4]
    spaced_lots = json.dumps([[2, 20001], [1, 20003]])
    assert spaced_lots == "[[2, 20001], [1, 20003]]"  # Python's separators, with spaces
    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:
            base = dict(
                contract_id=ES.id, action="Buy", qty=1, time_in_force="GTC", admin=False, limit_ticks=None,
                stop_ticks=None, triggered=False, fill_ticks=None, cl_ord_id=None,
            )  # fmt: skip
            ids = conn.execute(
                insert(trade_order).returning(trade_order.c.id, sort_by_parameter_order=True),
                [
                    {**base, "account_id": acc, "order_type": "Limit", "status": "Working", "qty": 4,
                     "limit_ticks": 18010, "cl_ord_id": "c1", "created": T_OFFSET, "updated": T_OFFSET},
                    {**base, "account_id": other, "order_type": "Stop", "status": "Working", "action": "Sell",
                     "stop_ticks": 17990, "admin": True, "triggered": True, "created": T_WHOLE,
                     "updated": T_WHOLE},
                    {**base, "account_id": acc, "order_type": "Market", "status": "Canceled",
                     "created": T_MICRO, "updated": T_MICRO},
                    {**base, "account_id": acc, "order_type": "StopLimit", "status": "Working",
                     "time_in_force": "Day", "stop_ticks": 18020, "limit_ticks": 18021, "created": T_MICRO,
                     "updated": T_MICRO},
                ],
            ).scalars().all()  # fmt: skip
            conn.execute(
                insert(position),
                [
                    dict(account_id=acc, contract_id=ES.id, lots=spaced_lots, bought=3, bought_ticks=60005,
                         sold=0, sold_ticks=0, realized_ticks=0, timestamp=T_OFFSET, trade_date=TUESDAY),
                    dict(account_id=acc, contract_id=CL.id, lots=json.dumps([[-3, 7012]]), bought=2,
                         bought_ticks=14010, sold=5, sold_ticks=35049, realized_ticks=-17, timestamp=T_MICRO,
                         trade_date=TUESDAY),
                ],
            )  # fmt: skip
            conn.execute(
                insert(cash_balance).values(account_id=acc, amount_cents=4_990_000, realized_cents=-7_000,
                                            week_realized_cents=-10_000, amount_sod_cents=4_997_000,
                                            timestamp=T_OFFSET, trade_date=TUESDAY)
            )  # fmt: skip
            SqlStore(conn).set_contract_price(CL.id, 7011, T_WHOLE)
            SqlStore(conn).set_contract_price(CL.id, 7015, T_MICRO)  # an update of the existing row
        with engine.begin() as conn:
            store = SqlStore(conn)
            assert store.working_orders(ES, acc) == [
                Order(ids[0], acc, ES.id, Side.BUY, OrderType.LIMIT, 4, TimeInForce.GTC, OrdStatus.WORKING,
                      False, T_OFFSET, limit_price=D("4502.50")),
                Order(ids[3], acc, ES.id, Side.BUY, OrderType.STOP_LIMIT, 1, TimeInForce.DAY,
                      OrdStatus.WORKING, False, T_MICRO, limit_price=D("4505.25"), stop_price=D("4505.00")),
            ]  # fmt: skip
            assert store.working_orders(ES) == [
                store.working_orders(ES, acc)[0],
                Order(ids[1], other, ES.id, Side.SELL, OrderType.STOP, 1, TimeInForce.GTC, OrdStatus.WORKING,
                      True, T_WHOLE, stop_price=D("4497.50"), triggered=True),
                store.working_orders(ES, acc)[1],
            ]  # fmt: skip
            for order in store.working_orders(ES):
                _assert_utc(order.created)
            assert store.working_orders(ES)[0].created.replace(tzinfo=None) == datetime(
                2026, 11, 24, 17, 0, 5, 7
            )
            assert store.position(acc, ES) == PositionState(
                lots=(Lot(2, D("5000.25")), Lot(1, D("5000.75"))), bought=3, bought_value=D("15001.25")
            )
            assert store.position(acc, CL) == PositionState(
                lots=(Lot(-3, D("70.12")),), bought=2, bought_value=D("140.10"), sold=5,
                sold_value=D("350.49"), realized_points=D("-0.17"),
            )  # fmt: skip
            assert store.position(other, ES) == PositionState()
            assert store.cash(acc, TUESDAY) == CashState(4_990_000, -7_000, -10_000, 4_997_000, TUESDAY)
            assert store.cash(acc, WEDNESDAY) == CashState(4_990_000, 0, -10_000, 4_990_000, WEDNESDAY)
            assert store.cash(other, TUESDAY) == CashState(
                INITIAL_BALANCE_CENTS, 0, 0, INITIAL_BALANCE_CENTS, TUESDAY
            )
            assert store.last_price(CL) == D("70.15")
            # A raw save over the Core-written rows: the position is replaced, the cash accumulates.
            store.save_position(acc, ES, PositionState(), T_LATE, WEDNESDAY)
            store.add_realized(acc, 2_500, T_LATE, WEDNESDAY)
            assert store.position(acc, ES) == PositionState()
            assert store.cash(acc, WEDNESDAY) == CashState(4_992_500, 2_500, -7_500, 4_990_000, WEDNESDAY)
            row = _core_row(conn, position, "id", _position_id(conn, acc, ES))
            assert (json.loads(row["lots"]), row["timestamp"], row["trade_date"]) == ([], T_LATE, WEDNESDAY)
    finally:
        engine.dispose()


def _status_action(conn: Connection, account_id: int) -> str | None:
    """The admin action column as Core reads it; None without a row."""
    return conn.execute(
        select(account_risk_status.c.admin_action).where(account_risk_status.c.id == account_id)
    ).scalar_one_or_none()


def test_admin_action_when_each_action_saved_then_equals_risk_status_and_normal_without_row(
    world: World,
) -> None:
    acc, neighbour, rowless = world.demo_account_ids[5], world.demo_account_ids[6], world.demo_account_ids[7]
    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:
            store = SqlStore(conn)
            store.save_risk_status(
                RiskStatus(id=neighbour).with_admin_action(AdminAction.DISABLE_AUTO_LIQ, T_WHOLE)
            )
            conn.execute(delete(account_risk_status).where(account_risk_status.c.id == rowless))
            # Every action, ending on a non-Normal one (a read that always said Normal would fail).
            actions = [a for a in AdminAction if a is not AdminAction.LOCK_TRADING_IMMEDIATELY]
            actions.append(AdminAction.LOCK_TRADING_IMMEDIATELY)
            status = RiskStatus(id=acc)
            for i, action in enumerate(actions):
                status = status.with_admin_action(action, T_WHOLE + timedelta(seconds=i))
                store.save_risk_status(status)
                current = store.risk_status(acc)
                assert current is not None and current.admin_action is action
                assert store.trading_state(acc).admin_action is action
                assert _status_action(conn, acc) == action.value
                # ... and not the neighbour's action.
                assert store.trading_state(neighbour).admin_action is AdminAction.DISABLE_AUTO_LIQ
            assert store.risk_status(rowless) is None
            assert store.trading_state(rowless).admin_action is AdminAction.NORMAL
            assert store.trading_state(987_654).admin_action is AdminAction.NORMAL  # no such account at all
        with engine.connect() as conn:
            store = SqlStore(conn)
            assert store.trading_state(acc).admin_action is AdminAction.LOCK_TRADING_IMMEDIATELY
            assert _status_action(conn, acc) == "LockTradingImmediately"
            assert store.trading_state(rowless).admin_action is AdminAction.NORMAL
    finally:
        engine.dispose()


def test_admin_action_when_batch_prepared_then_answers_from_the_batch_with_and_without_row(
    world: World,
) -> None:
    with_row, without_row, unprepared = world.demo_account_ids[7:10]
    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                update(account_risk_status)
                .where(account_risk_status.c.id.in_([with_row, unprepared]))
                .values(admin_action=AdminAction.PLACE_AUTO_LIQ_ON_HOLD.value, admin_timestamp=T_WHOLE)
            )
            conn.execute(delete(account_risk_status).where(account_risk_status.c.id == without_row))
        with engine.begin() as conn:
            store = SqlStore(conn)
            store.batch.prepare_batch([with_row, without_row, with_row], 0)
            assert store.trading_state(with_row).admin_action is AdminAction.PLACE_AUTO_LIQ_ON_HOLD
            prepared = store.risk_status(with_row)
            assert (
                prepared is not None and store.trading_state(with_row).admin_action is prepared.admin_action
            )
            assert store.risk_status(without_row) is None
            assert store.trading_state(without_row).admin_action is AdminAction.NORMAL
            assert store.trading_state(unprepared).admin_action is AdminAction.PLACE_AUTO_LIQ_ON_HOLD
            # Writes of the batch (buffered on PostgreSQL until flush) are what the batch then answers.
            store.save_risk_status(
                RiskStatus(id=with_row).with_admin_action(AdminAction.LIQUIDATE_IMMEDIATELY, T_MICRO)
            )
            store.save_risk_status(
                RiskStatus(id=without_row).with_admin_action(
                    AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY, T_MICRO
                )
            )
            for account_id, action in (
                (with_row, AdminAction.LIQUIDATE_IMMEDIATELY),
                (without_row, AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY),
            ):
                current = store.risk_status(account_id)
                assert current is not None and current.admin_action is action
                assert store.trading_state(account_id).admin_action is action
            store.batch.flush()
            assert _status_action(conn, with_row) == "LiquidateImmediately"
            assert _status_action(conn, without_row) == "LiquidateOnlyModeImmediately"
        with engine.connect() as conn:
            store = SqlStore(conn)
            assert store.trading_state(with_row).admin_action is AdminAction.LIQUIDATE_IMMEDIATELY
            assert (
                store.trading_state(without_row).admin_action is AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY
            )
            assert store.trading_state(unprepared).admin_action is AdminAction.PLACE_AUTO_LIQ_ON_HOLD
            [row] = conn.execute(select(account_risk_status).where(account_risk_status.c.id == without_row))
            assert (row.admin_timestamp, row.liquidate_only) == (T_MICRO, T_MICRO)
    finally:
        engine.dispose()


def test_trading_state_when_layer_changes_within_a_prepared_batch_then_the_gate_sees_it(world: World) -> None:
    """A prepared batch reads the layers with the statuses; a write of the batch that sets or clears
    the auto-liq layer is what the next gate read of the batch sees (not the prepared value)."""
    a, b = world.demo_account_ids[5:7]
    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:
            store = SqlStore(conn)
            store.save_auto_liq_layers(
                [AutoLiqLayer(b, LayerState.LIQUIDATE_ONLY, "dailyLossLiqOnly", T_WHOLE, None)]
            )
        with engine.begin() as conn:
            store = SqlStore(conn)
            store.batch.prepare_batch([a, b], 0)
            assert store.trading_state(a).auto_liq is None
            assert store.trading_state(b).auto_liq is LayerState.LIQUIDATE_ONLY
            store.save_auto_liq_layers(
                [AutoLiqLayer(a, LayerState.LOCKED, "dailyLossAutoLiq", T_WHOLE, None)]
            )
            assert store.clear_auto_liq_layer(b) is not None
            assert store.trading_state(a).auto_liq is LayerState.LOCKED
            assert store.trading_state(b).auto_liq is None
            assert store.trading_state(a).permission is Permission.NONE
    finally:
        engine.dispose()


def test_trading_state_when_category_halted_or_switched_within_a_prepared_batch_then_the_gate_sees_it(
    world: World,
) -> None:
    """The batch's prepared halts end with the write that changes them: no caller drops them by hand."""
    a, b = world.demo_account_ids[7:9]
    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:
            store = SqlStore(conn)
            account = store.account(a)
            assert account is not None
            category = store.add_risk_category(account.organization_id, "Halted in batch", T_WHOLE)
            assert category is not None
        with engine.begin() as conn:
            store = SqlStore(conn)
            store.batch.prepare_batch([a, b], 0)
            assert not store.trading_state(a).halted and not store.trading_state(b).halted
            assert store.switch_risk_category([a], category.id) == 1
            store.set_risk_category_halted(category.id, True, T_WHOLE)
            assert store.trading_state(a).halted
            assert not store.trading_state(b).halted
            store.set_risk_category_halted(category.id, False, T_WHOLE)
            assert not store.trading_state(a).halted
    finally:
        engine.dispose()


def test_clear_auto_liq_layer_when_prepared_or_not_then_clears_exactly_the_layers_that_exist(
    world: World,
) -> None:
    """`Normal` asks every time: the answer comes from the prepared batch when there is one (a layer
    set in the batch included), else from one raw query; a layer is returned once, then gone."""
    a, b, c = world.demo_account_ids[5:8]
    engine = create_admin_engine(world.database_url)
    layer = AutoLiqLayer(b, LayerState.LIQUIDATE_ONLY, "dailyLossLiqOnly", T_WHOLE, None)
    try:
        with engine.begin() as conn:
            SqlStore(conn).save_auto_liq_layers([layer])
        with engine.begin() as conn:  # prepared (PostgreSQL) or not (SQLite: prepare does nothing)
            store = SqlStore(conn)
            store.batch.prepare_batch([a, b], 0)
            assert store.clear_auto_liq_layer(a) is None
            assert store.clear_auto_liq_layer(b) == layer
            assert store.clear_auto_liq_layer(b) is None
            store.save_auto_liq_layers(
                [AutoLiqLayer(a, LayerState.LOCKED, "dailyLossAutoLiq", T_WHOLE, None)]
            )
            assert store.clear_auto_liq_layer(a) is not None
            assert store.clear_auto_liq_layer(c) is None  # not prepared: the raw query
        with engine.connect() as conn:
            store = SqlStore(conn)
            assert [store.auto_liq_layer(x) for x in (a, b, c)] == [None, None, None]
    finally:
        engine.dispose()
