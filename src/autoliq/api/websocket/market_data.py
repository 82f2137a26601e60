"""Tradovate's market-data requests on `/v1/websocket` (`md/subscribeQuote`, `md/subscribeDOM`,
`md/subscribeHistogram`, their `unsubscribe*`, `md/getChart`, `md/cancelChart`), served from the
sandbox's prices (see docs/api.md, "Market data").

One `MarketDataFeed` per hub listens to the publisher: a committed `PricesChanged` (this worker's, or
another's through the outbox relay) makes it read each changed contract's state once, encode each
quote, DOM and histogram frame once, and queue the same string on every subscriber; chart packets
are encoded once per chart kind and only tagged with each subscriber's id. Subscriptions live in
`Connection.state["md"]` and go away with the socket (`Connection.on_close`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any
from weakref import WeakKeyDictionary

import msgspec

from autoliq.api.bounds import Int64
from autoliq.api.params import decode_strict
from autoliq.api.websocket.hub import Connection, Hub
from autoliq.api.websocket.protocol import answer, array_frame, error_answer
from autoliq.api.websocket.socket_routes import SocketRequest, socket_route
from autoliq.container import Services
from autoliq.domain.errors import AutoliqError, BadRequest, NotFound
from autoliq.domain.events import Event, PricesChanged, SandboxReset
from autoliq.domain.instruments import PRODUCTS_BY_NAME, ContractSpec
from autoliq.domain.market_data import (
    Bar,
    BarUnit,
    PriceTick,
    book,
    epoch_ms,
    histogram_items,
    iso_ms,
    quote_entries,
    trade_date_number,
)
from autoliq.domain.session import trade_date
from autoliq.service.market_data import (
    ContractMarket,
    SessionFigures,
    bar_history,
    contract_market,
    live_bars,
    tick_history,
)

log = logging.getLogger(__name__)
_encode = msgspec.json.Encoder().encode

STATE_KEY = "md"
UNKNOWN_SYMBOL = '{"errorCode":"UnknownSymbol","errorText":"Symbol is inaccessible","mode":"None"}'
"""The `d` of an answer (status 200) to a symbol that names no listed contract."""
EMPTY = "{}"
MAX_SYMBOL_LENGTH = 64
MAX_TIMESTAMP_LENGTH = 40
MAX_MINUTE_BAR_SIZE = 1440
MAX_DAILY_BAR_SIZE = 366
QUOTE, DOM, HISTOGRAM = "quote", "dom", "histogram"
_FEEDS: WeakKeyDictionary[Hub, MarketDataFeed] = WeakKeyDictionary()
_ids = itertools.count(1)

Symbol = Annotated[str, msgspec.Meta(max_length=MAX_SYMBOL_LENGTH)] | Int64
Timestamp = Annotated[str, msgspec.Meta(max_length=MAX_TIMESTAMP_LENGTH)]
Name = Annotated[str, msgspec.Meta(max_length=MAX_SYMBOL_LENGTH)]


class SymbolBody(msgspec.Struct):
    """`{symbol}`; other keys (a resent request's `p-ticket`) are ignored."""

    symbol: Symbol


class ChartDescription(msgspec.Struct):
    underlyingType: Name
    elementSize: Int64 = 1
    elementSizeUnit: Name | None = None
    withHistogram: bool = False


class TimeRange(msgspec.Struct):
    """Unknown keys (`asFarAsTimeStamp`, misspelled by an official example) are ignored."""

    closestTimestamp: Timestamp | None = None
    closestTickId: Int64 | None = None
    asFarAsTimestamp: Timestamp | None = None
    asMuchAsElements: Int64 | None = None


class GetChartBody(msgspec.Struct):
    symbol: Symbol
    chartDescription: ChartDescription
    timeRange: TimeRange


class CancelChartBody(msgspec.Struct):
    subscriptionId: Int64


# -- per socket --


@dataclass(eq=False, slots=True)
class ChartSubscription:
    """One `md/getChart` of one socket, live until cancelled or the socket goes."""

    realtime_id: int
    historical_id: int
    contract: ContractSpec
    unit: BarUnit
    size: int
    connection: Connection
    ready: bool = False
    """False while its history is read: live changes wait in `pending_*`."""
    last_tick_id: int = 0
    pending_ticks: list[tuple[datetime, int, int, int]] = field(default_factory=list)
    pending_window: tuple[datetime, datetime] | None = None


@dataclass(slots=True)
class SocketMarketData:
    """A socket's md subscriptions."""

    quotes: set[int] = field(default_factory=set)
    doms: set[int] = field(default_factory=set)
    histograms: set[int] = field(default_factory=set)
    charts: dict[int, ChartSubscription] = field(default_factory=dict)
    """By realtime id; the historical id maps through `chart_ids`."""
    chart_ids: dict[int, int] = field(default_factory=dict)
    """Historical id -> realtime id."""
    holding: int = 0
    held: list[tuple[tuple[str, int] | None, str]] = field(default_factory=list)
    """Frames held back while a subscribe request sends its first data, each with its (kind,
    contract id) when it is a quote, DOM or histogram frame."""

    def count(self) -> int:
        return len(self.quotes) + len(self.doms) + len(self.histograms) + len(self.charts)

    def of(self, kind: str) -> set[int]:
        return self.quotes if kind == QUOTE else self.doms if kind == DOM else self.histograms


def _deliver(connection: Connection, frame: str, key: tuple[str, int] | None = None) -> None:
    """Queue a frame, or hold it while a subscribe request of the socket sends its first frames
    (`key`: the (kind, contract id) of a quote, DOM or histogram frame)."""
    state: SocketMarketData | None = connection.state.get(STATE_KEY)
    if state is not None and state.holding:
        state.held.append((key, frame))
    else:
        connection.push(frame)


def _hold(state: SocketMarketData) -> None:
    state.holding += 1


def _release(connection: Connection, state: SocketMarketData) -> None:
    state.holding -= 1
    if not state.holding:
        held, state.held = state.held, []
        for _key, frame in held:
            connection.push(frame)


# -- frames --


def _price(ticks: int, contract: ContractSpec) -> float:
    return round(ticks * float(contract.product.tick_size), 10)


def md_frame(kind: str, contract: ContractSpec, market: ContractMarket) -> str | None:
    """The `md` frame of one kind for a contract's state; None when there is nothing to tell (no
    price was ever set: no quote and no histogram; a DOM then is an empty book)."""
    timestamp = iso_ms(market.at)
    tick = float(contract.product.tick_size)
    quote = market.quote
    body: dict[str, Any]
    if kind == QUOTE:
        if quote is None:
            return None
        entries = quote_entries(quote, tick)
        body = {"quotes": [{"timestamp": timestamp, "contractId": contract.id, "entries": entries}]}
    elif kind == DOM:
        bids, offers = book(quote.last, tick) if quote is not None else ([], [])
        body = {"doms": [{"contractId": contract.id, "timestamp": timestamp, "bids": bids, "offers": offers}]}
    else:
        if quote is None:
            return None
        td = market.trade_date
        histogram = {
            "contractId": contract.id,
            "timestamp": timestamp,
            "tradeDate": {"year": td // 10_000, "month": td // 100 % 100, "day": td % 100},
            "base": _price(quote.last, contract),
            "items": histogram_items(quote.last, market.histogram),
            "refresh": True,
        }
        body = {"histograms": [histogram]}
    return array_frame([_encode({"e": "md", "d": body}).decode()])


def _bar_json(bar: Bar, contract: ContractSpec) -> dict[str, Any]:
    return {
        "timestamp": iso_ms(bar.start),
        "open": _price(bar.open, contract),
        "high": _price(bar.high, contract),
        "low": _price(bar.low, contract),
        "close": _price(bar.close, contract),
        "upVolume": bar.up_volume,
        "downVolume": bar.down_volume,
        "upTicks": bar.up_ticks,
        "downTicks": bar.down_ticks,
        "bidVolume": bar.bid_volume,
        "offerVolume": bar.offer_volume,
    }


def bar_packets(bars: Sequence[Bar], contract: ContractSpec) -> list[str]:
    """Chart packets without their id (`"td":...,"bars":[...]}`), one per trade date."""
    out: list[str] = []
    group: list[Bar] = []
    for bar in bars:
        if group and group[0].trade_date != bar.trade_date:
            out.append(
                _packet_tail(
                    {
                        "td": trade_date_number(group[0].trade_date),
                        "bars": [_bar_json(b, contract) for b in group],
                    }
                )
            )
            group = []
        group.append(bar)
    if group:
        out.append(
            _packet_tail(
                {
                    "td": trade_date_number(group[0].trade_date),
                    "bars": [_bar_json(b, contract) for b in group],
                }
            )
        )
    return out


def tick_packets(ticks: Sequence[PriceTick], contract: ContractSpec) -> list[str]:
    """Tick packets without their id, one per trade date: prices and times relative to the first
    tick (`bp` in ticks, `bt` in epoch ms), a synthetic bid and ask one tick around each price."""
    out: list[str] = []
    group: list[PriceTick] = []
    day = None
    for tick in ticks:
        tick_day = trade_date(tick.at)
        if group and tick_day != day:
            out.append(_tick_packet(group, contract))
            group = []
        day = tick_day
        group.append(tick)
    if group:
        out.append(_tick_packet(group, contract))
    return out


def _tick_packet(ticks: Sequence[PriceTick], contract: ContractSpec) -> str:
    bp, bt = ticks[0].price_ticks, epoch_ms(ticks[0].at)
    tks = [
        {
            "t": epoch_ms(t.at) - bt,
            "p": t.price_ticks - bp,
            "s": t.volume,
            "b": t.price_ticks - bp - 1,
            "a": t.price_ticks - bp + 1,
            "bs": 10,
            "as": 10,
            "id": t.id,
        }
        for t in ticks
    ]
    td = trade_date_number(trade_date(ticks[0].at))
    return _packet_tail(
        {"s": "db", "td": td, "bp": bp, "bt": bt, "ts": float(contract.product.tick_size), "tks": tks}
    )


def _packet_tail(packet: dict[str, Any]) -> str:
    return _encode(packet).decode()[1:]


def chart_frame(chart_id: int, tails: Sequence[str]) -> str:
    """One `chart` message of packets tagged `chart_id`."""
    charts = ",".join(f'{{"id":{chart_id},{tail}' for tail in tails)
    return f'a[{{"e":"chart","d":{{"charts":[{charts}]}}}}]'


def end_of_history(chart_id: int) -> str:
    return f'a[{{"e":"chart","d":{{"charts":[{{"id":{chart_id},"eoh":true}}]}}}}]'


# -- the feed --


class MarketDataFeed:
    """Every md subscription of the hub's sockets, and the fan-out of price changes to them."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.subscribers: dict[str, dict[int, set[Connection]]] = {QUOTE: {}, DOM: {}, HISTOGRAM: {}}
        self.charts: dict[int, set[ChartSubscription]] = {}
        self._events: deque[Event] = deque()
        self._task: asyncio.Task[None] | None = None
        self.sessions: dict[int, SessionFigures] = {}
        """Per contract: its current trade date's figures, read once and then folded forward with
        each price change heard (dropped at a new trade date and at a reset)."""
        self.frames_built = 0
        """md and chart frames encoded (tests and the bench check that one is built per change)."""
        services.publisher.add_listener(self._on_events)

    # -- subscriptions --
    def add(self, kind: str, contract_id: int, connection: Connection) -> None:
        self.subscribers[kind].setdefault(contract_id, set()).add(connection)

    def remove(self, kind: str, contract_id: int, connection: Connection) -> None:
        found = self.subscribers[kind].get(contract_id)
        if found is not None:
            found.discard(connection)
            if not found:
                del self.subscribers[kind][contract_id]

    def add_chart(self, chart: ChartSubscription) -> None:
        self.charts.setdefault(chart.contract.id, set()).add(chart)

    def remove_chart(self, chart: ChartSubscription) -> None:
        found = self.charts.get(chart.contract.id)
        if found is not None:
            found.discard(chart)
            if not found:
                del self.charts[chart.contract.id]

    def drop(self, connection: Connection, state: SocketMarketData) -> None:
        """Forget every subscription of a socket that went away."""
        for kind in (QUOTE, DOM, HISTOGRAM):
            for contract_id in state.of(kind):
                self.remove(kind, contract_id, connection)
        for chart in state.charts.values():
            self.remove_chart(chart)
        state.quotes.clear()
        state.doms.clear()
        state.histograms.clear()
        state.charts.clear()
        state.chart_ids.clear()

    def _anyone(self) -> bool:
        return bool(self.charts) or any(self.subscribers.values())

    # -- events --
    def _on_events(self, events: Sequence[Event]) -> None:
        """Publisher listener (on the loop, after commit)."""
        if not self._anyone():
            self.sessions.clear()  # unheard changes would leave them behind
            return
        self._events.extend(e for e in events if isinstance(e, PricesChanged | SandboxReset))
        if self._events and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="autoliq-md-fan-out")

    async def _drain(self) -> None:
        try:
            while self._events:
                batch = list(self._events)
                self._events.clear()
                try:
                    await self.deliver(batch)
                except Exception:
                    log.exception("market-data fan-out of %d events failed", len(batch))
        finally:
            self._task = None

    async def deliver(self, batch: Sequence[Event]) -> None:
        """Tell the subscribers of the contracts a batch changed: one state read and one frame per
        contract and kind (a batch holding several changes of a contract sends its latest state);
        charts get every change (tick charts each tick, bar charts the bars the changes touched)."""
        ticks: dict[int, list[tuple[datetime, int, int, int]]] = {}
        reset = False
        for event in batch:
            if isinstance(event, SandboxReset):
                reset = True
            elif isinstance(event, PricesChanged):
                for contract_id, price, tick_id, volume in event.prices:
                    ticks.setdefault(contract_id, []).append((event.at, price, tick_id, volume))
        if reset:
            self.sessions.clear()
        for contract_id, changes in ticks.items():
            figures = self.sessions.get(contract_id)
            for at, price, _tick_id, _volume in changes:
                if figures is None:
                    break
                day = trade_date(at)
                if day == figures.trade_date:
                    figures = figures.with_price(price)
                elif day > figures.trade_date:
                    figures = None  # a new session: read again
            if figures is None:
                self.sessions.pop(contract_id, None)
            else:
                self.sessions[contract_id] = figures
        md_contracts = set(ticks)
        if reset:
            md_contracts |= {c for subs in self.subscribers.values() for c in subs}
        md_contracts = {c for c in md_contracts if any(c in subs for subs in self.subscribers.values())}
        if md_contracts:
            await self._send_md(sorted(md_contracts))
        for contract_id, changes in ticks.items():
            if contract_id in self.charts:
                await self._send_charts(contract_id, changes)

    async def _send_md(self, contract_ids: list[int]) -> None:
        market = self.services.market
        contracts = {c.id: c for c in market.contracts(contract_ids)}
        now = self.services.clock.now()
        histograms = self.subscribers[HISTOGRAM]

        sessions = dict(self.sessions)

        def read(store: Any) -> dict[int, ContractMarket]:
            return {
                c: contract_market(store, c, now, histogram=c in histograms, session=sessions.get(c))
                for c in contracts
            }

        states = await self.services.uow.read(read)
        for contract_id, state in states.items():
            if state.session is not None and contract_id not in self.sessions:
                self.sessions[contract_id] = state.session
            contract = contracts[contract_id]
            for kind in (QUOTE, DOM, HISTOGRAM):
                subscribers = self.subscribers[kind].get(contract_id)
                if not subscribers:
                    continue
                frame = md_frame(kind, contract, state)
                if frame is None:
                    continue
                self.frames_built += 1
                for connection in list(subscribers):
                    _deliver(connection, frame, (kind, contract_id))

    async def _send_charts(self, contract_id: int, changes: list[tuple[datetime, int, int, int]]) -> None:
        charts = list(self.charts.get(contract_id, ()))
        try:
            contract = self.services.market.contract(contract_id)
        except NotFound:
            return
        tick_charts = [c for c in charts if c.unit is BarUnit.TICK]
        if tick_charts:
            for chart in tick_charts:
                if not chart.ready:
                    chart.pending_ticks.extend(changes)
            ready = [c for c in tick_charts if c.ready]
            if ready:
                self._send_ticks(ready, contract, changes)
        kinds: dict[tuple[BarUnit, int], list[ChartSubscription]] = {}
        since, until = min(c[0] for c in changes), max(c[0] for c in changes)
        for chart in charts:
            if chart.unit is BarUnit.TICK:
                continue
            if not chart.ready:
                window = chart.pending_window
                chart.pending_window = (
                    (since, until) if window is None else (min(window[0], since), max(window[1], until))
                )
                continue
            kinds.setdefault((chart.unit, chart.size), []).append(chart)
        for (unit, size), subscribers in kinds.items():
            bars = await self.services.uow.read(
                partial(live_bars, contract_id=contract_id, unit=unit, size=size, since=since, until=until)
            )
            tails = bar_packets(bars, contract)
            if not tails:
                continue
            self.frames_built += 1
            for chart in subscribers:
                _deliver(chart.connection, chart_frame(chart.realtime_id, tails))

    def _send_ticks(
        self,
        charts: list[ChartSubscription],
        contract: ContractSpec,
        changes: list[tuple[datetime, int, int, int]],
    ) -> None:
        ticks = [PriceTick(tick_id, at, price, volume) for at, price, tick_id, volume in changes]
        tails = tick_packets(ticks, contract)
        self.frames_built += 1
        for chart in charts:
            if all(t.id > chart.last_tick_id for t in ticks):
                _deliver(chart.connection, chart_frame(chart.realtime_id, tails))
            else:  # some were in its history already
                fresh = [t for t in ticks if t.id > chart.last_tick_id]
                if fresh:
                    _deliver(chart.connection, chart_frame(chart.realtime_id, tick_packets(fresh, contract)))
                chart.last_tick_id = max(chart.last_tick_id, *(t.id for t in ticks))


def feed_of(hub: Hub) -> MarketDataFeed:
    """The hub's market-data feed, made on first use."""
    feed = _FEEDS.get(hub)
    if feed is None:
        feed = _FEEDS[hub] = MarketDataFeed(hub.services)
    return feed


def _state(request: SocketRequest, feed: MarketDataFeed) -> SocketMarketData:
    connection = request.connection
    state: SocketMarketData | None = connection.state.get(STATE_KEY)
    if state is None:
        state = connection.state[STATE_KEY] = SocketMarketData()
        connection.on_close.append(lambda: feed.drop(connection, state))
    return state


# -- requests --


def _body(request: SocketRequest, model: type[Any]) -> Any:
    raw = request.frame.body.strip().encode()
    if not raw:
        raise BadRequest("body: a JSON object is required")
    return decode_strict(raw, model)


def resolve(services: Services, symbol: str | int) -> ContractSpec | None:
    """A listed contract from a name (`ESZ6`), an id (`1202612`, or the same as a string) or a
    continuous symbol (`@ES`: the front month, the nearest listed contract not yet expired)."""
    market = services.market
    if isinstance(symbol, str):
        text = symbol.strip()
        if text.isascii() and text.isdigit() and len(text) <= 18:
            symbol = int(text)
        elif text.startswith("@"):
            product = PRODUCTS_BY_NAME.get(text[1:].upper())
            if product is None:
                return None
            listed = [c for c in market.listed().values() if c.product is product]
            return min(listed, key=lambda c: c.expiration, default=None)
        else:
            try:
                return market.contract_by_name(text.upper())
            except NotFound:
                return None
    try:
        return market.contract(symbol)
    except NotFound:
        return None


def _too_many(request: SocketRequest) -> str:
    limit = request.services.settings.md_max_subscriptions
    return error_answer(
        400, request.frame.id, f"Too many market data subscriptions on this socket (at most {limit})"
    )


async def _first_data_delay(request: SocketRequest) -> None:
    """Wait between a subscription's answer and its first data (AUTOLIQ_MD_FIRST_DATA_DELAY_MS): the
    official examples look the contract up over REST after the answer and only then listen."""
    delay_ms = request.services.settings.md_first_data_delay_ms
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)


async def _subscribe(request: SocketRequest, kind: str) -> str | None:
    body: SymbolBody = _body(request, SymbolBody)
    contract = resolve(request.services, body.symbol)
    if contract is None:
        return answer(200, request.frame.id, UNKNOWN_SYMBOL)
    feed = feed_of(request.hub)
    state = _state(request, feed)
    connection = request.connection
    subscribed = state.of(kind)
    if contract.id not in subscribed:
        if state.count() >= request.services.settings.md_max_subscriptions:
            return _too_many(request)
        subscribed.add(contract.id)
        feed.add(kind, contract.id, connection)
    # Subscribed first, its changes held back: none is lost between the answer and the read, and
    # none overtakes the answer or the current state.
    _hold(state)
    try:
        pause = request.services.settings.md_first_data_delay_ms
        if pause:
            connection.push_message(answer(200, request.frame.id, EMPTY))
            await asyncio.sleep(pause / 1000)
        mark = len(state.held)
        now = request.services.clock.now()
        try:
            market = await request.services.uow.read(
                lambda s: contract_market(s, contract.id, now, histogram=kind == HISTOGRAM)
            )
        except AutoliqError as exc:
            if not pause:
                raise  # not answered yet: the error is the answer
            # Subscribed, as answered: the next change sends the state.
            log.warning("md %s of %s: the current state was not read (%s)", kind, contract.name, exc)
            return None
        if not pause:
            connection.push_message(answer(200, request.frame.id, EMPTY))
        frame = md_frame(kind, contract, market)
        if frame is not None:
            connection.push(frame)
            # A frame of this subscription held before the read shows no newer state than the read
            # (each was built from a read made before it was held): sent after it, it would repeat
            # or undo it. One held later that equals it repeats it.
            key = (kind, contract.id)
            state.held = [
                (k, f)
                for index, (k, f) in enumerate(state.held)
                if k != key or (index >= mark and f != frame)
            ]
    finally:
        _release(connection, state)
    return None


async def _unsubscribe(request: SocketRequest, kind: str) -> str:
    body: SymbolBody = _body(request, SymbolBody)
    contract = resolve(request.services, body.symbol)
    if contract is None:
        return answer(200, request.frame.id, UNKNOWN_SYMBOL)
    feed = feed_of(request.hub)
    state = _state(request, feed)
    state.of(kind).discard(contract.id)
    feed.remove(kind, contract.id, request.connection)
    return answer(200, request.frame.id, EMPTY)


@socket_route("md/subscribeQuote")
async def subscribe_quote(request: SocketRequest) -> str | None:
    """Quotes of a contract: the current one at once, then one per price change."""
    return await _subscribe(request, QUOTE)


@socket_route("md/unsubscribeQuote")
async def unsubscribe_quote(request: SocketRequest) -> str:
    return await _unsubscribe(request, QUOTE)


@socket_route("md/subscribeDOM")
async def subscribe_dom(request: SocketRequest) -> str | None:
    """A contract's (synthetic) book: at once, then one per price change."""
    return await _subscribe(request, DOM)


@socket_route("md/unsubscribeDOM")
async def unsubscribe_dom(request: SocketRequest) -> str:
    return await _unsubscribe(request, DOM)


@socket_route("md/subscribeHistogram")
async def subscribe_histogram(request: SocketRequest) -> str | None:
    """The day's traded volume per price: at once, then one per price change."""
    return await _subscribe(request, HISTOGRAM)


@socket_route("md/unsubscribeHistogram")
async def unsubscribe_histogram(request: SocketRequest) -> str:
    return await _unsubscribe(request, HISTOGRAM)


def _moment(text: str | None, field_name: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadRequest(f"timeRange.{field_name}: not an ISO 8601 timestamp") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _chart_kind(description: ChartDescription) -> tuple[BarUnit, int]:
    try:
        unit = BarUnit(description.underlyingType)
    except ValueError:
        raise BadRequest(
            f"chartDescription.underlyingType: {description.underlyingType!r} is not served "
            "(MinuteBar, DailyBar or Tick)"
        ) from None
    size = description.elementSize
    unit_of_size = description.elementSizeUnit
    if unit_of_size not in (None, "UnderlyingUnits"):
        raise BadRequest(
            f"chartDescription.elementSizeUnit: {unit_of_size!r} is not served (UnderlyingUnits)"
        )
    if unit is BarUnit.TICK and size != 1:
        raise BadRequest("chartDescription.elementSize: must be 1 for Tick charts")
    top = MAX_MINUTE_BAR_SIZE if unit is BarUnit.MINUTE else MAX_DAILY_BAR_SIZE
    if not 1 <= size <= top:
        raise BadRequest(f"chartDescription.elementSize: must be 1 to {top}")
    return unit, size


@socket_route("md/getChart")
async def get_chart(request: SocketRequest) -> str | None:
    """History (at most AUTOLIQ_MD_CHART_MAX_BARS elements), `eoh`, then live packets, all tagged
    with the realtime id."""
    body: GetChartBody = _body(request, GetChartBody)
    unit, size = _chart_kind(body.chartDescription)
    time_range = body.timeRange
    closest = _moment(time_range.closestTimestamp, "closestTimestamp")
    as_far = _moment(time_range.asFarAsTimestamp, "asFarAsTimestamp")
    if (
        closest is None
        and as_far is None
        and time_range.closestTickId is None
        and time_range.asMuchAsElements is None
    ):
        raise BadRequest(
            "timeRange: at least one of closestTimestamp, closestTickId, asFarAsTimestamp, "
            "asMuchAsElements is required"
        )
    cap = request.services.settings.md_chart_max_bars
    wanted = time_range.asMuchAsElements
    if wanted is not None and wanted < 1:
        raise BadRequest("timeRange.asMuchAsElements: must be positive")
    count = cap if wanted is None else min(wanted, cap)
    max_id = time_range.closestTickId
    contract = resolve(request.services, body.symbol)
    if contract is None:
        return answer(200, request.frame.id, UNKNOWN_SYMBOL)
    feed = feed_of(request.hub)
    state = _state(request, feed)
    if state.count() >= request.services.settings.md_max_subscriptions:
        return _too_many(request)
    realtime_id, historical_id = next(_ids), next(_ids)
    connection = request.connection
    chart = ChartSubscription(realtime_id, historical_id, contract, unit, size, connection)
    state.charts[realtime_id] = chart
    state.chart_ids[historical_id] = realtime_id
    feed.add_chart(chart)

    def read(store: Any) -> list[Bar] | list[PriceTick]:
        if unit is BarUnit.TICK:
            return tick_history(store, contract.id, until=closest, since=as_far, max_id=max_id, count=count)
        return bar_history(store, contract.id, unit, size, until=closest, since=as_far, count=count)

    try:
        history = await request.services.uow.read(read)
    except BaseException:
        state.charts.pop(realtime_id, None)
        state.chart_ids.pop(historical_id, None)
        feed.remove_chart(chart)
        raise
    ids = _encode({"historicalId": historical_id, "realtimeId": realtime_id}).decode()
    connection.push_message(answer(200, request.frame.id, ids))
    await _first_data_delay(request)
    if unit is BarUnit.TICK:
        ticks = [t for t in history if isinstance(t, PriceTick)]
        tails = tick_packets(ticks, contract)
        chart.last_tick_id = max((t.id for t in ticks), default=0)
    else:
        tails = bar_packets([b for b in history if isinstance(b, Bar)], contract)
    if tails:
        connection.push(chart_frame(realtime_id, tails))
    connection.push(end_of_history(realtime_id))
    await _catch_up(request, feed, chart)
    return None


async def _catch_up(request: SocketRequest, feed: MarketDataFeed, chart: ChartSubscription) -> None:
    """Send what changed while the history was read, then go live."""
    contract = chart.contract
    while chart.pending_ticks or chart.pending_window is not None:
        if chart.unit is BarUnit.TICK:
            pending, chart.pending_ticks = chart.pending_ticks, []
            fresh = [PriceTick(i, at, p, v) for at, p, i, v in pending if i > chart.last_tick_id]
            if fresh:
                chart.connection.push(chart_frame(chart.realtime_id, tick_packets(fresh, contract)))
                chart.last_tick_id = max(t.id for t in fresh)
            continue
        window, chart.pending_window = chart.pending_window, None
        assert window is not None
        since, until = window
        bars = await request.services.uow.read(
            partial(
                live_bars, contract_id=contract.id, unit=chart.unit, size=chart.size, since=since, until=until
            )
        )
        tails = bar_packets(bars, contract)
        if tails:
            chart.connection.push(chart_frame(chart.realtime_id, tails))
    chart.ready = True


@socket_route("md/cancelChart")
async def cancel_chart(request: SocketRequest) -> str:
    """Stop a chart, named by its realtime id or its historical id (`subscriptionId`)."""
    body: CancelChartBody = _body(request, CancelChartBody)
    feed = feed_of(request.hub)
    state = _state(request, feed)
    chart_id = body.subscriptionId
    realtime_id = state.chart_ids.get(chart_id, chart_id)
    chart = state.charts.pop(realtime_id, None)
    if chart is not None:
        state.chart_ids.pop(chart.historical_id, None)
        feed.remove_chart(chart)
    return answer(200, request.frame.id, EMPTY)
