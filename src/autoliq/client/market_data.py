"""Tradovate's market data over its WebSocket, without I/O: the `md/*` requests, the decoding of `md`
and `chart` events into typed models (`Quote`, `Dom`, `Histogram`, `Bar`, `Tick`), and the protocols
the stream drivers of `autoliq.client.stream` run.

One stream is one socket with one subscription: `md/subscribeQuote` (`...DOM`, `...Histogram`)
`{"symbol": ...}` as request 1, its `md/unsubscribe...` as request 2 when the client leaves; or
`md/getChart` as request 1, answered `{"historicalId", "realtimeId"}`, and `md/cancelChart
{"subscriptionId": <realtimeId>}` as request 2. Every quote (book, histogram) on the socket is then
the subscribed contract's, so a symbol given by name needs no lookup of its contract id. A chart
stream keeps the packets whose `id` is one of its two ids (packets that arrive before the answer are
held for it), yields the history, one `EndOfHistory` at the first `{"id": N, "eoh": true}`, then the
live updates. A refusal (`{"errorCode": "UnknownSymbol", "errorText": "Symbol is inaccessible",
"mode": "None"}`, with status 200 or not, or an error string) raises `MarketDataError`
(`UnknownSymbolError` for an unknown symbol); an event the SDK cannot decode raises `StreamError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeAlias, TypeVar

from autoliq.client.errors import MarketDataError, PenaltyTicketError, StreamError, UnknownSymbolError
from autoliq.client.models import (
    Bar,
    ChartKind,
    Dom,
    DomLevel,
    EndOfHistory,
    Histogram,
    Quote,
    QuoteEntry,
    Tick,
    Token,
)
from autoliq.client.stream import SocketProtocol, request_frame

__all__ = [
    "DOMS",
    "HISTOGRAMS",
    "QUOTES",
    "QUOTE_ENTRIES",
    "ChartProtocol",
    "Feed",
    "FeedProtocol",
    "Symbol",
    "chart_protocol",
    "chart_request",
    "decode_bars",
    "decode_dom",
    "decode_histogram",
    "decode_quote",
    "decode_ticks",
    "feed_protocol",
    "in_time_order",
    "symbol_body",
]

Symbol: TypeAlias = str | int
"""A contract's name (`"ESZ6"`) or id."""

REQUEST_ID = 1
"""The subscribe (or getChart) request's id; the authorize is 0."""
STOP_ID = 2
"""The unsubscribe (or cancelChart) request's id."""
MAX_SYMBOL_LENGTH = 64
MAX_ELEMENTS = 1_000_000
"""The most elements one `md/getChart` may ask for here (the server caps its history further)."""

QUOTE_ENTRIES = (
    "Bid",
    "Offer",
    "Trade",
    "TotalTradeVolume",
    "OpeningPrice",
    "HighPrice",
    "LowPrice",
    "SettlementPrice",
    "OpenInterest",
)
"""The nine entries of a quote, in `Quote`'s field order."""

PointT = TypeVar("PointT", bound=Bar | Tick)
FeedT = TypeVar("FeedT", bound=Quote | Dom | Histogram)

# -- requests --


def symbol_body(symbol: Symbol) -> dict[str, Any]:
    """`{"symbol": ...}`; `ValueError` for an empty or overlong name, or an id that is not positive."""
    if isinstance(symbol, bool) or not isinstance(symbol, str | int):
        raise ValueError(f"symbol must be a contract name or id, got {symbol!r}")
    if isinstance(symbol, int):
        if not 0 < symbol < 2**63:
            raise ValueError(f"symbol: a contract id must be a positive 64-bit integer, got {symbol}")
        return {"symbol": symbol}
    name = symbol.strip()
    if not name or len(name) > MAX_SYMBOL_LENGTH:
        raise ValueError(f"symbol: a contract name must have 1 to {MAX_SYMBOL_LENGTH} characters")
    return {"symbol": name}


