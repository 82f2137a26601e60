"""Post-trade settings: field names, value checks and who may change them."""

from __future__ import annotations

import itertools
import math
from datetime import datetime

import pytest

from autoliq.domain.post_trade import (
    AMOUNT_FIELDS,
    PERMISSIONED_FIELDS,
    SETTING_FIELDS,
    AutoLiqSettings,
    may_change,
    settings_error,
    wire_name,
)


def test_fields_when_named_on_the_wire_then_tradovates_names_in_its_order() -> None:
    assert [wire_name(f) for f in SETTING_FIELDS] == [
        "changesLocked", "marginPercentageAlert", "dailyLossPercentageAlert", "dailyLossAlert",
        "marginPercentageLiqOnly", "dailyLossPercentageLiqOnly", "dailyLossLiqOnly",
        "marginPercentageAutoLiq", "dailyLossPercentageAutoLiq", "dailyLossAutoLiq", "weeklyLossAutoLiq",
        "flattenTimestamp", "trailingMaxDrawdown", "trailingMaxDrawdownLimit", "trailingMaxDrawdownMode",
        "dailyProfitAutoLiq", "weeklyProfitAutoLiq", "doNotUnlock",
    ]  # fmt: skip
    assert len(AMOUNT_FIELDS) == 14 and set(PERMISSIONED_FIELDS) <= set(SETTING_FIELDS)


@pytest.mark.parametrize("field", AMOUNT_FIELDS)
@pytest.mark.parametrize("value", [-0.01, math.inf, math.nan])
def test_settings_error_when_limit_negative_or_not_finite_then_named(field: str, value: float) -> None:
    error = settings_error(AutoLiqSettings(1, **{field: value}))  # type: ignore[arg-type]
    assert error == f"{wire_name(field)} should be a number greater than or equal to 0"


def test_settings_error_when_values_valid_or_off_then_none() -> None:
    assert settings_error(AutoLiqSettings(1)) is None
    assert settings_error(AutoLiqSettings(1, **dict.fromkeys(AMOUNT_FIELDS, 0.0))) is None  # type: ignore[arg-type]
    assert settings_error(AutoLiqSettings(1, daily_loss_percentage_auto_liq=100.0)) is None
    assert (
        settings_error(AutoLiqSettings(1, margin_percentage_auto_liq=150.0)) is None
    )  # margin may exceed 100
    assert settings_error(AutoLiqSettings(1, daily_loss_percentage_alert=100.01)) == (
        "dailyLossPercentageAlert should be less than or equal to 100"
    )
    assert settings_error(AutoLiqSettings(1, flatten_timestamp=datetime(2026, 11, 24, 16))) == (
        "flattenTimestamp should include a time zone offset"
    )


@pytest.mark.parametrize(
    ("is_admin", "is_owner", "as_owner", "locked", "new_locked"),
    list(itertools.product([False, True], repeat=5)),
)
def test_may_change_when_any_caller_then_admins_always_owners_only_while_unlocked(
    is_admin: bool, is_owner: bool, as_owner: bool, locked: bool, new_locked: bool
) -> None:
    current = AutoLiqSettings(1, changes_locked=locked)
    allowed = may_change(
        is_admin=is_admin, is_owner=is_owner, as_owner=as_owner, current=current,
        new=AutoLiqSettings(1, changes_locked=new_locked),
    )  # fmt: skip
    expected = (is_admin and not as_owner) or ((is_owner or is_admin) and not locked and not new_locked)
    assert allowed is expected


def test_trailing_floor_when_drawdown_and_limit_then_mark_less_drawdown_capped_at_limit() -> None:
    from autoliq.domain.post_trade import trailing_floor

    settings = AutoLiqSettings(1, trailing_max_drawdown=2000.0, trailing_max_drawdown_limit=50_000.0)
    assert trailing_floor(51_000.0, settings) == 49_000.0
    assert trailing_floor(52_000.0, settings) == 50_000.0
    assert trailing_floor(60_000.0, settings) == 50_000.0  # the floor stops rising at the limit
    assert trailing_floor(60_000.0, AutoLiqSettings(1, trailing_max_drawdown=2000.0)) == 58_000.0
    assert trailing_floor(60_000.0, AutoLiqSettings(1)) is None
    assert trailing_floor(60_000.0, None) is None
