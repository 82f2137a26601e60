"""`md/*` on `/v1/websocket`: quotes, DOM, histograms and charts from the sandbox's prices, in process
(Litestar's test client, on SQLite and PostgreSQL). Frames are checked against what the official
examples read (`QUOTE_KEYS`, `BAR_FIELDS`, `TICK_FIELDS` below)."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from weakref import WeakKeyDictionary

from litestar.testing import TestClient

from autoliq.api.app import create_app
from autoliq.bootstrap import bootstrap
from autoliq.config import Settings
from autoliq.domain.events import Event, PricesChanged
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, TRADER_PW, World, bearer, login, make_settings, worker_settings
from tests.e2e.test_websocket import Socket, open_socket, token_of
from tests.helpers import BAR_FIELDS, QUOTE_KEYS, market_order

PRICES = "/_autoliq/prices"
MD_ENDPOINTS = [
    "md/subscribeQuote",
    "md/unsubscribeQuote",
    "md/subscribeDOM",
    "md/unsubscribeDOM",
    "md/subscribeHistogram",
    "md/unsubscribeHistogram",
    "md/getChart",
    "md/cancelChart",
]
DEFAULT_PAUSE_MS = next(f.default for f in dataclasses.fields(Settings) if f.name == "md_first_data_delay_ms")
UNKNOWN = {"errorCode": "UnknownSymbol", "errorText": "Symbol is inaccessible", "mode": "None"}

# -- what the official clients read (MARKET-DATA.md §5) --
TICK_FIELDS = {"t", "p", "s", "id"}


def check_quote(quote: dict[str, Any], contract_id: int) -> dict[str, dict[str, Any]]:
    assert quote["contractId"] == contract_id
    datetime.fromisoformat(quote["timestamp"])
    entries: dict[str, dict[str, Any]] = quote["entries"]
    assert set(entries) == QUOTE_KEYS
    for key, entry in entries.items():
        assert entry and set(entry) <= {"price", "size"}, key
        assert all(isinstance(v, int | float) for v in entry.values()), key
        if "size" in entry:
            assert isinstance(entry["size"], int), key
    return entries


def check_dom(dom: dict[str, Any], contract_id: int) -> None:
    assert dom["contractId"] == contract_id and isinstance(dom["timestamp"], str)
    bids, offers = [b["price"] for b in dom["bids"]], [o["price"] for o in dom["offers"]]
    assert bids == sorted(bids, reverse=True) and offers == sorted(offers)
    assert all(isinstance(x["size"], int) for x in dom["bids"] + dom["offers"])


def check_bar_packet(packet: dict[str, Any], chart_id: int) -> list[dict[str, Any]]:
    assert packet["id"] == chart_id and isinstance(packet["td"], int) and 20000101 < packet["td"] < 21000101
    bars: list[dict[str, Any]] = packet["bars"]
    for bar in bars:
        assert set(bar) == BAR_FIELDS
        for name in BAR_FIELDS - {"timestamp", "open", "high", "low", "close"}:
            assert isinstance(bar[name], int), name
    return bars


def check_tick_packet(packet: dict[str, Any], chart_id: int) -> list[dict[str, Any]]:
    assert packet["id"] == chart_id and packet["s"] == "db" and packet["ts"] > 0
    assert isinstance(packet["bp"], int) and isinstance(packet["bt"], int) and isinstance(packet["td"], int)
    ticks: list[dict[str, Any]] = packet["tks"]
    for tick in ticks:
        assert set(tick) >= TICK_FIELDS
    return ticks


def tick_prices(packet: dict[str, Any]) -> list[float]:
    return [(packet["bp"] + t["p"]) * packet["ts"] for t in packet["tks"]]


# -- helpers --


def set_prices(client: TestClient[Any], admin: dict[str, str], **prices: float) -> None:
    body = {"prices": [{"symbol": s, "price": p} for s, p in prices.items()]}
    r = client.post(PRICES, json=body, headers=admin)
    assert r.status_code == 200, r.text


def contract_id(client: TestClient[Any], headers: dict[str, str], name: str = "ESZ6") -> int:
    r = client.get(f"/v1/contract/find?name={name}", headers=headers)
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


_PENDING: WeakKeyDictionary[Socket, list[dict[str, Any]]] = WeakKeyDictionary()
"""Messages read but not yet taken, per socket (the sender joins queued `a[...]` frames into one)."""


def _next(ws: Socket) -> dict[str, Any]:
    pending = _PENDING.setdefault(ws, [])
    while not pending:
        pending.extend(ws.messages())
    return pending.pop(0)


def ask(ws: Socket, endpoint: str, request_id: int, body: Any) -> dict[str, Any]:
    """Send a request; its answer (the events read on the way stay pending for `events`)."""
    text = body if isinstance(body, str) else json.dumps(body)
    ws.request(endpoint, request_id, body=text)
    skipped: list[dict[str, Any]] = []
    while True:
        message = _next(ws)
        if message.get("i") == request_id:
            _PENDING[ws][:0] = skipped
            return message
        skipped.append(message)


def events(ws: Socket, count: int) -> list[dict[str, Any]]:
    """The next `count` md/chart event messages (answers skipped)."""
    found: list[dict[str, Any]] = []
    while len(found) < count:
        message = _next(ws)
        if message.get("e") in ("md", "chart"):
            found.append(message)
    return found


def kind_of(message: dict[str, Any]) -> str:
    d = message["d"]
    if message["e"] == "chart":
        return "eoh" if d["charts"][0].get("eoh") else "chart"
    return next(iter(d))


def until_price(ws: Socket, price: float, kinds: set[str]) -> list[dict[str, Any]]:
    """Event messages until one of each of `kinds` showed `price` (quotes, doms, charts)."""
    seen: list[dict[str, Any]] = []
    waiting = set(kinds)
    while waiting:
        for message in events(ws, 1):
            seen.append(message)
            kind = kind_of(message)
            if kind in waiting and price in prices_in(message):
                waiting.discard(kind)
    return seen


def prices_in(message: dict[str, Any]) -> set[float]:
    d = message["d"]
    found: set[float] = set()
    for quote in d.get("quotes", []):
        found.add(quote["entries"]["Trade"]["price"])
    for dom in d.get("doms", []):
        if dom["bids"]:
            found.add(round(dom["bids"][0]["price"] + 0.25, 2))
    for packet in d.get("charts", []):
        for bar in packet.get("bars", []):
            found.add(bar["close"])
        if "tks" in packet:
            found.update(round(p, 2) for p in tick_prices(packet))
    return found


def chart_body(underlying: str = "MinuteBar", size: int = 1, **time_range: Any) -> dict[str, Any]:
    return {
        "symbol": "ESZ6",
        "chartDescription": {
            "underlyingType": underlying,
            "elementSize": size,
            "elementSizeUnit": "UnderlyingUnits",
            "withHistogram": False,
        },
        "timeRange": time_range or {"asMuchAsElements": 100},
    }


# -- tests --


def test_md_requests_when_sent_then_the_socket_answers_them_where_rest_has_no_route(
    client: TestClient[Any], admin_headers: dict[str, str], trader_headers: dict[str, str]
) -> None:
    # Arrange: before this part, the socket ran md/* through the REST app, which has no such route.
    assert (
        client.post("/v1/md/subscribeQuote", json={"symbol": "ESZ6"}, headers=trader_headers).status_code
        == 404
    )
    set_prices(client, admin_headers, ESZ6=5000)
    bodies = {"md/getChart": chart_body(), "md/cancelChart": {"subscriptionId": 1}}
    with open_socket(client, token_of(trader_headers)) as ws:
        for i, endpoint in enumerate(MD_ENDPOINTS, start=1):
            # Act
            found = ask(ws, endpoint, i, bodies.get(endpoint, {"symbol": "ESZ6"}))
            # Assert
            assert found["s"] == 200, (endpoint, found)
            assert isinstance(found["d"], dict), (endpoint, found)
        assert set(ask(ws, "md/getChart", 99, chart_body())["d"]) == {"historicalId", "realtimeId"}


def test_subscribe_quote_when_price_set_then_answer_then_current_quote_with_all_nine_entries(
    client: TestClient[Any], admin_headers: dict[str, str], trader_headers: dict[str, str], clock: ManualClock
) -> None:
    # Arrange: yesterday's last 4990, today 5000 then 5010 then 5005; the trader bought 3
    now = clock.now()
    clock.set(now - timedelta(days=1))
    set_prices(client, admin_headers, ESZ6=4990)
    clock.set(now)
    set_prices(client, admin_headers, ESZ6=5000)
    set_prices(client, admin_headers, ESZ6=5010)
    set_prices(client, admin_headers, ESZ6=5005)
    accounts = client.get("/v1/account/list", headers=trader_headers).json()
    market_order(client, trader_headers, accounts[0]["id"], "Buy", 3)
    es = contract_id(client, trader_headers)
    with open_socket(client, token_of(trader_headers)) as ws:
        # Act
        ws.request("md/subscribeQuote", 1, body='{"symbol":"ESZ6"}')
        first, second = _next(ws), _next(ws)
    # Assert
    assert first == {"s": 200, "i": 1, "d": {}}
    assert second["e"] == "md"
    entries = check_quote(second["d"]["quotes"][0], es)
    assert entries["Trade"]["price"] == 5005 and entries["Bid"]["price"] == 5004.75
    assert entries["Offer"]["price"] == 5005.25
    assert entries["OpeningPrice"] == {"price": 5000} and entries["HighPrice"] == {"price": 5010}
    assert entries["LowPrice"] == {"price": 5000} and entries["SettlementPrice"] == {"price": 4990}
    assert entries["TotalTradeVolume"] == {"size": 3} and entries["OpenInterest"] == {"size": 2}


def test_subscribe_when_no_price_ever_set_then_answer_and_no_quote_until_the_first_price(
    client: TestClient[Any], admin_headers: dict[str, str], trader_headers: dict[str, str]
) -> None:
    es = contract_id(client, trader_headers)
    with open_socket(client, token_of(trader_headers)) as ws:
        assert ask(ws, "md/subscribeQuote", 1, {"symbol": "ESZ6"}) == {"s": 200, "i": 1, "d": {}}
        set_prices(client, admin_headers, ESZ6=5000)
        [message] = events(ws, 1)
    entries = check_quote(message["d"]["quotes"][0], es)
    assert (
        entries["Trade"]["price"]
        == entries["OpeningPrice"]["price"]
        == entries["SettlementPrice"]["price"]
        == 5000
    )


def test_price_change_when_quote_dom_and_charts_subscribed_then_each_gets_it_exactly_once(
    client: TestClient[Any], admin_headers: dict[str, str], trader_headers: dict[str, str], clock: ManualClock
) -> None:
    # Arrange
    set_prices(client, admin_headers, ESZ6=5000)
    es = contract_id(client, trader_headers)
    with open_socket(client, token_of(trader_headers)) as ws:
        ask(ws, "md/subscribeQuote", 1, {"symbol": "ESZ6"})
        ask(ws, "md/subscribeDOM", 2, {"symbol": str(es)})
        bars = ask(ws, "md/getChart", 3, chart_body())["d"]
        ticks = ask(ws, "md/getChart", 4, chart_body("Tick"))["d"]
        assert [kind_of(m) for m in events(ws, 6)] == ["quotes", "doms", "chart", "eoh", "chart", "eoh"]
        # Act: two changes, each waited for
        phases = []
        for price in (5001.25, 5002.5):
            clock.advance(1)
            set_prices(client, admin_headers, ESZ6=price)
            phases.append(until_each(ws, price, bars["realtimeId"], ticks["realtimeId"]))
    # Assert: each change reached the quote, the DOM and both charts once, and nothing else came
    for phase in phases:
        assert sorted(key for key, _ in phase) == ["bars", "doms", "quotes", "ticks"]
        for key, message in phase:
            if key == "quotes":
                check_quote(message["d"]["quotes"][0], es)
            elif key == "doms":
                check_dom(message["d"]["doms"][0], es)
            elif key == "bars":
                check_bar_packet(message["d"]["charts"][0], bars["realtimeId"])
            else:
                check_tick_packet(message["d"]["charts"][0], ticks["realtimeId"])


def until_each(ws: Socket, price: float, bars_id: int, ticks_id: int) -> list[tuple[str, dict[str, Any]]]:
    """(kind, message) of the event messages until the quote, the DOM, the bar chart and the tick
    chart each showed `price`."""
    seen: list[tuple[str, dict[str, Any]]] = []
    waiting = {"quotes", "doms", "bars", "ticks"}
    while waiting:
        [message] = events(ws, 1)
        kind = kind_of(message)
        if kind == "chart":
            kind = "bars" if message["d"]["charts"][0]["id"] == bars_id else "ticks"
            assert message["d"]["charts"][0]["id"] in (bars_id, ticks_id)
        seen.append((kind, message))
        if price in prices_in(message):
            waiting.discard(kind)
    return seen


def test_unsubscribe_when_price_changes_after_then_no_more_quotes(
    client: TestClient[Any], admin_headers: dict[str, str], trader_headers: dict[str, str]
) -> None:
    set_prices(client, admin_headers, ESZ6=5000)
    with open_socket(client, token_of(trader_headers)) as ws:
        ask(ws, "md/subscribeQuote", 1, {"symbol": "ESZ6"})
        ask(ws, "md/subscribeHistogram", 2, {"symbol": "ESZ6"})
        assert [kind_of(m) for m in events(ws, 2)] == ["quotes", "histograms"]
        # Act
        assert ask(ws, "md/unsubscribeQuote", 3, {"symbol": "ESZ6"}) == {"s": 200, "i": 3, "d": {}}
        set_prices(client, admin_headers, ESZ6=5001)
        [message] = events(ws, 1)
    # Assert: the histogram (sent after the quote, were there one) is all that came
    assert kind_of(message) == "histograms"
    histogram = message["d"]["histograms"][0]
    assert histogram["base"] == 5001 and histogram["refresh"] is True
    assert histogram["tradeDate"] == {"year": 2026, "month": 11, "day": 24}


def test_histogram_when_fills_today_then_volume_per_tick_offset_from_the_last_price(
    client: TestClient[Any], admin_headers: dict[str, str], trader_headers: dict[str, str]
) -> None:
    account = client.get("/v1/account/list", headers=trader_headers).json()[0]["id"]
    set_prices(client, admin_headers, ESZ6=5000)
    market_order(client, trader_headers, account, "Buy", 2)
    set_prices(client, admin_headers, ESZ6=5001)
    market_order(client, trader_headers, account, "Sell", 1)
    with open_socket(client, token_of(trader_headers)) as ws:
        ask(ws, "md/subscribeHistogram", 1, {"symbol": "ESZ6"})
        [message] = events(ws, 1)
    assert message["d"]["histograms"][0]["items"] == {"-4": 2, "0": 1}


def test_cancel_chart_when_named_by_either_id_then_that_chart_stops(
    client: TestClient[Any], admin_headers: dict[str, str], trader_headers: dict[str, str], clock: ManualClock
) -> None:
    set_prices(client, admin_headers, ESZ6=5000)
    with open_socket(client, token_of(trader_headers)) as ws:
        one = ask(ws, "md/getChart", 1, chart_body())["d"]
        two = ask(ws, "md/getChart", 2, chart_body("Tick"))["d"]
        events(ws, 4)
        # Act
        assert ask(ws, "md/cancelChart", 3, {"subscriptionId": one["realtimeId"]})["d"] == {}
        assert ask(ws, "md/cancelChart", 4, {"subscriptionId": two["historicalId"]})["d"] == {}
        ask(ws, "md/subscribeDOM", 5, {"symbol": "ESZ6"})
        events(ws, 1)
        clock.advance(1)
        set_prices(client, admin_headers, ESZ6=5001)
        clock.advance(1)
        set_prices(client, admin_headers, ESZ6=5002)
        heard = events(ws, 2)
    # Assert: only the DOM heard them (a live chart's packets would follow the first DOM)
    assert [(kind_of(m), max(prices_in(m))) for m in heard] == [("doms", 5001), ("doms", 5002)]


def test_symbols_when_name_id_numeric_string_or_continuous_then_same_contract(
    client: TestClient[Any], admin_headers: dict[str, str], trader_headers: dict[str, str]
) -> None:
    set_prices(client, admin_headers, ESZ6=5000)
    es = contract_id(client, trader_headers)
    found = []
    for i, symbol in enumerate(["ESZ6", es, str(es), "@ES"], start=1):
        with open_socket(client, token_of(trader_headers)) as ws:
            ask(ws, "md/subscribeQuote", i, {"symbol": symbol})
            found.append(events(ws, 1)[0]["d"]["quotes"][0]["contractId"])
    assert found == [es, es, es, es]


def test_unknown_symbol_when_subscribed_or_charted_then_unknown_symbol_error_object(
    client: TestClient[Any], trader_headers: dict[str, str]
) -> None:
    with open_socket(client, token_of(trader_headers)) as ws:
        for i, body in enumerate([{"symbol": "XXZ9"}, {"symbol": 1}, {"symbol": "@ZZ"}, {"symbol": "99"}], 1):
            assert ask(ws, "md/subscribeQuote", i, body) == {"s": 200, "i": i, "d": UNKNOWN}
        chart = chart_body() | {"symbol": "ESZ0"}
        assert ask(ws, "md/getChart", 9, chart)["d"] == UNKNOWN


def test_md_requests_when_body_is_bad_then_400_naming_the_field(
    client: TestClient[Any], trader_headers: dict[str, str]
) -> None:
    cases: list[tuple[str, Any, str]] = [
        ("md/subscribeQuote", "", "body"),
        ("md/subscribeQuote", "not json", "body: is not valid JSON"),
        ("md/subscribeDOM", {}, "symbol"),
        ("md/subscribeDOM", {"symbol": ["ESZ6"]}, "symbol"),
        ("md/subscribeHistogram", {"symbol": "E" * 65}, "symbol"),
        ("md/subscribeQuote", {"symbol": 2**64}, "symbol"),
        ("md/getChart", chart_body("Custom"), "chartDescription.underlyingType"),
        ("md/getChart", chart_body("Tick", 5), "chartDescription.elementSize"),
        ("md/getChart", chart_body("MinuteBar", 0), "chartDescription.elementSize"),
        ("md/getChart", chart_body() | {"timeRange": {"asFarAsTimeStamp": "2026-11-24T00:00Z"}}, "timeRange"),
        ("md/getChart", chart_body(asMuchAsElements=0), "timeRange.asMuchAsElements"),
        ("md/getChart", chart_body(closestTimestamp="yesterday"), "timeRange.closestTimestamp"),
        ("md/getChart", {"symbol": "ESZ6"}, "chartDescription"),
        ("md/cancelChart", {"realtimeId": 1}, "subscriptionId"),
        ("md/cancelChart", {"subscriptionId": "1"}, "subscriptionId"),
    ]
    with open_socket(client, token_of(trader_headers)) as ws:
        for i, (endpoint, body, field) in enumerate(cases, start=1):
            found = ask(ws, endpoint, i, body)
            assert found["s"] == 400 and field in found["d"], (endpoint, body, found)


def test_subscriptions_when_past_the_socket_limit_then_400_and_the_others_kept(
    world: World, clock: ManualClock
) -> None:
    services = bootstrap(
        make_settings(world.database_url, md_max_subscriptions=2), clock=clock, run_migrations=False
    )
    with TestClient(app=create_app(services)) as client:
        token = login(client, "trader", TRADER_PW)
        with open_socket(client, token) as ws:
            assert ask(ws, "md/subscribeQuote", 1, {"symbol": "ESZ6"})["s"] == 200
            assert ask(ws, "md/subscribeQuote", 2, {"symbol": "ESZ6"})["s"] == 200  # the same one again
            assert ask(ws, "md/subscribeDOM", 3, {"symbol": "ESZ6"})["s"] == 200
            refused = ask(ws, "md/getChart", 4, chart_body())
            assert refused["s"] == 400 and "at most 2" in refused["d"]
            assert ask(ws, "md/subscribeHistogram", 5, {"symbol": "NQZ6"})["s"] == 400
            ask(ws, "md/unsubscribeDOM", 6, {"symbol": "ESZ6"})
            assert ask(ws, "md/subscribeHistogram", 7, {"symbol": "NQZ6"})["s"] == 200


def test_get_chart_when_history_then_answer_bars_oldest_first_then_eoh_all_tagged_realtime(
    client: TestClient[Any], admin_headers: dict[str, str], trader_headers: dict[str, str], clock: ManualClock
) -> None:
    # Arrange: minute 15:00: 5000, 5002, 4999; minute 15:01: 5001; minute 15:03: 5003
    for seconds, price in [(0, 5000), (10, 5002), (20, 4999), (60, 5001), (180, 5003)]:
        clock.set(datetime(2026, 11, 24, 15, 0, tzinfo=UTC) + timedelta(seconds=seconds))
        set_prices(client, admin_headers, ESZ6=price)
    with open_socket(client, token_of(trader_headers)) as ws:
        # Act
        ids = ask(ws, "md/getChart", 1, chart_body(asMuchAsElements=10))["d"]
        history, eoh = events(ws, 2)
        # Assert
        bars = check_bar_packet(history["d"]["charts"][0], ids["realtimeId"])
        assert history["d"]["charts"][0]["td"] == 20261124
        assert [(b["timestamp"], b["open"], b["high"], b["low"], b["close"]) for b in bars] == [
            ("2026-11-24T15:00:00.000Z", 5000, 5002, 4999, 4999),
            ("2026-11-24T15:01:00.000Z", 5001, 5001, 5001, 5001),
            ("2026-11-24T15:03:00.000Z", 5003, 5003, 5003, 5003),
        ]
        assert (bars[0]["upTicks"], bars[0]["downTicks"], bars[1]["upTicks"]) == (1, 1, 1)
        assert eoh["d"] == {"charts": [{"id": ids["realtimeId"], "eoh": True}]}
        # Paging back: the two bars before 15:03
        ask(ws, "md/getChart", 2, chart_body(asMuchAsElements=2, closestTimestamp="2026-11-24T15:02Z"))
        page_packet, _eoh = events(ws, 2)
        page = page_packet["d"]["charts"][0]["bars"]
        assert [b["timestamp"][11:16] for b in page] == ["15:00", "15:01"]
        ask(ws, "md/getChart", 3, chart_body(asMuchAsElements=1))
        newest, _eoh = events(ws, 2)
        assert [b["timestamp"][11:16] for b in newest["d"]["charts"][0]["bars"]] == ["15:03"]
        # Ticks, by id bound
        ticks = ask(ws, "md/getChart", 4, chart_body("Tick", asMuchAsElements=3))["d"]
        packet = events(ws, 1)[0]["d"]["charts"][0]
        check_tick_packet(packet, ticks["realtimeId"])
        assert [round(p, 2) for p in tick_prices(packet)] == [4999, 5001, 5003]
        assert packet["bt"] + packet["tks"][-1]["t"] == int(clock.now().timestamp() * 1000)


def test_get_chart_when_daily_bars_then_one_per_trade_date_with_fill_volumes(
    client: TestClient[Any], admin_headers: dict[str, str], trader_headers: dict[str, str], clock: ManualClock
) -> None:
    account = client.get("/v1/account/list", headers=trader_headers).json()[0]["id"]
    now = clock.now()
    clock.set(now - timedelta(days=1))
    set_prices(client, admin_headers, ESZ6=5000)
    market_order(client, trader_headers, account, "Buy", 2)
    clock.set(now)
    set_prices(client, admin_headers, ESZ6=5010)
    market_order(client, trader_headers, account, "Sell", 1)
    with open_socket(client, token_of(trader_headers)) as ws:
        ids = ask(ws, "md/getChart", 1, chart_body("DailyBar", asFarAsTimestamp="2026-11-01T00:00Z"))["d"]
        packets = events(ws, 1)[0]["d"]["charts"]
    assert [p["td"] for p in packets] == [20261123, 20261124]
    first, second = (check_bar_packet(p, ids["realtimeId"])[0] for p in packets)
    assert (first["offerVolume"], first["upVolume"], first["bidVolume"]) == (2, 2, 0)
    assert (second["bidVolume"], second["downVolume"], second["close"]) == (1, 1, 5010)


def test_get_chart_when_server_restarted_then_bars_come_from_the_stored_history(
    world: World, clock: ManualClock
) -> None:
    first = bootstrap(make_settings(world.database_url), clock=clock, run_migrations=False)
    with TestClient(app=create_app(first)) as client:
        admin = bearer(login(client, "admin", ADMIN_PW))
        set_prices(client, admin, ESZ6=5000)
        clock.advance(60)
        set_prices(client, admin, ESZ6=5001)
    # Act: a new process over the same database
    second = bootstrap(make_settings(world.database_url), clock=clock, run_migrations=False)
    with (
        TestClient(app=create_app(second)) as client,
        open_socket(client, login(client, "trader", TRADER_PW)) as ws,
    ):
        ids = ask(ws, "md/getChart", 1, chart_body())["d"]
        packet = events(ws, 1)[0]["d"]["charts"][0]
    assert [b["close"] for b in check_bar_packet(packet, ids["realtimeId"])] == [5000, 5001]


def test_sandbox_reset_when_dom_subscribed_then_empty_book(
    client: TestClient[Any], admin_headers: dict[str, str], trader_headers: dict[str, str]
) -> None:
    set_prices(client, admin_headers, ESZ6=5000)
    with open_socket(client, token_of(trader_headers)) as ws:
        ask(ws, "md/subscribeDOM", 1, {"symbol": "ESZ6"})
        assert events(ws, 1)[0]["d"]["doms"][0]["bids"]
        # Act: the operator resets the whole server (prices and their history go)
        r = client.post("/_autoliq/reset", headers=admin_headers)
        assert r.status_code == 200, r.text
        [message] = events(ws, 1)
    dom = message["d"]["doms"][0]
    assert dom["bids"] == [] and dom["offers"] == []


def test_price_change_when_set_through_another_worker_then_its_subscribers_hear_it_once(
    world: World, clock: ManualClock
) -> None:
    # Arrange: two apps over one database, as two workers (each with its own publisher and relay)
    writer = bootstrap(worker_settings(world.database_url), clock=clock, run_migrations=False)
    reader = bootstrap(worker_settings(world.database_url), clock=clock, run_migrations=False)
    with TestClient(app=create_app(writer)) as one, TestClient(app=create_app(reader)) as other:
        admin = bearer(login(one, "admin", ADMIN_PW))
        # The other worker's relay delivers the first change on its own time: subscribing before
        # it arrived would hear 5000 twice (the subscription's snapshot, then the change itself).
        # Listened for before it is set: the relay may deliver it before `set_prices` returns.
        heard: list[Event] = []
        reader.publisher.add_listener(
            lambda events: heard.extend(e for e in events if isinstance(e, PricesChanged))
        )
        set_prices(one, admin, ESZ6=5000)
        deadline = time.monotonic() + 10
        while not heard:
            assert time.monotonic() < deadline, "the other worker never heard the first price"
            time.sleep(0.02)
        with open_socket(other, login(other, "trader", TRADER_PW)) as ws:
            ask(ws, "md/subscribeQuote", 1, {"symbol": "ESZ6"})
            assert events(ws, 1)[0]["d"]["quotes"][0]["entries"]["Trade"]["price"] == 5000
            # Act
            set_prices(one, admin, ESZ6=5001)
            first = until_price(ws, 5001, {"quotes"})
            set_prices(one, admin, ESZ6=5002)
            second = until_price(ws, 5002, {"quotes"})
    # Assert: each change reached the other worker's subscriber, once
    assert [kind_of(m) for m in first] == ["quotes"]
    assert [kind_of(m) for m in second] == ["quotes"]


def test_quotes_when_prices_change_across_a_session_then_high_low_follow_and_a_new_day_starts_over(
    client: TestClient[Any], admin_headers: dict[str, str], trader_headers: dict[str, str], clock: ManualClock
) -> None:
    # Arrange
    set_prices(client, admin_headers, ESZ6=5000)
    with open_socket(client, token_of(trader_headers)) as ws:
        ask(ws, "md/subscribeQuote", 1, {"symbol": "ESZ6"})
        events(ws, 1)
        # Act: three changes today, then the next trade date's first price (a new login: a day passed)
        quotes = []
        for price in (5010, 4995, 5005):
            clock.advance(1)
            set_prices(client, admin_headers, ESZ6=price)
            quotes.append(events(ws, 1)[0]["d"]["quotes"][0]["entries"])
        clock.advance(86_400)
        set_prices(client, bearer(login(client, "admin", ADMIN_PW)), ESZ6=5020)
        quotes.append(events(ws, 1)[0]["d"]["quotes"][0]["entries"])
    # Assert
    figures = [
        tuple(q[k]["price"] for k in ("Trade", "OpeningPrice", "HighPrice", "LowPrice", "SettlementPrice"))
        for q in quotes
    ]
    assert figures == [
        (5010, 5000, 5010, 5000, 5000),
        (4995, 5000, 5010, 4995, 5000),
        (5005, 5000, 5010, 4995, 5000),
        (5020, 5020, 5020, 5020, 5005),
    ]


def test_subscriptions_when_answered_then_first_data_follows_in_a_frame_of_its_own_after_a_rest_lookup(
    world: World, clock: ManualClock
) -> None:
    """Tradovate's JS tutorials look the contract up over REST after the answer and only then listen:
    the answer's frame must not already carry the first data (AUTOLIQ_MD_FIRST_DATA_DELAY_MS, at its
    default here)."""
    # Arrange
    settings = make_settings(world.database_url, md_first_data_delay_ms=DEFAULT_PAUSE_MS)
    services = bootstrap(settings, clock=clock, run_migrations=False)
    with TestClient(app=create_app(services)) as client:
        admin_headers = bearer(login(client, "admin", ADMIN_PW))
        trader_headers = bearer(login(client, "trader", TRADER_PW))
        _first_data_after_the_answer(client, admin_headers, trader_headers)


def _first_data_after_the_answer(
    client: TestClient[Any], admin_headers: dict[str, str], trader_headers: dict[str, str]
) -> None:
    assert DEFAULT_PAUSE_MS > 0
    set_prices(client, admin_headers, ESZ6=5000)
    with open_socket(client, token_of(trader_headers)) as ws:
        for request_id, (endpoint, body) in enumerate(
            [("md/getChart", chart_body()), ("md/subscribeQuote", {"symbol": "ESZ6"})], start=1
        ):
            # Act
            ws.request(endpoint, request_id, body=json.dumps(body))
            first = ws.messages()
            found = contract_id(client, trader_headers)  # the tutorial's lookup, then it listens
            later = events(ws, 1)[0]
            # Assert: the answer alone; the data after it, for the contract the lookup found
            assert [m.get("i") for m in first] == [request_id], first
            if endpoint == "md/getChart":
                assert later["d"]["charts"][0]["id"] == first[0]["d"]["realtimeId"]
                assert 5000 in prices_in(later)
                assert kind_of(events(ws, 1)[0]) == "eoh"
            else:
                assert later["d"]["quotes"][0]["contractId"] == found