def wire_time(when: datetime) -> str:
    """An ISO 8601 UTC time with milliseconds and `Z` (a naive time is taken as UTC)."""
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def chart_request(
    symbol: Symbol,
    kind: ChartKind | str,
    *,
    size: int = 1,
    elements: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    """The `md/getChart` body. `elements` is `asMuchAsElements`, `since` the oldest bound
    (`asFarAsTimestamp`), `until` the newest (`closestTimestamp`); at least one is needed."""
    try:
        underlying = ChartKind(kind)
    except ValueError:
        raise ValueError(f"kind must be one of {[k.value for k in ChartKind]}, got {kind!r}") from None
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 10_000:
        raise ValueError(f"size must be an integer from 1 to 10000, got {size!r}")
    if underlying is ChartKind.TICK and size != 1:
        raise ValueError("size must be 1 for a tick chart")
    time_range: dict[str, Any] = {}
    if elements is not None:
        if isinstance(elements, bool) or not isinstance(elements, int) or not 1 <= elements <= MAX_ELEMENTS:
            raise ValueError(f"elements must be an integer from 1 to {MAX_ELEMENTS}, got {elements!r}")
        time_range["asMuchAsElements"] = elements
    if since is not None:
        time_range["asFarAsTimestamp"] = wire_time(since)
    if until is not None:
        time_range["closestTimestamp"] = wire_time(until)
    if not time_range:
        raise ValueError("give elements, since or until: how much history to load")
    if since is not None and until is not None and since > until:
        raise ValueError("since must not be after until")
    return {
        **symbol_body(symbol),
        "chartDescription": {
            "underlyingType": underlying.value,
            "elementSize": size,
            "elementSizeUnit": "UnderlyingUnits",
            "withHistogram": False,
        },
        "timeRange": time_range,
    }


# -- answers --


def check_answer(endpoint: str, symbol: Symbol, status: Any, body: Any) -> dict[str, Any]:
    """The body of an accepted md request (`{}` when it had none); the refusal as an error."""
    answer = body if isinstance(body, dict) else {}
    error_code, error_text = answer.get("errorCode"), answer.get("errorText")
    mode = answer.get("mode")
    if "p-ticket" in answer:
        raise PenaltyTicketError(
            f"{endpoint}: the server asked to wait {answer.get('p-time')} s (penalty ticket)",
            ticket=str(answer.get("p-ticket")),
            p_time=float(answer.get("p-time") or 0),
            captcha=bool(answer.get("p-captcha")),
            attempts=1,
        )
    status_code = status if isinstance(status, int) else None
    if status == 200 and not error_code and not error_text:
        return answer
    text = str(error_text) if error_text else (body if isinstance(body, str) and body else None)
    if error_code == "UnknownSymbol":
        raise UnknownSymbolError(
            symbol,
            endpoint=endpoint,
            status=status_code,
            error_text=text,
            mode=None if mode is None else str(mode),
        )
    what = " ".join(str(part) for part in (error_code, text) if part) or f"status {status}"
    hint = " (the server has no market data)" if status == 404 else ""
    raise MarketDataError(
        f"{endpoint} {symbol!r} refused: {what}{hint}",
        endpoint=endpoint,
        status=status_code,
        error_code=None if error_code is None else str(error_code),
        error_text=text,
        mode=None if mode is None else str(mode),
    )


# -- decoding --


def _bad(what: str, value: Any) -> StreamError:
    return StreamError(f"market data: {what}: {str(value)[:120]!r}")


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _bad("a timestamp is not an ISO 8601 string", value)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _bad("a timestamp is not an ISO 8601 time", value) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _price(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"{what} is not a number", value)
    return float(value)


def _count(value: Any, what: str) -> int:
    """A size or volume: an integer, or a float with no fraction (`3.0`)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"{what} is not a number", value)
    if isinstance(value, float) and not value.is_integer():
        raise _bad(f"{what} is not a whole number", value)
    return int(value)


def _optional(value: Any, convert: Callable[[Any, str], Any], what: str) -> Any:
    return None if value is None else convert(value, what)


def _contract_id(value: Any) -> int:
    """A contract id, as a number or a numeric string."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad("contractId is not an integer", value)
    return value


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"{what} is not a JSON object", value)
    return value


