"""Generate `src/autoliq/domain/cme_calendar.json`: CME Globex sessions, holidays and early closes
for 2024-2030, from `pandas_market_calendars` (a development-time dependency: the dev extra).

autoliq reads the generated file at run time (`autoliq.domain.cme_calendar`), so no pandas is
needed to run it. For each product group the file holds:

- the group's regular session, in America/Chicago time: it opens at `open` on the calendar day
  before its trade date and closes at `close` on the trade date, with the daily `breaks`;
- `holidays`: the weekdays of the range with no session;
- `special`: the trade dates whose session differs from the regular one (early closes, late opens),
  each with its open and close in UTC.

Together they reproduce the library's schedule exactly; `tests/unit/test_cme_calendar.py` checks
that against the library whenever it is installed (the dev extra), and fails when they disagree.

    .venv/bin/python scripts/gen_cme_calendar.py            # rewrite the file
    .venv/bin/python scripts/gen_cme_calendar.py --check    # exit 1 if the file is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

OUT = Path(__file__).resolve().parents[1] / "src" / "autoliq" / "domain" / "cme_calendar.json"
FIRST, LAST = date(2024, 1, 1), date(2030, 12, 31)
CHICAGO = ZoneInfo("America/Chicago")

GROUPS = {
    # autoliq's product group -> the pandas_market_calendars calendar that models it
    "equity": "CME_Equity",
    "energy": "CMEGlobex_Energy",
    "metals": "CMEGlobex_Metals",
    "rates": "CME Globex Interest Rate Products",
    "fx": "CMEGlobex_FX",
    "agriculture": "CMEGlobex_Grains",
}


def _utc(moment: Any) -> str:
    return str(moment.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ"))


def _local(moment: Any) -> str:
    return str(moment.tz_convert(CHICAGO).strftime("%H:%M"))


@cache
def library_sessions(calendar_name: str) -> dict[date, tuple[str, str, tuple[tuple[str, str], ...]]]:
    """trade date -> (open UTC, close UTC, breaks as (start, end) America/Chicago HH:MM), from the
    library; a zero-length break is no break."""
    import pandas_market_calendars as mcal

    schedule = mcal.get_calendar(calendar_name).schedule(FIRST.isoformat(), LAST.isoformat())
    out = {}
    for day, row in schedule.iterrows():
        breaks: tuple[tuple[str, str], ...] = ()
        if "break_start" in schedule.columns and row.break_start != row.break_end:
            breaks = ((_local(row.break_start), _local(row.break_end)),)
        out[day.date()] = (_utc(row.market_open), _utc(row.market_close), breaks)
    return out


def _regular_utc(day: date, open_local: str, close_local: str) -> tuple[str, str]:
    from datetime import datetime, time

    hour, minute = map(int, open_local.split(":"))
    opened = datetime.combine(day - timedelta(days=1), time(hour, minute), CHICAGO)
    hour, minute = map(int, close_local.split(":"))
    closed = datetime.combine(day, time(hour, minute), CHICAGO)
    return (
        opened.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ"),
        closed.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def group_table(calendar_name: str) -> dict[str, Any]:
    sessions = library_sessions(calendar_name)
    import pandas as pd

    shapes: Counter[tuple[str, str, tuple[tuple[str, str], ...]]] = Counter()
    for opened, closed, breaks in sessions.values():
        shapes[(_local(pd.Timestamp(opened)), _local(pd.Timestamp(closed)), breaks)] += 1
    (open_local, close_local, breaks), _ = shapes.most_common(1)[0]
    holidays = []
    special = {}
    day = FIRST
    while day <= LAST:
        session = sessions.get(day)
        if session is None:
            if day.weekday() < 5:
                holidays.append(day.isoformat())
        else:
            if day.weekday() >= 5:
                raise SystemExit(f"{calendar_name}: a weekend trade date {day}: the format cannot hold it")
            if session != (*_regular_utc(day, open_local, close_local), breaks):
                if session[2] != breaks:
                    raise SystemExit(
                        f"{calendar_name}: {day} has breaks {session[2]}: the format cannot hold it"
                    )
                special[day.isoformat()] = {"open": session[0], "close": session[1]}
        day += timedelta(days=1)
    return {
        "calendar": calendar_name,
        "regular": {"open": open_local, "close": close_local, "breaks": [list(b) for b in breaks]},
        "holidays": holidays,
        "special": special,
    }


def generate() -> str:
    import pandas_market_calendars as mcal

    version = getattr(mcal, "__version__", "unknown")
    table = {
        "generated_by": "scripts/gen_cme_calendar.py",
        "source": f"pandas_market_calendars {version}",
        "first": FIRST.isoformat(),
        "last": LAST.isoformat(),
        "timezone": "America/Chicago",
        "groups": {group: group_table(name) for group, name in GROUPS.items()},
    }
    return json.dumps(table, indent=1, sort_keys=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the file differs from a fresh generation"
    )
    args = parser.parse_args()
    text = generate()
    if args.check:
        if OUT.read_text() != text:
            print(f"{OUT} is stale: run scripts/gen_cme_calendar.py", file=sys.stderr)
            return 1
        print(f"{OUT} is up to date")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
