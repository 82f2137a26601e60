"""Position accounting: fills move a position's open lots and realize P&L, first in, first out.

Tradovate pairs fills first in, first out (its `fillPair` entities); so does autoliq. A closing
fill realizes against the oldest open lots at their own prices, so realized P&L is exact: no
average price is ever divided into it. `netPrice` (the open lots' average) is for display only.
Money and prices are `Decimal`: tick sizes such as 0.01 and 0.1 are not exact in binary floating
point, and P&L summed over thousands of fills must not drift; the wire converts to double.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from autoliq.domain.states import Side

ZERO = Decimal(0)
_DISPLAY = Decimal("1e-9")


@dataclass(frozen=True, slots=True)
class Lot:
    """An open lot: `qty` contracts (positive long, negative short) entered at `price`."""

    qty: int
    price: Decimal


@dataclass(frozen=True, slots=True)
class PositionState:
    """One account's position in one contract (Tradovate's `Position`), with its open lots."""

    lots: tuple[Lot, ...] = ()
    bought: int = 0
    bought_value: Decimal = ZERO
    """Sum of quantity × price of buys (price units, not dollars)."""
    sold: int = 0
    sold_value: Decimal = ZERO
    realized_points: Decimal = ZERO
    """Realized P&L in price points × contracts; × value per point gives dollars."""

    @property
    def net_pos(self) -> int:
        """Contracts held: positive long, negative short."""
        return sum(lot.qty for lot in self.lots)

    @property
    def net_price(self) -> Decimal | None:
        """Average entry price of the open lots (rounded for display); None when flat."""
        net = self.net_pos
        if net == 0:
            return None
        cost = sum((lot.qty * lot.price for lot in self.lots), ZERO)
        return (cost / net).quantize(_DISPLAY).normalize()


@dataclass(frozen=True, slots=True)
class FillEffect:
    """A fill's result: the new position and the P&L it realized (in points × contracts)."""

    position: PositionState
    realized_points: Decimal


def apply_fill(position: PositionState, side: Side, qty: int, price: Decimal) -> FillEffect:
    """The position after a fill of `qty` at `price` on `side`."""
    if qty <= 0:
        raise ValueError("fill quantity must be positive")
    sign = side.sign
    lots = list(position.lots)
    remaining = qty
    realized = ZERO
    # Close the oldest lots of the other direction first.
    while remaining and lots and (lots[0].qty > 0) != (sign > 0):
        lot = lots[0]
        take = min(remaining, abs(lot.qty))
        # A long lot closed by a sell gains (price - entry); a short lot closed by a buy, (entry - price).
        realized += take * (price - lot.price) * (1 if lot.qty > 0 else -1)
        remaining -= take
        left = abs(lot.qty) - take
        if left:
            lots[0] = Lot(left if lot.qty > 0 else -left, lot.price)
        else:
            lots.pop(0)
    if remaining:
        lots.append(Lot(remaining * sign, price))
    if side is Side.BUY:
        bought, bought_value = position.bought + qty, position.bought_value + qty * price
        sold, sold_value = position.sold, position.sold_value
    else:
        bought, bought_value = position.bought, position.bought_value
        sold, sold_value = position.sold + qty, position.sold_value + qty * price
    new = PositionState(
        tuple(lots), bought, bought_value, sold, sold_value, position.realized_points + realized
    )
    return FillEffect(new, realized)


def open_points(position: PositionState, last_price: Decimal | None) -> Decimal:
    """Unrealized P&L of the open lots at `last_price`, in points × contracts (zero when unpriced)."""
    if last_price is None:
        return ZERO
    return sum((lot.qty * (last_price - lot.price) for lot in position.lots), ZERO)