def decode_quote(raw: Any) -> Quote:
    """One element of `quotes`."""
    quote = _object(raw, "a quote")
    entries = _object(quote.get("entries", {}), "a quote's entries")
    decoded: list[QuoteEntry] = []
    for key in QUOTE_ENTRIES:
        entry = _object(entries.get(key, {}), f"the quote entry {key}")
        decoded.append(
            QuoteEntry(
                price=_optional(entry.get("price"), _price, f"{key}.price"),
                size=_optional(entry.get("size"), _count, f"{key}.size"),
            )
        )
    return Quote(_contract_id(quote.get("contractId")), _time(quote.get("timestamp")), *decoded)


def _levels(raw: Any, what: str) -> tuple[DomLevel, ...]:
    if not isinstance(raw, list):
        raise _bad(f"{what} is not an array", raw)
    levels = (_object(level, f"a level of {what}") for level in raw)
    return tuple(
        DomLevel(_price(level.get("price"), f"{what} price"), _count(level.get("size"), f"{what} size"))
        for level in levels
    )


def decode_dom(raw: Any) -> Dom:
    """One element of `doms`."""
    dom = _object(raw, "a DOM")
    return Dom(
        _contract_id(dom.get("contractId")),
        _time(dom.get("timestamp")),
        _levels(dom.get("bids", []), "bids"),
        _levels(dom.get("offers", []), "offers"),
    )


def _trade_date(raw: Any) -> date | None:
    if raw is None:
        return None
    parts = _object(raw, "tradeDate")
    try:
        return date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except (KeyError, TypeError, ValueError):
        raise _bad("tradeDate is not a date", raw) from None


def decode_histogram(raw: Any) -> Histogram:
    """One element of `histograms`."""
    histogram = _object(raw, "a histogram")
    items = _object(histogram.get("items", {}), "a histogram's items")
    try:
        volumes = {int(offset): _count(volume, "a histogram item") for offset, volume in items.items()}
    except ValueError:
        raise _bad("a histogram item's key is not an integer offset", items) from None
    return Histogram(
        contract_id=_contract_id(histogram.get("contractId")),
        timestamp=_time(histogram.get("timestamp")),
        trade_date=_trade_date(histogram.get("tradeDate")),
        base=_price(histogram.get("base"), "base"),
        items=volumes,
        refresh=bool(histogram.get("refresh", False)),
    )


_BAR_COUNTS = {
    "up_volume": "upVolume",
    "down_volume": "downVolume",
    "up_ticks": "upTicks",
    "down_ticks": "downTicks",
    "bid_volume": "bidVolume",
    "offer_volume": "offerVolume",
}


def decode_bars(packet: Mapping[str, Any]) -> list[Bar]:
    """The `bars` of one chart packet (volumes absent count 0)."""
    bars = packet.get("bars", [])
    if not isinstance(bars, list):
        raise _bad("bars is not an array", bars)
    decoded = []
    for raw in bars:
        bar = _object(raw, "a bar")
        counts = {name: _count(bar.get(key, 0), key) for name, key in _BAR_COUNTS.items()}
        decoded.append(
            Bar(
                _time(bar.get("timestamp")),
                _price(bar.get("open"), "open"),
                _price(bar.get("high"), "high"),
                _price(bar.get("low"), "low"),
                _price(bar.get("close"), "close"),
                **counts,
            )
        )
    return decoded


def _tick_price(base: Decimal, tick_size: Decimal, offset: Any, what: str) -> float:
    # Decimal, so that (4500 + 1) * 0.25 and (bp + p) * 0.01 land on the float nearest the price
    return float((base + Decimal(str(_price(offset, what)))) * tick_size)


