"""Order limits and the storage bound they buy: every money and tick figure fits a signed 64-bit column.

Three server-wide limits stand between a request and the arithmetic of a fill:

- `max_order_qty` (AUTOLIQ_MAX_ORDER_QTY): a placeorder or modifyorder over it is refused
  `MaxOrderQtyLimitReached`. The liquidation engine's own closing orders are not subject to it: they
  close a whole position at once, and a position may be larger than one order (never refused).
- `max_position` (AUTOLIQ_MAX_POSITION): per account and contract, the net position plus the
  working orders on the order's side plus the order may not pass it in the order's direction, i.e.
  the position if everything on that side filled (Tradovate's exposed limit). Refused
  `MaxPosLimitReached`. An order that only reduces is never refused by it. The gate checks it again
  at every fill, so the net position itself never passes it.
- `OPEN_BOUND`: once an account's stored cash figures or a position's running totals reach it, only
  orders that reduce a position are accepted (`MaxPosLimitReached`), so repeated round trips cannot
  push them to the column's end.

`storage_bound` is the arithmetic: with these limits and the products' price bounds
(`ProductSpec.max_price_ticks`), the largest absolute value a stored integer figure can take; it is
below 2**63 with the margin `STORAGE_MARGIN` (tests/property/test_bounds_properties.py checks both).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from autoliq.domain.accounting import PositionState
from autoliq.domain.instruments import PRODUCTS, ProductSpec
from autoliq.domain.money import CashState

INT64_MAX = 2**63 - 1
LIMIT_CEILING = 1_000_000
"""The highest value AUTOLIQ_MAX_ORDER_QTY and AUTOLIQ_MAX_POSITION may take (checked at start):
the storage bound is computed for it."""
DEFAULT_MAX_ORDER_QTY = 10_000
DEFAULT_MAX_POSITION = 100_000
OPEN_BOUND = 2**62
"""Stored figures (cents, ticks, contracts) at or beyond which an account may only reduce."""
STORAGE_MARGIN = 2**61
"""What `storage_bound` must leave below 2**63 at the ceiling limits: a quarter of the range."""
LISTED_PER_PRODUCT = 4
"""Contracts of a product that trade at once (service.market.LISTED_AHEAD): only they can fill."""
DEMO_CHANGE_MAX_CENTS = 100_000_000
"""The largest single changedemobalance (below $1,000,000), applied after an account's last check."""

MAX_ORDER_QTY_LIMIT_REACHED = "MaxOrderQtyLimitReached"
MAX_POS_LIMIT_REACHED = "MaxPosLimitReached"


def text_max_order_qty(limit: int) -> str:
    """The failureText of an order over the quantity cap."""
    return f"Order quantity exceeds the maximum of {limit} contracts per order"


def text_max_position(limit: int) -> str:
    """The failureText of an order that would take the position past the cap."""
    return (
        f"Order would take the position in this contract past the maximum of {limit} contracts "
        "(net position and working orders on the same side included)"
    )


TEXT_AT_STORAGE_BOUND = (
    "The account's cash or position totals reached the sandbox's bound: only orders that reduce "
    "a position are accepted"
)


@dataclass(frozen=True, slots=True)
class OrderLimits:
    """The server-wide order limits (Settings.max_order_qty, Settings.max_position)."""

    max_order_qty: int = DEFAULT_MAX_ORDER_QTY
    max_position: int = DEFAULT_MAX_POSITION
    market_hours: bool = True
    """Whether orders are taken only in their contract's CME sessions (Settings.market_hours)."""

    def __post_init__(self) -> None:
        for name, value in (("max_order_qty", self.max_order_qty), ("max_position", self.max_position)):
            if not 1 <= value <= LIMIT_CEILING:
                raise ValueError(f"{name} must be between 1 and {LIMIT_CEILING:,}, got {value}")


def order_qty_exceeds(qty: int, limits: OrderLimits) -> bool:
    """Whether a requested quantity (already known positive) is over the per-order cap."""
    return qty > limits.max_order_qty


def exposure_after(side_sign: int, qty: int, net_pos: int, working_same_side: int) -> int:
    """The position, signed, if the order and every working order on its side filled."""
    return net_pos + side_sign * (working_same_side + qty)


def passes_position_cap(side_sign: int, qty: int, net_pos: int, working_same_side: int, cap: int) -> bool:
    """Whether the order keeps the position within the cap in its own direction. One-sided: a buy
    is judged on the long side only, a sell on the short side, so a reducing order always passes
    (even a position over a cap that was lowered since)."""
    return side_sign * exposure_after(side_sign, qty, net_pos, working_same_side) <= cap


def at_storage_bound(position: PositionState, tick: Decimal, cash: CashState) -> bool:
    """Whether the account's stored cash figures or this position's running totals reached
    `OPEN_BOUND` (then only reducing orders are accepted)."""
    cash_figures = (cash.amount, cash.realized, cash.week_realized, cash.amount_sod)
    if any(abs(v) >= OPEN_BOUND for v in cash_figures):
        return True
    ticks = (position.bought_value / tick, position.sold_value / tick, position.realized_points / tick)
    return max(position.bought, position.sold) >= OPEN_BOUND or any(abs(t) >= OPEN_BOUND for t in ticks)


# -- the arithmetic: the largest stored figure --


def tick_value_cents(product: ProductSpec) -> int:
    """Cents per tick of one contract (whole cents for every product)."""
    cents = product.tick_value * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{product.name}: a tick is not a whole number of cents")
    return int(cents)


def per_fill_bound(limits: OrderLimits) -> int:
    """The largest |change| one fill makes to a stored figure, in cents or ticks: at most
    2 × max_position contracts (a reversal from the short cap to the long cap) at the highest price,
    times the largest tick value (1 cent at least, so the cents figures bound the ticks ones)."""
    qty = 2 * limits.max_position
    return max(qty * p.max_price_ticks * max(1, tick_value_cents(p)) for p in PRODUCTS)


def close_out_bound(limits: OrderLimits) -> int:
    """The largest |change| closing every position an account can still trade makes to its cash:
    each contract that trades (LISTED_PER_PRODUCT per product) holds at most max_position, which
    realizes at most the whole price range."""
    per_product = (
        LISTED_PER_PRODUCT * limits.max_position * p.max_price_ticks * max(1, tick_value_cents(p))
        for p in PRODUCTS
    )
    return sum(per_product)


def storage_bound(limits: OrderLimits) -> int:
    """The largest absolute value any stored integer figure reaches: the figures pass `OPEN_BOUND`
    only through the last fill judged below it (`per_fill_bound`), the last demo cash change, and then
    reducing fills, which can at most close what is open (`close_out_bound`)."""
    return OPEN_BOUND + DEMO_CHANGE_MAX_CENTS + per_fill_bound(limits) + close_out_bound(limits)


CEILING_LIMITS = OrderLimits(LIMIT_CEILING, LIMIT_CEILING)
"""The largest limits the settings accept: the storage bound's worst case."""
