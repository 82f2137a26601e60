"""The SDK's market-data helpers (`subscribe_quote`, `subscribe_dom`, `subscribe_histogram`,
`stream_chart`/`get_chart`, `stream_ticks`/`get_ticks`) on both clients, against a fake market-data
socket written here: it speaks exactly the `md/*` frames of issue 14 (the subscribe answers, the `md`
and `chart` events, `eoh`, the `UnknownSymbol` refusal). The real server's endpoint is not used.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from autoliq.client import (
    MD_URL,
    AsyncClient,
    Bar,
    Client,
    ClientSettings,
    Dom,
    DomLevel,
    EndOfHistory,
    Histogram,
    MarketDataError,
    PenaltyTicketError,
    Quote,
    QuoteEntry,
    StreamError,
    Tick,
    UnknownSymbolError,
)
from autoliq.client.market_data import chart_request, check_answer, decode_quote, decode_ticks
from tests.unit.test_client_stream import (
    GUARD,
    NAME,
    PASSWORD,
    TOKEN,
    FakeStreamServer,
    OneBeat,
    Receive,
    Scope,
    Send,
    serving,
)

SYMBOL = "ESZ6"
CONTRACT_ID = 3001
UNKNOWN = "ZZZ9"
SILENT = "NQZ6"
REALTIME_ID, HISTORICAL_ID, OTHER_CHART = 31, 32, 99
TRADE_DATE = 20261206
UNKNOWN_SYMBOL = {"errorCode": "UnknownSymbol", "errorText": "Symbol is inaccessible", "mode": "None"}
T0 = datetime(2026, 12, 6, 14, 0, tzinfo=UTC)


def iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- what the fake sends, and what the SDK must make of it --

QUOTE_WIRE = {
    "timestamp": iso(T0),
    "contractId": CONTRACT_ID,
    "entries": {
        "Bid": {"price": 6000.25, "size": 12},
        "Offer": {"price": 6000.5, "size": 9},
        "Trade": {"price": 6000.5, "size": 1},
        "TotalTradeVolume": {"size": 1523},
        "OpeningPrice": {"price": 5990.0},
        "HighPrice": {"price": 6010.75},
        "LowPrice": {"price": 5985.5},
        "SettlementPrice": {"price": 5992.25},
        "OpenInterest": {"size": 250000},
    },
}
QUOTE = Quote(
    CONTRACT_ID,
    T0,
    bid=QuoteEntry(6000.25, 12),
    offer=QuoteEntry(6000.5, 9),
    trade=QuoteEntry(6000.5, 1),
    total_trade_volume=QuoteEntry(None, 1523),
    opening_price=QuoteEntry(5990.0, None),
    high_price=QuoteEntry(6010.75, None),
    low_price=QuoteEntry(5985.5, None),
    settlement_price=QuoteEntry(5992.25, None),
    open_interest=QuoteEntry(None, 250000),
)
LATER = T0 + timedelta(seconds=1)
QUOTE_LATER_WIRE = {
    "timestamp": iso(LATER),
    "contractId": CONTRACT_ID,
    "entries": {"Trade": {"price": 6001, "size": 2.0}},  # entries left out, an int price, a float size
}
EMPTY = QuoteEntry()
QUOTE_LATER = Quote(CONTRACT_ID, LATER, EMPTY, EMPTY, QuoteEntry(6001.0, 2), *[EMPTY] * 6)

DOM_WIRE = {
    "contractId": CONTRACT_ID,
    "timestamp": iso(T0),
    "bids": [{"price": 6000.25, "size": 10}, {"price": 6000.0, "size": 20}],
    "offers": [{"price": 6000.5, "size": 11}],
}
DOM = Dom(CONTRACT_ID, T0, (DomLevel(6000.25, 10), DomLevel(6000.0, 20)), (DomLevel(6000.5, 11),))
HISTOGRAM_WIRE = {
    "contractId": CONTRACT_ID,
    "timestamp": iso(T0),
    "tradeDate": {"year": 2026, "month": 12, "day": 6},
    "base": 6000.25,
    "items": {"-2": 40, "0": 55, "3": 7},
    "refresh": True,
}
HISTOGRAM = Histogram(CONTRACT_ID, T0, date(2026, 12, 6), 6000.25, {-2: 40, 0: 55, 3: 7}, True)


def bar_wire(minute: int, close: float, volume: int) -> dict[str, Any]:
    return {
        "timestamp": iso(T0 + timedelta(minutes=minute)),
        "open": 6000.0,
        "high": 6002.0,
        "low": 5999.0,
        "close": close,
        "upVolume": volume,
        "downVolume": 2,
        "upTicks": 3,
        "downTicks": 1,
        "bidVolume": 4,
        "offerVolume": 5,
    }


def bar(minute: int, close: float, volume: int) -> Bar:
    return Bar(T0 + timedelta(minutes=minute), 6000.0, 6002.0, 5999.0, close, volume, 2, 3, 1, 4, 5)


BASE_TIME = int(T0.timestamp() * 1000)
TICK_PACKET = {
    "s": "db",
    "td": TRADE_DATE,
    "bp": 24000,
    "bt": BASE_TIME,
    "ts": 0.25,
    "tks": [
        {"t": 250, "p": 2, "s": 1, "id": 2},
        {"t": 0, "p": 1, "s": 3, "b": 0, "a": 1, "bs": 10, "as": 7, "id": 1},
    ],
}
TICK_1 = Tick(T0, 6000.25, 3, id=1, bid=6000.0, bid_size=10, ask=6000.25, ask_size=7)
TICK_2 = Tick(T0 + timedelta(milliseconds=250), 6000.5, 1, id=2)
LIVE_TICK_PACKET = {**TICK_PACKET, "tks": [{"t": 1000, "p": 3, "s": 4, "id": 3}]}
LIVE_TICK = Tick(T0 + timedelta(seconds=1), 6000.75, 4, id=3)


def md(key: str, element: dict[str, Any]) -> dict[str, Any]:
    return {"e": "md", "d": {key: [element]}}


def chart(*packets: dict[str, Any]) -> dict[str, Any]:
    return {"e": "chart", "d": {"charts": list(packets)}}


class FakeMarketData(FakeStreamServer):
    """The login of `FakeStreamServer`, and a market-data socket on `/v1/websocket`.

    After `o` and `authorize`: a subscribe of a known symbol (`ESZ6`, its id, or the id as a string)
    is answered `{}` and followed by one event; a chart is answered with its two ids, with a history
    packet in the same frame *before* the answer (the SDK must hold it), then more history (out of
    order, a bar sent twice), a packet of another chart, `eoh` for both ids. Once the client has sent
    its `[]` heartbeat, one live element follows. An unknown symbol is refused with `UnknownSymbol`;
    a chart of `NQZ6` is answered and then never sent (no end of history).
    Every frame the client sent is kept; `left` is set when the client has gone.
    """

    def __init__(self) -> None:
        super().__init__()
        self.left = threading.Event()

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def say(*messages: dict[str, Any]) -> None:
            await send({"type": "websocket.send", "text": "a" + json.dumps(list(messages))})

        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        live: list[dict[str, Any]] = []
        try:
            await send({"type": "websocket.send", "text": "o"})
            while True:
                message = await receive()
                if message["type"] != "websocket.receive":
                    raise ConnectionError("the client left")
                text = str(message.get("text"))
                self.received.append(text)
                if text == "[]":
                    if live:
                        await say(*live)
                        live = []
                    continue
                endpoint, raw_id, _query, body = text.split("\n", 3)
                request_id = int(raw_id)
                if endpoint == "authorize":
                    await say({"i": request_id, "s": 200 if body == TOKEN else 401})
                    continue
                payload = json.loads(body) if body else {}
                if payload.get("symbol") == SILENT:  # a chart whose history never ends
                    ids = {"historicalId": HISTORICAL_ID, "realtimeId": REALTIME_ID}
                    await say({"i": request_id, "s": 200, "d": ids if endpoint == "md/getChart" else {}})
                    continue
                if payload.get("symbol", SYMBOL) not in (SYMBOL, CONTRACT_ID, str(CONTRACT_ID)):
                    await say({"i": request_id, "s": 200, "d": UNKNOWN_SYMBOL})
                    continue
                live = await self._answer(endpoint, request_id, payload, say)
        except OSError:  # ConnectionError above, or uvicorn's ClientDisconnected on a late answer
            return
        finally:
            self.left.set()

    @staticmethod
    async def _answer(endpoint: str, request_id: int, payload: dict[str, Any], say: Any) -> list[Any]:
        """Answer one md request; the live messages to send after the next heartbeat."""
        if endpoint == "md/subscribeQuote":
            await say({"i": request_id, "s": 200, "d": {}}, md("quotes", QUOTE_WIRE))
            return [md("quotes", QUOTE_LATER_WIRE)]
        if endpoint == "md/subscribeDOM":
            await say({"i": request_id, "s": 200, "d": {}}, md("doms", DOM_WIRE))
        elif endpoint == "md/subscribeHistogram":
            await say({"i": request_id, "s": 200, "d": {}}, md("histograms", HISTOGRAM_WIRE))
        elif endpoint == "md/getChart":
            ids = {"historicalId": HISTORICAL_ID, "realtimeId": REALTIME_ID}
            if payload["chartDescription"]["underlyingType"] == "Tick":
                await say({"i": request_id, "s": 200, "d": ids})
                await say(chart({"id": REALTIME_ID, **TICK_PACKET}, {"id": REALTIME_ID, "eoh": True}))
                return [chart({"id": REALTIME_ID, **LIVE_TICK_PACKET})]
            early = {"id": REALTIME_ID, "td": TRADE_DATE, "bars": [bar_wire(1, 6001.0, 10)]}
            await say(chart(early), {"i": request_id, "s": 200, "d": ids})
            history = [bar_wire(0, 6000.5, 7), bar_wire(1, 6001.5, 12)]
            await say(
                chart(
                    {"id": HISTORICAL_ID, "td": TRADE_DATE, "bars": history},
                    {"id": OTHER_CHART, "td": TRADE_DATE, "bars": [bar_wire(5, 1.0, 1)]},
                    {"id": REALTIME_ID, "eoh": True},
                    {"id": HISTORICAL_ID, "eoh": True},
                )
            )
            return [chart({"id": REALTIME_ID, "td": TRADE_DATE, "bars": [bar_wire(2, 6002.0, 3)]})]
        else:  # the unsubscribes and cancelChart
            await say({"i": request_id, "s": 200, "d": {}})
        return []


@pytest.fixture
def fake() -> Iterator[tuple[FakeMarketData, str]]:
    app = FakeMarketData()
    with serving(app) as base_url:
        yield app, base_url


def requests(server: FakeMarketData) -> list[tuple[str, Any]]:
    """The requests the client sent after authorizing: (endpoint, body)."""
    sent = [frame.split("\n", 3) for frame in server.received if frame != "[]"]
    return [(endpoint, json.loads(body)) for endpoint, _id, _query, body in sent[1:]]


# -- running a scenario on either client --

DRIVERS = ["sync", "async"]


def take(driver: str, base_url: str, open_stream: Callable[..., Any], count: int) -> list[Any]:
    """Open a stream with the driver's client (`open_stream(client, **heartbeat)`), take `count`
    items, and leave it (with / async with)."""
    if driver == "sync":
        with (
            Client(base_url, name=NAME, password=PASSWORD, trust_env=False) as client,
            open_stream(client, heartbeat_interval=0.05) as stream,
        ):
            return [next(stream) for _ in range(count)]

    async def run() -> list[Any]:
        async with (
            AsyncClient(base_url, name=NAME, password=PASSWORD, trust_env=False) as client,
            open_stream(client, heartbeat_sleep=OneBeat()) as stream,
        ):
            return [await anext(stream) for _ in range(count)]

    return asyncio.run(run())


def call(
    driver: str, base_url: str, method: Callable[..., Any], settings: ClientSettings | None = None
) -> Any:
    """`method(client)` with the driver's client (awaited for `AsyncClient`)."""
    login: dict[str, Any] = {"name": NAME, "password": PASSWORD, "trust_env": False, "settings": settings}
    if driver == "sync":
        with Client(base_url, **login) as client:
            return method(client)

    async def run() -> Any:
        async with AsyncClient(base_url, **login) as client:
            answer = method(client)
            return await answer if inspect.isawaitable(answer) else answer

    return asyncio.run(run())