def decode_ticks(packet: Mapping[str, Any]) -> list[Tick]:
    """The `tks` of one tick-chart packet: price = (bp + p) * ts, time = bt + t ms; bid (ask) =
    (bp + b) * ts when `bs` (`as`) is given."""
    ticks = packet.get("tks", [])
    if not isinstance(ticks, list):
        raise _bad("tks is not an array", ticks)
    if not ticks:
        return []
    base = Decimal(str(_price(packet.get("bp"), "bp")))
    base_time = _count(packet.get("bt"), "bt")
    tick_size = Decimal(str(_price(packet.get("ts"), "ts")))
    if tick_size <= 0:
        raise _bad("ts is not a positive tick size", packet.get("ts"))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    decoded = []
    for raw in ticks:
        tick = _object(raw, "a tick")
        bid_size = _optional(tick.get("bs"), _count, "bs")
        ask_size = _optional(tick.get("as"), _count, "as")
        decoded.append(
            Tick(
                timestamp=epoch + timedelta(milliseconds=base_time + _count(tick.get("t"), "t")),
                price=_tick_price(base, tick_size, tick.get("p"), "p"),
                size=_count(tick.get("s"), "s"),
                id=_optional(tick.get("id"), _count, "id"),
                bid=None if bid_size is None else _tick_price(base, tick_size, tick.get("b"), "b"),
                bid_size=bid_size,
                ask=None if ask_size is None else _tick_price(base, tick_size, tick.get("a"), "a"),
                ask_size=ask_size,
            )
        )
    return decoded


# -- the protocols --


@dataclass(frozen=True, slots=True)
class Feed(Generic[FeedT]):
    """A subscription kind: its endpoints' suffix, the `md` event's key, and the decoder."""

    name: str
    key: str
    decode: Callable[[Any], FeedT]


QUOTES = Feed("Quote", "quotes", decode_quote)
DOMS = Feed("DOM", "doms", decode_dom)
HISTOGRAMS = Feed("Histogram", "histograms", decode_histogram)


class FeedProtocol(SocketProtocol[FeedT]):
    """`md/subscribe<Feed>` once authorized, its `md/unsubscribe<Feed>` when the client leaves; yields
    the decoded elements of the `md` events under the feed's key."""

    def __init__(self, access_token: str, symbol: Symbol, feed: Feed[FeedT]) -> None:
        super().__init__(access_token)
        self.symbol = symbol
        self.feed = feed
        self._body = json.dumps(symbol_body(symbol))
        self._subscribed = False

    def start_frames(self) -> list[str]:
        """The subscribe request."""
        self._subscribed = True  # from here on, the server may hold a subscription to drop
        return [request_frame(f"md/subscribe{self.feed.name}", REQUEST_ID, "", self._body)]

    def stop_frames(self) -> list[str]:
        """The unsubscribe request (none when the subscription was refused)."""
        if not self._subscribed:
            return []
        return [request_frame(f"md/unsubscribe{self.feed.name}", STOP_ID, "", self._body)]

    def on_response(self, request_id: Any, status: Any, body: Any) -> list[FeedT]:
        """Nothing when the subscription is accepted; its refusal raised."""
        if request_id == REQUEST_ID:
            try:
                check_answer(f"md/subscribe{self.feed.name}", self.symbol, status, body)
            except MarketDataError:
                self._subscribed = False
                raise
        return []

    def on_event(self, kind: str, data: Any) -> list[FeedT]:
        """The feed's elements of an `md` event."""
        if kind != "md" or not isinstance(data, dict):
            return []
        elements = data.get(self.feed.key)
        if elements is None:
            return []
        if not isinstance(elements, list):
            raise _bad(f"{self.feed.key} is not an array", elements)
        return [self.feed.decode(element) for element in elements]


