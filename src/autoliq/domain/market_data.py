"""Market data derived from the sandbox's prices: quote entries, a synthetic book, the day's histogram,
chart bars and tick packets (Tradovate's `md/*` frames, as plain values; `api/websocket/market_data`
encodes them). Prices are whole ticks here; the tick size turns them into prices at the edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from autoliq.domain.session import session_bounds, trade_date

BOOK_LEVELS = 10
"""Synthetic DOM depth: this many price levels each side of the last price."""
BOOK_BASE_SIZE = 10
"""Size of the best bid and best offer (one tick from the last price); level k has k times it."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PriceTick:
    """One recorded price change: its id, when, the price in ticks, the contracts it filled."""

    id: int
    at: datetime
    price_ticks: int
    volume: int


@dataclass(frozen=True, slots=True)
class QuoteState:
    """What a quote is derived from (prices in ticks)."""

    last: int
    last_volume: int
    opening: int
    high: int
    low: int
    settlement: int
    total_volume: int
    open_interest: int


def trade_date_number(day: date) -> int:
    """A trade date as Tradovate's `td`: YYYYMMDD."""
    return day.year * 10_000 + day.month * 100 + day.day


def open_interest(net_positions: Iterable[int]) -> int:
    """Contracts open: every long has a short somewhere, so half the sum of absolute net positions
    (rounded up, the sandbox's book is one-sided)."""
    total = sum(abs(n) for n in net_positions)
    return (total + 1) // 2


def quote_entries(state: QuoteState, tick_size: float) -> dict[str, dict[str, float | int]]:
    """All nine entries of a quote, each with a price or a size (sizes integral)."""

    def px(ticks: int) -> float:
        return round(ticks * tick_size, 10)

    return {
        "Bid": {"price": px(state.last - 1), "size": BOOK_BASE_SIZE},
        "Offer": {"price": px(state.last + 1), "size": BOOK_BASE_SIZE},
        "Trade": {"price": px(state.last), "size": state.last_volume},
        "TotalTradeVolume": {"size": state.total_volume},
        "OpeningPrice": {"price": px(state.opening)},
        "HighPrice": {"price": px(state.high)},
        "LowPrice": {"price": px(state.low)},
        "SettlementPrice": {"price": px(state.settlement)},
        "OpenInterest": {"size": state.open_interest},
    }


def book(last: int, tick_size: float) -> tuple[list[dict[str, float | int]], list[dict[str, float | int]]]:
    """(bids descending, offers ascending): `BOOK_LEVELS` levels each side, the best one tick from
    the last price, level k sized k x `BOOK_BASE_SIZE`."""
    bids = [
        {"price": round((last - k) * tick_size, 10), "size": k * BOOK_BASE_SIZE}
        for k in range(1, BOOK_LEVELS + 1)
    ]
    offers = [
        {"price": round((last + k) * tick_size, 10), "size": k * BOOK_BASE_SIZE}
        for k in range(1, BOOK_LEVELS + 1)
    ]
    return bids, offers


def histogram_items(base: int, volumes: Iterable[tuple[int, int]]) -> dict[str, int]:
    """`{"<offset in ticks from base>": volume}` of (price in ticks, volume) pairs."""
    items: dict[str, int] = {}
    for price, volume in volumes:
        key = str(price - base)
        items[key] = items.get(key, 0) + volume
    return items


class BarUnit(StrEnum):
    """The chart kinds served (`chartDescription.underlyingType`)."""

    MINUTE = "MinuteBar"
    DAILY = "DailyBar"
    TICK = "Tick"


@dataclass(slots=True)
class Bar:
    """One chart bar (prices in ticks)."""

    start: datetime
    trade_date: date
    open: int
    high: int
    low: int
    close: int
    up_volume: int = 0
    down_volume: int = 0
    up_ticks: int = 0
    down_ticks: int = 0
    bid_volume: int = 0
    offer_volume: int = 0


def bar_start(at: datetime, unit: BarUnit, size: int) -> datetime:
    """The start of the bar `at` falls in: minute bars aligned on `size` minutes since the epoch
    (UTC); daily bars on trade dates (`size` of them per bar), stamped at midnight UTC of the first."""
    if unit is BarUnit.MINUTE:
        minutes = int((at - _EPOCH).total_seconds() // 60)
        return _EPOCH + timedelta(minutes=minutes - minutes % size)
    day = trade_date(at)
    ordinal = day.toordinal()
    first = date.fromordinal(ordinal - ordinal % size)
    return datetime.combine(first, time(), UTC)


def bar_end(start: datetime, unit: BarUnit, size: int) -> datetime:
    """The end (exclusive, as a moment) of the bar starting at `start`."""
    if unit is BarUnit.MINUTE:
        return start + timedelta(minutes=size)
    last_day = start.date() + timedelta(days=size - 1)
    return session_bounds(last_day)[1]


def bar_first_moment(start: datetime, unit: BarUnit) -> datetime:
    """The first moment that belongs to the bar starting at `start`."""
    if unit is BarUnit.MINUTE:
        return start
    return session_bounds(start.date())[0]


@dataclass(slots=True)
class BarBuilder:
    """Folds ticks (oldest first) into bars; up/down ticks compare each price with the one before
    (the tick before the first bar too, when given)."""

    unit: BarUnit
    size: int
    previous: int | None = None
    bars: list[Bar] = field(default_factory=list)

    def add(self, tick: PriceTick) -> None:
        start = bar_start(tick.at, self.unit, self.size)
        price = tick.price_ticks
        bar = self.bars[-1] if self.bars else None
        if bar is None or bar.start != start:
            bar = Bar(start, trade_date(tick.at), price, price, price, price)
            self.bars.append(bar)
        else:
            bar.high = max(bar.high, price)
            bar.low = min(bar.low, price)
            bar.close = price
        if self.previous is not None:
            if price > self.previous:
                bar.up_ticks += 1
            elif price < self.previous:
                bar.down_ticks += 1
        self.previous = price

    def add_fills(self, fills: Sequence[tuple[datetime, str, int, int]]) -> None:
        """Count fills (timestamp, action, qty, price) in the bars they fall in: a buy lifts the
        offer (offer and up volume), a sell hits the bid (bid and down volume)."""
        if not self.bars:
            return
        index = {bar.start: bar for bar in self.bars}
        for at, action, qty, _price in fills:
            bar = index.get(bar_start(at, self.unit, self.size))
            if bar is None:
                continue
            if action == "Buy":
                bar.offer_volume += qty
                bar.up_volume += qty
            else:
                bar.bid_volume += qty
                bar.down_volume += qty


def epoch_ms(at: datetime) -> int:
    """Milliseconds since the epoch."""
    return (at - _EPOCH) // timedelta(milliseconds=1)


def iso_ms(at: datetime) -> str:
    """`2026-12-06T15:00:00.000Z`."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
