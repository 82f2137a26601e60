"""Hypothesis over random fill sequences: the derived fill pairs agree with the position's accounting."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from autoliq.domain.accounting import Lot, PositionState, apply_fill
from autoliq.domain.fill_pairs import PAIRS_PER_FILL, BookedFill, closing_fill_of, pair_fills
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


def _booked(sequence: list[tuple[Side, int, Decimal]]) -> list[BookedFill]:
    # Ids with gaps, as another position's fills would leave between them.
    return [BookedFill(10 + 3 * i, side, qty, price) for i, (side, qty, price) in enumerate(sequence)]


@given(fills)
def test_pairs_when_fills_replayed_then_pnl_is_realized_and_qty_is_the_closed_quantity(
    sequence: list[tuple[Side, int, Decimal]],
) -> None:
    # Arrange
    position = PositionState()
    for side, qty, price in sequence:
        position = apply_fill(position, side, qty, price).position
    # Act
    pairs = pair_fills(_booked(sequence))
    # Assert
    closed = (position.bought + position.sold - abs(position.net_pos)) // 2
    assert sum(p.qty for p in pairs) == closed
    assert sum((p.points for p in pairs), Decimal(0)) == position.realized_points


@given(fills)
def test_pairs_when_fills_replayed_then_unpaired_quantities_are_the_open_lots_and_ids_are_unique(
    sequence: list[tuple[Side, int, Decimal]],
) -> None:
    # Arrange
    booked = _booked(sequence)
    position = PositionState()
    for side, qty, price in sequence:
        position = apply_fill(position, side, qty, price).position
    # Act
    pairs = pair_fills(booked)
    # Assert: what each fill has not paired is an open lot, oldest first, at the fill's price.
    paired: dict[int, int] = {}
    for p in pairs:
        paired[p.buy_fill_id] = paired.get(p.buy_fill_id, 0) + p.qty
        paired[p.sell_fill_id] = paired.get(p.sell_fill_id, 0) + p.qty
    left = [
        Lot((f.qty - paired.get(f.id, 0)) * f.side.sign, f.price)
        for f in booked
        if f.qty > paired.get(f.id, 0)
    ]
    assert tuple(left) == position.lots
    by_id = {f.id: f for f in booked}
    assert all(
        by_id[p.buy_fill_id].side is Side.BUY and by_id[p.sell_fill_id].side is Side.SELL for p in pairs
    )
    ids = [p.id for p in pairs]
    assert ids == sorted(set(ids))
    # The id names the fill that closed the pair: the later of its two fills.
    assert all(closing_fill_of(p.id) == max(p.buy_fill_id, p.sell_fill_id) for p in pairs)
    assert all(p.id % PAIRS_PER_FILL < by_id[closing_fill_of(p.id)].qty for p in pairs)
