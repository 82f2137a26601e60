"""The CME Globex calendar: each product group's sessions, holidays and early closes, 2024-2030.

The data is `cme_calendar.json`, generated at development time by `scripts/gen_cme_calendar.py` from
`pandas_market_calendars` (no pandas at run time; `tests/unit/test_cme_calendar.py` fails when the
file and the library disagree). For each group it holds a regular session (America/Chicago: it
opens at `open` on the calendar day before its trade date and closes at `close` on the trade date,
with daily `breaks`), the weekdays without a session (`holidays`) and the trade dates whose session
differs (`special`: early closes, late opens).

Outside the table's years the regular session applies on every weekday (no holidays are known
there): `in_table` tells a caller which it got.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

CHICAGO = ZoneInfo("America/Chicago")
GROUPS = ("equity", "energy", "metals", "rates", "fx", "agriculture")
_SEARCH_DAYS = 15
"""No gap between two sessions of a group is longer than this (the longest CME closure in the
table is a long weekend plus a holiday)."""


@dataclass(frozen=True, slots=True)
class Session:
    """One trade date's session: [open, close) in UTC, less its breaks ([start, end) in UTC)."""

    trade_date: date
    open: datetime
    close: datetime
    breaks: tuple[tuple[datetime, datetime], ...] = ()

    def trades_at(self, moment: datetime) -> bool:
        """Whether the market trades at `moment` in this session (open, and not in a break)."""
        if not self.open <= moment < self.close:
            return False
        return not any(start <= moment < end for start, end in self.breaks)


def _clock(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class GroupCalendar:
    """One product group's calendar (see the module's docstring)."""

    name: str
    first: date
    last: date
    open: time
    close: time
    breaks: tuple[tuple[time, time], ...]
    holidays: frozenset[date]
    special: dict[date, tuple[datetime, datetime]]

    def in_table(self, day: date) -> bool:
        """Whether `day` is within the generated table's years (else only weekends are known)."""
        return self.first <= day <= self.last

    def trades_on(self, day: date) -> bool:
        """Whether `day` is a trade date (has a session): no weekend, no holiday."""
        return day.weekday() < 5 and day not in self.holidays

    def session(self, day: date) -> Session | None:
        """Trade date `day`'s session, or None when `day` has none (a weekend or a holiday)."""
        if not self.trades_on(day):
            return None
        local_breaks = tuple(
            (
                datetime.combine(day, start, CHICAGO).astimezone(UTC),
                datetime.combine(day, end, CHICAGO).astimezone(UTC),
            )
            for start, end in self.breaks
        )
        special = self.special.get(day)
        if special is not None:
            return Session(day, special[0], special[1], local_breaks)
        # combine() with the zone gives the right offset on both sides of a DST change.
        opened = datetime.combine(day - timedelta(days=1), self.open, CHICAGO).astimezone(UTC)
        closed = datetime.combine(day, self.close, CHICAGO).astimezone(UTC)
        return Session(day, opened, closed, local_breaks)

    def sessions_from(self, day: date) -> Iterator[Session]:
        """The sessions of `day` and the trade dates after it, in order (`_SEARCH_DAYS` of them)."""
        for offset in range(_SEARCH_DAYS):
            session = self.session(day + timedelta(days=offset))
            if session is not None:
                yield session

    def current_or_next(self, moment: datetime) -> Session:
        """The session `moment` falls in (open or in a break), else the next one to open."""
        local_day = moment.astimezone(CHICAGO).date()
        for session in self.sessions_from(local_day):
            if moment < session.close:
                return session
        raise AssertionError("unreachable: a session closes within every fifteen days")

    def is_open(self, moment: datetime) -> bool:
        """Whether the group trades at `moment`."""
        return self.current_or_next(moment).trades_at(moment)

    def trade_date(self, moment: datetime) -> date:
        """The trade date of `moment`: its session's, or, when the market is shut (after a close,
        on a weekend or a holiday), the next session's."""
        return self.current_or_next(moment).trade_date

    def next_open(self, moment: datetime) -> datetime:
        """The first session open strictly after `moment` (a break's end is not an open)."""
        local_day = moment.astimezone(CHICAGO).date()
        for session in self.sessions_from(local_day):
            if session.open > moment:
                return session.open
        raise AssertionError("unreachable: a session opens within every fifteen days")

    def next_trade_date(self, day: date) -> date:
        """The trade date after `day`."""
        for offset in range(1, _SEARCH_DAYS + 1):
            after = day + timedelta(days=offset)
            if self.trades_on(after):
                return after
        raise AssertionError("unreachable: a trade date falls within every fifteen days")

    def previous_trade_date(self, day: date) -> date:
        """The trade date before `day`."""
        for offset in range(1, _SEARCH_DAYS + 1):
            before = day - timedelta(days=offset)
            if self.trades_on(before):
                return before
        raise AssertionError("unreachable: a trade date falls within every fifteen days")


def _group(name: str, data: dict[str, Any], first: date, last: date) -> GroupCalendar:
    regular = data["regular"]
    return GroupCalendar(
        name=name,
        first=first,
        last=last,
        open=_clock(regular["open"]),
        close=_clock(regular["close"]),
        breaks=tuple((_clock(start), _clock(end)) for start, end in regular["breaks"]),
        holidays=frozenset(date.fromisoformat(day) for day in data["holidays"]),
        special={
            date.fromisoformat(day): (_utc(times["open"]), _utc(times["close"]))
            for day, times in data["special"].items()
        },
    )


@cache
def calendars() -> dict[str, GroupCalendar]:
    """Every product group's calendar, read once from the shipped table."""
    text = resources.files("autoliq.domain").joinpath("cme_calendar.json").read_text(encoding="utf-8")
    table = json.loads(text)
    first, last = date.fromisoformat(table["first"]), date.fromisoformat(table["last"])
    return {name: _group(name, data, first, last) for name, data in table["groups"].items()}


def calendar(group: str) -> GroupCalendar:
    """The calendar of product group `group` (one of `GROUPS`)."""
    try:
        return calendars()[group]
    except KeyError:
        raise ValueError(f"unknown product group {group!r}: one of {', '.join(GROUPS)}") from None
