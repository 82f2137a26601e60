"""Linked orders (OCO pairs, OSO brackets) and order strategies over one connection (mixed into
SqlStore). Not on the plain order path: a plain placeorder never reads or writes here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.sql import ColumnElement

from autoliq.adapters.sql.codec import ticks as _ticks
from autoliq.adapters.sql.schema import account, order_strategy, trade_order
from autoliq.adapters.sql.trading_repository import TradingRepository
from autoliq.domain.instruments import ContractSpec
from autoliq.domain.linked import OrderStrategy, StrategyLink, StrategyStatus
from autoliq.domain.orders import LIVE_STATUSES, Order, OrdStatus
from autoliq.domain.states import Side

_LIVE = [s.value for s in LIVE_STATUSES]


class LinkedOrdersRepository(TradingRepository):
    """The linked-order and order-strategy tables of the Store port."""

    # -- order links --
    def link_oco(self, first: int, second: int) -> None:
        """Tie two stored orders into an OCO pair (each names the other)."""
        t = trade_order
        self.conn.execute(update(t).where(t.c.id == first).values(oco_id=second))
        self.conn.execute(update(t).where(t.c.id == second).values(oco_id=first))

    def children(self, parent_id: int, contract: ContractSpec) -> list[Order]:
        """The brackets of entry `parent_id`, oldest first."""
        cursor = self._execute("children", (parent_id,))
        tick = contract.product.tick_size
        return [self._order(r, tick) for r in cursor.fetchall()]

    def order(self, order_id: int, contract: ContractSpec) -> Order | None:
        """One order of `contract` by id, or None."""
        cursor = self._execute("order", (order_id,))
        row = cursor.fetchone()
        return None if row is None else self._order(row, contract.product.tick_size)

    def set_order_offset(self, order_id: int, contract: ContractSpec, offset: Decimal) -> None:
        """A suspended strategy bracket's new distance from its entry's fill price."""
        ticks = _ticks(offset, contract.product.tick_size)
        self.conn.execute(update(trade_order).where(trade_order.c.id == order_id).values(offset_ticks=ticks))

    def order_links(self, order_id: int) -> tuple[int | None, bool, int | None] | None:
        """(oco id, has children, strategy id) of an order, or None."""
        t = trade_order
        row = self.conn.execute(
            select(t.c.oco_id, t.c.has_children, t.c.strategy_id).where(t.c.id == order_id)
        ).first()
        return None if row is None else (row.oco_id, bool(row.has_children), row.strategy_id)

    def activate_order(
        self,
        order_id: int,
        contract: ContractSpec,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
        now: datetime,
    ) -> None:
        """A suspended bracket starts working at these prices."""
        self._set_order_terms(
            order_id, (limit_price, stop_price), contract.product.tick_size,
            status=OrdStatus.WORKING.value, updated=now,
        )  # fmt: skip

    def live_orders_of_account(
        self, account_id: int, contract_id: int | None = None
    ) -> list[tuple[int, int]]:
        """(order id, contract id) of the account's working and suspended orders (in one contract)."""
        t = trade_order
        conds: list[ColumnElement[bool]] = [t.c.account_id == account_id, t.c.status.in_(_LIVE)]
        if contract_id is not None:
            conds.append(t.c.contract_id == contract_id)
        rows = self.conn.execute(select(t.c.id, t.c.contract_id).where(*conds).order_by(t.c.id))
        return [(int(r.id), int(r.contract_id)) for r in rows]

    # -- order strategies --
    def insert_strategy(
        self,
        account_id: int,
        contract_id: int,
        type_id: int,
        side: Side,
        params: str,
        now: datetime,
        *,
        initiator_id: int | None,
        uuid: str | None,
        custom_tag50: str | None,
    ) -> int:
        """Store a new running strategy; its id."""
        row = self.conn.execute(
            insert(order_strategy)
            .values(
                account_id=account_id,
                contract_id=contract_id,
                order_strategy_type_id=type_id,
                initiator_id=initiator_id,
                action=side.value,
                params=params,
                uuid=uuid,
                status=StrategyStatus.ACTIVE.value,
                custom_tag50=custom_tag50,
                timestamp=now,
                updated=now,
            )
            .returning(order_strategy.c.id)
        ).scalar_one()
        return int(row)

    def set_strategy_status(
        self, strategy_id: int, status: StrategyStatus, now: datetime, failure_message: str | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status.value, "updated": now}
        if failure_message is not None:
            values["failure_message"] = failure_message
        self.conn.execute(update(order_strategy).where(order_strategy.c.id == strategy_id).values(**values))

    def strategy(self, strategy_id: int) -> OrderStrategy | None:
        row = self.conn.execute(select(order_strategy).where(order_strategy.c.id == strategy_id)).first()
        return None if row is None else _strategy(row)

    def running_strategies(self, account_id: int) -> list[int]:
        """Ids of the account's running (`ActiveStrategy`) strategies."""
        t = order_strategy
        rows = self.conn.execute(
            select(t.c.id).where(t.c.account_id == account_id, t.c.status == StrategyStatus.ACTIVE.value)
        )
        return [int(r.id) for r in rows]

    def strategy_live_orders(self, strategy_id: int) -> int:
        """How many of the strategy's orders are working or suspended."""
        t = trade_order
        found = self.conn.execute(
            select(func.count()).select_from(t).where(t.c.strategy_id == strategy_id, t.c.status.in_(_LIVE))
        ).scalar_one()
        return int(found)

    # -- reads for the API --
    def strategy_rows(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        account_ids: Sequence[int] | None = None,
    ) -> list[OrderStrategy]:
        """Strategies visible in the organization (or to the owner), by id."""
        t = order_strategy
        conds = _visible(organization_id, owner_id)
        if ids is not None:
            conds.append(t.c.id.in_(list(ids)))
        if account_ids is not None:
            conds.append(t.c.account_id.in_(list(account_ids)))
        j = t.join(account, account.c.id == t.c.account_id)
        rows = self.conn.execute(select(t).select_from(j).where(and_(*conds)).order_by(t.c.id))
        return [_strategy(r) for r in rows]

    def strategy_link_rows(
        self,
        organization_id: int | None,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        strategy_ids: Sequence[int] | None = None,
    ) -> list[StrategyLink]:
        """Strategy links (orders of strategies) visible in the organization (or to the owner); every
        organization's with `organization_id` None (the service's own reads of one strategy)."""
        t = trade_order
        conds = [] if organization_id is None else _visible(organization_id, owner_id)
        conds.append(t.c.strategy_id.is_not(None))
        if ids is not None:
            conds.append(t.c.id.in_(list(ids)))
        if strategy_ids is not None:
            conds.append(t.c.strategy_id.in_(list(strategy_ids)))
        j = t.join(account, account.c.id == t.c.account_id)
        query = select(t.c.id, t.c.strategy_id, t.c.strategy_label).select_from(j).where(and_(*conds))
        rows = self.conn.execute(query.order_by(t.c.id))
        return [StrategyLink(int(r.id), int(r.strategy_id), r.strategy_label or "") for r in rows]


def _visible(organization_id: int, owner_id: int | None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [account.c.organization_id == organization_id]
    if owner_id is not None:
        conds.append(account.c.user_id == owner_id)
    return conds


def _strategy(row: Any) -> OrderStrategy:
    return OrderStrategy(
        id=int(row.id),
        account_id=int(row.account_id),
        contract_id=int(row.contract_id),
        type_id=int(row.order_strategy_type_id),
        side=Side(row.action),
        params=row.params,
        status=StrategyStatus(row.status),
        timestamp=row.timestamp,
        initiator_id=row.initiator_id,
        uuid=row.uuid,
        failure_message=row.failure_message,
        custom_tag50=row.custom_tag50,
    )
