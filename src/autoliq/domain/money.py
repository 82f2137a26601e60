"""Money constants of the sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

INITIAL_BALANCE_CENTS = 5_000_000
"""A demo account starts with $50,000."""


@dataclass(frozen=True, slots=True)
class CashState:
    """An account's cash on a trade date, in cents."""

    amount: int
    realized: int
    """Realized P&L of the trade date."""
    week_realized: int
    """Realized P&L of the trade date's week (Monday to Friday)."""
    amount_sod: int
    """The amount at the start of the trade date."""
    trade_date: date | None = None


def roll_cash(state: CashState, day: date) -> CashState:
    """The cash as of trade date `day`: a later trade date starts with the day's realized P&L at zero
    and the start-of-day amount at the amount; a later week also zeroes the week's realized P&L."""
    if state.trade_date is None or state.trade_date >= day:
        return state
    same_week = state.trade_date.isocalendar()[:2] == day.isocalendar()[:2]
    return CashState(state.amount, 0, state.week_realized if same_week else 0, state.amount, day)


def realized_cents(points: Decimal, value_per_point: Decimal) -> int:
    """A fill's realized P&L, in points of its product, as the whole cents booked (toward zero)."""
    return int(points * value_per_point * 100)


def with_realized(state: CashState, cents: int, day: date) -> CashState:
    """The cash of trade date `day` after `cents` realized: the amount and the day's and week's
    realized P&L move together."""
    return CashState(
        state.amount + cents, state.realized + cents, state.week_realized + cents, state.amount_sod, day
    )


def opening_cash(day: date) -> CashState:
    """A new account's cash."""
    return CashState(INITIAL_BALANCE_CENTS, 0, 0, INITIAL_BALANCE_CENTS, day)
