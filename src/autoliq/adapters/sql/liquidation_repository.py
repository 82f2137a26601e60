"""The liquidation's set-based statements (mixed into SqlStore): an account's state in one read,
its live work ended in one statement (two on SQLite), and its closing orders, fills, positions and
cash written one statement per table, however many positions and orders the account has.

The statements are compiled from the schema once per dialect (`statements.py`) and run on the raw
DB-API cursor of the batch, their values converted by the batch's codec, like the order path's
(trading_repository.py). The orders and fills, whose new ids are needed, go in one multi-row
INSERT ... RETURNING each, compiled per row count (`statements.insert_rows`), and the positions in
the multi-row form of the order path's upsert. Prices are stored in ticks and money in cents.

They write trade_order, fill, position, cash_balance and order_strategy only: none of the tables
the batch caches (`batch.py`: the status tables, auto_liq_layer, risk_category, account), so no
cache of the batch goes stale behind its back (tests/integration/test_liquidation_writes.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from autoliq.adapters.sql.codec import read_day
from autoliq.adapters.sql.statements import MAX_ROWS_PER_INSERT, insert_rows
from autoliq.adapters.sql.trading_repository import (
    ConnectionOwner,
    _decode_lots,
    _encode_lots,
    _position_state,
)
from autoliq.domain.instruments import contract_of_id
from autoliq.domain.linked import StrategyStatus
from autoliq.domain.money import CashState, opening_cash, roll_cash
from autoliq.domain.orders import OrderType, OrdStatus, TimeInForce
from autoliq.service.ports.liquidation import Closing, HeldPosition, LiquidationState

_INTERRUPTED = StrategyStatus.INTERRUPTED.value
_CANCELED = OrdStatus.CANCELED.value


class LiquidationRepository(ConnectionOwner):
    """The set-based statements of the liquidation engine (the LiquidationStore port)."""

    def _run(self, name: str, params: tuple[Any, ...]) -> Any:
        """Run compiled statement `name` on the batch's raw cursor; the cursor."""
        batch = self.batch
        cursor = batch.cursor
        cursor.execute(batch.statements[name], params)
        return cursor

    def liquidation_state(self, account_id: int, day: date, *, live_work: bool = True) -> LiquidationState:
        rows = self._run("liquidation_state" if live_work else "account_numbers", (account_id,)).fetchall()
        if not rows:
            return LiquidationState((), opening_cash(day), False)
        positions: list[HeldPosition] = []
        for row in rows:
            contract = None if row[0] is None else contract_of_id(row[0])
            if contract is None or not _decode_lots(row[1]):
                continue  # flat, or an expired contract nothing trades any more
            tick = contract.product.tick_size
            last = None if row[7] is None else row[7] * tick
            positions.append(HeldPosition(contract, _position_state(row[1:7], tick), last))
        first = rows[0]
        if first[8] is None:
            cash = opening_cash(day)
        else:
            cash = roll_cash(CashState(first[8], first[9], first[10], first[11], read_day(first[12])), day)
        if not live_work:
            return LiquidationState(tuple(positions), cash, False, strategies=False, orders=False)
        return LiquidationState(
            tuple(positions), cash, bool(first[13]), strategies=bool(first[14]), orders=bool(first[15])
        )

    def end_live_work(
        self, account_id: int, now: datetime, message: str, *, strategies: bool = True, orders: bool = True
    ) -> tuple[list[int], list[int]]:
        batch = self.batch
        at = batch.codec.time(now)
        interrupt = (_INTERRUPTED, message, at, account_id)  # statements.INTERRUPT_STRATEGIES
        cancel = (_CANCELED, at, account_id)  # statements.CANCEL_LIVE_ORDERS
        if not batch.is_sqlite and strategies and orders:
            rows = self._run("end_live_work", (*interrupt, *cancel)).fetchall()
            return (
                sorted(int(r[1]) for r in rows if r[0] == 0),
                sorted(int(r[1]) for r in rows if r[0] == 1),
            )
        ended = sorted(int(r[0]) for r in self._run("interrupt_strategies", interrupt)) if strategies else []
        cancelled = sorted(int(r[0]) for r in self._run("cancel_live_orders", cancel)) if orders else []
        return ended, cancelled

    def book_closings(
        self, account_id: int, closings: Sequence[Closing], cash: CashState | None, now: datetime, day: date
    ) -> list[tuple[int, int | None]]:
        if not closings:
            return []
        batch = self.batch
        codec = batch.codec
        at = codec.time(now)
        stored_day = codec.day(day)
        order_rows = []
        for c in closings:
            tick = c.contract.product.tick_size
            filled = c.price is not None
            order_rows.append(
                (
                    account_id, c.contract.id, c.side.value, OrderType.MARKET.value, c.qty,
                    TimeInForce.GTC.value, (OrdStatus.FILLED if filled else OrdStatus.WORKING).value,
                    codec.flag(True), None, None, codec.flag(False),
                    None if c.price is None else int(c.price / tick), None, at, at, None, codec.flag(False),
                    None, None, None,
                )
            )  # fmt: skip
        order_ids = self._insert("insert_orders", order_rows)  # statements.ORDER_INSERT_COLUMNS
        fill_rows = []
        position_rows = []
        for order_id, c in zip(order_ids, closings, strict=True):
            if c.price is None or c.position is None:
                continue
            tick = c.contract.product.tick_size
            state = c.position
            fill_rows.append(
                (
                    order_id,
                    account_id,
                    c.contract.id,
                    c.side.value,
                    c.qty,
                    int(c.price / tick),
                    at,
                    stored_day,
                )
            )
            lots = _encode_lots([[lot.qty, int(lot.price / tick)] for lot in state.lots]).decode()
            position_rows.append(
                (
                    account_id, c.contract.id, lots, state.bought, int(state.bought_value / tick),
                    state.sold, int(state.sold_value / tick), int(state.realized_points / tick), at,
                    stored_day,
                )
            )  # fmt: skip
        fill_ids = iter(self._insert("insert_fills", fill_rows))  # statements.FILL_INSERT_COLUMNS
        self._insert("save_positions", position_rows, returning=False)  # statements.POSITION_SAVE_COLUMNS
        if cash is not None:
            # statements.CASH_SAVE_COLUMNS
            params = (
                account_id, cash.amount, cash.realized, cash.week_realized, cash.amount_sod, at, stored_day,
            )  # fmt: skip
            self._run("save_cash", params)
        return [
            (order_id, None if c.price is None else next(fill_ids))
            for order_id, c in zip(order_ids, closings, strict=True)
        ]

    def _insert(self, name: str, rows: Sequence[tuple[Any, ...]], *, returning: bool = True) -> list[int]:
        """Insert `rows` by statement `name` of `statements.insert_rows`, one statement per
        `MAX_ROWS_PER_INSERT` rows; their ids (`returning`), ascending (ids are given in insertion
        order)."""
        ids: list[int] = []
        batch = self.batch
        cursor = batch.cursor
        for start in range(0, len(rows), MAX_ROWS_PER_INSERT):
            chunk = rows[start : start + MAX_ROWS_PER_INSERT]
            statement = insert_rows(batch.statements.dialect_name, name, len(chunk))
            cursor.execute(statement.sql, [v for row in chunk for v in row])
            if returning:
                ids.extend(sorted(int(r[0]) for r in cursor.fetchall()))
        return ids
