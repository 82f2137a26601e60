"""The CME calendar (`autoliq.domain.cme_calendar`): the issue's dates, the daily halt and the
weekend, and the shipped table against the library it is generated from (the dev extra)."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from autoliq.domain.cme_calendar import GROUPS, calendar

CT = ZoneInfo("America/Chicago")
ROOT = Path(__file__).resolve().parents[2]


def ct(*args: int) -> datetime:
    return datetime(*args, tzinfo=CT)  # type: ignore[misc]


def test_calendar_when_thanksgiving_2026_then_equity_closes_early_and_reopens_that_evening() -> None:
    equity = calendar("equity")
    session = equity.session(date(2026, 11, 26))
    assert session is not None
    assert session.open == ct(2026, 11, 25, 17, 0).astimezone(UTC)
    assert session.close == ct(2026, 11, 26, 12, 0).astimezone(UTC)
    assert equity.is_open(ct(2026, 11, 26, 11, 59))
    assert not equity.is_open(ct(2026, 11, 26, 12, 0))
    assert not equity.is_open(ct(2026, 11, 26, 16, 59))
    assert equity.next_open(ct(2026, 11, 26, 12, 0)) == ct(2026, 11, 26, 17, 0).astimezone(UTC)
    assert equity.trade_date(ct(2026, 11, 26, 13, 0)) == date(2026, 11, 27)


def test_calendar_when_christmas_2026_then_the_24th_closes_at_noon_and_the_market_reopens_on_the_27th() -> (
    None
):
    for group in ("equity", "energy", "metals", "rates", "fx"):
        cal = calendar(group)
        session = cal.session(date(2026, 12, 24))
        assert session is not None, group
        assert session.close.astimezone(CT).time() < datetime.min.time().replace(hour=16), group
        assert cal.session(date(2026, 12, 25)) is None, group
        assert cal.next_trade_date(date(2026, 12, 24)) == date(2026, 12, 28), group
        assert cal.next_open(ct(2026, 12, 24, 11, 0)) == ct(2026, 12, 27, 17, 0).astimezone(UTC), group
        assert not cal.is_open(ct(2026, 12, 25, 10, 0)), group
        assert cal.trade_date(ct(2026, 12, 25, 10, 0)) == date(2026, 12, 28), group


def test_calendar_when_a_daily_lock_is_set_on_2026_12_24_then_the_next_open_is_the_27th_at_17_ct() -> None:
    # The daily auto-liq lock ends at the next market open, which must skip Christmas.
    equity = calendar("equity")
    for moment in (ct(2026, 12, 24, 9, 30), ct(2026, 12, 24, 12, 30), ct(2026, 12, 24, 17, 30)):
        assert equity.next_open(moment).astimezone(CT) == ct(2026, 12, 27, 17, 0)


def test_calendar_when_new_years_day_2027_then_no_session_and_the_31st_is_a_trade_date() -> None:
    equity = calendar("equity")
    assert equity.session(date(2027, 1, 1)) is None
    assert equity.session(date(2026, 12, 31)) is not None
    assert equity.next_trade_date(date(2026, 12, 31)) == date(2027, 1, 4)
    assert equity.previous_trade_date(date(2027, 1, 4)) == date(2026, 12, 31)
    assert equity.next_open(ct(2026, 12, 31, 16, 30)) == ct(2027, 1, 3, 17, 0).astimezone(UTC)


@pytest.mark.parametrize("group", GROUPS)
def test_calendar_when_sunday_0227_ct_or_in_the_daily_halt_then_the_market_is_shut(group: str) -> None:
    cal = calendar(group)
    assert not cal.is_open(ct(2026, 12, 6, 2, 27))  # Sunday
    assert not cal.is_open(ct(2026, 12, 5, 12, 0))  # Saturday
    assert not cal.is_open(ct(2026, 12, 8, 16, 30))  # Tuesday, between 16:00 (13:20) and the reopen
    assert cal.is_open(ct(2026, 12, 8, 10, 0))


def test_calendar_when_agriculture_then_its_morning_break_is_shut() -> None:
    grains = calendar("agriculture")
    assert grains.is_open(ct(2026, 12, 8, 7, 44))
    assert not grains.is_open(ct(2026, 12, 8, 8, 0))
    assert grains.is_open(ct(2026, 12, 8, 8, 30))
    assert grains.next_open(ct(2026, 12, 8, 8, 0)) == ct(2026, 12, 8, 19, 0).astimezone(UTC)


def test_calendar_when_the_clocks_change_then_the_session_opens_at_17_ct_on_both_sides() -> None:
    equity = calendar("equity")
    spring = equity.session(date(2026, 3, 9))  # CDT from 2026-03-08 02:00
    autumn = equity.session(date(2026, 11, 2))  # CST from 2026-11-01 02:00
    assert spring is not None and autumn is not None
    assert spring.open == datetime(2026, 3, 8, 22, 0, tzinfo=UTC)
    assert autumn.open == datetime(2026, 11, 1, 23, 0, tzinfo=UTC)


def test_calendar_when_beyond_the_tables_years_then_weekdays_have_the_regular_session() -> None:
    equity = calendar("equity")
    assert not equity.in_table(date(2031, 12, 25))
    assert equity.session(date(2031, 12, 25)) is not None  # no holidays known there
    assert equity.session(date(2031, 12, 27)) is None  # a Saturday


def test_calendar_when_the_group_is_unknown_then_it_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="equity"):
        calendar("crypto")


def test_calendar_table_when_regenerated_from_the_library_then_it_is_unchanged_and_every_session_agrees() -> (
    None
):
    """The shipped table is what scripts/gen_cme_calendar.py makes from pandas_market_calendars (the
    dev extra), and the module reproduces the library's every session from it."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_cme_calendar as gen
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert gen.OUT.read_text() == gen.generate(), "stale: run scripts/gen_cme_calendar.py"
    for group, name in gen.GROUPS.items():
        cal = calendar(group)
        library = gen.library_sessions(name)
        day = gen.FIRST
        while day <= gen.LAST:
            session = cal.session(day)
            expected = library.get(day)
            if expected is None:
                assert session is None, (group, day)
            else:
                assert session is not None, (group, day)
                opened, closed, breaks = expected
                assert session.open == datetime.fromisoformat(opened), (group, day)
                assert session.close == datetime.fromisoformat(closed), (group, day)
                local = tuple(
                    (s.astimezone(CT).strftime("%H:%M"), e.astimezone(CT).strftime("%H:%M"))
                    for s, e in session.breaks
                )
                assert local == breaks, (group, day)
            day += timedelta(days=1)
