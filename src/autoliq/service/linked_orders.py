"""Linked orders' transaction bodies: placeOCO, placeOSO and the multibracket order strategy, through
the one gate (their requests are checked by `linked_service.py`).

Each linked order is stored in `trade_order` like any order and judged like one: the first order
(the OCO's main order, the OSO's or strategy's entry) by `execution.judge_new_order` in the write
transaction, an OCO's other leg too (a leg the gate refuses refuses the pair); suspended brackets
when they fill (`risk_engine.fill_resting_orders`). What a fill, a cancel or an expiry does to the
orders tied to it lives in `execution.py`; the risk engine owns the fill loop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from autoliq.domain.events import TradingEntityChanged
from autoliq.domain.instruments import ContractSpec, contract_of_id, price_problem
from autoliq.domain.linked import (
    ENTRY_LABEL,
    MULTIBRACKET_TYPE_ID,
    TEXT_NOT_RUNNING,
    TEXT_TOO_MANY_STRATEGIES,
    OrderStrategy,
    StrategyParams,
    StrategyStatus,
    stop_label,
    target_label,
)
from autoliq.domain.orders import (
    LIVE_STATUSES,
    Order,
    OrderLinks,
    OrderType,
    OrdStatus,
    TimeInForce,
    marketable_price,
)
from autoliq.domain.states import Side
from autoliq.service.execution import (
    NewOrder,
    OrderChange,
    OrderOutcome,
    finish_strategy_if_done,
    judge_new_order,
    settle_links_after_end,
)
from autoliq.service.ports import Store
from autoliq.service.risk_engine import fill_now, modify_order

UNSUPPORTED = "Unsupported"
INVALID_PRICE = "InvalidPrice"
TEXT_UNKNOWN_COMMAND = (
    'command: autoliq understands {"bracket": N, "profitTarget": X, "stopLoss": Y} (a JSON string)'
)
TEXT_LINKED_TIME_IN_FORCE = "IOC and FOK are not supported for OCO legs and brackets"
TEXT_ENTRY_TIME_IN_FORCE = "An OCO's orders cannot be IOC or FOK"


@dataclass(frozen=True, slots=True)
class Leg:
    """A checked `RestrainedOrderVersion`: an OCO's other leg or an OSO bracket."""

    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    limit_price: Decimal | None
    stop_price: Decimal | None
    cl_ord_id: str | None = None


@dataclass(frozen=True, slots=True)
class LinkedOutcome:
    """`PlaceOcoResult` / `PlaceOsoResult`: the first order's id and the linked ones', or a failure."""

    order_id: int | None = None
    linked_ids: tuple[int, ...] = ()
    failure_reason: str | None = None
    failure_text: str | None = None


@dataclass(frozen=True, slots=True)
class StrategyOutcome:
    """`OrderStrategyStatusResponse`: the strategy, or `errorText` (and a `failureReason`)."""

    strategy: OrderStrategy | None = None
    error_text: str | None = None
    failure_reason: str | None = None


def refused(outcome: OrderOutcome) -> LinkedOutcome:
    """A linked order's answer for a refused first order or leg."""
    return LinkedOutcome(None, (), outcome.failure_reason, outcome.failure_text)


# -- TRANSACTION BODIES --


def _insert(
    store: Store,
    order: NewOrder,
    side: Side,
    order_type: OrderType,
    qty: int,
    tif: TimeInForce,
    status: OrdStatus,
    now: datetime,
    *,
    limit: Decimal | None,
    stop: Decimal | None,
    cl_ord_id: str | None,
    links: OrderLinks | None = None,
) -> int:
    order_id = store.insert_order(
        order.account_id,
        order.contract,
        side,
        order_type,
        qty,
        tif,
        status,
        False,
        now,
        limit_price=limit,
        stop_price=stop,
        cl_ord_id=cl_ord_id,
        links=links,
    )
    store.emit(TradingEntityChanged("order", "Created", order.account_id, order_id))
    return order_id


def _fill_if_marketable(store: Store, order_id: int, order: NewOrder, now: datetime) -> None:
    """Fill a just-stored working order at once when the last price reaches it (as placeorder does)."""
    for found in store.working_orders(order.contract, order.account_id):
        if found.id == order_id:
            _fill_stored_if_marketable(store, found, order, now)
            return


def _fill_stored_if_marketable(store: Store, found: Order, order: NewOrder, now: datetime) -> None:
    last = store.last_price(order.contract)
    price = marketable_price(found.order_type, found.side, last, found.limit_price, found.stop_price)
    if price is not None:
        fill_now(store, found, order.contract, price, now, triggered=found.stop_price is not None)


