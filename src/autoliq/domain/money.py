"""Money constants of the sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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


def opening_cash(day: date) -> CashState:
    """A new account's cash."""
    return CashState(INITIAL_BALANCE_CENTS, 0, 0, INITIAL_BALANCE_CENTS, day)
