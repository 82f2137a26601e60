"""The CME session calendar, as far as the sandbox needs it: which trade date a moment belongs to."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CHICAGO = ZoneInfo("America/Chicago")
SESSION_START_HOUR = 17
"""A trading day starts at 17:00 America/Chicago, the evening before its date."""


def trade_date(moment: datetime) -> date:
    """The trade date of `moment`: from 17:00 CT on it counts for the next day; Saturday and Sunday
    roll to Monday (exchange holidays are not modelled)."""
    local = moment.astimezone(CHICAGO)
    day = local.date() + timedelta(days=1) if local.hour >= SESSION_START_HOUR else local.date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


# -- CME futures hours (America/Chicago) --
# Open from 17:00 Sunday to 16:00 Friday, with a daily break from 16:00 to 17:00 Monday to Thursday.
# Exchange holidays are not modelled.
MARKET_OPEN = time(SESSION_START_HOUR)
DAILY_CLOSE = time(16)
_SUNDAY, _FRIDAY, _SATURDAY = 6, 4, 5


def is_market_open(moment: datetime) -> bool:
    """Whether CME futures trade at `moment`."""
    local = moment.astimezone(CHICAGO)
    weekday, clock = local.weekday(), local.time()
    if weekday == _SATURDAY:
        return False
    if weekday == _SUNDAY:
        return clock >= MARKET_OPEN
    if weekday == _FRIDAY:
        return clock < DAILY_CLOSE
    return not DAILY_CLOSE <= clock < MARKET_OPEN


def _opens_after(moment: datetime, weekdays: tuple[int, ...]) -> datetime:
    local = moment.astimezone(CHICAGO)
    day = local.date()
    for _ in range(8):
        if day.weekday() in weekdays:
            # combine() with the zone gives the right offset on both sides of a DST change.
            candidate = datetime.combine(day, MARKET_OPEN, CHICAGO)
            if candidate > moment:
                return candidate.astimezone(UTC)
        day += timedelta(days=1)
    raise AssertionError("unreachable: a market open falls within every eight days")


def next_market_open(moment: datetime) -> datetime:
    """The first market open (17:00 CT, Sunday to Thursday) strictly after `moment`, in UTC: when
    a daily auto-liquidation lock ends."""
    return _opens_after(moment, (_SUNDAY, 0, 1, 2, 3))


def next_weekly_open(moment: datetime) -> datetime:
    """The first Sunday 17:00 CT strictly after `moment`, in UTC: when a weekly lock ends."""
    return _opens_after(moment, (_SUNDAY,))


def next_trade_date(day: date) -> date:
    """The trade date after `day` (weekends skipped; holidays are not modelled)."""
    following = day + timedelta(days=1)
    while following.weekday() >= _SATURDAY:
        following += timedelta(days=1)
    return following


def previous_trade_date(day: date) -> date:
    """The trade date before `day` (weekends skipped)."""
    before = day - timedelta(days=1)
    while before.weekday() >= _SATURDAY:
        before -= timedelta(days=1)
    return before


def session_begin(day: date) -> datetime:
    """When trade date `day`'s session begins, in UTC: 17:00 CT the evening before (Sunday evening
    for Monday)."""
    return datetime.combine(day - timedelta(days=1), MARKET_OPEN, CHICAGO).astimezone(UTC)


def session_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the moments whose trade date is `day` (17:00 CT of the trade date
    before it to 17:00 CT of `day`)."""
    start = datetime.combine(previous_trade_date(day), MARKET_OPEN, CHICAGO)
    end = datetime.combine(day, MARKET_OPEN, CHICAGO)
    return start.astimezone(UTC), end.astimezone(UTC)
