"""Bounds of every value that comes from outside: ids and counts fit int64, times lie between
2000-01-01 and 2100-01-01. Checked before a value reaches arithmetic or storage, so that no input can
overflow a column or a date computation (9999-12-31 plus a day is an OverflowError)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
TEXT_TIME_RANGE = "must be between 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z"
_MICROSECOND = timedelta(microseconds=1)


def time_within(moment: datetime) -> bool:
    """Whether `moment` lies within the bounds (a naive time counts as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return EARLIEST <= moment <= LATEST


def date_within(day: date) -> bool:
    """Whether the calendar date `day` lies within the bounds."""
    return EARLIEST.date() <= day <= LATEST.date()


STORED_CLOCK_SLACK = timedelta(days=366)
"""How far past LATEST a stored clock may have run: a clock moved to the last moment allowed runs on
at the machine's pace, and stays taken for a year (dates overflow only at 9999)."""


def offset_within(offset_us: int, base: datetime, *, slack: timedelta = timedelta(0)) -> bool:
    """Whether `base` moved by `offset_us` microseconds lies within the bounds, `slack` past the
    latest allowed (integer arithmetic: any int64, however far off, is judged without an
    OverflowError)."""
    low = (EARLIEST - base) // _MICROSECOND
    high = (LATEST + slack - base) // _MICROSECOND
    return low <= offset_us <= high
