"""`cashBalance/changedemobalance`: the rules of a demo account's cash change, in Tradovate's order
and with its `errorText`s."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from autoliq.domain.limits import OPEN_BOUND

MAX_CHANGE = 1_000_000
COMMENT_MAX = 64
DEFAULT_COMMENT = "Demo Change"
MAX_BALANCE_CENTS = 5_000_000
"""$50,000: the highest balance a non-admin may bring an account to."""
CHANGE_INTERVAL = timedelta(hours=1)
"""A non-admin may change an account's balance once per hour."""

TEXT_ACCESS_DENIED = "Access denied"
TEXT_ACCOUNT_ID = "Account Id should be greater than 0"
TEXT_TOO_LOW = "Cash Change should be greater than -1000000"
TEXT_TOO_HIGH = "Cash Change should be less than 1000000"
TEXT_COMMENT = f"Comment should be no longer than {COMMENT_MAX}"
TEXT_CLOSED = "Demo account is closed"
TEXT_MAX_BALANCE = "Maximum cash amount in the simulation account must be less than or equal to $50,000"
TEXT_ONCE_PER_HOUR = (
    "One change to the simulation cash balance is permitted per hour. Please try again later."
)
TEXT_NOT_DEMO = "This endpoint should be called on demo.tradovateapi.com"
TEXT_CASH_BOUND = "The cash amount would pass the sandbox's bound"


def request_error(account_id: int | None, cash_change: float | None, comment: str | None) -> str | None:
    """The body's first invalid value, in Tradovate's order, or None."""
    if account_id is None or account_id <= 0:
        return TEXT_ACCOUNT_ID
    if cash_change is None or cash_change != cash_change or cash_change <= -MAX_CHANGE:
        return TEXT_TOO_LOW
    if cash_change >= MAX_CHANGE:
        return TEXT_TOO_HIGH
    if comment is not None and len(comment) > COMMENT_MAX:
        return TEXT_COMMENT
    return None


def change_in_cents(cash_change: float) -> int:
    """The change in whole cents (half a cent rounds away from zero). Finite values only (see
    `request_error`)."""
    return int(Decimal(repr(cash_change)).scaleb(2).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def balance_error(*, is_admin: bool, balance_after_cents: int, recent_changes: int) -> str | None:
    """A non-admin's limits: at most $50,000 after the change, one change per account per hour;
    everyone's: the storage bound (`limits.OPEN_BOUND`), which repeated changes could otherwise pass."""
    if abs(balance_after_cents) >= OPEN_BOUND:
        return TEXT_CASH_BOUND
    if is_admin:
        return None
    if balance_after_cents > MAX_BALANCE_CENTS:
        return TEXT_MAX_BALANCE
    if recent_changes > 0:
        return TEXT_ONCE_PER_HOUR
    return None
