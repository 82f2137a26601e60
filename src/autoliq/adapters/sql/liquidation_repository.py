"""The liquidation's set-based statements (mixed into SqlStore): an account's state in one read,
its live work ended in one statement (two on SQLite), and its closing orders, fills, positions and
cash written one statement per table, however many positions and orders the account has.

They run on the raw DB-API cursor, with `?` marks on SQLite and `%s` on PostgreSQL, like the order
path's (trading_repository.py); prices are stored in ticks and money in cents.
"""

# ruff: noqa: S608 - the SQL is built from module constants; values are always bound parameters.
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from autoliq.adapters.sql.codec import read_day
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

_ACTIVE = StrategyStatus.ACTIVE.value
_INTERRUPTED = StrategyStatus.INTERRUPTED.value

# One row per position of the account (one row with NULL positions when it has none), each with the
# contract's last price, the account's cash row, whether it has post-trade settings, running
# strategies and live (working or suspended) orders.
_STATE = (
    "SELECT p.contract_id, p.lots, p.bought, p.bought_ticks, p.sold, p.sold_ticks, p.realized_ticks, "
    "cp.price_ticks, c.amount_cents, c.realized_cents, c.week_realized_cents, c.amount_sod_cents, "
    "c.trade_date, "
    "EXISTS (SELECT 1 FROM user_account_auto_liq s WHERE s.id = a.id), "
    f"EXISTS (SELECT 1 FROM order_strategy g WHERE g.account_id = a.id AND g.status = '{_ACTIVE}'), "
    "EXISTS (SELECT 1 FROM trade_order o WHERE o.account_id = a.id AND o.status IN ('Working', 'Suspended')) "
    "FROM account a "
    "LEFT JOIN position p ON p.account_id = a.id "
    "LEFT JOIN contract_price cp ON cp.contract_id = p.contract_id "
    "LEFT JOIN cash_balance c ON c.account_id = a.id "
    "WHERE a.id = ? ORDER BY p.contract_id"
)
_INTERRUPT = (
    "UPDATE order_strategy SET status = ?, updated = ?, failure_message = ? "
    "WHERE account_id = ? AND status = ? RETURNING id"
)
_CANCEL = (
    "UPDATE trade_order SET status = ?, updated = ? "
    "WHERE account_id = ? AND status IN ('Working', 'Suspended') RETURNING id"
)
# PostgreSQL ends both in one statement (SQLite has no data-modifying WITH).
_PG_END_LIVE_WORK = (
    f"WITH s AS ({_INTERRUPT}), o AS ({_CANCEL}) SELECT 0, id FROM s UNION ALL SELECT 1, id FROM o"
).replace("?", "%s")
_ORDER_COLUMNS = (
    "account_id, contract_id, action, order_type, qty, time_in_force, status, admin, limit_ticks, "
    "stop_ticks, triggered, fill_ticks, cl_ord_id, created, updated, parent_id, has_children, "
    "strategy_id, strategy_label, offset_ticks"
)
_FILL_COLUMNS = "order_id, account_id, contract_id, action, qty, price_ticks, timestamp, trade_date"
_POSITION_COLUMNS = (
    "account_id, contract_id, lots, bought, bought_ticks, sold, sold_ticks, realized_ticks, timestamp, "
    "trade_date"
)
_POSITION_UPDATE = (
    " ON CONFLICT (account_id, contract_id) DO UPDATE SET "
    "lots = excluded.lots, bought = excluded.bought, bought_ticks = excluded.bought_ticks, "
    "sold = excluded.sold, sold_ticks = excluded.sold_ticks, realized_ticks = excluded.realized_ticks, "
    "timestamp = excluded.timestamp, trade_date = excluded.trade_date"
)
_SAVE_CASH = (
    "INSERT INTO cash_balance (account_id, amount_cents, realized_cents, week_realized_cents, "
    "amount_sod_cents, trade_date, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (account_id) DO UPDATE SET amount_cents = excluded.amount_cents, "
    "realized_cents = excluded.realized_cents, week_realized_cents = excluded.week_realized_cents, "
    "amount_sod_cents = excluded.amount_sod_cents, trade_date = excluded.trade_date, "
    "timestamp = excluded.timestamp"
)
# SQLite binds at most 32,766 parameters per statement: rows per multi-row INSERT (20 columns).
_ROWS_PER_INSERT = 1000


