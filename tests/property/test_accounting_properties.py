"""Hypothesis over random fill sequences: realized P&L matches what the fills add up to."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from autoliq.domain.accounting import PositionState, apply_fill, open_points
from autoliq.domain.states import Side

fills = st.lists(
    st.tuples(
        st.sampled_from(list(Side)),
        st.integers(1, 20),
        st.integers(18000, 22000).map(lambda ticks: Decimal(ticks) / 4),  # ES-like prices on 0.25 ticks
    ),
    min_size=1,
    max_size=60,
)
last_prices = st.integers(18000, 22000).map(lambda ticks: Decimal(ticks) / 4)


@given(fills, last_prices)
def test_fills_when_applied_then_realized_plus_open_equals_cash_flow_marked_to_last(
    sequence: list[tuple[Side, int, Decimal]], last: Decimal
) -> None:
    position = PositionState()
    realized_sum = Decimal(0)
    for side, qty, price in sequence:
        effect = apply_fill(position, side, qty, price)
        realized_sum += effect.realized_points
        position = effect.position
    # Whatever the order of fills: money in minus money out, with the open position marked to last.
    cash_flow = position.sold_value - position.bought_value + position.net_pos * last
    assert position.realized_points == realized_sum
    assert position.realized_points + open_points(position, last) == cash_flow
    assert position.net_pos == position.bought - position.sold
    assert (position.net_price is None) == (position.net_pos == 0)


@given(fills)
def test_fills_when_position_returns_flat_then_realized_is_sold_minus_bought(
    sequence: list[tuple[Side, int, Decimal]],
) -> None:
    position = PositionState()
    for side, qty, price in sequence:
        position = apply_fill(position, side, qty, price).position
    if position.net_pos != 0:  # close it at the last fill's price
        side = Side.SELL if position.net_pos > 0 else Side.BUY
        position = apply_fill(position, side, abs(position.net_pos), sequence[-1][2]).position
    assert position.net_pos == 0
    assert position.realized_points == position.sold_value - position.bought_value


def test_fill_when_through_flat_then_remainder_opens_at_fill_price() -> None:
    long = apply_fill(PositionState(), Side.BUY, 2, Decimal("100")).position
    effect = apply_fill(long, Side.SELL, 5, Decimal("103"))
    assert effect.realized_points == Decimal(6)  # 2 contracts × 3 points
    assert (effect.position.net_pos, effect.position.net_price) == (-3, Decimal("103"))


def test_fill_when_adding_then_average_price_moves() -> None:
    p = apply_fill(PositionState(), Side.BUY, 1, Decimal("100")).position
    p = apply_fill(p, Side.BUY, 3, Decimal("104")).position
    assert (p.net_pos, p.net_price) == (4, Decimal("103"))


def test_fill_when_closing_part_then_oldest_lot_closes_first() -> None:
    p = apply_fill(PositionState(), Side.BUY, 1, Decimal("100")).position
    p = apply_fill(p, Side.BUY, 1, Decimal("110")).position
    effect = apply_fill(p, Side.SELL, 1, Decimal("105"))
    assert effect.realized_points == Decimal(5)  # against the 100 lot, not the 105 average
    assert (effect.position.net_pos, effect.position.net_price) == (1, Decimal("110"))


def test_fill_when_three_lots_then_realized_stays_exact() -> None:
    p = PositionState()
    for price in ("4500.25", "4500.50", "4500.50"):
        p = apply_fill(p, Side.BUY, 1, Decimal(price)).position
    p = apply_fill(p, Side.SELL, 3, Decimal("4500.75")).position
    assert p.realized_points == Decimal("1.00")
    assert p.net_pos == 0 and p.net_price is None
