"""Price triggers: a price change skips an account only where no rule of it can be reached. For any
settings, account and price, a breach of an active rule (or a move of a RealTime trailing mark)
happens only at a price at or beyond one of the account's stored triggers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from autoliq.domain.auto_liq import (
    ALWAYS_LOW,
    RULES,
    Exposure,
    Mark,
    active_rules,
    breaches,
    price_triggers,
    trailing_mode,
)
from autoliq.domain.post_trade import AutoLiqSettings, TrailingMode

TICK = Decimal("0.25")
MAX_PRICE_TICKS = 10**9
"""Prices the property looks at: up to 250 million points, far beyond any real one."""
limits = st.one_of(st.none(), st.floats(0, 5000, allow_nan=False), st.integers(0, 5000).map(float))
percentages = st.one_of(st.none(), st.floats(0, 100), st.sampled_from([0.0, 1.0, 2.5, 50.0]))


@st.composite
def auto_liq_settings(draw: Any) -> AutoLiqSettings:
    values: dict[str, Any] = {}
    for rule in RULES:
        strategy = percentages if "percentage" in rule.field else limits
        values[rule.field] = draw(strategy)
    values["trailing_max_drawdown_mode"] = draw(st.sampled_from([None, *TrailingMode]))
    values["trailing_max_drawdown_limit"] = draw(st.one_of(st.none(), st.floats(40_000, 60_000)))
    return AutoLiqSettings(id=1, **values)


@st.composite
def exposures(draw: Any) -> Exposure:
    qty = draw(st.integers(-6, 6).filter(bool))
    value_per_point = draw(st.sampled_from([2.0, 5.0, 50.0]))
    entry = draw(st.integers(16_000, 24_000)) * float(TICK)
    margin = draw(st.sampled_from([0.0, 1300.0, 13_000.0])) * abs(qty)
    return Exposure(
        cash=draw(st.floats(10_000, 90_000)),
        realized=draw(st.floats(-3000, 3000)),
        week_realized=draw(st.floats(-6000, 6000)),
        sod_balance=draw(st.floats(-1000, 90_000)),
        margin=margin,
        slope=qty * value_per_point,
        basis=value_per_point * qty * entry,
    )


marks = st.builds(
    Mark, st.one_of(st.none(), st.floats(40_000, 60_000)), st.one_of(st.none(), st.floats(38_000, 58_000))
)


@settings(max_examples=400)
@given(auto_liq_settings(), exposures(), marks, st.integers(15_000, 25_000))
def test_triggers_when_any_active_rule_is_reached_then_the_price_is_at_or_beyond_a_trigger(
    rules: AutoLiqSettings, exposure: Exposure, mark: Mark, price_ticks: int
) -> None:
    active = active_rules(rules, None, frozenset())
    low, high = price_triggers(rules, exposure, mark, active, TICK)
    figures = exposure.figures(price_ticks * float(TICK))
    reached = [b for b in breaches(rules, figures, mark) if b.rule.name in active]
    mark_moves = (
        rules.trailing_max_drawdown is not None
        and mark.max_net_liq is not None
        and trailing_mode(rules) is TrailingMode.REAL_TIME
        and figures.net_liq > mark.max_net_liq
    )
    if reached or mark_moves:
        assert (low is not None and price_ticks <= low) or (high is not None and price_ticks >= high), (
            reached,
            mark_moves,
            low,
            high,
        )


def test_triggers_when_nothing_set_then_none_and_zero_margin_limit_means_always() -> None:
    exposure = Exposure(50_000, 0, 0, 50_000, 13_000, 50.0, 50.0 * 5000)
    empty = AutoLiqSettings(id=1)
    assert price_triggers(
        empty, exposure, Mark(None, None), active_rules(empty, None, frozenset()), TICK
    ) == (
        None,
        None,
    )
    zero = AutoLiqSettings(id=1, margin_percentage_auto_liq=0)
    assert (
        price_triggers(zero, exposure, Mark(None, None), active_rules(zero, None, frozenset()), TICK)[0]
        == ALWAYS_LOW
    )


def test_triggers_when_long_with_a_daily_loss_limit_then_low_trigger_at_the_limit_price() -> None:
    """Long 2 ES from 5000 ($100 a point), $1,000 daily loss: reached at 4990; the trigger is one
    tick above (the widening), and nothing triggers upward."""
    exposure = Exposure(50_000, 0, 0, 50_000, 0, 100.0, 100.0 * 5000)
    rules = AutoLiqSettings(id=1, daily_loss_auto_liq=1000)
    low, high = price_triggers(
        rules, exposure, Mark(None, None), active_rules(rules, None, frozenset()), TICK
    )
    assert (low, high) == (int(4990 / 0.25) + 1, None)
    # Short the same: reached at 5010, upward.
    short = Exposure(50_000, 0, 0, 50_000, 0, -100.0, -100.0 * 5000)
    low, high = price_triggers(rules, short, Mark(None, None), active_rules(rules, None, frozenset()), TICK)
    assert (low, high) == (None, int(5010 / 0.25) - 1)


@settings(max_examples=400)
@given(auto_liq_settings(), exposures(), marks, st.data())
def test_triggers_when_the_price_is_just_inside_a_trigger_then_no_active_rule_is_reached(
    rules: AutoLiqSettings, exposure: Exposure, mark: Mark, data: st.DataObject
) -> None:
    """The same property where it is tight: prices a few ticks around the triggers themselves."""
    active = active_rules(rules, None, frozenset())
    low, high = price_triggers(rules, exposure, mark, active, TICK)
    anchors = [t for t in (low, high) if t is not None and 0 < t < MAX_PRICE_TICKS]
    if not anchors:
        return
    price_ticks = data.draw(st.sampled_from(anchors)) + data.draw(st.integers(-4, 4))
    figures = exposure.figures(price_ticks * float(TICK))
    reached = [b for b in breaches(rules, figures, mark) if b.rule.name in active]
    mark_moves = (
        rules.trailing_max_drawdown is not None
        and mark.max_net_liq is not None
        and trailing_mode(rules) is TrailingMode.REAL_TIME
        and figures.net_liq > mark.max_net_liq
    )
    if reached or mark_moves:
        assert (low is not None and price_ticks <= low) or (high is not None and price_ticks >= high)


def test_triggers_when_thresholds_are_extreme_then_they_fit_the_column_and_keep_their_meaning() -> None:
    """A tiny margin percentage puts the threshold out of reach of any int64: every price then
    triggers (the always-low), and a threshold under zero never does."""
    exposure = Exposure(50_000, 0, 0, 50_000, 13_000, 50.0, 50.0 * 5000)
    tiny = AutoLiqSettings(id=1, margin_percentage_auto_liq=1e-300)
    low, high = price_triggers(tiny, exposure, Mark(None, None), active_rules(tiny, None, frozenset()), TICK)
    assert (low, high) == (ALWAYS_LOW, None)
    # A profit target the realized P&L has passed already: reached at every price (high 0); a long
    # loss limit that only a price below zero could reach: never (no low).
    rich = Exposure(50_000, 1_000_000, 0, 50_000, 0, 50.0, 50.0 * 5000)
    target = AutoLiqSettings(id=1, daily_profit_auto_liq=1000, daily_loss_auto_liq=10**7)
    low, high = price_triggers(target, rich, Mark(None, None), active_rules(target, None, frozenset()), TICK)
    assert (low, high) == (None, 0)
