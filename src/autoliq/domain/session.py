"""The CME session calendar, as far as the sandbox needs it: which trade date a moment belongs to."""

from __future__ import annotations

from datetime import date, datetime, timedelta
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
