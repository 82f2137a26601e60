"""Reads behind the `md/*` socket requests: a contract's quote state, book, histogram, and chart
history, all derived from the stored prices, price history, fills and positions (see docs/api.md,
"Market data", for how each field is derived)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from autoliq.domain.market_data import (
    Bar,
    BarBuilder,
    BarUnit,
    PriceTick,
    QuoteState,
    bar_end,
    bar_first_moment,
    bar_start,
)
from autoliq.domain.session import session_bounds, trade_date
from autoliq.service.ports import MarketStore

HISTORY_PAGE = 5000
"""Recorded prices read at a time while building bars."""
MAX_TICKS_PER_CHART = 200_000
"""Recorded prices one bar chart request folds at most (a request stays bounded however dense the
history is: the bars beyond are left for the next page)."""
MAX_FILLS_PER_CHART = 200_000
"""Fills one bar chart request counts at most."""


@dataclass(frozen=True, slots=True)
class SessionFigures:
    """A contract's figures of one trade date that only the price history knows (prices in ticks).
    The market-data feed keeps them per contract and folds each new price in, so a quote does not
    scan the day's history again."""

    trade_date: date
    opening: int
    high: int
    low: int
    settlement: int | None
    """The previous session's last price; None when there is none."""

    def with_price(self, price: int) -> SessionFigures:
        """After a new price of the same trade date."""
        return replace(self, high=max(self.high, price), low=min(self.low, price))


@dataclass(frozen=True, slots=True)
class ContractMarket:
    """What the md frames of one contract are built from, at one moment."""

    contract_id: int
    at: datetime
    trade_date: int
    """The current trade date as YYYYMMDD."""
    quote: QuoteState | None
    """None when no price was ever set."""
    histogram: list[tuple[int, int]]
    """(price in ticks, contracts filled today)."""
    session: SessionFigures | None = None
    """The session figures used, when a price was recorded in the current trade date."""


def session_figures(store: MarketStore, contract_id: int, day: date) -> SessionFigures | None:
    """The trade date's opening, high and low and the previous session's last; None when no price
    was recorded in that trade date."""
    start, _end = session_bounds(day)
    today = store.price_range(contract_id, start)
    if today is None:
        return None
    before = store.price_before(contract_id, start)
    return SessionFigures(day, *today, None if before is None else before.price_ticks)


def contract_market(
    store: MarketStore,
    contract_id: int,
    now: datetime,
    *,
    histogram: bool = True,
    session: SessionFigures | None = None,
) -> ContractMarket:
    """The quote state (and the day's volume per price) of a contract at `now`; `session`: the
    current trade date's figures when the caller knows them (else read)."""
    day = trade_date(now)
    start, end = session_bounds(day)
    td = day.year * 10_000 + day.month * 100 + day.day
    last = next((ticks for cid, ticks, _ in store.contract_prices() if cid == contract_id), None)
    volumes = store.fill_volume_by_price(contract_id, start, end) if histogram else []
    if last is None:
        return ContractMarket(contract_id, now, td, None, volumes)
    newest = store.price_ticks(contract_id, limit=1)
    last_volume = newest[0].volume if newest and newest[0].price_ticks == last else 0
    if session is None or session.trade_date != day:
        session = session_figures(store, contract_id, day)
    if session is None:  # no price recorded today: the last one stands for the day so far
        opening = high = low = last
        before = store.price_before(contract_id, start)
        settlement = before.price_ticks if before is not None else last
    else:
        # The last price may be one whose event has not reached the caller's figures yet.
        opening, high, low = session.opening, max(session.high, last), min(session.low, last)
        settlement = session.settlement if session.settlement is not None else opening
    quote = QuoteState(
        last=last,
        last_volume=last_volume,
        opening=opening,
        high=high,
        low=low,
        settlement=settlement,
        total_volume=store.fill_volume(contract_id, start, end),
        open_interest=store.open_interest(contract_id),
    )
    return ContractMarket(contract_id, now, td, quote, volumes, session)


def tick_history(
    store: MarketStore,
    contract_id: int,
    *,
    until: datetime | None,
    since: datetime | None,
    max_id: int | None,
    count: int,
) -> list[PriceTick]:
    """Up to `count` recorded prices within the bounds, oldest first."""
    newest_first = store.price_ticks(contract_id, since=since, until=until, max_id=max_id, limit=count)
    return newest_first[::-1]


def bar_history(
    store: MarketStore,
    contract_id: int,
    unit: BarUnit,
    size: int,
    *,
    until: datetime | None,
    since: datetime | None,
    count: int,
) -> list[Bar]:
    """Up to `count` bars (the newest) within the bounds, oldest first, with their fill volumes."""
    ticks: list[PriceTick] = []
    starts: set[datetime] = set()
    seen: set[int] = set()
    cursor = until
    complete = False
    while len(ticks) < MAX_TICKS_PER_CHART and not complete:
        page = store.price_ticks(contract_id, since=since, until=cursor, limit=HISTORY_PAGE)
        fresh = [t for t in page if t.id not in seen]  # a page starts at the previous one's moment
        if not fresh:
            break
        for tick in fresh:
            start = bar_start(tick.at, unit, size)
            if start not in starts and len(starts) == count:
                complete = True  # the bar before the oldest one wanted: the wanted ones are whole
                break
            starts.add(start)
            seen.add(tick.id)
            ticks.append(tick)
        if len(page) < HISTORY_PAGE:
            break
        cursor = page[-1].at
    if not ticks:
        return []
    ticks.reverse()
    return _fold(store, contract_id, unit, size, ticks)


def live_bars(
    store: MarketStore, contract_id: int, unit: BarUnit, size: int, since: datetime, until: datetime
) -> list[Bar]:
    """The bars covering [since, until] as they stand now (the bars a price change updated)."""
    first = bar_first_moment(bar_start(since, unit, size), unit)
    last_end = bar_end(bar_start(until, unit, size), unit, size)
    ticks = store.price_ticks(
        contract_id, since=first, until=last_end - timedelta(microseconds=1), limit=MAX_TICKS_PER_CHART
    )
    if not ticks:
        return []
    ticks.reverse()
    return _fold(store, contract_id, unit, size, ticks)


def _fold(
    store: MarketStore, contract_id: int, unit: BarUnit, size: int, ticks: list[PriceTick]
) -> list[Bar]:
    before = store.price_before(contract_id, ticks[0].at)
    builder = BarBuilder(unit, size, previous=None if before is None else before.price_ticks)
    for tick in ticks:
        builder.add(tick)
    bars = builder.bars
    fills_from = bar_first_moment(bars[0].start, unit)
    fills_to = bar_end(bars[-1].start, unit, size)
    builder.add_fills(store.fills_between(contract_id, fills_from, fills_to, MAX_FILLS_PER_CHART))
    return bars