# -- subscriptions --


@pytest.mark.parametrize("driver", DRIVERS)
def test_subscribe_quote_when_quotes_arrive_then_typed_quotes_then_unsubscribed_on_leaving(
    fake: tuple[FakeMarketData, str], driver: str
) -> None:
    server, base_url = fake

    quotes = take(driver, base_url, lambda c, **beat: c.subscribe_quote(SYMBOL, **beat), 2)

    assert quotes == [QUOTE, QUOTE_LATER]  # the second came only after the client's heartbeat
    assert server.left.wait(GUARD)
    assert server.received[0] == f"authorize\n0\n\n{TOKEN}"
    assert "[]" in server.received
    assert requests(server) == [
        ("md/subscribeQuote", {"symbol": SYMBOL}),
        ("md/unsubscribeQuote", {"symbol": SYMBOL}),
    ]


@pytest.mark.parametrize("driver", DRIVERS)
def test_subscribe_dom_when_book_arrives_then_typed_dom_best_first_then_unsubscribed_on_leaving(
    fake: tuple[FakeMarketData, str], driver: str
) -> None:
    server, base_url = fake

    doms = take(driver, base_url, lambda c, **beat: c.subscribe_dom(CONTRACT_ID, **beat), 1)

    assert doms == [DOM]
    assert server.left.wait(GUARD)
    assert requests(server) == [
        ("md/subscribeDOM", {"symbol": CONTRACT_ID}),
        ("md/unsubscribeDOM", {"symbol": CONTRACT_ID}),
    ]


