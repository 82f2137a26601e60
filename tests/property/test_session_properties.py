"""The CME session calendar: market hours and the next opens that end daily and weekly locks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoliq.domain.cme_calendar import calendar
from autoliq.domain.session import CHICAGO, is_market_open, next_market_open, next_weekly_open, trade_date

moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
SUNDAY = 6
EQUITY = calendar("equity")


def _is_session_open(moment: datetime) -> bool:
    """Whether `moment` is the open of one of the equity calendar's sessions (17:00 CT)."""
    local = moment.astimezone(CHICAGO)
    if (local.hour, local.minute, local.second, local.microsecond) != (17, 0, 0, 0):
        return False
    session = EQUITY.session(local.date() + timedelta(days=1))
    return session is not None and session.open == moment


@given(moments)
def test_next_market_open_when_any_moment_then_the_first_session_open_after_it(moment: datetime) -> None:
    opens = next_market_open(moment)
    assert opens > moment and opens.tzinfo is UTC
    assert _is_session_open(opens)
    assert opens.astimezone(CHICAGO).weekday() in (SUNDAY, 0, 1, 2, 3)
    # The longest CME closure in the table: a holiday beside a weekend, from an early close.
    assert opens - moment <= timedelta(days=4, hours=6)
    # No earlier open in between: every evening from the moment's day to the open's was checked.
    day = moment.astimezone(CHICAGO).date()
    while day < opens.astimezone(CHICAGO).date():
        candidate = datetime(day.year, day.month, day.day, 17, tzinfo=CHICAGO)
        assert candidate <= moment or not _is_session_open(candidate.astimezone(UTC))
        day += timedelta(days=1)
    # The market is open right after it.
    assert is_market_open(opens + timedelta(seconds=1))


@given(moments)
def test_next_weekly_open_when_any_moment_then_the_open_of_the_next_trading_week(moment: datetime) -> None:
    opens = next_weekly_open(moment)
    assert opens > moment and opens - moment <= timedelta(days=8, hours=1)  # DST's end adds an hour
    assert _is_session_open(opens)
    assert next_market_open(moment) <= opens
    assert not is_market_open(opens - timedelta(seconds=1))  # the weekend (or holiday) before it
    # Its trade date is the first of its week: no trading day earlier in that week.
    first = trade_date(opens)
    monday = first - timedelta(days=first.weekday())
    assert all(EQUITY.session(monday + timedelta(days=k)) is None for k in range(first.weekday()))


@given(moments)
def test_market_when_open_then_it_is_a_trading_day_and_trade_date_has_a_session(moment: datetime) -> None:
    local = moment.astimezone(CHICAGO)
    if is_market_open(moment):
        assert local.weekday() != 5 and not (local.weekday() == SUNDAY and local.hour < 17)
        assert not (local.weekday() == 4 and local.hour >= 16)
        assert not (local.weekday() < 4 and local.hour == 16)
        session = EQUITY.session(trade_date(moment))
        assert session is not None and session.trades_at(moment)
    assert trade_date(moment).weekday() < 5
    assert EQUITY.session(trade_date(moment)) is not None


@pytest.mark.parametrize(
    ("chicago", "is_open", "next_open"),
    [
        # Wednesday 2026-12-02: open at 10:00, closed in the 16:00 break, open again at 17:00.
        ("2026-12-02T10:00", True, "2026-12-02T17:00"),
        ("2026-12-02T16:30", False, "2026-12-02T17:00"),
        ("2026-12-02T17:00", True, "2026-12-03T17:00"),
        # Friday after 16:00 and the weekend: the next open is Sunday 17:00.
        ("2026-12-04T15:59", True, "2026-12-06T17:00"),
        ("2026-12-04T16:00", False, "2026-12-06T17:00"),
        ("2026-12-05T12:00", False, "2026-12-06T17:00"),
        ("2026-12-06T16:59", False, "2026-12-06T17:00"),
        # Across the end of daylight saving time (Sunday 2026-11-01): still 17:00 local.
        ("2026-10-31T12:00", False, "2026-11-01T17:00"),
        # Thanksgiving: the equity session halts at 12:00 and reopens at 17:00.
        ("2026-11-26T11:59", True, "2026-11-26T17:00"),
        ("2026-11-26T12:30", False, "2026-11-26T17:00"),
        # Christmas Eve closes at 12:00; Christmas is shut; the market reopens Sunday the 27th.
        ("2026-12-24T11:00", True, "2026-12-27T17:00"),
        ("2026-12-24T12:30", False, "2026-12-27T17:00"),
        ("2026-12-24T17:30", False, "2026-12-27T17:00"),
        ("2026-12-25T10:00", False, "2026-12-27T17:00"),
        # New Year's Day 2027 (a Friday): shut from Thursday's close to Sunday the 3rd.
        ("2026-12-31T16:30", False, "2027-01-03T17:00"),
        ("2027-01-01T10:00", False, "2027-01-03T17:00"),
    ],
)
def test_session_when_known_moments_then_known_hours(chicago: str, is_open: bool, next_open: str) -> None:
    moment = datetime.fromisoformat(chicago).replace(tzinfo=CHICAGO)
    assert is_market_open(moment) is is_open
    assert next_market_open(moment) == datetime.fromisoformat(next_open).replace(tzinfo=CHICAGO)
