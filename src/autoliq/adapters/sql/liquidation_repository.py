"""The liquidation's and the evaluation's set-based statements (mixed into SqlStore): an account's
state in one read, its live work ended in one statement (two on SQLite), and its closing orders,
fills, positions and cash written one statement per table, however many positions and orders the
account has; the same for many accounts at once (`*_of`: a price tick's evaluations), with their
layers, unlock timers, log rows, alerts and price triggers.

The statements are compiled from the schema once per dialect (`statements.py`) and run on the raw
DB-API cursor of the batch, their values converted by the batch's codec, like the order path's
(trading_repository.py). Rows whose new ids are needed go in one multi-row INSERT ... RETURNING,
compiled per row count (`statements.insert_rows`), or for many rows in one `executemany`; the
others in one `executemany`. Prices are stored in ticks and money in cents.

The liquidation writes trade_order, fill, position, cash_balance and order_strategy only: none of
the tables the batch caches (`batch.py`: the status tables, auto_liq_layer, risk_category,
account), so no cache of the batch goes stale behind its back
(tests/integration/test_liquidation_writes.py). The evaluation's status and log rows go through the
batch, and its layer writes drop the batch's prepared layers (`Batch.layers_changed`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from autoliq.adapters.sql.batch import status_from_row
from autoliq.adapters.sql.codec import read_day, read_time
from autoliq.adapters.sql.statements import (
    ACCOUNT_COLUMNS,
    MANY_ROWS,
    SINGLE_ROW,
    STATUS_COLUMNS,
    insert_rows,
)
from autoliq.adapters.sql.trading_repository import (
    ConnectionOwner,
    _decode_lots,
    _encode_lots,
    _position_state,
)
from autoliq.domain.auto_liq import Alert, AutoLiqLayer, LayerState
from autoliq.domain.instruments import contract_of_id
from autoliq.domain.linked import StrategyStatus
from autoliq.domain.model import Account, RiskStatus, RiskStatusLogEntry
from autoliq.domain.money import CashState, opening_cash, roll_cash
from autoliq.domain.orders import OrderType, OrdStatus, TimeInForce
from autoliq.domain.post_trade import SETTING_FIELDS, AutoLiqSettings, TrailingMode
from autoliq.domain.states import Actor
from autoliq.domain.timers import TimerKind
from autoliq.service.ports.liquidation import (
    Book,
    Closing,
    EvaluationInput,
    HeldPosition,
    LiquidationState,
    NewAlert,
    SystemLog,
)

_INTERRUPTED = StrategyStatus.INTERRUPTED.value
_CANCELED = OrdStatus.CANCELED.value


def _state_of(rows: Sequence[Any], day: date) -> LiquidationState:
    """An account's numbers from its rows of `liquidation_state` (positions, prices, cash)."""
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
    return LiquidationState(tuple(positions), cash, False, strategies=False, orders=False)


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
        state = _state_of(rows, day)
        if not live_work:
            return state
        first = rows[0]
        return LiquidationState(
            state.positions, state.cash, bool(first[13]), strategies=bool(first[14]), orders=bool(first[15])
        )

    def evaluation_inputs(self, account_ids: Sequence[int], day: date) -> dict[int, EvaluationInput]:
        """Two statements on the raw cursor however many accounts: the settings joined with the
        account, its status and layer (`statements._evaluation_inputs`), then the numbers. A
        prepared batch's buffered status writes are sent first."""
        wanted = list(dict.fromkeys(account_ids))
        batch = self.batch
        batch.send_buffered()
        rows = self._run("evaluation_inputs", (self._ids(wanted),)).fetchall()
        if not rows:
            return {}
        n = len(SETTING_FIELDS)
        a0, s0 = 1 + n, 1 + n + len(ACCOUNT_COLUMNS)
        l0 = s0 + len(STATUS_COLUMNS)
        found: dict[int, tuple[Account, AutoLiqSettings, RiskStatus | None, AutoLiqLayer | None]] = {}
        equity: dict[int, tuple[int, int | None] | None] = {}
        for row in rows:
            account_id = int(row[0])
            values = dict(zip(SETTING_FIELDS, row[1:a0], strict=True))
            mode = values["trailing_max_drawdown_mode"]
            values["trailing_max_drawdown_mode"] = None if mode is None else TrailingMode(mode)
            values["flatten_timestamp"] = read_time(values["flatten_timestamp"])
            values["changes_locked"] = bool(values["changes_locked"])
            values["do_not_unlock"] = bool(values["do_not_unlock"])
            _, org, user, name, created, archived, category = row[a0:s0]
            owner = Account(
                account_id, org, user, name, read_time(created) or created, bool(archived), category
            )
            status = None if row[s0] is None else status_from_row(row[s0:l0])
            state, rule, since, until, net_liq, floor = row[l0:]
            equity[account_id] = (
                None if net_liq is None else (int(net_liq), None if floor is None else int(floor))
            )
            layer = None
            if state is not None:
                began = read_time(since) or since
                layer = AutoLiqLayer(account_id, LayerState(state), rule, began, read_time(until))
            found[account_id] = (owner, AutoLiqSettings(id=account_id, **values), status, layer)
        ids = [a for a in wanted if a in found]
        numbers = self.accounts_numbers(ids, day)
        return {a: EvaluationInput(*found[a], numbers[a], equity[a]) for a in ids}

    def accounts_numbers(self, account_ids: Sequence[int], day: date) -> dict[int, LiquidationState]:
        """`liquidation_state(..., live_work=False)` of many accounts in one statement."""
        rows = self._run("accounts_numbers", (self._ids(account_ids),)).fetchall()
        out: dict[int, LiquidationState] = {}
        start = 0
        for end in range(1, len(rows) + 1):
            if end == len(rows) or rows[end][0] != rows[start][0]:
                out[int(rows[start][0])] = _state_of([row[1:] for row in rows[start:end]], day)
                start = end
        return out

    def _ids(self, account_ids: Sequence[int]) -> Any:
        """The `ids` parameter of a statement of many accounts (statements._in_ids)."""
        ids = [int(a) for a in account_ids]
        return json.dumps(ids) if self.batch.is_sqlite else ids

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
        return self.book_closings_of([Book(account_id, closings, cash)], now, day)[0]

    def book_closings_of(
        self, books: Sequence[Book], now: datetime, day: date
    ) -> list[list[tuple[int, int | None]]]:
        batch = self.batch
        codec = batch.codec
        at = codec.time(now)
        stored_day = codec.day(day)
        order_rows = []
        for book in books:
            for c in book.closings:
                tick = c.contract.product.tick_size
                filled = c.price is not None
                order_rows.append(
                    (
                        book.account_id, c.contract.id, c.side.value, OrderType.MARKET.value, c.qty,
                        TimeInForce.GTC.value, (OrdStatus.FILLED if filled else OrdStatus.WORKING).value,
                        codec.flag(True), None, None, codec.flag(False),
                        None if c.price is None else int(c.price / tick), None, at, at, None,
                        codec.flag(False), None, None, None,
                    )
                )  # fmt: skip
        order_ids = iter(self._insert("insert_orders", order_rows))  # statements.ORDER_INSERT_COLUMNS
        fill_rows = []
        position_rows = []
        per_book: list[list[int]] = []
        for book in books:
            ids = [next(order_ids) for _ in book.closings]
            per_book.append(ids)
            for order_id, c in zip(ids, book.closings, strict=True):
                if c.price is None or c.position is None:
                    continue
                tick = c.contract.product.tick_size
                state = c.position
                fill_rows.append(
                    (
                        order_id, book.account_id, c.contract.id, c.side.value, c.qty,
                        int(c.price / tick), at, stored_day,
                    )
                )  # fmt: skip
                lots = _encode_lots([[lot.qty, int(lot.price / tick)] for lot in state.lots]).decode()
                position_rows.append(
                    (
                        book.account_id, c.contract.id, lots, state.bought, int(state.bought_value / tick),
                        state.sold, int(state.sold_value / tick), int(state.realized_points / tick), at,
                        stored_day,
                    )
                )  # fmt: skip
        fill_ids = iter(self._insert("insert_fills", fill_rows))  # statements.FILL_INSERT_COLUMNS
        self._insert("save_positions", position_rows, returning=False)  # statements.POSITION_SAVE_COLUMNS
        cash_rows = [
            (
                book.account_id, book.cash.amount, book.cash.realized, book.cash.week_realized,
                book.cash.amount_sod, at, stored_day,
            )
            for book in books
            if book.cash is not None
        ]  # fmt: skip  # statements.CASH_SAVE_COLUMNS
        self._many("save_cash", cash_rows)
        return [
            [
                (order_id, None if c.price is None else next(fill_ids))
                for order_id, c in zip(ids, book.closings, strict=True)
            ]
            for ids, book in zip(per_book, books, strict=True)
        ]

    def end_live_work_of(
        self, account_ids: Sequence[int], now: datetime, message: str
    ) -> dict[int, tuple[list[int], list[int]]]:
        if not account_ids:
            return {}
        at = self.batch.codec.time(now)
        ids = self._ids(account_ids)
        out: dict[int, tuple[list[int], list[int]]] = {}
        for name, params, which in (
            ("interrupt_strategies_of", (_INTERRUPTED, message, at, ids), 0),
            ("cancel_live_orders_of", (_CANCELED, at, ids), 1),
        ):
            for account_id, row_id in self._run(name, params).fetchall():
                out.setdefault(int(account_id), ([], []))[which].append(int(row_id))
        for strategies, orders in out.values():
            strategies.sort()
            orders.sort()
        return out

    def save_auto_liq_layers(self, layers: Sequence[AutoLiqLayer]) -> None:
        if not layers:
            return
        time = self.batch.codec.time
        rows = [(x.account_id, x.state.value, x.rule, time(x.since), time(x.until)) for x in layers]
        self._many("save_layer", rows)  # statements.LAYER_COLUMNS
        self.batch.layers_changed()

    def replace_unlock_timers(self, timers: Mapping[int, tuple[datetime | None, datetime]]) -> None:
        if not timers:
            return
        kind = TimerKind.AUTO_LIQ_UNLOCK.value
        self._run("delete_timers_of", (kind, self._ids(list(timers))))
        time = self.batch.codec.time
        rows = [
            (account_id, kind, None, time(set_at), time(due))
            for account_id, (due, set_at) in timers.items()
            if due is not None
        ]
        self._many("insert_timer", rows)  # statements.TIMER_INSERT_COLUMNS

    def add_alerts(self, alerts: Sequence[NewAlert], now: datetime, day: date) -> list[Alert]:
        codec = self.batch.codec
        at, stored_day = codec.time(now), codec.day(day)
        rows = [(a.account_id, at, stored_day, a.rule, a.level.value, a.message) for a in alerts]
        ids = self._insert("insert_alerts", rows)  # statements.ALERT_INSERT_COLUMNS
        return [
            Alert(alert_id, a.account_id, now, day, a.rule, a.level, a.message)
            for alert_id, a in zip(ids, alerts, strict=True)
        ]

    def save_triggers_of(self, triggers: Mapping[int, dict[int, tuple[int | None, int | None]]]) -> None:
        self._many("clear_triggers", [(account_id,) for account_id in triggers])
        rows = [
            (low, high, account_id, contract_id)
            for account_id, by_contract in triggers.items()
            for contract_id, (low, high) in by_contract.items()
            if low is not None or high is not None
        ]
        self._many("set_triggers", rows)

    def save_risk_statuses(self, statuses: Sequence[RiskStatus]) -> None:
        self.batch.save_risk_statuses(statuses)

    def append_system_logs(self, rows: Sequence[SystemLog], now: datetime) -> list[RiskStatusLogEntry]:
        ids = self.batch.append_logs(
            [(r.account_id, now, r.status, Actor.SYSTEM, None, None, r.reason) for r in rows]
        )
        return [
            RiskStatusLogEntry(entry_id, r.account_id, now, r.status, Actor.SYSTEM, None, None, r.reason)
            for entry_id, r in zip(ids, rows, strict=True)
        ]

    def _many(self, name: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run compiled statement `name` once per row: `execute` for one row, else `executemany`
        (psycopg pipelines it: one round trip)."""
        if not rows:
            return
        batch = self.batch
        if len(rows) == 1:
            batch.cursor.execute(batch.statements[name], rows[0])
        else:
            batch.cursor.executemany(batch.statements[name], rows)

    def _insert(self, name: str, rows: Sequence[tuple[Any, ...]], *, returning: bool = True) -> list[int]:
        """Insert `rows` by statement `name` of `statements.insert_rows`; their ids (`returning`),
        ascending (ids are given in insertion order). Up to `MANY_ROWS` rows: one multi-row
        statement, compiled once per row count; more: the single-row statement in one
        `executemany` (SQLite: the ids are the last ones given, consecutive: the transaction is
        the database's only writer; PostgreSQL: psycopg's `executemany` returning each row's id)."""
        if not rows:
            return []
        batch = self.batch
        cursor = batch.cursor
        if len(rows) <= MANY_ROWS:
            statement = insert_rows(batch.statements.dialect_name, name, len(rows))
            cursor.execute(statement.sql, [v for row in rows for v in row])
            return sorted(int(r[0]) for r in cursor.fetchall()) if returning else []
        with_ids, plain = SINGLE_ROW[name]
        if not returning:
            cursor.executemany(batch.statements[plain], rows)
            return []
        if batch.is_sqlite:
            cursor.executemany(batch.statements[plain], rows)
            last = int(cursor.execute("SELECT last_insert_rowid()").fetchone()[0])
            return list(range(last - len(rows) + 1, last + 1))
        cursor.executemany(batch.statements[with_ids], rows, returning=True)
        ids: list[int] = []
        while True:
            ids.extend(int(r[0]) for r in cursor.fetchall())
            if not cursor.nextset():
                break
        return sorted(ids)