@pytest.mark.parametrize("driver", DRIVERS)
def test_subscribe_histogram_when_histogram_arrives_then_typed_with_integer_offsets(
    fake: tuple[FakeMarketData, str], driver: str
) -> None:
    server, base_url = fake

    histograms = take(driver, base_url, lambda c, **beat: c.subscribe_histogram(SYMBOL, **beat), 1)

    assert histograms == [HISTOGRAM]
    assert server.left.wait(GUARD)
    assert [endpoint for endpoint, _body in requests(server)] == [
        "md/subscribeHistogram",
        "md/unsubscribeHistogram",
    ]


@pytest.mark.parametrize("driver", DRIVERS)
def test_subscribe_quote_when_symbol_unknown_then_unknown_symbol_error_naming_it_and_no_unsubscribe(
    fake: tuple[FakeMarketData, str], driver: str
) -> None:
    server, base_url = fake

    with pytest.raises(UnknownSymbolError) as caught:
        take(driver, base_url, lambda c, **beat: c.subscribe_quote(UNKNOWN, **beat), 1)

    error = caught.value
    assert UNKNOWN in str(error)
    assert (error.symbol, error.error_code, error.error_text, error.mode) == (
        UNKNOWN,
        "UnknownSymbol",
        "Symbol is inaccessible",
        "None",
    )
    assert error.endpoint == "md/subscribeQuote"
    assert server.left.wait(GUARD)
    assert requests(server) == [("md/subscribeQuote", {"symbol": UNKNOWN})]


