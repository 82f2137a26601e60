"""Orders, fills, positions, cash, and the linked orders (OCO, OSO, strategies) of one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from autoliq.domain.accounting import PositionState
from autoliq.domain.instruments import ContractSpec
from autoliq.domain.linked import OrderStrategy, StrategyLink, StrategyStatus
from autoliq.domain.model import User
from autoliq.domain.money import CashState
from autoliq.domain.orders import Order, OrderLinks, OrderType, OrdStatus, TimeInForce
from autoliq.domain.states import Side


class TradingStore(Protocol):
    """Orders, fills, positions and cash of one transaction (prices as Decimal, money in cents)."""

    def last_price(self, contract: ContractSpec) -> Decimal | None: ...
    def working_orders(self, contract: ContractSpec, account_id: int | None = None) -> list[Order]: ...
    def order_summary(self, order_id: int) -> tuple[int, OrdStatus, int] | None: ...
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
    ) -> None: ...
    def position_key(self, position_id: int) -> tuple[int, int] | None: ...
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
    ) -> int: ...
    def set_order_status(
        self,
        order_id: int,
        status: OrdStatus,
        now: datetime,
        *,
        fill_price: Decimal | None = None,
        tick: Decimal | None = None,
        triggered: bool | None = None,
    ) -> None: ...
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
    ) -> int: ...
    def position(self, account_id: int, contract: ContractSpec) -> PositionState: ...
    def save_position(
        self, account_id: int, contract: ContractSpec, state: PositionState, now: datetime, day: date
    ) -> None: ...
    def open_positions(self, account_id: int) -> list[tuple[int, str]]: ...
    def cash(self, account_id: int, day: date) -> CashState: ...
    def add_realized(self, account_id: int, cents: int, now: datetime, day: date) -> None: ...
    def adjust_cash(self, account_id: int, cents: int, now: datetime, day: date) -> None: ...
    def insert_cash_change(
        self, account_id: int, cents: int, comment: str, by: User, now: datetime
    ) -> None: ...
    def cash_changes_since(self, account_id: int, since: datetime, *, by_admin: bool) -> int: ...
    def cash_rows(
        self, account_ids: Sequence[int]
    ) -> dict[int, tuple[int, int, int, int, datetime, date]]: ...
    def trading_rows(
        self,
        table: str,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        account_ids: Sequence[int] | None = None,
    ) -> list[Any]:
        """Rows of orders (`order`), fills or positions visible in the organization or to the owner."""
        ...


class LinkedStore(Protocol):
    """OCO pairs, OSO brackets and order strategies of one transaction."""

    def link_oco(self, first: int, second: int) -> None:
        """Tie two stored orders into an OCO pair (each names the other)."""
        ...

    def children(self, parent_id: int, contract: ContractSpec) -> list[Order]:
        """The brackets of entry `parent_id`, oldest first."""
        ...

    def order(self, order_id: int, contract: ContractSpec) -> Order | None:
        """One order of `contract` by id, or None."""
        ...

    def set_order_offset(self, order_id: int, contract: ContractSpec, offset: Decimal) -> None:
        """A suspended strategy bracket's new distance from its entry's fill price."""
        ...

    def order_links(self, order_id: int) -> tuple[int | None, bool, int | None] | None:
        """(oco id, has children, strategy id) of an order, or None."""
        ...

    def activate_order(
        self,
        order_id: int,
        contract: ContractSpec,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
        now: datetime,
    ) -> None:
        """A suspended bracket starts working at these prices."""
        ...

    def live_orders_of_account(
        self, account_id: int, contract_id: int | None = None
    ) -> list[tuple[int, int]]:
        """(order id, contract id) of the account's working and suspended orders (in one contract)."""
        ...

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
    ) -> int: ...
    def set_strategy_status(
        self, strategy_id: int, status: StrategyStatus, now: datetime, failure_message: str | None = None
    ) -> None: ...
    def strategy(self, strategy_id: int) -> OrderStrategy | None: ...
    def running_strategies(self, account_id: int) -> list[int]: ...
    def strategy_live_orders(self, strategy_id: int) -> int: ...
    def strategy_rows(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        account_ids: Sequence[int] | None = None,
    ) -> list[OrderStrategy]: ...
    def strategy_link_rows(
        self,
        organization_id: int | None,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        strategy_ids: Sequence[int] | None = None,
    ) -> list[StrategyLink]: ...
