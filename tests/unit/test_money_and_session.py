"""Trade dates (17:00 Chicago, CME holidays skipped) and the start-of-day roll of cash."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from autoliq.domain.money import CashState, opening_cash, roll_cash
from autoliq.domain.session import trade_date


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 24, 22, 59, tzinfo=UTC), date(2026, 11, 24)),  # 16:59 CST
        (datetime(2026, 11, 24, 23, 0, tzinfo=UTC), date(2026, 11, 25)),  # 17:00 CST: next trade date
        (datetime(2026, 11, 27, 23, 30, tzinfo=UTC), date(2026, 11, 30)),  # Friday evening: Monday
        (datetime(2026, 11, 29, 23, 0, tzinfo=UTC), date(2026, 11, 30)),  # Sunday's open: Monday
        (datetime(2026, 7, 1, 21, 59, tzinfo=UTC), date(2026, 7, 1)),  # 16:59 CDT (summer time)
        (datetime(2026, 7, 1, 22, 0, tzinfo=UTC), date(2026, 7, 2)),
        # CME holidays roll to the next trading day (the calendar of domain/cme_calendar.py).
        (datetime(2026, 12, 24, 17, 0, tzinfo=UTC), date(2026, 12, 24)),  # 11:00 CST, before the early close
        (datetime(2026, 12, 24, 23, 0, tzinfo=UTC), date(2026, 12, 28)),  # 17:00 CST: Christmas is shut
        (datetime(2026, 12, 25, 16, 0, tzinfo=UTC), date(2026, 12, 28)),  # Christmas Day
        (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), date(2027, 1, 4)),  # 17:00 CST: New Year's Day is shut
        (datetime(2026, 11, 25, 23, 0, tzinfo=UTC), date(2026, 11, 26)),  # Thanksgiving trades (to 12:00)
    ],
)
def test_trade_date_when_moment_given_then_rolls_at_17_chicago(moment: datetime, expected: date) -> None:
    assert trade_date(moment) == expected


def test_roll_cash_when_next_day_then_day_pnl_zero_and_sod_is_amount() -> None:
    tuesday = CashState(5_100_000, 100_000, 150_000, 5_000_000, date(2026, 11, 24))
    wednesday = roll_cash(tuesday, date(2026, 11, 25))
    assert wednesday == CashState(5_100_000, 0, 150_000, 5_100_000, date(2026, 11, 25))
    assert roll_cash(tuesday, date(2026, 11, 24)) == tuesday  # same day: unchanged


def test_roll_cash_when_next_week_then_week_pnl_zero_too() -> None:
    friday = CashState(5_100_000, 100_000, 150_000, 5_000_000, date(2026, 11, 27))
    monday = roll_cash(friday, date(2026, 11, 30))
    assert (monday.realized, monday.week_realized, monday.amount_sod) == (0, 0, 5_100_000)


def test_opening_cash_when_new_account_then_fifty_thousand() -> None:
    assert opening_cash(date(2026, 11, 24)) == CashState(5_000_000, 0, 0, 5_000_000, date(2026, 11, 24))
