"""The order limits' settings, the price bound and the cash bound of changedemobalance."""

from __future__ import annotations

from decimal import Decimal

import pytest

from autoliq.config import Settings
from autoliq.domain.demo_balance import TEXT_CASH_BOUND, balance_error
from autoliq.domain.instruments import PRODUCTS, PRODUCTS_BY_NAME, price_problem
from autoliq.domain.limits import OPEN_BOUND, OrderLimits

ES = PRODUCTS_BY_NAME["ES"]


def test_settings_when_default_then_order_limits_are_ten_thousand_and_one_hundred_thousand() -> None:
    assert Settings().order_limits == OrderLimits(10_000, 100_000)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AUTOLIQ_MAX_ORDER_QTY", "0", "max_order_qty must be between 1 and 1,000,000, got 0"),
        ("AUTOLIQ_MAX_ORDER_QTY", "1000001", "max_order_qty must be between 1 and 1,000,000, got 1000001"),
        ("AUTOLIQ_MAX_POSITION", "-5", "max_position must be between 1 and 1,000,000, got -5"),
        ("AUTOLIQ_MAX_POSITION", "lots", "AUTOLIQ_MAX_POSITION='lots' is not an integer"),
    ],
)
def test_settings_when_order_limit_out_of_range_then_refused_at_start_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        Settings.from_env()


def test_settings_when_order_limits_in_the_environment_then_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOLIQ_MAX_ORDER_QTY", "25")
    monkeypatch.setenv("AUTOLIQ_MAX_POSITION", " 1000000 ")
    assert Settings.from_env().order_limits == OrderLimits(25, 1_000_000)


@pytest.mark.parametrize(
    ("price", "problem"),
    [
        ("1e20", "must be below 2500000 for ES"),
        ("1e308", "must be below 2500000 for ES"),
        ("2500000", "must be below 2500000 for ES"),
        ("0", "must be a positive number"),
        ("-0.25", "must be a positive number"),
        ("NaN", "must be a positive number"),
        ("Infinity", "must be a positive number"),
        ("5000.1", "5000.1 is not a multiple of the tick size 0.25"),
        ("2499999.75", None),
        ("0.25", None),
    ],
)
def test_price_problem_when_price_given_then_bound_checked_before_the_tick(
    price: str, problem: str | None
) -> None:
    assert price_problem(Decimal(price), ES) == problem


def test_products_when_listed_then_each_has_a_price_bound_of_ten_million_ticks() -> None:
    assert all(p.max_price_ticks == 10**7 and p.max_price == p.tick_size * 10**7 for p in PRODUCTS)


def test_balance_error_when_change_would_reach_the_storage_bound_then_refused_even_for_admins() -> None:
    assert balance_error(is_admin=True, balance_after_cents=OPEN_BOUND, recent_changes=0) == TEXT_CASH_BOUND
    assert balance_error(is_admin=True, balance_after_cents=-OPEN_BOUND, recent_changes=0) == TEXT_CASH_BOUND
    assert balance_error(is_admin=True, balance_after_cents=OPEN_BOUND - 1, recent_changes=0) is None
