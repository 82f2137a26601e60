"""Market data derived from prices (`domain/market_data.py`), and its event across workers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from autoliq.adapters.sql.outbox import decode_event, encode_event
from autoliq.domain.events import PricesChanged
from autoliq.domain.market_data import (
    BarBuilder,
    BarUnit,
    PriceTick,
    QuoteState,
    bar_end,
    bar_start,
    book,
    histogram_items,
    iso_ms,
    open_interest,
    quote_entries,
)
from autoliq.domain.session import session_bounds

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # a Tuesday, 09:00 in Chicago


def tick(seconds: float, price: int, volume: int = 0, tick_id: int = 0) -> PriceTick:
    return PriceTick(tick_id, T0 + timedelta(seconds=seconds), price, volume)


def test_session_bounds_when_monday_then_from_friday_17_00_chicago_to_monday_17_00() -> None:
    start, end = session_bounds(date(2026, 11, 30))
    assert start == datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # Friday 17:00 CST
    assert end == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)


def test_quote_entries_when_built_then_nine_keys_each_with_a_number_and_integral_sizes() -> None:
    state = QuoteState(
        last=20_000, last_volume=2, opening=19_990, high=20_010, low=19_980, settlement=19_970,
        total_volume=7, open_interest=3,
    )  # fmt: skip
    entries = quote_entries(state, 0.25)
    assert entries == {
        "Bid": {"price": 4999.75, "size": 10},
        "Offer": {"price": 5000.25, "size": 10},
        "Trade": {"price": 5000.0, "size": 2},
        "TotalTradeVolume": {"size": 7},
        "OpeningPrice": {"price": 4997.5},
        "HighPrice": {"price": 5002.5},
        "LowPrice": {"price": 4995.0},
        "SettlementPrice": {"price": 4992.5},
        "OpenInterest": {"size": 3},
    }


def test_book_when_built_then_ten_levels_bids_descending_offers_ascending_sizes_growing() -> None:
    bids, offers = book(100, 0.01)
    assert [b["price"] for b in bids] == sorted((b["price"] for b in bids), reverse=True)
    assert bids[0] == {"price": 0.99, "size": 10} and offers[0] == {"price": 1.01, "size": 10}
    assert [o["price"] for o in offers] == sorted(o["price"] for o in offers)
    assert len(bids) == len(offers) == 10 and bids[-1]["size"] == offers[-1]["size"] == 100


def test_open_interest_when_longs_and_shorts_then_half_the_absolute_sum_rounded_up() -> None:
    assert open_interest([3, -1]) == 2
    assert open_interest([3, -2]) == 3
    assert open_interest([]) == 0


def test_histogram_items_when_volumes_at_prices_then_keyed_by_signed_tick_offset() -> None:
    assert histogram_items(100, [(96, 2), (100, 1), (103, 4)]) == {"-4": 2, "0": 1, "3": 4}


def test_bar_start_when_minute_bars_of_five_then_aligned_on_five_minutes() -> None:
    assert bar_start(T0 + timedelta(minutes=7, seconds=3), BarUnit.MINUTE, 5) == T0 + timedelta(minutes=5)
    assert bar_end(T0, BarUnit.MINUTE, 5) == T0 + timedelta(minutes=5)


def test_bar_start_when_daily_after_17_00_chicago_then_next_trade_date() -> None:
    evening = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # 17:30 CST: trade date 25 November
    assert bar_start(evening, BarUnit.DAILY, 1) == datetime(2026, 11, 25, tzinfo=UTC)
    assert bar_end(datetime(2026, 11, 25, tzinfo=UTC), BarUnit.DAILY, 1) == datetime(
        2026, 11, 25, 23, tzinfo=UTC
    )


def test_bar_builder_when_ticks_span_two_minutes_then_two_bars_with_ohlc_and_tick_counts() -> None:
    builder = BarBuilder(BarUnit.MINUTE, 1, previous=99)
    for t in [tick(0, 100), tick(10, 102), tick(20, 101), tick(65, 101), tick(70, 98)]:
        builder.add(t)
    builder.add_fills(
        [(T0 + timedelta(seconds=5), "Buy", 2, 100), (T0 + timedelta(seconds=66), "Sell", 3, 101)]
    )
    first, second = builder.bars
    assert (first.open, first.high, first.low, first.close) == (100, 102, 100, 101)
    assert (first.up_ticks, first.down_ticks) == (2, 1)
    assert (first.offer_volume, first.up_volume, first.bid_volume) == (2, 2, 0)
    assert (second.start, second.open, second.close, second.low) == (T0 + timedelta(minutes=1), 101, 98, 98)
    assert (second.up_ticks, second.down_ticks, second.bid_volume, second.down_volume) == (0, 1, 3, 3)


def test_iso_ms_when_microseconds_then_milliseconds_and_z() -> None:
    assert iso_ms(T0 + timedelta(microseconds=123_456)) == "2026-11-24T15:00:00.123Z"


def test_prices_changed_when_sent_through_the_outbox_then_decoded_equal() -> None:
    event = PricesChanged(T0, ((1_202_612, 20_000, 7, 2), (2_202_612, 84_000, 8, 0)))
    assert decode_event(encode_event(event)) == event
