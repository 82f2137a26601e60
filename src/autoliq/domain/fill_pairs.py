"""Fill pairs (Tradovate's `FillPair`): which buy fill and which sell fill closed how many contracts.

Pairs are derived, never stored: a position's fills, replayed in booking order, are matched first
in, first out exactly as `accounting.apply_fill` matches them, so the pairs' P&L is the realized P&L
those fills booked (tests/property/test_fill_pair_properties.py checks both sums over random fills).

A pair's id is stable and says where the pair comes from: the id of the fill that closed it times
`PAIRS_PER_FILL`, plus the pair's rank among that fill's pairs. A fill closes at most its own
quantity of lots, and no fill is larger than `LIMIT_CEILING` contracts (orders are capped by
AUTOLIQ_MAX_ORDER_QTY, a liquidation closes a position capped by AUTOLIQ_MAX_POSITION), so the rank
fits; fill ids stay below 2**63 / PAIRS_PER_FILL (2**43, 8.8e12 fills) for the id to be an int64.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from autoliq.domain.limits import LIMIT_CEILING
from autoliq.domain.states import Side

PAIRS_PER_FILL = 2**20
if LIMIT_CEILING >= PAIRS_PER_FILL:  # the id scheme's bound (module docstring)
    raise ImportError("PAIRS_PER_FILL must exceed LIMIT_CEILING")


@dataclass(frozen=True, slots=True)
class BookedFill:
    """A fill of one position, as booked: its id, side, quantity and price."""

    id: int
    side: Side
    qty: int
    price: Decimal


@dataclass(frozen=True, slots=True)
class FillPair:
    """`qty` contracts bought by fill `buy_fill_id` and sold by fill `sell_fill_id`."""

    id: int
    buy_fill_id: int
    sell_fill_id: int
    qty: int
    buy_price: Decimal
    sell_price: Decimal

    @property
    def points(self) -> Decimal:
        """The pair's P&L in price points × contracts."""
        return self.qty * (self.sell_price - self.buy_price)


def closing_fill_of(pair_id: int) -> int:
    """The id of the fill that closed pair `pair_id` (see the module's id scheme)."""
    return pair_id // PAIRS_PER_FILL


def pair_fills(fills: Iterable[BookedFill]) -> list[FillPair]:
    """The pairs of one position's fills (given in booking order), first in, first out."""
    open_lots: list[tuple[BookedFill, int]] = []  # (opening fill, contracts still open)
    pairs: list[FillPair] = []
    for fill in fills:
        remaining = fill.qty
        rank = 0
        while remaining and open_lots and open_lots[0][0].side is not fill.side:
            opening, left = open_lots[0]
            take = min(remaining, left)
            buy, sell = (opening, fill) if opening.side is Side.BUY else (fill, opening)
            pair_id = fill.id * PAIRS_PER_FILL + rank
            pairs.append(FillPair(pair_id, buy.id, sell.id, take, buy.price, sell.price))
            rank += 1
            remaining -= take
            if take == left:
                open_lots.pop(0)
            else:
                open_lots[0] = (opening, left - take)
        if remaining:
            open_lots.append((fill, remaining))
    return pairs
