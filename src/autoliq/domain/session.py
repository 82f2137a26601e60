"""The account-level CME session calendar: which trade date a moment belongs to, market hours, and
the opens that end daily and weekly locks.

It follows CME Globex's equity-index calendar (`cme_calendar.calendar("equity")`: holidays and early
closes, 2024-2030; regular weekdays outside those years): an account has one trade date and one
"market open", and the equity-index session is the one prop firms' daily rules follow. A contract's
own hours (`SessionClosed` for orders) come from its product group's calendar (`cme_calendar`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from autoliq.domain.cme_calendar import GroupCalendar, calendar

CHICAGO = ZoneInfo("America/Chicago")
SESSION_START_HOUR = 17
"""A trade date starts at 17:00 America/Chicago on the evening before it (after a weekend or a
holiday, on the evening before the first trading day after it)."""
MARKET_OPEN = time(SESSION_START_HOUR)
ACCOUNT_CALENDAR = "equity"
_SEARCH_DAYS = 15


def _calendar() -> GroupCalendar:
    return calendar(ACCOUNT_CALENDAR)


def _first_trade_date_from(day: date) -> date:
    cal = _calendar()
    for offset in range(_SEARCH_DAYS):
        candidate = day + timedelta(days=offset)
        if cal.trades_on(candidate):
            return candidate
    raise AssertionError("unreachable: a trade date falls within every fifteen days")


def trade_date(moment: datetime) -> date:
    """The trade date of `moment`: from 17:00 CT on it counts for the next day; days without a
    session (weekends, CME holidays) roll to the next trading day."""
    local = moment.astimezone(CHICAGO)
    day = local.date() + timedelta(days=1) if local.hour >= SESSION_START_HOUR else local.date()
    return _first_trade_date_from(day)


def is_market_open(moment: datetime) -> bool:
    """Whether CME Globex equity-index futures trade at `moment` (the daily halt, weekends,
    holidays and early closes are shut)."""
    return _calendar().is_open(moment)


def next_market_open(moment: datetime) -> datetime:
    """The first session open strictly after `moment`, in UTC: when a daily auto-liquidation lock
    ends (17:00 CT, Sunday to Thursday, less the evenings before holidays)."""
    return _calendar().next_open(moment)


def next_weekly_open(moment: datetime) -> datetime:
    """The first open of a trading week strictly after `moment`, in UTC: when a weekly lock ends
    (Sunday 17:00 CT; the evening before the week's first trading day when that is not Monday)."""
    local_day = moment.astimezone(CHICAGO).date()
    for session in _calendar().sessions_from(local_day):
        monday = session.trade_date - timedelta(days=session.trade_date.weekday())
        if session.open > moment and _first_trade_date_from(monday) == session.trade_date:
            return session.open
    raise AssertionError("unreachable: a trading week begins within every fifteen days")


def next_trade_date(day: date) -> date:
    """The trade date after `day` (weekends and holidays skipped)."""
    return _calendar().next_trade_date(day)


def previous_trade_date(day: date) -> date:
    """The trade date before `day` (weekends and holidays skipped)."""
    return _calendar().previous_trade_date(day)


def session_begin(day: date) -> datetime:
    """When trade date `day`'s session begins, in UTC: 17:00 CT the evening before (Sunday evening
    for Monday; the holiday's evening for the day after a holiday)."""
    return datetime.combine(day - timedelta(days=1), MARKET_OPEN, CHICAGO).astimezone(UTC)


def session_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the moments whose trade date is `day`: from 17:00 CT of the trade
    date before it to 17:00 CT of `day`."""
    start = datetime.combine(previous_trade_date(day), MARKET_OPEN, CHICAGO)
    end = datetime.combine(day, MARKET_OPEN, CHICAGO)
    return start.astimezone(UTC), end.astimezone(UTC)
