"""The CME session calendar: market hours and the next opens that end daily and weekly locks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoliq.domain.session import CHICAGO, is_market_open, next_market_open, next_weekly_open, trade_date

moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
SUNDAY = 6


def _is_open_moment(moment: datetime, weekdays: set[int]) -> bool:
    local = moment.astimezone(CHICAGO)
    return local.weekday() in weekdays and (local.hour, local.minute, local.second, local.microsecond) == (
        17, 0, 0, 0,
    )  # fmt: skip


@given(moments)
def test_next_market_open_when_any_moment_then_first_sunday_to_thursday_17_ct_after_it(
    moment: datetime,
) -> None:
    opens = next_market_open(moment)
    assert opens > moment and opens.tzinfo is UTC
    assert _is_open_moment(opens, {SUNDAY, 0, 1, 2, 3})
    # Thursday 17:00:01 to Sunday 17:00; an hour more when daylight saving time ends in between.
    assert opens - moment <= timedelta(days=3, hours=1)
    # No earlier open in between: every day from the moment's to the open's was checked.
    day = moment.astimezone(CHICAGO).date()
    while day < opens.astimezone(CHICAGO).date():
        if day.weekday() in (SUNDAY, 0, 1, 2, 3):
            candidate = datetime(day.year, day.month, day.day, 17, tzinfo=CHICAGO)
            assert candidate <= moment
        day += timedelta(days=1)
    # The market is open right after it.
    assert is_market_open(opens + timedelta(seconds=1))


@given(moments)
def test_next_weekly_open_when_any_moment_then_next_sunday_17_ct(moment: datetime) -> None:
    opens = next_weekly_open(moment)
    assert opens > moment and opens - moment <= timedelta(days=7, hours=1)  # DST's end adds an hour
    assert _is_open_moment(opens, {SUNDAY})
    assert next_market_open(moment) <= opens
    assert not is_market_open(opens - timedelta(seconds=1))  # the weekend before it


@given(moments)
def test_market_when_open_then_it_is_a_trading_day_and_trade_date_is_a_weekday(moment: datetime) -> None:
    local = moment.astimezone(CHICAGO)
    if is_market_open(moment):
        assert local.weekday() != 5 and not (local.weekday() == SUNDAY and local.hour < 17)
        assert not (local.weekday() == 4 and local.hour >= 16)
        assert not (local.weekday() < 4 and local.hour == 16)
    assert trade_date(moment).weekday() < 5


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
    ],
)
def test_session_when_known_moments_then_known_hours(chicago: str, is_open: bool, next_open: str) -> None:
    moment = datetime.fromisoformat(chicago).replace(tzinfo=CHICAGO)
    assert is_market_open(moment) is is_open
    assert next_market_open(moment) == datetime.fromisoformat(next_open).replace(tzinfo=CHICAGO)
