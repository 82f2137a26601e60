"""Trading: placing and cancelling orders through the one gate, fills, and the liquidation engine.

Each function here is a transaction body over the Store port; the caller hands it to the unit of
work, so the gate's reading of the risk status, the order and its fill commit together, in the one
order the unit of work gives every write (no order is accepted after the lock that refuses it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from autoliq.domain.accounting import apply_fill
from autoliq.domain.events import TradingEntityChanged
from autoliq.domain.gate import (
    AccountPosition,
    Allowed,
    Decision,
    OrderIntent,
    check_order,
    needs_position,
    reducible_qty,
)
from autoliq.domain.instruments import ContractSpec
from autoliq.domain.limits import at_storage_bound
from autoliq.domain.orders import OrderType, OrdStatus, TimeInForce, marketable_price, stop_triggered
from autoliq.domain.session import trade_date
from autoliq.domain.states import Side
from autoliq.service import auto_liq
from autoliq.service.ports import Store

NO_QUOTE = "NoQuote"
TEXT_NO_QUOTE = "No price for this contract yet: market orders need a last price"


@dataclass(frozen=True, slots=True)
class NewOrder:
    """A validated order request."""

    account_id: int
    contract: ContractSpec
    side: Side
    qty: int
    order_type: OrderType
    time_in_force: TimeInForce
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    admin: bool = False
    cl_ord_id: str | None = None
    max_position: int | None = None
    """The net position cap it is judged against (None: the liquidation engine's, which only reduce)."""


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """Tradovate's `PlaceOrderResult`: an order id, or a failure reason and text."""

    order_id: int | None = None
    failure_reason: str | None = None
    failure_text: str | None = None


def gate_decision(
    store: Store,
    account_id: int,
    contract: ContractSpec,
    intent: OrderIntent,
    excluding_order: int | None = None,
    pending: tuple[int, int] = (0, 0),
) -> Decision:
    """The gate's decision on `intent`, from what `store` shows: the account's three layers and,
    where the decision depends on them, its position in the contract and its other working orders
    there (`excluding_order`: the one being judged; `pending`: buy and sell quantities judged as
    working beside them, the earlier orders of a dry run's batch)."""
    state = store.trading_state(account_id)
    if not needs_position(intent, state):
        return check_order(intent, AccountPosition(state.admin_action, 0, 0, 0, state.auto_liq, state.halted))
    working = [o for o in store.working_orders(contract, account_id) if o.id != excluding_order]
    held = store.position(account_id, contract)
    view = AccountPosition(
        state.admin_action,
        held.net_pos,
        working_buy_qty=pending[0] + sum(o.qty for o in working if o.side is Side.BUY),
        working_sell_qty=pending[1] + sum(o.qty for o in working if o.side is Side.SELL),
        auto_liq=state.auto_liq,
        halted=state.halted,
    )
    if intent.max_position is not None and not 0 < intent.qty <= reducible_qty(intent.side, view):
        # Only an order that does not reduce can be held back by the storage bound: read the cash
        # for it alone. `date.min`: the stored figures as they are, not rolled to a trade date.
        cash = store.cash(account_id, date.min)
        if at_storage_bound(held, contract.product.tick_size, cash):
            view = replace(view, at_storage_bound=True)
    return check_order(intent, view)


def _judge(store: Store, order: NewOrder) -> tuple[OrderOutcome | None, Decimal | None]:
    """The gate's and the quote's verdict on a new order (a refusal or None), and the last price."""
    intent = OrderIntent(order.side, order.qty, order.admin, order.max_position)
    decision = gate_decision(store, order.account_id, order.contract, intent)
    if not isinstance(decision, Allowed):
        return OrderOutcome(None, decision.failure_reason, decision.failure_text), None
    last = store.last_price(order.contract)
    if order.order_type is OrderType.MARKET and last is None and not order.admin:
        return OrderOutcome(None, NO_QUOTE, TEXT_NO_QUOTE), None
    return None, last


def order_refusal(store: Store, order: NewOrder) -> OrderOutcome | None:
    """The refusal a new order would get on the state `store` shows, or None. Read-only: on a
    snapshot taken during the request, a refusal is a valid answer (the state it saw was committed
    at that instant); an order it lets through is judged again by `place_order` in the write order.
    The limits (position cap, storage bound) are left to that second judgement: they need the
    position, the working orders and the cash, which the write reads anyway, and an order they
    refuse is rare; reading them here too would cost every accepted order three more reads."""
    return _judge(store, replace(order, max_position=None))[0]


def place_order(store: Store, order: NewOrder, now: datetime) -> OrderOutcome:
    """Gate, then accept: fill at the last price when marketable, else rest (IOC/FOK: cancelled).
    A refused order changes nothing."""
    refusal, last = _judge(store, order)
    if refusal is not None:
        return refusal
    price = marketable_price(order.order_type, order.side, last, order.limit_price, order.stop_price)
    if price is None:
        status = (
            OrdStatus.CANCELED
            if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK)
            else OrdStatus.WORKING
        )
        order_id = store.insert_order(
            order.account_id,
            order.contract,
            order.side,
            order.order_type,
            order.qty,
            order.time_in_force,
            status,
            order.admin,
            now,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            cl_ord_id=order.cl_ord_id,
        )
        store.emit(TradingEntityChanged("order", "Created", order.account_id, order_id))
        return OrderOutcome(order_id)
    order_id = store.insert_order(
        order.account_id,
        order.contract,
        order.side,
        order.order_type,
        order.qty,
        order.time_in_force,
        OrdStatus.FILLED,
        order.admin,
        now,
        limit_price=order.limit_price,
        stop_price=order.stop_price,
        fill_price=price,
        triggered=order.stop_price is not None,
        cl_ord_id=order.cl_ord_id,
    )
    store.emit(TradingEntityChanged("order", "Created", order.account_id, order_id))
    execute_fill(store, order_id, order.account_id, order.contract, order.side, order.qty, price, now)
    return OrderOutcome(order_id)


