"""Execution: the gate, placing, modifying and cancelling orders, and fills (no evaluation inside).

Each function here is a transaction body over the Store port, run by the unit of work, so the
gate's reading of the risk status, the order and its fill commit together, in the one order the
unit of work gives every write (no order is accepted after the lock that refuses it). The risk
engine (risk_engine.py) owns the loop around them: it calls these and evaluates the account's
post-trade rules after each fill; nothing here calls the risk engine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from autoliq.domain.accounting import PositionState, apply_fill
from autoliq.domain.events import TradingEntityChanged
from autoliq.domain.gate import (
    AccountPosition,
    Allowed,
    Decision,
    Denied,
    OrderIntent,
    TradingState,
    check_order,
    needs_position,
    reducible_qty,
)
from autoliq.domain.instruments import ContractSpec, contract_of_id, price_problem
from autoliq.domain.limits import at_storage_bound
from autoliq.domain.linked import StrategyStatus, bracket_price
from autoliq.domain.money import realized_cents
from autoliq.domain.orders import (
    LIVE_STATUSES,
    Order,
    OrderType,
    OrdStatus,
    TimeInForce,
    marketable_price,
    stop_triggered,
)
from autoliq.domain.position_limits import Holding, Instrument, instrument_of, limit_refusal
from autoliq.domain.session import trade_date
from autoliq.domain.states import Side
from autoliq.service.ports import Store

NO_QUOTE = "NoQuote"
TEXT_LIQUIDATED = "Interrupted by a liquidation of the account"
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
    day: date | None = None
    """The trade date it is placed on (the pre-trade limits' back month and expiry); None only for
    the liquidation engine's orders, which no limit holds back."""


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """Tradovate's `PlaceOrderResult`: an order id, or a failure reason and text."""

    order_id: int | None = None
    failure_reason: str | None = None
    failure_text: str | None = None


@dataclass(frozen=True, slots=True)
class Executed:
    """What an order operation did: its outcome, and the account a fill of it moved (None: no fill)."""

    outcome: OrderOutcome
    filled: int | None = None


def working_qty(working: list[Order], side: Side) -> int:
    """The quantity `working` orders on `side` may still trade: an OCO pair on one side counts once
    (its larger order), since one leg's fill cancels the other."""
    by_id = {o.id: o for o in working}
    total = 0
    for o in working:
        if o.side is not side:
            continue
        sibling = by_id.get(o.oco_id) if o.oco_id is not None else None
        if sibling is None or sibling.side is not side:
            total += o.qty
        elif o.id < sibling.id:
            total += max(o.qty, sibling.qty)
    return total


def gate_decision(
    store: Store,
    account_id: int,
    contract: ContractSpec,
    intent: OrderIntent,
    excluding_order: int | None = None,
    sibling: int | None = None,
    pending: tuple[int, int] = (0, 0),
    *,
    day: date | None = None,
) -> tuple[Decision, PositionState | None]:
    """The gate's decision on `intent`, from what `store` shows: the account's three layers and,
    where the decision depends on them, its position in the contract and its other working orders
    there (`excluding_order`: the one being judged; `sibling`: its OCO sibling, which can never fill
    with it, so never counts against it; `pending`: buy and sell quantities judged as working beside
    them, the earlier orders of a dry run's batch). With the decision, the position it read (None:
    the decision did not need it), for a fill that follows in the same transaction. An account with
    active pre-trade limits (`state.limited`) has an order the layers let in judged by them too
    (`day`: the trade date, required then; the liquidation engine's orders are never held back)."""
    state = store.trading_state(account_id)
    if state.limited and not intent.admin_liquidation:
        decision, held = _layers_decision(
            store, account_id, contract, intent, state, excluding_order, sibling, pending
        )
        if isinstance(decision, Allowed):
            assert day is not None, "an order of a limited account is judged on its trade date"
            refusal = _limits_decision(
                store, account_id, contract, intent, day, excluding_order, sibling, pending
            )
            if refusal is not None:
                return refusal, held
        return decision, held
    return _layers_decision(store, account_id, contract, intent, state, excluding_order, sibling, pending)


def _layers_decision(
    store: Store,
    account_id: int,
    contract: ContractSpec,
    intent: OrderIntent,
    state: TradingState,
    excluding_order: int | None,
    sibling: int | None,
    pending: tuple[int, int],
) -> tuple[Decision, PositionState | None]:
    """The three layers' decision (and the server-wide caps), and the position it read."""
    if not needs_position(intent, state):
        view = AccountPosition(state.admin_action, 0, 0, 0, state.auto_liq, state.halted)
        return check_order(intent, view), None
    working = [
        o for o in store.working_orders(contract, account_id) if o.id != excluding_order and o.id != sibling
    ]
    held = store.position(account_id, contract)
    view = AccountPosition(
        state.admin_action,
        held.net_pos,
        working_buy_qty=pending[0] + working_qty(working, Side.BUY),
        working_sell_qty=pending[1] + working_qty(working, Side.SELL),
        auto_liq=state.auto_liq,
        halted=state.halted,
    )
    if intent.max_position is not None and not 0 < intent.qty <= reducible_qty(intent.side, view):
        # Only an order that does not reduce can be held back by the storage bound: read the cash
        # for it alone. `date.min`: the stored figures as they are, not rolled to a trade date.
        cash = store.cash(account_id, date.min)
        if at_storage_bound(held, contract.product.tick_size, cash):
            view = replace(view, at_storage_bound=True)
    return check_order(intent, view), held


def _limits_decision(
    store: Store,
    account_id: int,
    contract: ContractSpec,
    intent: OrderIntent,
    day: date,
    excluding_order: int | None,
    sibling: int | None,
    pending: tuple[int, int],
) -> Denied | None:
    """The account's pre-trade limit rows on an order the layers let in: its position and working
    orders in every contract it holds or works (a scope may span them), read for it alone."""
    limits, parameters = store.account_limits(account_id)
    if not limits:
        return None
    holdings: dict[int, tuple[Instrument, Holding]] = {}
    for contract_id in {contract.id, *store.account_contracts(account_id)}:
        spec = contract if contract_id == contract.id else contract_of_id(contract_id)
        if spec is None:
            continue
        working = [
            o for o in store.working_orders(spec, account_id) if o.id != excluding_order and o.id != sibling
        ]
        buys, sells = working_qty(working, Side.BUY), working_qty(working, Side.SELL)
        if contract_id == contract.id:
            buys, sells = buys + pending[0], sells + pending[1]
        net = store.position(account_id, spec).net_pos
        holdings[contract_id] = (instrument_of(spec, day), Holding(net, buys, sells))
    sign = 1 if intent.side is Side.BUY else -1
    refusal = limit_refusal(limits, parameters, holdings[contract.id][0], sign, intent.qty, holdings)
    return None if refusal is None else Denied(*refusal)


def judge_new_order(store: Store, order: NewOrder) -> tuple[OrderOutcome | None, Decimal | None]:
    """The gate's and the quote's verdict on a new order (a refusal or None), and the last price."""
    refusal, last, _ = _judge(store, order)
    return refusal, last


def _judge(store: Store, order: NewOrder) -> tuple[OrderOutcome | None, Decimal | None, PositionState | None]:
    """`judge_new_order`, and the position the gate read (None: not read)."""
    intent = OrderIntent(order.side, order.qty, order.admin, order.max_position)
    decision, held = gate_decision(store, order.account_id, order.contract, intent, day=order.day)
    if not isinstance(decision, Allowed):
        return OrderOutcome(None, decision.failure_reason, decision.failure_text), None, None
    last = store.last_price(order.contract)
    if order.order_type is OrderType.MARKET and last is None and not order.admin:
        return OrderOutcome(None, NO_QUOTE, TEXT_NO_QUOTE), None, None
    return None, last, held


def order_refusal(store: Store, order: NewOrder) -> OrderOutcome | None:
    """The refusal a new order would get on the state `store` shows, or None. Read-only: on a
    snapshot taken during the request, a refusal is a valid answer (the state it saw was committed
    at that instant); an order it lets through is judged again by `place` in the write order.
    The limits (position cap, storage bound) are left to that second judgement: they need the
    position, the working orders and the cash, which the write reads anyway, and an order they
    refuse is rare; reading them here too would cost every accepted order three more reads."""
    return judge_new_order(store, replace(order, max_position=None))[0]


def place(store: Store, order: NewOrder, now: datetime) -> Executed:
    """Gate, then accept: fill at the last price when marketable, else rest (IOC/FOK: cancelled).
    A refused order changes nothing."""
    refusal, last, held = _judge(store, order)
    if refusal is not None:
        return Executed(refusal)
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
        return Executed(OrderOutcome(order_id))
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
    # The position the gate read is still the account's: only the order row was written since.
    execute_fill(
        store, order_id, order.account_id, order.contract, order.side, order.qty, price, now, position=held
    )
    return Executed(OrderOutcome(order_id), order.account_id)


def fill_now(
    store: Store,
    order: Order,
    contract: ContractSpec,
    price: Decimal,
    now: datetime,
    *,
    triggered: bool = False,
) -> None:
    """Fill a stored working order whole at `price` (the caller judged it through the gate)."""
    store.set_order_status(
        order.id,
        OrdStatus.FILLED,
        now,
        fill_price=price,
        tick=contract.product.tick_size,
        triggered=triggered,
    )
    store.emit(TradingEntityChanged("order", "Updated", order.account_id, order.id))
    execute_fill(store, order.id, order.account_id, contract, order.side, order.qty, price, now, order)


def execute_fill(
    store: Store,
    order_id: int,
    account_id: int,
    contract: ContractSpec,
    side: Side,
    qty: int,
    price: Decimal,
    now: datetime,
    linked: Order | None = None,
    *,
    position: PositionState | None = None,
) -> None:
    """Book a fill: the fill row, the position, and the realized P&L into the cash balance; then the
    effects on linked orders (`linked`: the filled order as stored, when it may have links). The
    account's post-trade rules are the caller's: the risk engine evaluates after the fill.
    `position`: the account's position in the contract as this transaction holds it, when the
    caller has just read it (else it is read)."""
    day = trade_date(now)
    held = store.position(account_id, contract) if position is None else position
    effect = apply_fill(held, side, qty, price)
    fill_id = store.insert_fill(order_id, account_id, contract, side, qty, price, now, day)
    store.save_position(account_id, contract, effect.position, now, day)
    store.emit(TradingEntityChanged("fill", "Created", account_id, fill_id))
    store.emit(TradingEntityChanged("position", "Updated", account_id, contract.id))
    if effect.realized_points:
        cents = realized_cents(effect.realized_points, contract.product.value_per_point)
        store.add_realized(account_id, cents, now, day)
        store.emit(TradingEntityChanged("cashBalance", "Updated", account_id, account_id))
    if linked is not None and (linked.oco_id or linked.has_children or linked.strategy_id):
        # Before the post-trade rules: a liquidation they order then cancels the woken brackets too.
        settle_links_after_fill(store, linked, contract, price, now)


def cancel_order(store: Store, order_id: int, now: datetime) -> bool:
    """Cancel a working or suspended order (always allowed, whatever the state), with its OCO
    sibling and its suspended brackets; False when it is neither working nor suspended."""
    summary = store.order_summary(order_id)
    if summary is None or summary[1] not in LIVE_STATUSES:
        return False
    store.set_order_status(order_id, OrdStatus.CANCELED, now)
    store.emit(TradingEntityChanged("order", "Updated", summary[0], order_id))
    settle_links_after_end(store, order_id, summary[0], summary[2], now)
    return True


# -- LINKED ORDERS: what a fill, a cancel or an expiry does to the orders tied to it --


def _end_if_live(store: Store, order_id: int, account_id: int, now: datetime) -> bool:
    summary = store.order_summary(order_id)
    if summary is None or summary[1] not in LIVE_STATUSES:
        return False
    store.set_order_status(order_id, OrdStatus.CANCELED, now)
    store.emit(TradingEntityChanged("order", "Updated", account_id, order_id))
    return True


def finish_strategy_if_done(store: Store, strategy_id: int, account_id: int, now: datetime) -> None:
    """A running strategy none of whose orders is working or suspended any more has finished."""
    strategy = store.strategy(strategy_id)
    if strategy is None or strategy.status is not StrategyStatus.ACTIVE:
        return
    if store.strategy_live_orders(strategy_id) == 0:
        store.set_strategy_status(strategy_id, StrategyStatus.FINISHED, now)
        store.emit(TradingEntityChanged("orderStrategy", "Updated", account_id, strategy_id))


def settle_links_after_fill(
    store: Store, order: Order, contract: ContractSpec, price: Decimal, now: datetime
) -> None:
    """In the fill's transaction: the OCO sibling is cancelled, the suspended brackets start working
    (a strategy's at their offsets from `price`), and a strategy with nothing left running finishes.
    A woken bracket fills on a later price that reaches it, judged by the gate like any resting order."""
    if order.oco_id is not None:
        _end_if_live(store, order.oco_id, order.account_id, now)
    if order.has_children:
        for child in store.children(order.id, contract):
            if child.status is not OrdStatus.SUSPENDED:
                continue
            limit, stop = child.limit_price, child.stop_price
            if child.offset is not None:
                at = bracket_price(price, child.offset)
                if price_problem(at, contract.product) is not None:
                    # Beyond the contract's price range (a stop below zero): it could never work.
                    _end_if_live(store, child.id, child.account_id, now)
                    continue
                limit, stop = (at, None) if child.order_type is OrderType.LIMIT else (None, at)
            store.activate_order(child.id, contract, limit, stop, now)
            store.emit(TradingEntityChanged("order", "Updated", child.account_id, child.id))
    if order.strategy_id is not None:
        finish_strategy_if_done(store, order.strategy_id, order.account_id, now)


def settle_links_after_end(
    store: Store, order_id: int, account_id: int, contract_id: int, now: datetime
) -> None:
    """After an order was cancelled or expired: its OCO sibling and its suspended brackets are
    cancelled, and its strategy finishes when nothing of it runs any more."""
    links = store.order_links(order_id)
    if links is None:
        return
    oco_id, has_children, strategy_id = links
    if oco_id is not None:
        _end_if_live(store, oco_id, account_id, now)
    if has_children:
        contract = contract_of_id(contract_id)
        if contract is not None:
            for child in store.children(order_id, contract):
                _end_if_live(store, child.id, account_id, now)
    if strategy_id is not None:
        finish_strategy_if_done(store, strategy_id, account_id, now)


def interrupt_strategies(store: Store, account_id: int, now: datetime, message: str) -> None:
    """Every running strategy of the account becomes `ExecutionInterrupted` (its orders cancelled
    by the caller)."""
    for strategy_id in store.running_strategies(account_id):
        store.set_strategy_status(strategy_id, StrategyStatus.INTERRUPTED, now, message)
        store.emit(TradingEntityChanged("orderStrategy", "Updated", account_id, strategy_id))


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


def modify(store: Store, change: OrderChange, now: datetime) -> Executed:
    """Change a working order's terms through the gate (as if placed anew, its own quantity not
    counted twice); fill it at once when the new terms are marketable."""
    found = next((o for o in store.working_orders(change.contract) if o.id == change.order_id), None)
    if found is None:
        return Executed(OrderOutcome(None, "UnknownReason", "Order is not working"))
    intent = OrderIntent(found.side, change.qty, found.admin, None if found.admin else change.max_position)
    decision, _ = gate_decision(
        store,
        found.account_id,
        change.contract,
        intent,
        excluding_order=found.id,
        sibling=found.oco_id,
        day=trade_date(now),
    )
    if not isinstance(decision, Allowed):
        return Executed(OrderOutcome(None, decision.failure_reason, decision.failure_text))
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
    if price is None:
        return Executed(OrderOutcome(change.order_id))
    fill_now(store, replace(found, qty=change.qty), change.contract, price, now)
    return Executed(OrderOutcome(change.order_id), found.account_id)


def close_position(
    store: Store, account_id: int, contract: ContractSpec, admin: bool, now: datetime
) -> Executed:
    """Tradovate's liquidateposition: cancel the account's working orders in the contract, then close
    the position with a market order (an admin one when `admin`), through the gate."""
    for order_id, _ in store.live_orders_of_account(account_id, contract.id):
        if _end_if_live(store, order_id, account_id, now):
            settle_links_after_end(store, order_id, account_id, contract.id, now)
    net = store.position(account_id, contract).net_pos
    if net == 0:
        return Executed(OrderOutcome(None, "UnknownReason", "There is no position to liquidate"))
    closing = NewOrder(
        account_id,
        contract,
        Side.SELL if net > 0 else Side.BUY,
        abs(net),
        OrderType.MARKET,
        TimeInForce.GTC,
        admin=admin,
    )
    return place(store, closing, now)


def fill_resting_order(
    store: Store,
    order: Order,
    contract: ContractSpec,
    last: Decimal,
    now: datetime,
    day: date,
    max_position: int | None = None,
) -> bool:
    """After a price change (on trade date `day`): fill `order` (read working before) when the new
    price reaches it; whether it filled. An order of an account that may not trade now (locked,
    liquidate-only and not reducing, or past `max_position`, the storage bound or its pre-trade
    limits) stays working: a fill is a trade, and the gate decides trades."""
    triggered = stop_triggered(order, last)
    price = marketable_price(
        order.order_type, order.side, last, order.limit_price, order.stop_price, triggered
    )
    if price is None:
        if triggered and not order.triggered:
            store.set_order_status(order.id, OrdStatus.WORKING, now, triggered=True)
        return False
    intent = OrderIntent(order.side, order.qty, order.admin, None if order.admin else max_position)
    decision, _ = gate_decision(store, order.account_id, contract, intent, order.id, order.oco_id, day=day)
    if not isinstance(decision, Allowed):
        return False
    summary = store.order_summary(order.id)
    if summary is None or summary[1] is not OrdStatus.WORKING:
        # Cancelled or filled by another worker while this one waited for the account's lock
        # (the gate took it), or cancelled by an OCO sibling's fill in this loop: the order was
        # read before.
        return False
    fill_now(store, order, contract, price, now, triggered=triggered)
    return True
