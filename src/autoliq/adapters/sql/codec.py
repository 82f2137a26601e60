"""The one converter between domain values and stored column values, for both engines.

Every reader and writer of the schema goes through it: SQLAlchemy's column types (`schema.UTCDateTime`,
`schema.Day`, `schema.Flag` delegate their bind and result processing here) and the raw-cursor
statements (`statements.py`), so a row written by one path is read identically by the other.

- A point in time is stored in UTC: PostgreSQL `timestamptz`; SQLite the UTC wall time as the text
  SQLAlchemy's DATETIME writes (`YYYY-MM-DD HH:MM:SS.ffffff`). A naive datetime is refused on both
  engines (it would otherwise be read as the machine's local time and stored shifted).
- A trade date: PostgreSQL `date`; SQLite `YYYY-MM-DD`.
- A boolean: PostgreSQL `boolean`; SQLite 0/1.
- A price is stored in whole ticks of its contract, money in whole cents (exact on both engines).
- An enum is stored as its value (writers pass `.value`; readers build the member).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value


def read_time(value: Any) -> datetime | None:
    """A stored point in time, timezone-aware in UTC, from either engine."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_day(value: Any) -> date:
    """A stored date from either engine."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def read_optional_day(value: Any) -> date | None:
    """A stored date, or None."""
    return None if value is None else read_day(value)


def read_flag(value: Any) -> bool | None:
    """A stored boolean from either engine."""
    return None if value is None else bool(value)


def ticks(price: Decimal | None, tick: Decimal) -> int | None:
    """A price as whole ticks of its contract."""
    return None if price is None else int(price / tick)


def price(stored: int | None, tick: Decimal) -> Decimal | None:
    """Whole ticks back to a price."""
    return None if stored is None else stored * tick


class Codec:
    """The column conversions of one engine; `codec_for(dialect_name)` gives the shared instance."""

    __slots__ = ("_last", "sqlite")

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite
        self._last: tuple[datetime | None, str | None] = (None, None)

    def time(self, value: datetime | None) -> Any:
        """A point in time as this engine's column stores it (a naive datetime: ValueError)."""
        if value is None:
            return None
        if not self.sqlite:
            return _aware(value)
        last_value, last_text = self._last
        if value is last_value:  # a write stores the same `now` up to three times
            return last_text
        utc = value if value.tzinfo is UTC else _aware(value).astimezone(UTC)
        # isoformat is several times faster than strftime and gives SQLAlchemy's DATETIME text.
        text = utc.replace(tzinfo=None).isoformat(" ", "microseconds")
        self._last = (value, text)
        return text

    def day(self, value: date | None) -> Any:
        """A date as this engine's column stores it."""
        if value is None or not self.sqlite:
            return value
        return value.isoformat()

    def flag(self, value: bool | None) -> Any:
        """A boolean as this engine's column stores it."""
        if value is None or not self.sqlite:
            return value
        return int(value)


SQLITE = Codec(sqlite=True)
POSTGRES = Codec(sqlite=False)


def codec_for(dialect_name: str) -> Codec:
    """The codec of a dialect ("sqlite" or "postgresql")."""
    return SQLITE if dialect_name == "sqlite" else POSTGRES
