"""The administrative siblings of setadminautoliqaction: account notes, risk categories (switch,
halt) and the demo-account reset, with their `errorText`s and the reset's reconstruction of an
account's state at a trade date's market open from its fills."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from autoliq.domain.accounting import PositionState, apply_fill
from autoliq.domain.instruments import product_of_contract
from autoliq.domain.money import INITIAL_BALANCE_CENTS, CashState, realized_cents
from autoliq.domain.rules import ACCOUNT_ID_POSITIVE
from autoliq.domain.states import Side

NOTES_MAX = 8192
MAX_ACCOUNTS = 10_000
CATEGORY_NAME_MAX = 200

TEXT_NOTES_TOO_LONG = f"Notes should be no longer than {NOTES_MAX}"
TEXT_EMPTY_ACCOUNT_IDS = "Empty accountIds"
TEXT_TOO_MANY_ACCOUNTS = f"Only {MAX_ACCOUNTS} accounts are allowed in single operation"
TEXT_RISK_CATEGORY_ID = "Risk Category Id should be greater than 0"
TEXT_HALT_REQUIRED = "Halt should be specified"
TEXT_RESET_DATE_REQUIRED = "Reset Trade Date should be specified"
TEXT_RESET_DATE_INVALID = "Reset Trade Date should be a valid date with year, month and day"
TEXT_RESET_DATE_WEEKEND = "Reset Trade Date should be a trade date (Monday to Friday)"
TEXT_RESET_DATE_FUTURE = "Reset Trade Date should not be after the current trade date"
TEXT_CATEGORY_NAME = f"name should be 1 to {CATEGORY_NAME_MAX} characters, not blank"


@dataclass(frozen=True, slots=True)
class RiskCategory:
    """A set of accounts sharing pre-trade risk; halting it refuses their new orders."""

    id: int
    organization_id: int
    name: str
    halted: bool = False


# -- validation, in the order the endpoints check --


def notes_error(account_id: int | None, notes: str | None) -> str | None:
    """setaccountnotes' body: the first invalid value's `errorText`, or None."""
    if account_id is None or account_id <= 0:
        return ACCOUNT_ID_POSITIVE
    # Length in Unicode code points, as for setadminautoliqaction's reason.
    if notes is not None and len(notes) > NOTES_MAX:
        return TEXT_NOTES_TOO_LONG
    return None


def account_ids_error(account_ids: list[int] | None) -> str | None:
    """A bulk body's `accountIds`: empty or missing, or more than 10,000 (duplicates counted)."""
    if not account_ids:
        return TEXT_EMPTY_ACCOUNT_IDS
    if len(account_ids) > MAX_ACCOUNTS:
        return TEXT_TOO_MANY_ACCOUNTS
    return None


def category_id_error(category_id: int | None) -> str | None:
    """A `riskCategoryId` missing or not positive."""
    return TEXT_RISK_CATEGORY_ID if category_id is None or category_id <= 0 else None


def category_name(name: str) -> str | None:
    """The name to store (surrounding blanks trimmed), or None when blank or too long."""
    trimmed = name.strip()
    return trimmed if 0 < len(trimmed) <= CATEGORY_NAME_MAX else None


def reset_date(year: int | None, month: int | None, day: int | None, today: date) -> date | str:
    """resetdemoaccountstate's `resetTradeDate`: a trade date no later than `today`, or the `errorText`.
    All three parts missing counts as no date."""
    if year is None and month is None and day is None:
        return TEXT_RESET_DATE_REQUIRED
    if year is None or month is None or day is None:
        return TEXT_RESET_DATE_INVALID
    try:
        wanted = date(year, month, day)
    except (ValueError, OverflowError):
        return TEXT_RESET_DATE_INVALID
    if wanted.weekday() >= 5:
        return TEXT_RESET_DATE_WEEKEND
    if wanted > today:
        return TEXT_RESET_DATE_FUTURE
    return wanted


def reset_reason(day: date) -> str:
    """The log row's reason of a reset."""
    return f"Demo account state reset to {day.isoformat()}"


# -- the reset's reconstruction --


@dataclass(frozen=True, slots=True)
class PastFill:
    """A booked fill, as history: what the reset replays."""

    contract_id: int
    side: Side
    qty: int
    price: Decimal
    trade_date: date


@dataclass(frozen=True, slots=True)
class OpeningState:
    """An account at the market open of a trade date: its positions by contract id, and its cash."""

    positions: dict[int, PositionState]
    cash: CashState


def opening_state(fills: Iterable[PastFill], day: date, cash_changes_cents: int) -> OpeningState:
    """The account at trade date `day`'s open: its fills of earlier trade dates replayed first in,
    first out (in the order given: booking order) from a flat start and the opening balance, plus
    `cash_changes_cents` of demo cash changes made before `day`'s session began. The day's realized
    P&L is zero; the week's is that of the week's earlier trade dates; the start-of-day amount is the
    amount. Realized P&L is booked per fill in whole cents, as the order path books it."""
    positions: dict[int, PositionState] = {}
    realized = week_realized = 0
    week = day.isocalendar()[:2]
    for f in fills:
        if f.trade_date >= day:
            continue
        product = product_of_contract(f.contract_id)
        if product is None:
            continue  # not a contract id the sandbox ever lists
        effect = apply_fill(positions.get(f.contract_id, PositionState()), f.side, f.qty, f.price)
        positions[f.contract_id] = effect.position
        cents = realized_cents(effect.realized_points, product.value_per_point)
        realized += cents
        if f.trade_date.isocalendar()[:2] == week:
            week_realized += cents
    amount = INITIAL_BALANCE_CENTS + realized + cash_changes_cents
    return OpeningState(positions, CashState(amount, 0, week_realized, amount, day))