def _values(width: int, rows: int, mark: str) -> str:
    one = "(" + ", ".join([mark] * width) + ")"
    return ", ".join([one] * rows)


class LiquidationRepository(ConnectionOwner):
    """The set-based statements of the liquidation engine (the LiquidationStore port)."""

    def _run(self, sql: str, params: Sequence[Any]) -> Any:
        hot = self.batch
        cursor = hot.cursor
        cursor.execute(sql if hot.is_sqlite else sql.replace("?", "%s"), tuple(params))
        return cursor

    def liquidation_state(self, account_id: int, day: date) -> LiquidationState:
        rows = self._run(_STATE, (account_id,)).fetchall()
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
        return LiquidationState(
            tuple(positions), cash, bool(first[13]), strategies=bool(first[14]), orders=bool(first[15])
        )

    def end_live_work(
        self, account_id: int, now: datetime, message: str, *, strategies: bool = True, orders: bool = True
    ) -> tuple[list[int], list[int]]:
        hot = self.batch
        codec = hot.codec
        at = codec.time(now)
        interrupt = (_INTERRUPTED, at, message, account_id, _ACTIVE)
        cancel = (OrdStatus.CANCELED.value, at, account_id)
        if not hot.is_sqlite and strategies and orders:
            rows = self._run(_PG_END_LIVE_WORK, (*interrupt, *cancel)).fetchall()
            return (
                sorted(int(r[1]) for r in rows if r[0] == 0),
                sorted(int(r[1]) for r in rows if r[0] == 1),
            )
        ended = sorted(int(r[0]) for r in self._run(_INTERRUPT, interrupt)) if strategies else []
        cancelled = sorted(int(r[0]) for r in self._run(_CANCEL, cancel)) if orders else []
        return ended, cancelled

    def book_closings(
        self, account_id: int, closings: Sequence[Closing], cash: CashState | None, now: datetime, day: date
    ) -> list[tuple[int, int | None]]:
        if not closings:
            return []
        hot = self.batch
        codec = hot.codec
        mark = "?" if hot.is_sqlite else "%s"
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
        order_ids = self._insert("trade_order", _ORDER_COLUMNS, 20, order_rows, mark, returning=True)
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
        fill_ids = iter(self._insert("fill", _FILL_COLUMNS, 8, fill_rows, mark, returning=True))
        self._insert("position", _POSITION_COLUMNS, 10, position_rows, mark, suffix=_POSITION_UPDATE)
        if cash is not None:
            params = (
                account_id, cash.amount, cash.realized, cash.week_realized, cash.amount_sod, stored_day, at,
            )  # fmt: skip
            self._run(_SAVE_CASH, params)
        return [
            (order_id, None if c.price is None else next(fill_ids))
            for order_id, c in zip(order_ids, closings, strict=True)
        ]

    def _insert(
        self,
        table: str,
        columns: str,
        width: int,
        rows: Sequence[tuple[Any, ...]],
        mark: str,
        *,
        returning: bool = False,
        suffix: str = "",
    ) -> list[int]:
        """Insert `rows` with one multi-row INSERT (per `_ROWS_PER_INSERT`); their ids, ascending
        (ids are given in the order the rows are inserted)."""
        ids: list[int] = []
        cursor = self.batch.cursor
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start : start + _ROWS_PER_INSERT]
            sql = f"INSERT INTO {table} ({columns}) VALUES {_values(width, len(chunk), mark)}{suffix}"
            cursor.execute(sql + (" RETURNING id" if returning else ""), [v for row in chunk for v in row])
            if returning:
                ids.extend(sorted(int(r[0]) for r in cursor.fetchall()))
        return ids