# -- charts --


@pytest.mark.parametrize("driver", DRIVERS)
def test_get_chart_when_history_ends_then_bars_oldest_first_once_each_and_chart_cancelled(
    fake: tuple[FakeMarketData, str], driver: str
) -> None:
    server, base_url = fake

    bars = call(driver, base_url, lambda c: c.get_chart(SYMBOL, elements=2))

    assert bars == [bar(0, 6000.5, 7), bar(1, 6001.5, 12)]  # the bar sent twice: its last version
    assert server.left.wait(GUARD)
    assert requests(server) == [
        (
            "md/getChart",
            {
                "symbol": SYMBOL,
                "chartDescription": {
                    "underlyingType": "MinuteBar",
                    "elementSize": 1,
                    "elementSizeUnit": "UnderlyingUnits",
                    "withHistogram": False,
                },
                "timeRange": {"asMuchAsElements": 2},
            },
        ),
        ("md/cancelChart", {"subscriptionId": REALTIME_ID}),
    ]


@pytest.mark.parametrize("driver", DRIVERS)
def test_stream_chart_when_history_then_live_then_history_one_end_marker_and_live_bars(
    fake: tuple[FakeMarketData, str], driver: str
) -> None:
    server, base_url = fake
    since = T0 - timedelta(hours=1)

    def open_chart(client: Any, **beat: Any) -> Any:
        return client.stream_chart(SYMBOL, "DailyBar", size=2, since=since, until=T0, **beat)

    items = take(driver, base_url, open_chart, 5)

    assert items == [
        bar(1, 6001.0, 10),  # held until the answer gave the chart's ids
        bar(0, 6000.5, 7),
        bar(1, 6001.5, 12),
        EndOfHistory(),
        bar(2, 6002.0, 3),  # live, after the heartbeat; the other chart's bar was left out
    ]
    assert server.left.wait(GUARD)
    (_get, body), cancel = requests(server)
    assert body["chartDescription"]["underlyingType"] == "DailyBar"
    assert body["chartDescription"]["elementSize"] == 2
    assert body["timeRange"] == {
        "asFarAsTimestamp": "2026-12-06T13:00:00.000Z",
        "closestTimestamp": "2026-12-06T14:00:00.000Z",
    }
    assert cancel == ("md/cancelChart", {"subscriptionId": REALTIME_ID})