def place_oco(store: Store, order: NewOrder, other: Leg, now: datetime) -> LinkedOutcome:
    """Two working orders on one account, contract and quantity, each naming the other (`ocoId`):
    a fill or a cancel of one cancels the other. Both pass the gate, or neither is stored."""
    refusal, _ = judge_new_order(store, order)
    if refusal is not None:
        return refused(refusal)
    other_order = replace(
        order,
        side=other.side,
        order_type=other.order_type,
        limit_price=other.limit_price,
        stop_price=other.stop_price,
    )
    refusal, _ = judge_new_order(store, other_order)
    if refusal is not None:
        return refused(refusal)
    first = _insert(
        store, order, order.side, order.order_type, order.qty, order.time_in_force, OrdStatus.WORKING, now,
        limit=order.limit_price, stop=order.stop_price, cl_ord_id=order.cl_ord_id,
    )  # fmt: skip
    second = _insert(
        store, order, other.side, other.order_type, order.qty, other.time_in_force, OrdStatus.WORKING, now,
        limit=other.limit_price, stop=other.stop_price, cl_ord_id=other.cl_ord_id,
    )  # fmt: skip
    store.link_oco(first, second)
    # Marketable at once: the first that fills cancels the other (the main order first).
    for leg_id in (first, second):
        _fill_if_marketable(store, leg_id, order, now)
    return LinkedOutcome(first, (second,))


def place_oso(store: Store, order: NewOrder, brackets: tuple[Leg, ...], now: datetime) -> LinkedOutcome:
    """An entry through the gate, and its brackets stored `Suspended` (`parentId` = the entry), two
    of them an OCO pair; they start working when the entry fills, in the fill's transaction."""
    refusal, _ = judge_new_order(store, order)
    if refusal is not None:
        return refused(refusal)
    entry = _insert(
        store, order, order.side, order.order_type, order.qty, order.time_in_force, OrdStatus.WORKING, now,
        limit=order.limit_price, stop=order.stop_price, cl_ord_id=order.cl_ord_id,
        links=OrderLinks(has_children=True),
    )  # fmt: skip
    ids = tuple(
        _insert(
            store,
            order,
            leg.side,
            leg.order_type,
            order.qty,
            leg.time_in_force,
            OrdStatus.SUSPENDED,
            now,
            limit=leg.limit_price,
            stop=leg.stop_price,
            cl_ord_id=leg.cl_ord_id,
            links=OrderLinks(parent_id=entry),
        )
        for leg in brackets
    )
    if len(ids) == 2:
        store.link_oco(ids[0], ids[1])
    _start_entry(store, entry, order, now)
    return LinkedOutcome(entry, ids)


def _start_entry(store: Store, entry_id: int, order: NewOrder, now: datetime) -> None:
    """Fill the entry when marketable; an IOC/FOK entry that is not is cancelled, its brackets with it."""
    _fill_if_marketable(store, entry_id, order, now)
    if order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
        summary = store.order_summary(entry_id)
        if summary is not None and summary[1] is OrdStatus.WORKING:
            store.set_order_status(entry_id, OrdStatus.CANCELED, now)
            store.emit(TradingEntityChanged("order", "Updated", order.account_id, entry_id))
            settle_links_after_end(store, entry_id, order.account_id, order.contract.id, now)


@dataclass(frozen=True, slots=True)
class StrategyStart:
    """A checked startOrderStrategy request."""

    entry: NewOrder
    params: StrategyParams
    params_text: str
    initiator_id: int
    uuid: str | None
    custom_tag50: str | None
    max_running: int


def start_strategy(store: Store, start: StrategyStart, now: datetime) -> StrategyOutcome:
    """A running multibracket strategy: its entry through the gate (`Entry`), and per bracket a
    suspended Limit target (`TargetN`) and Stop (`StopN`), OCO-paired, priced from the entry's fill."""
    order = start.entry
    if len(store.running_strategies(order.account_id)) >= start.max_running:
        return StrategyOutcome(None, TEXT_TOO_MANY_STRATEGIES)
    refusal, _ = judge_new_order(store, order)
    if refusal is not None:
        return StrategyOutcome(None, refusal.failure_text, refusal.failure_reason)
    strategy_id = store.insert_strategy(
        order.account_id, order.contract.id, MULTIBRACKET_TYPE_ID, order.side, start.params_text, now,
        initiator_id=start.initiator_id, uuid=start.uuid, custom_tag50=start.custom_tag50,
    )  # fmt: skip
    store.emit(TradingEntityChanged("orderStrategy", "Created", order.account_id, strategy_id))
    entry = _insert(
        store, order, order.side, order.order_type, order.qty, order.time_in_force, OrdStatus.WORKING, now,
        limit=order.limit_price, stop=order.stop_price, cl_ord_id=order.cl_ord_id,
        links=OrderLinks(has_children=True, strategy_id=strategy_id, strategy_label=ENTRY_LABEL),
    )  # fmt: skip
    store.emit(TradingEntityChanged("orderStrategyLink", "Created", order.account_id, entry))
    exit_side = Side.SELL if order.side is Side.BUY else Side.BUY
    for index, bracket in enumerate(start.params.brackets):
        legs: list[int] = []
        for order_type, offset, label in (
            (OrderType.LIMIT, bracket.profit_target, target_label(index)),
            (OrderType.STOP, bracket.stop_loss, stop_label(index)),
        ):
            if offset is None:
                continue
            links = OrderLinks(parent_id=entry, strategy_id=strategy_id, strategy_label=label, offset=offset)
            leg = _insert(
                store, order, exit_side, order_type, bracket.qty, TimeInForce.GTC, OrdStatus.SUSPENDED, now,
                limit=None, stop=None, cl_ord_id=None, links=links,
            )  # fmt: skip
            store.emit(TradingEntityChanged("orderStrategyLink", "Created", order.account_id, leg))
            legs.append(leg)
        if len(legs) == 2:
            store.link_oco(legs[0], legs[1])
    _start_entry(store, entry, order, now)
    return StrategyOutcome(store.strategy(strategy_id))


