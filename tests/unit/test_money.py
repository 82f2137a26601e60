"""Cash arithmetic shared by the fill path, the liquidation and the demo-balance reset."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from autoliq.domain.money import CashState, realized_cents, with_realized


def test_realized_cents_when_fraction_of_a_cent_then_truncated_toward_zero() -> None:
    # ES: $50 a point; an eighth of a point is $6.25
    assert realized_cents(Decimal("0.125"), Decimal(50)) == 625
    assert realized_cents(Decimal("-0.00125"), Decimal(50)) == -6  # -6.25 cents
    assert realized_cents(Decimal("0.00125"), Decimal(50)) == 6


def test_with_realized_when_cents_booked_then_amount_day_and_week_move_and_start_of_day_stays() -> None:
    day = date(2026, 12, 7)
    before = CashState(5_000_000, 1_000, 3_000, 4_999_000, date(2026, 12, 4))
    after = with_realized(before, -2_500, day)
    assert after == CashState(4_997_500, -1_500, 500, 4_999_000, day)