@pytest.mark.parametrize("driver", DRIVERS)
def test_get_ticks_when_tick_chart_then_decoded_ticks_oldest_first(
    fake: tuple[FakeMarketData, str], driver: str
) -> None:
    server, base_url = fake

    ticks = call(driver, base_url, lambda c: c.get_ticks(SYMBOL, elements=100))

    assert ticks == [TICK_1, TICK_2]
    assert server.left.wait(GUARD)
    (_get, body), cancel = requests(server)
    assert body["chartDescription"]["underlyingType"] == "Tick"
    assert cancel == ("md/cancelChart", {"subscriptionId": REALTIME_ID})


@pytest.mark.parametrize("driver", DRIVERS)
def test_stream_ticks_when_history_then_live_then_ticks_end_marker_then_live_tick(
    fake: tuple[FakeMarketData, str], driver: str
) -> None:
    _server, base_url = fake

    items = take(driver, base_url, lambda c, **beat: c.stream_ticks(SYMBOL, elements=10, **beat), 4)

    assert items == [TICK_2, TICK_1, EndOfHistory(), LIVE_TICK]


@pytest.mark.parametrize("driver", DRIVERS)
def test_get_chart_when_symbol_unknown_then_unknown_symbol_error_and_no_cancel(
    fake: tuple[FakeMarketData, str], driver: str
) -> None:
    server, base_url = fake

    with pytest.raises(UnknownSymbolError) as caught:
        call(driver, base_url, lambda c: c.get_chart(UNKNOWN, elements=5))

    assert caught.value.symbol == UNKNOWN
    assert caught.value.endpoint == "md/getChart"
    assert server.left.wait(GUARD)
    assert [endpoint for endpoint, _body in requests(server)] == ["md/getChart"]


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("method", ["get_chart", "get_ticks"])
def test_get_chart_when_history_never_ends_then_timeout_error_after_the_client_timeout_and_cancelled(
    fake: tuple[FakeMarketData, str], driver: str, method: str
) -> None:
    server, base_url = fake

    with pytest.raises(TimeoutError):
        call(driver, base_url, lambda c: getattr(c, method)(SILENT, elements=5), ClientSettings(timeout=0.3))

    assert server.left.wait(GUARD)
    assert requests(server)[-1] == ("md/cancelChart", {"subscriptionId": REALTIME_ID})


