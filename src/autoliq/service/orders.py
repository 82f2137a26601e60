"""The order path's entry: validation with Tradovate's failure reasons, then one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from autoliq.domain.accounting import PositionState, open_points
from autoliq.domain.cme_calendar import calendar
from autoliq.domain.errors import NotFound
from autoliq.domain.gate import TEXT_ACCESS_DENIED, UNKNOWN_REASON
from autoliq.domain.instruments import ContractSpec, contract_of_id, price_problem
from autoliq.domain.limits import (
    MAX_ORDER_QTY_LIMIT_REACHED,
    OrderLimits,
    order_qty_exceeds,
    text_max_order_qty,
)
from autoliq.domain.model import User
from autoliq.domain.orders import OrderType, TimeInForce
from autoliq.domain.session import trade_date
from autoliq.domain.states import Side
from autoliq.service.accounts import AccountDirectory
from autoliq.service.clock import Clock
from autoliq.service.execution import (
    NewOrder,
    OrderChange,
    OrderOutcome,
    cancel_order,
    order_refusal,
)
from autoliq.service.market import MarketData
from autoliq.service.ports import Store, UnitOfWork
from autoliq.service.risk_engine import liquidate_position, modify_order, place_order

INVALID_CONTRACT = "InvalidContract"
INVALID_PRICE = "InvalidPrice"
UNSUPPORTED = "Unsupported"
SESSION_CLOSED = "SessionClosed"
TRADOVATE_ORDER_TYPES = frozenset({
    "Limit", "LimitIfTouched", "MIT", "Market", "QTS",
    "Stop", "StopLimit", "TrailingStop", "TrailingStopLimit",
})  # fmt: skip
TIME_IN_FORCE_NAMES = frozenset(t.value for t in TimeInForce)
ORDER_TYPE_NAMES = frozenset(t.value for t in OrderType)


Price = float | Decimal | None
"""A price as requested: the wire's JSON number (or none), or a strategy entry's parsed `Decimal`."""


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """placeorder's request (also the first order of placeOCO/placeOSO and a strategy's entry), as
    sent: `TradingService.new_order` validates it with Tradovate's failure reasons and texts."""

    account_id: int | None
    symbol: str
    action: str
    order_qty: int
    order_type: str
    price: Price = None
    stop_price: Price = None
    time_in_force: str | None = None
    cl_ord_id: str | None = None


@dataclass(frozen=True, slots=True)
class ModifyOrder:
    """modifyorder's request, as sent: new quantity, type, prices or time in force of a working order."""

    order_id: int
    order_qty: int
    order_type: str
    price: float | None = None
    stop_price: float | None = None
    time_in_force: str | None = None


def _failure(reason: str, text: str) -> OrderOutcome:
    return OrderOutcome(None, reason, text)


def _price(raw: Price, contract: ContractSpec, field: str) -> Decimal | OrderOutcome:
    if raw is None:
        return _failure(INVALID_PRICE, f"{field} is required for this order type")
    try:
        price = Decimal(str(raw))
    except InvalidOperation:
        return _failure(INVALID_PRICE, f"{field} is not a number")
    product = contract.product
    if price_problem(price, product) is not None:
        return _failure(
            INVALID_PRICE,
            f"{field} must be positive, below {product.max_price.normalize():f} and a multiple of "
            f"{product.tick_size}",
        )
    return price


def _quantity_failure(qty: int | None, limits: OrderLimits) -> OrderOutcome | None:
    """The failure of a requested quantity: not positive, or over the per-order cap (any JSON
    integer gets here, however large: only its comparison with the cap is computed)."""
    if qty is None or qty <= 0:
        return _failure(UNKNOWN_REASON, "Order quantity should be greater than 0")
    if order_qty_exceeds(qty, limits):
        return _failure(MAX_ORDER_QTY_LIMIT_REACHED, text_max_order_qty(limits.max_order_qty))
    return None


@dataclass(frozen=True, slots=True)
class CashSnapshot:
    """Tradovate's `CashBalanceSnapshot`, in dollars."""

    total_cash_value: Decimal
    realized_pnl: Decimal
    week_realized_pnl: Decimal
    open_pnl: Decimal
    net_liq: Decimal
    total_cash_value_sod: Decimal


