"""/_autoliq/prices and /_autoliq/clock: the simulated market's last prices and the sandbox clock."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from autoliq.service.market import LastPrice
from autoliq.service.sandbox_clock import ClockView


class PriceIn(msgspec.Struct, forbid_unknown_fields=False):
    """One price to set: a listed contract's symbol and its new last price."""

    symbol: str
    price: float


class PricesIn(msgspec.Struct, forbid_unknown_fields=False):
    """`POST /_autoliq/prices`: one or many last prices, set together."""

    prices: list[PriceIn]


class PriceOut(msgspec.Struct):
    """A contract's last price."""

    symbol: str
    contractId: int
    price: float
    timestamp: datetime


class PricesOut(msgspec.Struct):
    """Last prices, by contract."""

    prices: list[PriceOut]


class ClockIn(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /_autoliq/clock`: either `now` (ISO 8601 with an offset) or `advanceSeconds`."""

    now: datetime | None = None
    advanceSeconds: float | None = None


class ClockOut(msgspec.Struct):
    """The sandbox clock and where it stands in the CME session calendar (America/Chicago)."""

    now: datetime
    tradeDate: date
    marketOpen: bool
    nextMarketOpen: datetime
    nextWeeklyOpen: datetime
    offsetSeconds: float
    """How far the sandbox clock runs ahead of the machine's."""
    speed: int = 100
    """Its pace in percent of real time (set by a market replay; 100 otherwise)."""


def price_out(last: LastPrice) -> PriceOut:
    """The wire form of a last price."""
    return PriceOut(
        symbol=last.contract.name,
        contractId=last.contract.id,
        price=float(last.price),
        timestamp=last.updated,
    )


def clock_out(v: ClockView) -> ClockOut:
    """The wire form of the sandbox clock."""
    return ClockOut(
        v.now,
        v.trade_date,
        v.market_open,
        v.next_market_open,
        v.next_weekly_open,
        round(v.offset_seconds, 6),
        v.speed,
    )
