"""The liquidation's statements write only its own tables, never one the batch caches.

The batch (`adapters/sql/batch.py`) caches the status tables, the auto-liq layers, the category
halts and the accounts while it lasts, and drops its cache when it sees a SQLAlchemy statement
writing them (`Batch.saw`); the liquidation's statements run on the raw cursor, which the batch does
not see. So they must write none of those tables: every statement the liquidation repository sends
is recorded here (both engines) and the tables it writes are checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table

from autoliq.adapters.sql.batch import _GATE_TABLES, _STATUS_TABLES
from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.repositories import SqlStore
from autoliq.adapters.sql.statements import MAX_ROWS_PER_INSERT, insert_rows
from autoliq.domain.accounting import Lot, PositionState
from autoliq.domain.instruments import PRODUCTS, listed_contracts
from autoliq.domain.orders import OrderType, OrdStatus, TimeInForce
from autoliq.domain.states import Side
from autoliq.service import risk_engine
from tests.conftest import World

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
CONTRACTS = [listed_contracts(p, NOW.date(), 1)[0] for p in PRODUCTS[:3]]
LIQUIDATION_TABLES = {"trade_order", "fill", "position", "cash_balance", "order_strategy"}
# The table of each INSERT, UPDATE and DELETE (an upsert's `DO UPDATE SET` names none).
_WRITES = re.compile(r"(?<!DO )\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.IGNORECASE)


class _Recording:
    """A DB-API cursor that records the SQL it is given while `on`."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self.on = False
        self.sql: list[str] = []
        self.params: list[Any] = []
        """Each statement's parameters (an executemany's first row)."""

    def execute(self, sql: str, params: Any = ()) -> Any:
        if self.on:
            self.sql.append(sql)
            self.params.append(params)
        self._cursor.execute(sql, params)
        return self

    def executemany(self, sql: str, rows: Any) -> Any:
        rows = list(rows)
        if self.on:
            self.sql.append(sql)
            self.params.append(rows[0] if rows else ())
        self._cursor.executemany(sql, rows)
        return self

    def __iter__(self) -> Any:
        return iter(self._cursor)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


def _recorded(method: Callable[..., Any], cursor: _Recording) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        cursor.on = True
        try:
            return method(*args, **kwargs)
        finally:
            cursor.on = False

    return run


def test_liquidation_when_it_writes_then_only_its_tables_none_the_batch_caches(world: World) -> None:
    account_id = world.demo_account_ids[0]
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn, conn.begin():
            store = SqlStore(conn)
            for i, c in enumerate(CONTRACTS):
                tick = c.product.tick_size
                qty = 2 + i
                state = PositionState((Lot(qty, 1000 * tick),), bought=qty, bought_value=qty * 1000 * tick)
                store.save_position(account_id, c, state, NOW, NOW.date())
                if i:  # the first one has no price: its closing order stays working
                    store.set_contract_price(c.id, 1010, NOW)
                store.insert_order(
                    account_id, c, Side.BUY, OrderType.LIMIT, 1, TimeInForce.GTC, OrdStatus.WORKING,
                    False, NOW, limit_price=Decimal(10) * tick,
                )  # fmt: skip
            store.insert_strategy(
                account_id, CONTRACTS[0].id, 2, Side.BUY, "{}", NOW,
                initiator_id=None, uuid=None, custom_tag50="s",
            )  # fmt: skip
            cursor = _Recording(store.batch.cursor)
            store.batch._cursor = cursor
            for name in ("liquidation_state", "end_live_work", "book_closings"):
                setattr(store, name, _recorded(getattr(store, name), cursor))

            risk_engine.liquidate_account(store, account_id, {c.id: c for c in CONTRACTS}, NOW)

            written = {table.lower() for sql in cursor.sql for table in _WRITES.findall(sql)}
            cached = {t.name for t in _STATUS_TABLES | _GATE_TABLES if isinstance(t, Table)}
            assert written == LIQUIDATION_TABLES, cursor.sql
            assert not written & cached
            # Compiled for this engine's DB-API: each statement binds exactly the values it is given,
            # in its driver's paramstyle (sqlite3's qmark, psycopg's format), none in the other's.
            mine, other = ("?", "%s") if store.batch.is_sqlite else ("%s", "?")
            assert len(cursor.sql) >= 6, cursor.sql
            for sql, params in zip(cursor.sql, cursor.params, strict=True):
                assert other not in sql and sql.count(mine) == len(params) > 0, (sql, params)
            conn.rollback()
    finally:
        engine.dispose()


