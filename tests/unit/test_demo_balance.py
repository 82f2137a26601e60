"""changedemobalance's rules: the order of the body checks, cents, and the non-admin limits."""

from __future__ import annotations

import math

import pytest

from autoliq.domain.demo_balance import (
    TEXT_ACCOUNT_ID,
    TEXT_COMMENT,
    TEXT_MAX_BALANCE,
    TEXT_ONCE_PER_HOUR,
    TEXT_TOO_HIGH,
    TEXT_TOO_LOW,
    balance_error,
    change_in_cents,
    request_error,
)


@pytest.mark.parametrize(
    ("account_id", "change", "comment", "text"),
    [
        (0, -5_000_000.0, "c" * 99, TEXT_ACCOUNT_ID),  # the account id is checked first
        (None, 1.0, None, TEXT_ACCOUNT_ID),
        (1, -1_000_000.0, "c" * 99, TEXT_TOO_LOW),  # then the amount, before the comment
        (1, None, None, TEXT_TOO_LOW),
        (1, math.nan, None, TEXT_TOO_LOW),
        (1, -math.inf, None, TEXT_TOO_LOW),
        (1, 1_000_000.0, None, TEXT_TOO_HIGH),
        (1, math.inf, None, TEXT_TOO_HIGH),
        (1, 999_999.99, "c" * 65, TEXT_COMMENT),
        (1, -999_999.99, "c" * 64, None),
        (1, 0.0, "", None),
    ],
)
def test_request_error_when_body_checked_then_first_failure_in_tradovates_order(
    account_id: int | None, change: float | None, comment: str | None, text: str | None
) -> None:
    assert request_error(account_id, change, comment) == text


@pytest.mark.parametrize(
    ("dollars", "cents"),
    [(0.1 + 0.2, 30), (1234.56, 123456), (0.005, 1), (-0.005, -1), (0.004, 0), (-999_999.99, -99_999_999)],
)
def test_change_in_cents_when_dollars_then_nearest_cent_half_away_from_zero(
    dollars: float, cents: int
) -> None:
    assert change_in_cents(dollars) == cents


def test_balance_error_when_not_admin_then_cap_then_hourly_limit() -> None:
    assert balance_error(is_admin=False, balance_after_cents=5_000_000, recent_changes=0) is None
    assert balance_error(is_admin=False, balance_after_cents=5_000_001, recent_changes=1) == TEXT_MAX_BALANCE
    assert balance_error(is_admin=False, balance_after_cents=100, recent_changes=1) == TEXT_ONCE_PER_HOUR
    assert balance_error(is_admin=True, balance_after_cents=10**12, recent_changes=99) is None