# -- without I/O: requests, decoding, refusals, URLs --


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
@pytest.mark.parametrize(
    ("call_it", "message"),
    [
        (lambda c: c.stream_chart(SYMBOL), "give elements, since or until"),
        (lambda c: c.stream_chart(SYMBOL, elements=0), "elements must be an integer from 1"),
        (lambda c: c.stream_chart(SYMBOL, "Tick", elements=5), "use stream_ticks"),
        (lambda c: c.stream_chart(SYMBOL, "Renko", elements=5), "kind must be one of"),
        (lambda c: c.stream_chart(SYMBOL, size=0, elements=5), "size must be an integer"),
        (lambda c: c.stream_chart(SYMBOL, since=T0, until=T0 - timedelta(1)), "since must not be after"),
        (lambda c: c.subscribe_quote(""), "1 to 64 characters"),
        (lambda c: c.subscribe_dom(-3), "positive 64-bit integer"),
        (lambda c: c.subscribe_histogram(True), "contract name or id"),
    ],
)
def test_market_data_request_when_arguments_invalid_then_value_error_before_connecting(
    client_class: type[Client | AsyncClient], call_it: Callable[[Any], Any], message: str
) -> None:
    client = client_class("http://127.0.0.1:9", name=NAME, password=PASSWORD)

    with pytest.raises(ValueError, match=message):
        call_it(client)


def test_chart_request_when_naive_time_then_taken_as_utc() -> None:
    body = chart_request(CONTRACT_ID, "MinuteBar", until=datetime(2026, 12, 6, 9, 30))

    assert body["timeRange"] == {"closestTimestamp": "2026-12-06T09:30:00.000Z"}
    assert body["symbol"] == CONTRACT_ID


def test_decode_ticks_when_tick_size_is_a_cent_then_prices_exact_to_the_cent() -> None:
    packet = {"bp": 7, "bt": BASE_TIME, "ts": 0.01, "tks": [{"t": 5, "p": 3, "s": 2}]}

    (tick,) = decode_ticks(packet)

    assert tick.price == 0.1  # (7 + 3) * 0.01, not 0.09999999999999999
    assert tick.timestamp == T0 + timedelta(milliseconds=5)
    assert (tick.bid, tick.ask, tick.id) == (None, None, None)


@pytest.mark.parametrize(
    "bad",
    [
        {**QUOTE_WIRE, "contractId": "ES"},
        {**QUOTE_WIRE, "timestamp": 17},
        {**QUOTE_WIRE, "entries": {"Bid": {"price": "6000", "size": 1}}},
        {**QUOTE_WIRE, "entries": {"Bid": {"price": 6000.0, "size": 1.5}}},
    ],
)
def test_decode_quote_when_fields_malformed_then_stream_error(bad: dict[str, Any]) -> None:
    with pytest.raises(StreamError, match="market data"):
        decode_quote(bad)


def test_check_answer_when_refused_with_a_status_and_string_then_market_data_error_not_unknown_symbol() -> (
    None
):
    with pytest.raises(MarketDataError) as caught:
        check_answer("md/subscribeDOM", SYMBOL, 404, "Not found")

    assert not isinstance(caught.value, UnknownSymbolError)
    assert (caught.value.status, caught.value.error_text) == (404, "Not found")
    assert "has no market data" in str(caught.value)


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
def test_market_data_url_when_derived_then_tradovates_md_host_or_the_same_socket(
    client_class: type[Client | AsyncClient],
) -> None:
    assert client_class("demo").market_data_url == MD_URL == "wss://md.tradovateapi.com/v1/websocket"
    assert client_class("live").market_data_url == MD_URL
    assert client_class("http://127.0.0.1:9000").market_data_url == "ws://127.0.0.1:9000/v1/websocket"
    assert client_class("local", websocket_url="ws://proxy/ws").market_data_url == "ws://proxy/ws"
    assert client_class("demo", market_data_url="ws://md/ws").market_data_url == "ws://md/ws"


def test_check_answer_when_penalty_ticket_then_penalty_ticket_error_not_waited_out() -> None:
    with pytest.raises(PenaltyTicketError) as caught:
        check_answer("md/subscribeQuote", SYMBOL, 200, {"p-ticket": "tk", "p-time": 5, "p-captcha": False})

    assert (caught.value.ticket, caught.value.p_time, caught.value.captcha) == ("tk", 5.0, False)


def test_check_answer_when_accepted_then_body_or_empty_object() -> None:
    assert check_answer("md/getChart", SYMBOL, 200, {"historicalId": 32, "realtimeId": 31}) == {
        "historicalId": 32,
        "realtimeId": 31,
    }
    assert check_answer("md/subscribeQuote", SYMBOL, 200, None) == {}
