"""Orders: types, time in force, statuses, and when a price fills an order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from autoliq.domain.states import Side


class OrderType(StrEnum):
    """Order types the sandbox executes (Tradovate's `orderType`; others get `Unsupported`)."""

    MARKET = "Market"
    LIMIT = "Limit"
    STOP = "Stop"
    STOP_LIMIT = "StopLimit"


class TimeInForce(StrEnum):
    """Tradovate's `timeInForce` (GTD is not supported here)."""

    DAY = "Day"
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class OrdStatus(StrEnum):
    """Tradovate's `ordStatus` values the sandbox uses."""

    WORKING = "Working"
    FILLED = "Filled"
    CANCELED = "Canceled"
    EXPIRED = "Expired"
    SUSPENDED = "Suspended"
    """A bracket of an OSO or order strategy waiting for its entry to fill (never fills itself)."""


LIVE_STATUSES = frozenset({OrdStatus.WORKING, OrdStatus.SUSPENDED})
"""The statuses of an order that may still trade (cancellable; cancelled by a liquidation)."""


@dataclass(frozen=True, slots=True)
class Order:
    """An accepted order (rejected orders are never stored: a refusal changes nothing)."""

    id: int
    account_id: int
    contract_id: int
    side: Side
    order_type: OrderType
    qty: int
    time_in_force: TimeInForce
    status: OrdStatus
    admin: bool
    created: datetime
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    triggered: bool = False
    """A stop whose stop price was reached (it then works as a market or limit order)."""
    fill_price: Decimal | None = None
    parent_id: int | None = None
    """The entry order of an OSO bracket or strategy order (Tradovate's `parentId`)."""
    oco_id: int | None = None
    """The other order of an OCO pair (Tradovate's `ocoId`): a fill or cancel of one cancels it."""
    strategy_id: int | None = None
    """The order strategy this order belongs to."""
    offset: Decimal | None = None
    """A suspended strategy bracket's price as a signed distance from its entry's fill price."""
    has_children: bool = False
    """An entry whose suspended brackets wake when it fills."""


@dataclass(frozen=True, slots=True)
class OrderLinks:
    """How a new order is tied to others when it is stored (an OCO pair is tied after both are)."""

    parent_id: int | None = None
    has_children: bool = False
    strategy_id: int | None = None
    strategy_label: str | None = None
    offset: Decimal | None = None


NO_LINKS = OrderLinks()


def marketable_price(
    order_type: OrderType,
    side: Side,
    last: Decimal | None,
    limit_price: Decimal | None,
    stop_price: Decimal | None,
    triggered: bool = False,
) -> Decimal | None:
    """The price this order fills at when the last price is `last`, or None if it does not fill.

    The sandbox fills at the last price, whole quantity: a market order at once; a limit order when
    the last price is at or better than its limit; a stop once the last price reaches its stop, then
    as a market (Stop) or a limit (StopLimit) order.
    """
    if last is None:
        return None
    if order_type in (OrderType.STOP, OrderType.STOP_LIMIT) and not triggered:
        assert stop_price is not None
        reached = last >= stop_price if side is Side.BUY else last <= stop_price
        if not reached:
            return None
    if order_type in (OrderType.MARKET, OrderType.STOP):
        return last
    assert limit_price is not None
    better = last <= limit_price if side is Side.BUY else last >= limit_price
    return last if better else None


def stop_triggered(order: Order, last: Decimal) -> bool:
    """True once the last price has reached a stop order's stop price."""
    if order.order_type not in (OrderType.STOP, OrderType.STOP_LIMIT) or order.triggered:
        return order.triggered
    assert order.stop_price is not None
    return last >= order.stop_price if order.side is Side.BUY else last <= order.stop_price