def execute_fill(
    store: Store,
    order_id: int,
    account_id: int,
    contract: ContractSpec,
    side: Side,
    qty: int,
    price: Decimal,
    now: datetime,
) -> None:
    """Book a fill: the fill row, the position, and the realized P&L into the cash balance; then
    the account's post-trade rules."""
    day = trade_date(now)
    effect = apply_fill(store.position(account_id, contract), side, qty, price)
    fill_id = store.insert_fill(order_id, account_id, contract, side, qty, price, now, day)
    store.save_position(account_id, contract, effect.position, now, day)
    store.emit(TradingEntityChanged("fill", "Created", account_id, fill_id))
    store.emit(TradingEntityChanged("position", "Updated", account_id, contract.id))
    if effect.realized_points:
        cents = effect.realized_points * contract.product.value_per_point * 100
        store.add_realized(account_id, int(cents), now, day)
        store.emit(TradingEntityChanged("cashBalance", "Updated", account_id, account_id))
    # The fill moved the account's numbers: its post-trade rules decide now, in this transaction.
    auto_liq.evaluate_account(store, account_id, now)


def cancel_order(store: Store, order_id: int, now: datetime) -> bool:
    """Cancel a working order (always allowed, whatever the state); False when it is not working."""
    summary = store.order_summary(order_id)
    if summary is None or summary[1] is not OrdStatus.WORKING:
        return False
    store.set_order_status(order_id, OrdStatus.CANCELED, now)
    store.emit(TradingEntityChanged("order", "Updated", summary[0], order_id))
    return True


@dataclass(frozen=True, slots=True)
class OrderChange:
    """A validated modifyorder request."""

    order_id: int
    contract: ContractSpec
    order_type: OrderType
    qty: int
    time_in_force: TimeInForce | None
    """None keeps the order's own."""
    limit_price: Decimal | None
    stop_price: Decimal | None
    max_position: int | None = None
    """The net position cap the new terms are judged against."""