class TradingService:
    """placeorder, cancelorder and the cash snapshot."""

    @property
    def limits(self) -> OrderLimits:
        """The order path's limits."""
        return self._limits

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        market: MarketData,
        accounts: AccountDirectory,
        limits: OrderLimits | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._market = market
        self._accounts = accounts
        self._limits = limits or OrderLimits()

    async def _tradable(self, caller: User, account_id: int | None) -> bool:
        return await self._accounts.visible(caller, account_id) is not None

    async def may_trade(self, caller: User, account_id: int | None) -> bool:
        """Whether `caller` may trade the account (an admin its organization's, a trader its own)."""
        return await self._tradable(caller, account_id)

    async def place_order(self, caller: User, command: PlaceOrder) -> OrderOutcome:
        """Tradovate's placeorder: failures are values (`failureReason`, `failureText`)."""
        order = await self.new_order(caller, command)
        if isinstance(order, OrderOutcome):
            return order
        # Refusals are decided on a snapshot, without entering the serial write order (a refusal
        # changes nothing); what passes is judged again inside its transaction.
        refusal = await self._uow.snapshot(
            lambda store: order_refusal(store, order),
            accounts=(order.account_id,),
            orders=((order.account_id, order.contract.id),),
        )
        if refusal is not None:
            return refusal
        clock = self._clock
        return await self._uow.write(
            lambda store: place_order(store, order, clock.now()),
            accounts=(order.account_id,),
            orders=((order.account_id, order.contract.id),),
        )

    async def new_order(self, caller: User, command: PlaceOrder) -> NewOrder | OrderOutcome:
        """A placeorder request (`PlaceOrder`, and the first order of `PlaceOCO`/`PlaceOSO`)
        checked: the order, or the failure."""
        account_id = command.account_id
        if account_id is None or not await self._tradable(caller, account_id):
            return _failure(UNKNOWN_REASON, TEXT_ACCESS_DENIED)
        try:
            contract = self._market.contract_by_name(command.symbol)
        except NotFound:
            return _failure(INVALID_CONTRACT, f"Unknown contract symbol {command.symbol!r}")
        if command.action not in ("Buy", "Sell"):
            return _failure(UNKNOWN_REASON, "Action should be Buy or Sell")
        qty_failure = _quantity_failure(command.order_qty, self._limits)
        if qty_failure is not None:
            return qty_failure
        terms = self.terms(command.order_type, command.price, command.stop_price, contract)
        if isinstance(terms, OrderOutcome):
            return terms
        order_type, limit, stop = terms
        tif_text = command.time_in_force or "Day"
        if tif_text not in TIME_IN_FORCE_NAMES:
            return _failure(UNSUPPORTED, f"Time in force {tif_text} is not supported by the sandbox")
        shut = self.session_refusal(contract)
        if shut is not None:
            return shut
        return NewOrder(
            account_id,
            contract,
            Side(command.action),
            command.order_qty,
            order_type,
            TimeInForce(tif_text),
            limit_price=limit,
            stop_price=stop,
            cl_ord_id=command.cl_ord_id,
            max_position=self._limits.max_position,
            day=trade_date(self._clock.now()),
        )

    def session_refusal(self, contract: ContractSpec) -> OrderOutcome | None:
        """`SessionClosed` when `contract`'s CME session is shut now (the daily halt, a weekend, a
        holiday, after an early close) and the server keeps market hours; else None. Checked after
        the request's own fields and before the account's state: the market is shut for every
        account alike. Liquidations (`liquidate_position`) are never refused for it."""
        if not self._limits.market_hours:
            return None
        now = self._clock.now()
        sessions = calendar(contract.product.calendar)
        if sessions.is_open(now):
            return None
        reopens = sessions.next_open(now).strftime("%Y-%m-%dT%H:%M:%SZ")
        return _failure(SESSION_CLOSED, f"The market for {contract.name} is closed; it reopens at {reopens}")

    def terms(
        self, order_type_text: str, price: Price, stop_price: Price, contract: ContractSpec
    ) -> tuple[OrderType, Decimal | None, Decimal | None] | OrderOutcome:
        """Order type and prices of a placeorder/modifyorder request, or the failure."""
        if order_type_text not in TRADOVATE_ORDER_TYPES:
            return _failure(UNKNOWN_REASON, "Unknown order type")
        if order_type_text not in ORDER_TYPE_NAMES:
            return _failure(UNSUPPORTED, f"{order_type_text} orders are not supported by the sandbox")
        order_type = OrderType(order_type_text)
        limit = stop = None
        if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            checked = _price(price, contract, "price")
            if isinstance(checked, OrderOutcome):
                return checked
            limit = checked
        if order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            checked = _price(stop_price, contract, "stopPrice")
            if isinstance(checked, OrderOutcome):
                return checked
            stop = checked
        return order_type, limit, stop

    async def modify_order(self, caller: User, command: ModifyOrder) -> OrderOutcome:
        """Tradovate's modifyorder: new quantity, type, prices or time in force of a working order."""
        order_id = command.order_id
        if order_id <= 0:
            return _failure(UNKNOWN_REASON, "Order Id should be greater than 0")
        summary = await self._uow.read(lambda s: s.order_summary(order_id))
        if summary is None or not await self._tradable(caller, summary[0]):
            return _failure(UNKNOWN_REASON, TEXT_ACCESS_DENIED)
        try:
            contract = self._market.contract(summary[2])
        except NotFound:
            return _failure(INVALID_CONTRACT, "The order's contract is no longer listed")
        qty_failure = _quantity_failure(command.order_qty, self._limits)
        if qty_failure is not None:
            return qty_failure
        terms = self.terms(command.order_type, command.price, command.stop_price, contract)
        if isinstance(terms, OrderOutcome):
            return terms
        tif: TimeInForce | None = None
        if command.time_in_force is not None:
            if command.time_in_force not in TIME_IN_FORCE_NAMES:
                return _failure(
                    UNSUPPORTED, f"Time in force {command.time_in_force} is not supported by the sandbox"
                )
            tif = TimeInForce(command.time_in_force)
        shut = self.session_refusal(contract)
        if shut is not None:
            return shut
        order_type, limit, stop = terms
        cap = self._limits.max_position
        change = OrderChange(order_id, contract, order_type, command.order_qty, tif, limit, stop, cap)
        clock = self._clock
        return await self._uow.write(
            lambda store: modify_order(store, change, clock.now()), accounts=(summary[0],)
        )

    async def liquidate_position(
        self, caller: User, account_id: int, contract_id: int, admin: bool
    ) -> OrderOutcome:
        """Tradovate's liquidateposition: cancel the contract's working orders and close the position."""
        if not await self._tradable(caller, account_id) or (admin and not caller.is_admin):
            return _failure(UNKNOWN_REASON, TEXT_ACCESS_DENIED)
        try:
            contract = self._market.contract(contract_id)
        except NotFound:
            return _failure(INVALID_CONTRACT, "Unknown contract")
        clock = self._clock
        return await self._uow.write(
            lambda store: liquidate_position(store, account_id, contract, admin, clock.now()),
            accounts=(account_id,),
        )

    async def liquidate_positions(self, caller: User, position_ids: list[int], admin: bool) -> str | None:
        """Tradovate's liquidatepositions: every listed position, in one transaction; an errorText or None."""
        if not position_ids:
            return "Empty positions"
        if admin and not caller.is_admin:
            return TEXT_ACCESS_DENIED
        keys = await self._uow.read(lambda s: [s.position_key(p) for p in position_ids])
        targets: list[tuple[int, ContractSpec]] = []
        for key in keys:
            if key is None or not await self._tradable(caller, key[0]):
                return TEXT_ACCESS_DENIED
            try:
                targets.append((key[0], self._market.contract(key[1])))
            except NotFound:
                return "Unknown contract"
        clock = self._clock

        def work(store: Store) -> None:
            now = clock.now()
            for account_id, contract in targets:
                liquidate_position(store, account_id, contract, admin, now)

        await self._uow.write(work, accounts=tuple(a for a, _ in targets))
        return None

    async def cancel_order(self, caller: User, order_id: int | None) -> OrderOutcome:
        """Tradovate's cancelorder: always allowed for a working order the caller may trade."""
        if order_id is None or order_id <= 0:
            return _failure(UNKNOWN_REASON, "Order Id should be greater than 0")
        summary = await self._uow.read(lambda s: s.order_summary(order_id))
        if summary is None or not await self._tradable(caller, summary[0]):
            return _failure(UNKNOWN_REASON, TEXT_ACCESS_DENIED)
        clock = self._clock
        done = await self._uow.write(
            lambda store: cancel_order(store, order_id, clock.now()), accounts=(summary[0],)
        )
        if not done:
            return _failure(UNKNOWN_REASON, "Order is not working")
        return OrderOutcome(order_id)

    async def cash_snapshot(self, caller: User, account_id: int | None) -> CashSnapshot:
        """The account's cash and P&L now, positions marked to their last prices."""
        account = await self._accounts.visible(caller, account_id)
        if account is None:
            raise NotFound()
        day = trade_date(self._clock.now())
        return await self._uow.read(lambda s: cash_snapshot_of(s, account.id, day))


def cash_snapshot_of(store: Store, account_id: int, day: date) -> CashSnapshot:
    """The account's cash snapshot on trade date `day`, positions marked to their last prices."""
    cash = store.cash(account_id, day)
    amount, realized, week, sod = cash.amount, cash.realized, cash.week_realized, cash.amount_sod
    open_dollars = Decimal(0)
    for contract_id, _ in store.open_positions(account_id):
        contract = contract_of_id(contract_id)
        if contract is None:
            continue
        state: PositionState = store.position(account_id, contract)
        open_dollars += open_points(state, store.last_price(contract)) * contract.product.value_per_point
    cents = Decimal(100)
    total = Decimal(amount) / cents
    return CashSnapshot(
        total_cash_value=total,
        realized_pnl=Decimal(realized) / cents,
        week_realized_pnl=Decimal(week) / cents,
        open_pnl=open_dollars,
        net_liq=total + open_dollars,
        total_cash_value_sod=Decimal(sod) / cents,
    )
