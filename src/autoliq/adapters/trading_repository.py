"""Orders, fills, positions and cash balances over one SQLAlchemy connection (mixed into SqlStore).

Prices are stored in whole ticks of their contract and money in cents, so both engines keep them
exactly; the conversion to `Decimal` happens here, at the edge.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, and_, insert, select, update
from sqlalchemy.sql import ColumnElement

from autoliq.adapters.tables import account, cash_balance, contract_price, fill, position, trade_order
from autoliq.domain.accounting import Lot, PositionState
from autoliq.domain.instruments import ContractSpec
from autoliq.domain.money import CashState, opening_cash, roll_cash
from autoliq.domain.orders import Order, OrderType, OrdStatus, TimeInForce
from autoliq.domain.states import Side


def _ticks(price: Decimal | None, tick: Decimal) -> int | None:
    return None if price is None else int(price / tick)


def _price(ticks: int | None, tick: Decimal) -> Decimal | None:
    return None if ticks is None else ticks * tick


class TradingRepository:
    """The trading tables of the Store port."""

    conn: Connection

    # -- prices --
    def last_price(self, contract: ContractSpec) -> Decimal | None:
        ticks = self.conn.execute(
            select(contract_price.c.price_ticks).where(contract_price.c.contract_id == contract.id)
        ).scalar()
        return _price(ticks, contract.product.tick_size)

    # -- orders --
    def _order(self, row: Row[Any], tick: Decimal) -> Order:
        return Order(
            id=row.id,
            account_id=row.account_id,
            contract_id=row.contract_id,
            side=Side(row.action),
            order_type=OrderType(row.order_type),
            qty=row.qty,
            time_in_force=TimeInForce(row.time_in_force),
            status=OrdStatus(row.status),
            admin=bool(row.admin),
            created=row.created,
            limit_price=_price(row.limit_ticks, tick),
            stop_price=_price(row.stop_ticks, tick),
            triggered=bool(row.triggered),
            fill_price=_price(row.fill_ticks, tick),
        )

    def working_orders(self, contract: ContractSpec, account_id: int | None = None) -> list[Order]:
        """Working orders of the contract (of one account, or of all), oldest first."""
        conds: list[ColumnElement[bool]] = [
            trade_order.c.contract_id == contract.id,
            trade_order.c.status == OrdStatus.WORKING.value,
        ]
        if account_id is not None:
            conds.append(trade_order.c.account_id == account_id)
        rows = self.conn.execute(select(trade_order).where(and_(*conds)).order_by(trade_order.c.id))
        return [self._order(r, contract.product.tick_size) for r in rows]

    def working_orders_of_account(self, account_id: int) -> list[tuple[int, int]]:
        """(order id, contract id) of every working order of the account."""
        rows = self.conn.execute(
            select(trade_order.c.id, trade_order.c.contract_id).where(
                trade_order.c.account_id == account_id, trade_order.c.status == OrdStatus.WORKING.value
            )
        )
        return [(r.id, r.contract_id) for r in rows]

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
        tick = contract.product.tick_size
        self.conn.execute(
            update(trade_order)
            .where(trade_order.c.id == order_id)
            .values(
                order_type=order_type.value,
                qty=qty,
                time_in_force=time_in_force.value,
                limit_ticks=_ticks(limit_price, tick),
                stop_ticks=_ticks(stop_price, tick),
                triggered=False,
                updated=now,
            )
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
    ) -> int:
        tick = contract.product.tick_size
        return int(
            self.conn.execute(
                insert(trade_order)
                .values(
                    account_id=account_id,
                    contract_id=contract.id,
                    action=side.value,
                    order_type=order_type.value,
                    qty=qty,
                    time_in_force=time_in_force.value,
                    status=status.value,
                    admin=admin,
                    limit_ticks=_ticks(limit_price, tick),
                    stop_ticks=_ticks(stop_price, tick),
                    triggered=triggered,
                    fill_ticks=_ticks(fill_price, tick),
                    cl_ord_id=cl_ord_id,
                    created=now,
                    updated=now,
                )
                .returning(trade_order.c.id)
            ).scalar_one()
        )

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
        return int(
            self.conn.execute(
                insert(fill)
                .values(
                    order_id=order_id,
                    account_id=account_id,
                    contract_id=contract.id,
                    action=side.value,
                    qty=qty,
                    price_ticks=_ticks(price, contract.product.tick_size),
                    timestamp=now,
                    trade_date=day,
                )
                .returning(fill.c.id)
            ).scalar_one()
        )

    def position(self, account_id: int, contract: ContractSpec) -> PositionState:
        row = self.conn.execute(
            select(position).where(position.c.account_id == account_id, position.c.contract_id == contract.id)
        ).first()
        return PositionState() if row is None else _position_state(row, contract.product.tick_size)

    def save_position(
        self, account_id: int, contract: ContractSpec, state: PositionState, now: datetime, day: date
    ) -> None:
        tick = contract.product.tick_size
        values = {
            "lots": json.dumps([[lot.qty, int(lot.price / tick)] for lot in state.lots]),
            "bought": state.bought,
            "bought_ticks": int(state.bought_value / tick),
            "sold": state.sold,
            "sold_ticks": int(state.sold_value / tick),
            "realized_ticks": int(state.realized_points / tick),
            "timestamp": now,
            "trade_date": day,
        }
        result = self.conn.execute(
            update(position)
            .where(position.c.account_id == account_id, position.c.contract_id == contract.id)
            .values(**values)
        )
        if result.rowcount == 0:
            self.conn.execute(
                insert(position).values(account_id=account_id, contract_id=contract.id, **values)
            )

    def open_positions(self, account_id: int) -> list[tuple[int, str]]:
        """(contract id, lots JSON) of the account's positions that are not flat."""
        rows = self.conn.execute(
            select(position.c.contract_id, position.c.lots).where(position.c.account_id == account_id)
        )
        return [(r.contract_id, r.lots) for r in rows if json.loads(r.lots)]

    # -- cash --
    def cash(self, account_id: int, day: date) -> CashState:
        """The account's cash as of trade date `day` (rolled forward if it last moved earlier)."""
        row = self.conn.execute(select(cash_balance).where(cash_balance.c.account_id == account_id)).first()
        if row is None:
            return opening_cash(day)
        stored = CashState(
            row.amount_cents,
            row.realized_cents,
            row.week_realized_cents,
            row.amount_sod_cents,
            row.trade_date,
        )
        return roll_cash(stored, day)

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
        cash = self.cash(account_id, day)
        values = {
            "amount_cents": cash.amount + cents,
            "realized_cents": cash.realized + cents,
            "week_realized_cents": cash.week_realized + cents,
            "amount_sod_cents": cash.amount_sod,
            "timestamp": now,
            "trade_date": day,
        }
        result = self.conn.execute(
            update(cash_balance).where(cash_balance.c.account_id == account_id).values(**values)
        )
        if result.rowcount == 0:
            self.conn.execute(insert(cash_balance).values(account_id=account_id, **values))

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


def _position_state(row: Row[Any], tick: Decimal) -> PositionState:
    return PositionState(
        lots=tuple(Lot(q, t * tick) for q, t in json.loads(row.lots)),
        bought=row.bought,
        bought_value=row.bought_ticks * tick,
        sold=row.sold,
        sold_value=row.sold_ticks * tick,
        realized_points=row.realized_ticks * tick,
    )