def modify_order(store: Store, change: OrderChange, now: datetime) -> OrderOutcome:
    """Change a working order's terms through the gate (as if placed anew, its own quantity not
    counted twice); fill it at once when the new terms are marketable."""
    found = next((o for o in store.working_orders(change.contract) if o.id == change.order_id), None)
    if found is None:
        return OrderOutcome(None, "UnknownReason", "Order is not working")
    intent = OrderIntent(found.side, change.qty, found.admin, None if found.admin else change.max_position)
    decision = gate_decision(store, found.account_id, change.contract, intent, excluding_order=found.id)
    if not isinstance(decision, Allowed):
        return OrderOutcome(None, decision.failure_reason, decision.failure_text)
    store.modify_order(
        change.order_id,
        change.contract,
        change.order_type,
        change.qty,
        change.time_in_force or found.time_in_force,
        change.limit_price,
        change.stop_price,
        now,
    )
    store.emit(TradingEntityChanged("order", "Updated", found.account_id, change.order_id))
    last = store.last_price(change.contract)
    price = marketable_price(change.order_type, found.side, last, change.limit_price, change.stop_price)
    if price is not None:
        tick = change.contract.product.tick_size
        store.set_order_status(change.order_id, OrdStatus.FILLED, now, fill_price=price, tick=tick)
        execute_fill(
            store, change.order_id, found.account_id, change.contract, found.side, change.qty, price, now
        )
    return OrderOutcome(change.order_id)


def liquidate_position(
    store: Store, account_id: int, contract: ContractSpec, admin: bool, now: datetime
) -> OrderOutcome:
    """Tradovate's liquidateposition: cancel the account's working orders in the contract, then close
    the position with a market order (an admin one when `admin`), through the gate."""
    for order in store.working_orders(contract, account_id):
        store.set_order_status(order.id, OrdStatus.CANCELED, now)
        store.emit(TradingEntityChanged("order", "Updated", account_id, order.id))
    net = store.position(account_id, contract).net_pos
    if net == 0:
        return OrderOutcome(None, "UnknownReason", "There is no position to liquidate")
    closing = NewOrder(
        account_id,
        contract,
        Side.SELL if net > 0 else Side.BUY,
        abs(net),
        OrderType.MARKET,
        TimeInForce.GTC,
        admin=admin,
    )
    return place_order(store, closing, now)


def liquidate_account(
    store: Store, account_id: int, contracts: dict[int, ContractSpec], now: datetime
) -> None:
    """The liquidation engine: cancel every working order, then close every position with an admin
    market order through the gate. Without a price the closing order stays working (and the account
    locked) until a price arrives."""
    for order_id, _contract_id in store.working_orders_of_account(account_id):
        store.set_order_status(order_id, OrdStatus.CANCELED, now)
        store.emit(TradingEntityChanged("order", "Updated", account_id, order_id))
    for contract_id, _ in store.open_positions(account_id):
        contract = contracts.get(contract_id)
        if contract is None:
            continue  # an expired contract: nothing trades it any more
        liquidate_position(store, account_id, contract, True, now)


def fill_resting_orders(
    store: Store, contract: ContractSpec, last: Decimal, now: datetime, max_position: int | None = None
) -> int:
    """After a price change: fill the working orders the new price reaches; how many filled.
    Orders of an account that may not trade now (locked, liquidate-only and not reducing, or past
    `max_position` or the storage bound) stay working: a fill is a trade, and the gate decides trades."""
    filled = 0
    for order in store.working_orders(contract):
        triggered = stop_triggered(order, last)
        price = marketable_price(
            order.order_type, order.side, last, order.limit_price, order.stop_price, triggered
        )
        if price is None:
            if triggered and not order.triggered:
                store.set_order_status(order.id, OrdStatus.WORKING, now, triggered=True)
            continue
        intent = OrderIntent(order.side, order.qty, order.admin, None if order.admin else max_position)
        if not isinstance(gate_decision(store, order.account_id, contract, intent, order.id), Allowed):
            continue
        summary = store.order_summary(order.id)
        if summary is None or summary[1] is not OrdStatus.WORKING:
            # Cancelled or filled by another worker while this one waited for the account's lock
            # (the gate took it): the order was read before.
            continue
        store.set_order_status(
            order.id,
            OrdStatus.FILLED,
            now,
            fill_price=price,
            tick=contract.product.tick_size,
            triggered=triggered,
        )
        store.emit(TradingEntityChanged("order", "Updated", order.account_id, order.id))
        execute_fill(store, order.id, order.account_id, contract, order.side, order.qty, price, now)
        filled += 1
    return filled