class ChartProtocol(SocketProtocol[PointT | EndOfHistory]):
    """`md/getChart` once authorized, `md/cancelChart` when the client leaves; yields the points
    (`Bar` or `Tick`) of the chart's packets, and one `EndOfHistory` at the first `eoh`."""

    def __init__(
        self,
        access_token: str,
        symbol: Symbol,
        body: dict[str, Any],
        decode: Callable[[Mapping[str, Any]], list[PointT]],
    ) -> None:
        super().__init__(access_token)
        self.symbol = symbol
        self._body = json.dumps(body)
        self._decode = decode
        self.historical_id: int | None = None
        self.realtime_id: int | None = None
        self._cancel_id: int | None = None
        self._ids: frozenset[int] | None = None
        self._early: list[Mapping[str, Any]] = []
        self.history_complete = False

    def start_frames(self) -> list[str]:
        """The getChart request."""
        return [request_frame("md/getChart", REQUEST_ID, "", self._body)]

    def stop_frames(self) -> list[str]:
        """`md/cancelChart` with the id the server gave (its `realtimeId`), once it gave one."""
        if self._cancel_id is None:
            return []
        body = json.dumps({"subscriptionId": self._cancel_id})
        return [request_frame("md/cancelChart", STOP_ID, "", body)]

    def on_response(self, request_id: Any, status: Any, body: Any) -> list[PointT | EndOfHistory]:
        """The chart's ids kept; the packets held for them decoded."""
        if request_id != REQUEST_ID:
            return []
        answer = check_answer("md/getChart", self.symbol, status, body)
        ids = {key: answer.get(key) for key in ("historicalId", "realtimeId", "subscriptionId")}
        known = {k: v for k, v in ids.items() if isinstance(v, int) and not isinstance(v, bool)}
        if not known:
            raise StreamError(f"md/getChart answered without a chart id: {str(body)[:120]}")
        self.historical_id = known.get("historicalId")
        self.realtime_id = known.get("realtimeId", known.get("subscriptionId"))
        self._cancel_id = self.realtime_id if self.realtime_id is not None else self.historical_id
        self._ids = frozenset(known.values())
        early, self._early = self._early, []
        items: list[PointT | EndOfHistory] = []
        for packet in early:
            items.extend(self._packet(packet))
        return items

    def on_event(self, kind: str, data: Any) -> list[PointT | EndOfHistory]:
        """The points of this chart's packets in a `chart` event."""
        if kind != "chart" or not isinstance(data, dict):
            return []
        packets = data.get("charts")
        if not isinstance(packets, list):
            raise _bad("charts is not an array", packets)
        items: list[PointT | EndOfHistory] = []
        for raw in packets:
            packet = _object(raw, "a chart packet")
            if self._ids is None:
                self._early.append(packet)  # before the getChart answer: its ids are not known yet
            else:
                items.extend(self._packet(packet))
        return items

    def _packet(self, packet: Mapping[str, Any]) -> list[PointT | EndOfHistory]:
        assert self._ids is not None
        if packet.get("id") not in self._ids:
            return []  # another chart's
        if packet.get("eoh"):
            if self.history_complete:
                return []
            self.history_complete = True
            return [EndOfHistory()]
        return list(self._decode(packet))


# -- what the clients build their streams from --


def feed_protocol(symbol: Symbol, feed: Feed[FeedT]) -> Callable[[Token], SocketProtocol[FeedT]]:
    """A subscription's protocol factory; the symbol is checked now, before any connection."""
    symbol_body(symbol)

    def make(token: Token) -> SocketProtocol[FeedT]:
        return FeedProtocol(token.access_token, symbol, feed)

    return make


def chart_protocol(
    symbol: Symbol, body: dict[str, Any], decode: Callable[[Mapping[str, Any]], list[PointT]]
) -> Callable[[Token], SocketProtocol[PointT | EndOfHistory]]:
    """A chart's protocol factory (`body` from `chart_request`, checked before any connection)."""

    def make(token: Token) -> SocketProtocol[PointT | EndOfHistory]:
        return ChartProtocol(token.access_token, symbol, body, decode)

    return make


def in_time_order(points: list[PointT]) -> list[PointT]:
    """A chart's history oldest first; a bar sent more than once (the newest, updated) counted once,
    as last sent."""
    if points and isinstance(points[0], Bar):
        latest = {point.timestamp: point for point in points}
        return sorted(latest.values(), key=lambda point: point.timestamp)
    return sorted(points, key=lambda point: point.timestamp)
