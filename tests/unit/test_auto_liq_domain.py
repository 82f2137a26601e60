"""The auto-liq layer's pure rules: figures against limits, the trailing mark, suppression, unlock times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from autoliq.domain.auto_liq import (
    RULES_BY_NAME,
    AutoLiqLayer,
    Figures,
    LayerState,
    Level,
    Mark,
    breaches,
    next_mark,
    stricter,
    suppressed,
    unlock_time,
)
from autoliq.domain.post_trade import AutoLiqSettings, TrailingMode
from autoliq.domain.states import AdminAction

TUESDAY = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def figures(day_pnl: float, *, net_liq: float = 50_000, week_pnl: float = 0, margin: float = 0) -> Figures:
    return Figures(net_liq, 50_000, day_pnl, week_pnl, margin)


NO_MARK = Mark(None, None)


def names(settings: AutoLiqSettings, f: Figures, mark: Mark = NO_MARK) -> list[str]:
    return [b.rule.name for b in breaches(settings, f, mark)]


def test_breaches_when_limits_reached_then_strictest_first_and_only_those_reached() -> None:
    s = AutoLiqSettings(id=1, daily_loss_alert=500, daily_loss_liq_only=800, daily_loss_auto_liq=1000)
    assert names(s, figures(-499.99)) == []
    assert names(s, figures(-500)) == ["dailyLossAlert"]
    assert names(s, figures(-1000)) == ["dailyLossAutoLiq", "dailyLossLiqOnly", "dailyLossAlert"]
    assert names(s, figures(+5000)) == []  # a profit is no loss


def test_breaches_when_percentage_margin_and_trailing_then_their_own_figures() -> None:
    s = AutoLiqSettings(
        id=1, daily_loss_percentage_auto_liq=2, margin_percentage_alert=50, trailing_max_drawdown=1000
    )
    assert names(s, figures(-999)) == []
    assert names(s, figures(-1000)) == ["dailyLossPercentageAutoLiq"]  # 2 % of 50,000
    assert names(s, figures(0, net_liq=40_000, margin=20_000)) == ["marginPercentageAlert"]
    assert names(s, figures(0, net_liq=-1, margin=1)) == ["marginPercentageAlert"]  # no equity left
    assert names(s, figures(0, net_liq=49_000), Mark(50_000, 49_000)) == ["trailingMaxDrawdown"]
    assert names(s, figures(0, net_liq=49_000.01), Mark(50_000, 49_000)) == []


def test_breach_message_when_loss_then_names_rule_figure_and_limit() -> None:
    s = AutoLiqSettings(id=1, daily_loss_auto_liq=1000)
    [b] = breaches(s, figures(-1234.5), Mark(None, None))
    assert b.message == "dailyLossAutoLiq: daily loss $1,234.50 reached the limit $1,000.00"


@pytest.mark.parametrize(("mode", "expected"), [(TrailingMode.REAL_TIME, 51_000), (TrailingMode.EOD, 50_000)])
def test_next_mark_when_new_high_then_real_time_moves_and_eod_waits(
    mode: TrailingMode, expected: float
) -> None:
    s = AutoLiqSettings(id=1, trailing_max_drawdown=1000, trailing_max_drawdown_mode=mode)
    assert next_mark(s, Mark(None, None), 50_000) == Mark(50_000, 49_000)  # first reading sets it
    assert next_mark(s, Mark(50_000, 49_000), 51_000) == Mark(expected, expected - 1000)
    assert next_mark(s, Mark(50_000, 49_000), 51_000, end_of_day=True) == Mark(51_000, 50_000)
    assert next_mark(s, Mark(50_000, 49_000), 49_500) == Mark(50_000, 49_000)  # never down


def test_next_mark_when_limit_then_floor_capped_and_without_drawdown_untouched() -> None:
    capped = AutoLiqSettings(id=1, trailing_max_drawdown=1000, trailing_max_drawdown_limit=50_200)
    assert next_mark(capped, Mark(50_000, 49_000), 52_000) == Mark(52_000, 50_200)
    assert next_mark(AutoLiqSettings(id=1), Mark(7, 3), 52_000) == Mark(7, 3)


def test_suppressed_when_internal_actions_then_per_product_md() -> None:
    for action in AdminAction:
        assert not suppressed(action, Level.ALERT)
    assert suppressed(AdminAction.PLACE_AUTO_LIQ_ON_HOLD, Level.AUTO_LIQ)
    assert suppressed(AdminAction.DISABLE_AUTO_LIQ, Level.LIQUIDATE_ONLY)
    assert suppressed(AdminAction.AGREED_ON_LIQ_ONLY_MODE_BY_AUTO_LIQ, Level.AUTO_LIQ)
    assert not suppressed(AdminAction.AGREED_ON_LIQ_ONLY_MODE_BY_AUTO_LIQ, Level.LIQUIDATE_ONLY)
    assert not suppressed(AdminAction.NORMAL, Level.AUTO_LIQ)


def test_unlock_time_when_daily_weekly_or_do_not_unlock() -> None:
    s = AutoLiqSettings(id=1)
    assert unlock_time(RULES_BY_NAME["dailyLossAutoLiq"], s, TUESDAY) == datetime(
        2026, 11, 24, 23, tzinfo=UTC
    )
    assert unlock_time(RULES_BY_NAME["weeklyLossAutoLiq"], s, TUESDAY) == datetime(
        2026, 11, 29, 23, tzinfo=UTC
    )
    assert (
        unlock_time(RULES_BY_NAME["dailyLossAutoLiq"], AutoLiqSettings(id=1, do_not_unlock=True), TUESDAY)
        is None
    )


def test_unlock_time_when_a_daily_lock_is_set_on_christmas_eve_2026_then_it_ends_at_the_27th_open() -> None:
    # CME closes early on 2026-12-24 and is shut on the 25th: the next open is Sunday 17:00 CST.
    s = AutoLiqSettings(id=1)
    christmas_eve = datetime(2026, 12, 24, 16, 0, tzinfo=UTC)  # 10:00 CST
    assert unlock_time(RULES_BY_NAME["dailyLossAutoLiq"], s, christmas_eve) == datetime(
        2026, 12, 27, 23, tzinfo=UTC
    )
    # A weekly lock set in the week of New Year's Day 2027 ends at the next week's open.
    assert unlock_time(RULES_BY_NAME["weeklyLossAutoLiq"], s, datetime(2026, 12, 30, tzinfo=UTC)) == datetime(
        2027, 1, 3, 23, tzinfo=UTC
    )


def test_stricter_when_layer_set_then_only_escalation_acts() -> None:
    only = AutoLiqLayer(1, LayerState.LIQUIDATE_ONLY, "dailyLossLiqOnly", TUESDAY, None)
    locked = AutoLiqLayer(1, LayerState.LOCKED, "dailyLossAutoLiq", TUESDAY, None)
    assert stricter(None, Level.LIQUIDATE_ONLY) and stricter(None, Level.AUTO_LIQ)
    assert stricter(only, Level.AUTO_LIQ) and not stricter(only, Level.LIQUIDATE_ONLY)
    assert not stricter(locked, Level.AUTO_LIQ) and not stricter(locked, Level.LIQUIDATE_ONLY)
    assert not stricter(None, Level.ALERT)