def interrupt_strategy(store: Store, strategy_id: int, now: datetime) -> StrategyOutcome:
    """Stop a running strategy: `ExecutionInterrupted`, its working and suspended orders cancelled
    (positions its fills opened stay: closing them is the trader's call)."""
    strategy = store.strategy(strategy_id)
    if strategy is None or strategy.status is not StrategyStatus.ACTIVE:
        return StrategyOutcome(strategy, TEXT_NOT_RUNNING)
    store.set_strategy_status(strategy_id, StrategyStatus.INTERRUPTED, now, "Interrupted by the user")
    store.emit(TradingEntityChanged("orderStrategy", "Updated", strategy.account_id, strategy_id))
    for link in store.strategy_link_rows(None, strategy_ids=[strategy_id]):
        summary = store.order_summary(link.order_id)
        if summary is not None and summary[1] in LIVE_STATUSES:
            store.set_order_status(link.order_id, OrdStatus.CANCELED, now)
            store.emit(TradingEntityChanged("order", "Updated", strategy.account_id, link.order_id))
    return StrategyOutcome(store.strategy(strategy_id))


@dataclass(frozen=True, slots=True)
class BracketChange:
    """A checked modifyOrderStrategy command: new offsets of one bracket (None: unchanged)."""

    index: int
    profit_target: Decimal | None
    stop_loss: Decimal | None
    max_position: int | None = None
    """The net position cap a moved working bracket is judged against."""


def modify_strategy(store: Store, strategy_id: int, change: BracketChange, now: datetime) -> StrategyOutcome:
    """Move one bracket of a running strategy: its suspended orders' offsets, or its working orders'
    prices by the same change of offset from the entry's fill price."""
    strategy = store.strategy(strategy_id)
    if strategy is None or strategy.status is not StrategyStatus.ACTIVE:
        return StrategyOutcome(strategy, TEXT_NOT_RUNNING)
    contract = contract_of_id(strategy.contract_id)
    if contract is None:
        return StrategyOutcome(strategy, "The strategy's contract is no longer listed")
    links = store.strategy_link_rows(None, strategy_ids=[strategy_id])
    by_label = {link.label: link.order_id for link in links}
    entry_id = by_label.get(ENTRY_LABEL)
    if entry_id is None:
        return StrategyOutcome(strategy, TEXT_NOT_RUNNING)
    orders = {o.id: o for o in store.children(entry_id, contract)}
    entry_fill = _entry_fill(store, entry_id, contract)
    moves: list[tuple[Order, Decimal]] = []
    for label, offset in (
        (target_label(change.index), change.profit_target),
        (stop_label(change.index), change.stop_loss),
    ):
        if offset is None:
            continue
        found = orders.get(by_label.get(label, -1))
        if found is None or found.status not in LIVE_STATUSES:
            return StrategyOutcome(strategy, f"command: bracket {change.index + 1} has no live {label}")
        working = found.status is OrdStatus.WORKING
        if working and (
            entry_fill is None or price_problem(entry_fill + offset, contract.product) is not None
        ):
            return StrategyOutcome(strategy, f"command: {label} would be priced out of range")
        moves.append((found, offset))
    for found, offset in moves:
        if found.status is OrdStatus.SUSPENDED:
            store.set_order_offset(found.id, contract, offset)
            continue
        # A working bracket is moved as modifyorder moves an order: through the gate, filled at
        # once when its new price is marketable.
        assert entry_fill is not None
        at = entry_fill + offset
        limit, stop = (at, None) if found.order_type is OrderType.LIMIT else (None, at)
        terms = OrderChange(
            found.id,
            contract,
            found.order_type,
            found.qty,
            found.time_in_force,
            limit,
            stop,
            change.max_position,
        )
        moved = modify_order(store, terms, now)
        if moved.failure_reason is not None:
            return StrategyOutcome(strategy, moved.failure_text, moved.failure_reason)
    changed = bool(moves)
    if not changed:
        return StrategyOutcome(strategy, "command: nothing to change")
    finish_strategy_if_done(store, strategy_id, strategy.account_id, now)
    return StrategyOutcome(store.strategy(strategy_id))


def _entry_fill(store: Store, entry_id: int, contract: ContractSpec) -> Decimal | None:
    entry = store.order(entry_id, contract)
    return None if entry is None else entry.fill_price
