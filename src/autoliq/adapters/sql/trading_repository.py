"""Orders, fills, positions and cash balances over one SQLAlchemy connection (mixed into SqlStore).

Prices are stored in whole ticks of their contract and money in cents, so both engines keep them
exactly; the conversion to `Decimal` happens here, at the edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import Connection, Row, and_, func, insert, select, update
from sqlalchemy.sql import ColumnElement

from autoliq.adapters.sql.batch import MISSING, Batch
from autoliq.adapters.sql.codec import price as _price
from autoliq.adapters.sql.codec import read_day, read_time
from autoliq.adapters.sql.codec import ticks as _ticks
from autoliq.adapters.sql.schema import account, cash_balance, cash_change, fill, position, trade_order
from autoliq.domain.accounting import Lot, PositionState
from autoliq.domain.instruments import ContractSpec
from autoliq.domain.model import Account, User
from autoliq.domain.money import CashState, opening_cash, roll_cash, with_realized
from autoliq.domain.orders import NO_LINKS, Order, OrderLinks, OrderType, OrdStatus, TimeInForce
from autoliq.domain.states import Side

# A position's FIFO lots: a JSON array of [quantity, price in ticks].
_encode_lots = msgspec.json.Encoder().encode
_decode_lots = msgspec.json.Decoder(list[tuple[int, int]]).decode


def account_from_row(row: Row[Any]) -> Account:
    """An account from its row."""
    return Account(
        id=row.id,
        organization_id=row.organization_id,
        user_id=row.user_id,
        name=row.name,
        created=row.created,
        archived=bool(row.archived),
        risk_category_id=row.risk_category_id,
    )


class ConnectionOwner:
    """A repository mixin's view of SqlStore: its connection and the `Batch` on it (raw-cursor
    statements and the per-batch cache)."""

    conn: Connection
    _batch: Batch | None

    @property
    def batch(self) -> Batch:
        """The raw-cursor statements of the write path, made on first use."""
        if self._batch is None:
            self._batch = Batch(self.conn)
        return self._batch


class TradingRepository(ConnectionOwner):
    """The trading tables of the Store port."""

    def _execute(self, name: str, params: tuple[Any, ...]) -> Any:
        """Run one of the order path's statements on the raw cursor; the cursor."""
        batch = self.batch
        cursor = batch.cursor
        cursor.execute(batch.statements[name], params)
        return cursor

    def _own(self, name: str, params: tuple[Any, ...]) -> Any:
        """Run one of the order path's own statements where the batch did not prepare its row (after
        the batch's buffered writes; it touches only that row, so the prepared ones stay)."""
        batch = self.batch
        cursor = batch.read_cursor
        cursor.execute(batch.statements[name], params)
        return cursor

    def has_auto_liq_settings(self, account_id: int) -> bool:
        prepared = self.batch.prepared("settings", account_id)
        if prepared is not MISSING:
            return bool(prepared)
        return self._own("has_settings", (account_id,)).fetchone() is not None

    # -- prices --
    def last_price(self, contract: ContractSpec) -> Decimal | None:
        ticks = self.batch.prepared("prices", contract.id)
        if ticks is MISSING:
            row = self._own("last_price", (contract.id,)).fetchone()
            ticks = None if row is None else row[0]
        return None if ticks is None else ticks * contract.product.tick_size

    # -- orders --
    @staticmethod
    def _order(row: Sequence[Any], tick: Decimal) -> Order:
        return Order(
            id=row[0],
            account_id=row[1],
            contract_id=row[2],
            side=Side(row[3]),
            order_type=OrderType(row[4]),
            qty=row[5],
            time_in_force=TimeInForce(row[6]),
            status=OrdStatus(row[7]),
            admin=bool(row[8]),
            created=read_time(row[9]) or datetime.min,
            limit_price=_price(row[10], tick),
            stop_price=_price(row[11], tick),
            triggered=bool(row[12]),
            fill_price=_price(row[13], tick),
            parent_id=row[14],
            oco_id=row[15],
            strategy_id=row[16],
            offset=_price(row[17], tick),
            has_children=bool(row[18]),
        )

    def working_orders(self, contract: ContractSpec, account_id: int | None = None) -> list[Order]:
        """Working orders of the contract (of one account, or of all), oldest first."""
        tick = contract.product.tick_size
        if account_id is None:
            cursor = self._own("working", (contract.id,))
        else:
            prepared = self.batch.prepared("working", (account_id, contract.id))
            if prepared is not MISSING:
                return [self._order(r, tick) for r in prepared]
            cursor = self._own("working_of_account", (account_id, contract.id))
        return [self._order(r, tick) for r in cursor.fetchall()]

    def order_summary(self, order_id: int) -> tuple[int, OrdStatus, int] | None:
        """(account id, status, contract id) of an order, or None."""
        row = self.conn.execute(
            select(trade_order.c.account_id, trade_order.c.status, trade_order.c.contract_id).where(
                trade_order.c.id == order_id
            )
        ).first()
        return (row.account_id, OrdStatus(row.status), row.contract_id) if row else None

    def modify_order(
        self,
        order_id: int,
        contract: ContractSpec,
        order_type: OrderType,
        qty: int,
        time_in_force: TimeInForce,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
        now: datetime,
    ) -> None:
        """Replace a working order's terms (a modified stop must be reached again)."""
        self._set_order_terms(
            order_id, (limit_price, stop_price), contract.product.tick_size,
            order_type=order_type.value, qty=qty, time_in_force=time_in_force.value, triggered=False,
            updated=now,
        )  # fmt: skip

    def _set_order_terms(
        self, order_id: int, prices: tuple[Decimal | None, Decimal | None], tick: Decimal, **values: Any
    ) -> None:
        """Set an order's (limit, stop) `prices`, stored in ticks, and the other `values`."""
        limit_ticks, stop_ticks = (_ticks(price, tick) for price in prices)
        self.conn.execute(
            update(trade_order)
            .where(trade_order.c.id == order_id)
            .values(limit_ticks=limit_ticks, stop_ticks=stop_ticks, **values)
        )

    def position_key(self, position_id: int) -> tuple[int, int] | None:
        """(account id, contract id) of a position row, or None."""
        row = self.conn.execute(
            select(position.c.account_id, position.c.contract_id).where(position.c.id == position_id)
        ).first()
        return (row.account_id, row.contract_id) if row else None

    def insert_order(
        self,
        account_id: int,
        contract: ContractSpec,
        side: Side,
        order_type: OrderType,
        qty: int,
        time_in_force: TimeInForce,
        status: OrdStatus,
        admin: bool,
        now: datetime,
        *,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        fill_price: Decimal | None = None,
        triggered: bool = False,
        cl_ord_id: str | None = None,
        links: OrderLinks | None = None,
    ) -> int:
        tick = contract.product.tick_size
        batch = self.batch
        codec = batch.codec
        at = codec.time(now)
        linked = links or NO_LINKS
        params = (
            account_id, contract.id, side.value, order_type.value, qty, time_in_force.value, status.value,
            codec.flag(admin), _ticks(limit_price, tick), _ticks(stop_price, tick), codec.flag(triggered),
            _ticks(fill_price, tick), cl_ord_id, at, at, linked.parent_id, codec.flag(linked.has_children),
            linked.strategy_id, linked.strategy_label, _ticks(linked.offset, tick),
        )  # fmt: skip
        if status is OrdStatus.WORKING:
            batch.forget_working((account_id, contract.id))
        order_id = batch.new_id("trade_order")
        if order_id is None:
            return int(self._own("insert_order", params).fetchone()[0])
        batch.buffer_write("insert_order_with_id", (order_id, *params))
        return order_id

    def set_order_status(
        self,
        order_id: int,
        status: OrdStatus,
        now: datetime,
        *,
        fill_price: Decimal | None = None,
        tick: Decimal | None = None,
        triggered: bool | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status.value, "updated": now}
        if fill_price is not None and tick is not None:
            values["fill_ticks"] = _ticks(fill_price, tick)
        if triggered is not None:
            values["triggered"] = triggered
        self.conn.execute(update(trade_order).where(trade_order.c.id == order_id).values(**values))

    # -- fills and positions --
    def insert_fill(
        self,
        order_id: int,
        account_id: int,
        contract: ContractSpec,
        side: Side,
        qty: int,
        price: Decimal,
        now: datetime,
        day: date,
    ) -> int:
        batch = self.batch
        codec = batch.codec
        params = (
            order_id, account_id, contract.id, side.value, qty, _ticks(price, contract.product.tick_size),
            codec.time(now), codec.day(day),
        )  # fmt: skip
        fill_id = batch.new_id("fill")
        if fill_id is None:
            return int(self._own("insert_fill", params).fetchone()[0])
        batch.buffer_write("insert_fill_with_id", (fill_id, *params))
        return fill_id

    def position(self, account_id: int, contract: ContractSpec) -> PositionState:
        row = self.batch.prepared("positions", (account_id, contract.id))
        if row is MISSING:
            row = self._own("position", (account_id, contract.id)).fetchone()
        return PositionState() if row is None else _position_state(row, contract.product.tick_size)

    def save_position(
        self, account_id: int, contract: ContractSpec, state: PositionState, now: datetime, day: date
    ) -> None:
        tick = contract.product.tick_size
        codec = self.batch.codec
        lots = _encode_lots([[lot.qty, int(lot.price / tick)] for lot in state.lots]).decode()
        params = (
            account_id, contract.id, lots, state.bought, int(state.bought_value / tick), state.sold,
            int(state.sold_value / tick), int(state.realized_points / tick), codec.time(now), codec.day(day),
        )  # fmt: skip
        self._write_row("positions", (account_id, contract.id), "save_position", params, params[2:8])

    def _write_row(
        self, kind: str, key: Any, name: str, params: tuple[Any, ...], row: tuple[Any, ...]
    ) -> None:
        """Write by statement `name` (buffered when the batch prepared `kind`'s `key`, whose row it
        then holds as written: `row`), else at once through `cursor`."""
        batch = self.batch
        if batch.prepared(kind, key) is MISSING:
            self._own(name, params)
        else:
            batch.remember(kind, key, row)
            batch.buffer_write(name, params)

    def open_positions(self, account_id: int) -> list[tuple[int, str]]:
        """(contract id, lots JSON) of the account's positions that are not flat."""
        rows = self.conn.execute(
            select(position.c.contract_id, position.c.lots).where(position.c.account_id == account_id)
        )
        return [(r.contract_id, r.lots) for r in rows if _decode_lots(r.lots)]

    # -- cash --
    def cash(self, account_id: int, day: date) -> CashState:
        """The account's cash as of trade date `day` (rolled forward if it last moved earlier)."""
        row = self.batch.prepared("cash", account_id)
        if row is MISSING:
            row = self._own("cash", (account_id,)).fetchone()
        if row is None:
            return opening_cash(day)
        return roll_cash(CashState(row[0], row[1], row[2], row[3], read_day(row[4])), day)

    def adjust_cash(self, account_id: int, cents: int, now: datetime, day: date) -> None:
        """Add `cents` to the account's cash (a deposit or withdrawal: realized P&L unchanged)."""
        cash = self.cash(account_id, day)
        codec = self.batch.codec
        params = (
            account_id, cash.amount + cents, cash.realized, cash.week_realized, cash.amount_sod,
            codec.time(now), codec.day(day),
        )  # fmt: skip
        self._write_row("cash", account_id, "save_cash", params, (*params[1:5], params[6]))

    def insert_cash_change(self, account_id: int, cents: int, comment: str, by: User, now: datetime) -> None:
        """Record a demo cash change."""
        self.conn.execute(
            insert(cash_change).values(
                account_id=account_id,
                amount_cents=cents,
                comment=comment,
                user_id=by.id,
                by_admin=by.is_admin,
                timestamp=now,
            )
        )

    def cash_changes_since(self, account_id: int, since: datetime, *, by_admin: bool) -> int:
        """How many cash changes of the account, by admins or by others, were made after `since`."""
        found = self.conn.execute(
            select(func.count())
            .select_from(cash_change)
            .where(
                cash_change.c.account_id == account_id,
                cash_change.c.by_admin == by_admin,
                cash_change.c.timestamp > since,
            )
        ).scalar_one()
        return int(found)

    def cash_rows(self, account_ids: Sequence[int]) -> dict[int, tuple[int, int, int, int, datetime, date]]:
        """(amount, realized, week realized, amount SOD in cents, timestamp, trade date) by account,
        for the accounts that have traded."""
        out: dict[int, tuple[int, int, int, int, datetime, date]] = {}
        ids = list(account_ids)
        for start in range(0, len(ids), 5000):
            rows = self.conn.execute(
                select(cash_balance).where(cash_balance.c.account_id.in_(ids[start : start + 5000]))
            )
            for r in rows:
                out[r.account_id] = (
                    r.amount_cents, r.realized_cents, r.week_realized_cents, r.amount_sod_cents, r.timestamp,
                    r.trade_date,
                )  # fmt: skip
        return out

    def add_realized(self, account_id: int, cents: int, now: datetime, day: date) -> None:
        cash = with_realized(self.cash(account_id, day), cents, day)
        codec = self.batch.codec
        params = (
            account_id, cash.amount, cash.realized, cash.week_realized,
            cash.amount_sod, codec.time(now), codec.day(day),
        )  # fmt: skip
        self._write_row("cash", account_id, "save_cash", params, (*params[1:5], params[6]))

    # -- reads for the API --
    def trading_rows(
        self,
        table: str,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        account_ids: Sequence[int] | None = None,
    ) -> list[Row[Any]]:
        """Rows of `trade_order`, `fill` or `position` visible in the organization (or to the owner)."""
        t = {"order": trade_order, "fill": fill, "position": position}[table]
        j = t.join(account, account.c.id == t.c.account_id)
        conds: list[ColumnElement[bool]] = [account.c.organization_id == organization_id]
        if owner_id is not None:
            conds.append(account.c.user_id == owner_id)
        if ids is not None:
            conds.append(t.c.id.in_(list(ids)))
        if account_ids is not None:
            conds.append(t.c.account_id.in_(list(account_ids)))
        return list(self.conn.execute(select(t).select_from(j).where(and_(*conds)).order_by(t.c.id)))


def _position_state(row: Sequence[Any], tick: Decimal) -> PositionState:
    return PositionState(
        lots=tuple(Lot(q, t * tick) for q, t in _decode_lots(row[0])),
        bought=row[1],
        bought_value=row[2] * tick,
        sold=row[3],
        sold_value=row[4] * tick,
        realized_points=row[5] * tick,
    )