def test_writes_pattern_when_insert_update_delete_or_upsert_then_the_tables_written() -> None:
    assert _WRITES.findall("INSERT INTO fill (a) VALUES (?)") == ["fill"]
    assert _WRITES.findall("WITH s AS (UPDATE order_strategy SET x=%s RETURNING id) SELECT 1") == [
        "order_strategy"
    ]
    assert _WRITES.findall("delete from auto_liq_layer where account_id = ?") == ["auto_liq_layer"]
    upsert = "INSERT INTO position (a) VALUES (?) ON CONFLICT (a) DO UPDATE SET a = excluded.a"
    assert _WRITES.findall(upsert) == ["position"]


def test_insert_rows_when_many_rows_then_one_statement_per_row_count_with_every_row() -> None:
    for dialect in ("sqlite", "postgresql"):
        one = insert_rows(dialect, "insert_fills", 1)
        three = insert_rows(dialect, "insert_fills", 3)
        assert insert_rows(dialect, "insert_fills", 3) is three  # compiled once per row count
        assert len(three.names) == 3 * len(one.names)
        assert three.sql.count("(") - one.sql.count("(") == 2  # three VALUES rows
        assert "RETURNING" in three.sql
        upsert = insert_rows(dialect, "save_positions", 2)
        assert "ON CONFLICT" in upsert.sql and "RETURNING" not in upsert.sql
        assert upsert.names[0] == "account_id_0" and upsert.names[-1] == "trade_date_1"
    for rows in (0, MAX_ROWS_PER_INSERT + 1):
        try:
            insert_rows("sqlite", "insert_orders", rows)
        except ValueError:
            continue
        raise AssertionError(f"{rows} rows accepted")


def test_evaluation_inputs_when_a_prepared_batch_buffered_status_writes_then_reads_them(world: World) -> None:
    """The evaluation reads statuses on the raw cursor: a prepared batch (PostgreSQL) sends its
    buffered status writes first, and goes on buffering after; the layer written by the tick's
    set-based writes is what the gate then sees."""
    from autoliq.domain.auto_liq import AutoLiqLayer, LayerState
    from autoliq.domain.model import RiskStatus
    from autoliq.domain.post_trade import AutoLiqSettings
    from autoliq.domain.states import AdminAction

    a, b = world.demo_account_ids[2:4]
    now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn, conn.begin():
            store = SqlStore(conn)
            for account_id in (a, b):
                store.save_auto_liq_settings(AutoLiqSettings(id=account_id, daily_loss_auto_liq=500.0), now)
            store.batch.prepare_batch([a, b], 1)
            assert store.trading_state(b).auto_liq is None  # prepared: from the batch
            locked = RiskStatus(id=a).with_admin_action(AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY, now)
            store.save_risk_status(locked)  # buffered on PostgreSQL
            inputs = store.evaluation_inputs([a, b], now.date())
            assert inputs[a].status == locked
            assert inputs[a].settings.daily_loss_auto_liq == 500.0 and inputs[a].account.id == a
            # Still buffering after: a later write of the batch is read back the same way.
            store.save_risk_status(replace_status := RiskStatus(id=a, max_net_liq=51_000.0))
            assert store.evaluation_inputs([a], now.date())[a].status == replace_status
            store.save_auto_liq_layers([AutoLiqLayer(b, LayerState.LOCKED, "dailyLossAutoLiq", now, None)])
            assert store.trading_state(b).auto_liq is LayerState.LOCKED
            assert store.evaluation_inputs([b], now.date())[b].layer == AutoLiqLayer(
                b, LayerState.LOCKED, "dailyLossAutoLiq", now, None
            )
            conn.rollback()
    finally:
        engine.dispose()
