"""The administrative siblings' rules: the reset date's checks and the opening state rebuilt from fills."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from autoliq.domain.accounting import Lot
from autoliq.domain.money import CashState
from autoliq.domain.risk_admin import (
    TEXT_RESET_DATE_FUTURE,
    TEXT_RESET_DATE_INVALID,
    TEXT_RESET_DATE_REQUIRED,
    TEXT_RESET_DATE_WEEKEND,
    PastFill,
    account_ids_error,
    opening_state,
    reset_date,
)
from autoliq.domain.states import Side

ES = 1_202_612  # ESZ6: $50 a point
CL = 9_202_612  # CLZ6: $1,000 a point, 0.01 ticks
TODAY = date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ((2026, 11, 24), date(2026, 11, 24)),
        ((2026, 11, 25), date(2026, 11, 25)),
        ((None, None, None), TEXT_RESET_DATE_REQUIRED),
        ((2026, None, 24), TEXT_RESET_DATE_INVALID),
        ((2026, 0, 24), TEXT_RESET_DATE_INVALID),
        ((10**30, 1, 1), TEXT_RESET_DATE_INVALID),
        ((2026, 11, 21), TEXT_RESET_DATE_WEEKEND),
        ((2026, 11, 26), TEXT_RESET_DATE_FUTURE),
    ],
)
def test_reset_date_when_parts_given_then_a_past_trade_date_or_the_error_text(
    parts: tuple[int | None, int | None, int | None], expected: date | str
) -> None:
    assert reset_date(*parts, TODAY) == expected


def test_account_ids_error_when_empty_or_over_ten_thousand_then_tradovates_texts() -> None:
    assert account_ids_error(None) == account_ids_error([]) == "Empty accountIds"
    assert account_ids_error([1] * 10_000) is None
    assert account_ids_error([1] * 10_001) == "Only 10000 accounts are allowed in single operation"


def fill(contract: int, side: Side, qty: int, price: str, day: date) -> PastFill:
    return PastFill(contract, side, qty, Decimal(price), day)


def test_opening_state_when_fills_span_two_weeks_then_fifo_positions_and_only_this_weeks_realized() -> None:
    last_friday, monday, tuesday = date(2026, 11, 20), date(2026, 11, 23), date(2026, 11, 24)
    fills = [
        fill(ES, Side.BUY, 2, "5000", last_friday),
        fill(ES, Side.SELL, 1, "5010", last_friday),  # +$500, last week
        fill(ES, Side.BUY, 1, "5020", monday),
        fill(ES, Side.SELL, 1, "5030", tuesday),  # closes the oldest lot (5000): +$1,500 this week
        fill(CL, Side.SELL, 1, "70.01", tuesday),
        fill(CL, Side.BUY, 1, "70.00", TODAY),  # today's: not replayed
    ]
    state = opening_state(fills, TODAY, cash_changes_cents=-25_000)
    assert state.positions[ES].lots == (Lot(1, Decimal("5020")),)
    assert (state.positions[ES].bought, state.positions[ES].sold) == (3, 2)
    assert state.positions[CL].lots == (Lot(-1, Decimal("70.01")),)
    amount = 5_000_000 + 50_000 + 150_000 - 25_000
    assert state.cash == CashState(amount, 0, 150_000, amount, TODAY)


def test_opening_state_when_no_fills_then_flat_with_the_opening_balance() -> None:
    state = opening_state([], TODAY, 0)
    assert state.positions == {}
    assert state.cash == CashState(5_000_000, 0, 0, 5_000_000, TODAY)
