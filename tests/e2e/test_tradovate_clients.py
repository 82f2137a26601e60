"""Tradovate's official examples, as their frames and bodies reach a real autoliq server.

A compatibility suite of our own (issue 14): each test sends, byte for byte, what one of Tradovate's
official example clients sends (`tradovate/example-api-js`: the browser tutorials, "JS";
`tradovate/example-api-trading-strategy`: the Node trading robot, "TS"; `tradovate/example-api-faq`,
"FAQ"), written here from their documented shapes (no code of theirs), and asserts what those clients
then read from the answers and events. The frames differ from our own clients' in ways a real client
depends on: the token JSON-quoted in `authorize` (JS, FAQ; with a trailing newline in a Go client),
the literal `undefined` as the query line and as the body when there is none (TS), md endpoints
lower-cased (JS), sync requests without `entityTypes` that still expect `props` events.

Test names carry the number of the break in issue 14's "Why" list they cover (`break1` ... `break6`).

One real server per engine for the whole module (`slow`; PostgreSQL marked `postgres`); each test
starts from a reset sandbox (`POST /_autoliq/reset`: prices, orders, positions and the clock as
seeded) and logs in afresh. Every wait is bounded by GUARD (a failure past it, never a timing
threshold).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from autoliq.client import AsyncClient, Client
from autoliq.domain.instruments import PRODUCTS_BY_NAME, listed_contracts
from tests.conftest import fresh_database
from tests.contract import validate_response
from tests.helpers import BAR_FIELDS, QUOTE_KEYS, SET_ACTION, action_body
from tests.server import ServerProcess

pytestmark = pytest.mark.slow

GUARD = 15.0  # seconds: a bound on one wait (a failure past it), not a measured duration
# The order-strategy params of the FAQ's start-an-order-strategy example (a JSON *string* on the wire).
FAQ_STRATEGY_PARAMS = {
    "entryVersion": {"orderId": 0, "orderQty": 1, "orderType": "Market", "timeInForce": "Day"},
    "brackets": [{"qty": 1, "profitTarget": 75, "stopLoss": -33, "trailingStop": False}],
}


def es_contract() -> str:
    """An ES contract the sandbox lists today whatever the date: the second listed (the front month
    may expire on the day the suite runs)."""
    today = datetime.now(ZoneInfo("America/Chicago")).date()
    return listed_contracts(PRODUCTS_BY_NAME["ES"], today)[1].name


def stringify(value: Any) -> str:
    """`JSON.stringify(value)`: compact, as the JavaScript examples put bodies on the wire."""
    return json.dumps(value, separators=(",", ":"))


# -- the server, one per engine for the module --


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp(f"tradovate-clients-{request.param}")
    databases = fresh_database(request.param, request, workdir)
    database_url = next(databases)
    try:
        with ServerProcess(database_url, workdir) as running:
            yield running
    finally:
        next(databases, None)  # past its yield: the database is dropped


@pytest.fixture
def admin(server: ServerProcess) -> Iterator[httpx.Client]:
    """The sandbox operator's admin over REST, on a freshly reset sandbox."""
    with server.client(server.login("admin")["accessToken"]) as http:
        r = http.post("/_autoliq/reset")
        assert r.status_code == 200, r.text
        yield http


@pytest.fixture
def trader_login(server: ServerProcess, admin: httpx.Client) -> dict[str, Any]:
    """The trader's login answer, as the JS tutorials ask for it (their credentials body: `cid` a
    number, no deviceId)."""
    body = {
        "name": "trader",
        "password": server.trader_password,
        "appId": "Sample App",
        "appVersion": "1.0",
        "cid": 0,
        "sec": "Your API secret here",
    }
    with server.client() as http:
        r = http.post("/v1/auth/accesstokenrequest", content=stringify(body), headers=JSON_HEADERS)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    assert "accessToken" in answer, answer
    return answer


JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def set_price(admin: httpx.Client, symbol: str, price: float) -> None:
    r = admin.post("/_autoliq/prices", json={"prices": [{"symbol": symbol, "price": price}]})
    assert r.status_code == 200, r.text


# -- a socket read message by message --


class Wire:
    """A real WebSocket to the server, read message by message; messages not yet asked for are kept,
    so an event that comes before the answer awaited is not lost."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pending: list[dict[str, Any]] = []
        self.frames: list[str] = []
        """Every frame but heartbeats, raw, in arrival order."""

    def frame(self) -> str:
        """The next frame that is not a heartbeat (heartbeats answered, as the examples do)."""
        deadline = time.monotonic() + GUARD
        while True:
            try:
                text = self.ws.recv(timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                pytest.fail(f"no frame but heartbeats within {GUARD} s; frames so far: {self.frames[-5:]}")
            assert isinstance(text, str)
            if text == "h":
                self.ws.send("[]")  # the examples answer the server's heartbeats
            else:
                self.frames.append(text)
                return text

    def send(self, text: str) -> None:
        self.ws.send(text)

    def until(self, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first message (kept or new) that `wanted` accepts; the others stay kept. Bounded:
        GUARD seconds of messages that are not it fail the test."""
        deadline = time.monotonic() + GUARD
        while True:
            if time.monotonic() > deadline:
                pytest.fail(f"no such message within {GUARD} s; last frames: {self.frames[-3:]}")
            for index, message in enumerate(self.pending):
                if wanted(message):
                    return self.pending.pop(index)
            text = self.frame()
            assert text.startswith("a["), text
            self.pending.extend(json.loads(text[1:]))

    def answer(self, request_id: int) -> dict[str, Any]:
        return self.until(lambda m: m.get("i") == request_id and "e" not in m)

    def ask(self, text: str, request_id: int) -> dict[str, Any]:
        self.send(text)
        return self.answer(request_id)

    def event(self, kind: str, where: Callable[[Any], bool] = lambda d: True) -> dict[str, Any]:
        """The `d` of the next `kind` event (`md`, `chart`, `props`, `clock`) that `where` accepts."""
        return dict(self.until(lambda m: m.get("e") == kind and where(m.get("d")))["d"])

    def seen(self, kind: str) -> list[Any]:
        """The `d` of every kept, not yet taken `kind` event."""
        return [m.get("d") for m in self.pending if m.get("e") == kind]


@pytest.fixture
def open_wire(server: ServerProcess) -> Iterator[Callable[[], Wire]]:
    """Opens sockets to `/v1/websocket` (past their `o` frame); closes them after the test."""
    with contextlib.ExitStack() as opened:

        def open_one() -> Wire:
            url = f"ws://127.0.0.1:{server.port}/v1/websocket"
            wire = Wire(opened.enter_context(connect(url, max_size=None, open_timeout=GUARD)))
            assert wire.frame() == "o"
            return wire

        yield open_one


def authorize_first_frame(wire: Wire, token_field: str) -> list[dict[str, Any]]:
    """Send `authorize` with `token_field` as the body; the messages of the first `a` frame."""
    wire.send(f"authorize\n0\n\n{token_field}")
    text = wire.frame()
    assert text.startswith("a["), text
    messages: list[dict[str, Any]] = json.loads(text[1:])
    return messages


def authorized(open_wire: Callable[[], Wire], token_field: str) -> Wire:
    wire = open_wire()
    first = authorize_first_frame(wire, token_field)
    assert first[0].get("i") == 0 and first[0].get("s") == 200, first
    return wire


# -- login and authorize --


def test_login_when_js_credentials_body_then_access_token_md_access_token_user_id_and_expiration_break2(
    trader_login: dict[str, Any],
) -> None:
    # Act: the trader_login fixture posted the JS tutorials' credentials body
    answer = trader_login
    # Assert
    assert {"accessToken", "userId", "name", "userStatus", "expirationTime"} <= answer.keys(), answer
    assert isinstance(answer.get("mdAccessToken"), str) and answer["mdAccessToken"], answer
    assert datetime.fromisoformat(answer["expirationTime"].replace("Z", "+00:00")) > datetime.now(UTC)
    validate_response("POST", "/v1/auth/accesstokenrequest", answer)


def test_login_when_trading_strategy_body_camel_case_path_then_tokens_for_both_sockets_break2(
    server: ServerProcess, admin: httpx.Client
) -> None:
    # Arrange: the TS robot's body (deviceId a sha256 hex, cid a number, sec empty), its path's case
    body = {
        "name": "trader",
        "password": server.trader_password,
        "appId": "AutoTrade",
        "appVersion": "1.0",
        "deviceId": "9f" * 32,
        "cid": 0,
        "sec": "",
    }
    # Act
    with server.client() as http:
        r = http.post("/v1/auth/accessTokenRequest", content=stringify(body), headers=JSON_HEADERS)
    # Assert
    assert r.status_code == 200, r.text
    assert r.json().get("accessToken") and r.json().get("mdAccessToken"), r.text


def test_authorize_when_token_json_quoted_then_200_alone_in_the_first_frame_break1(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any]
) -> None:
    wire = open_wire()
    # Act: the JS tutorials' `JSON.stringify(token)`
    first = authorize_first_frame(wire, json.dumps(trader_login["accessToken"]))
    # Assert: the TS robot resolves only on {i:0,s:200} as the first message of the first frame
    assert first[0].get("i") == 0 and first[0].get("s") == 200, first


def test_authorize_when_token_json_quoted_with_trailing_newline_then_200_break1(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any]
) -> None:
    wire = open_wire()
    # Act: a JSON encoder's output, newline included (the Go client)
    first = authorize_first_frame(wire, json.dumps(trader_login["accessToken"]) + "\n")
    # Assert
    assert first[0].get("i") == 0 and first[0].get("s") == 200, first


def test_authorize_when_bare_token_as_the_trading_strategy_sends_it_then_200_alone(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any]
) -> None:
    wire = open_wire()
    # Act
    first = authorize_first_frame(wire, trader_login["accessToken"])
    # Assert
    assert first == [{"s": 200, "i": 0}]


def test_authorize_when_md_access_token_bare_or_quoted_then_200_on_the_same_websocket_break1_break2(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any]
) -> None:
    md_token = trader_login.get("mdAccessToken")
    assert isinstance(md_token, str), trader_login
    # Act: the TS md/replay sockets (bare), the FAQ's large-chart example (quoted)
    bare = authorize_first_frame(open_wire(), md_token)
    quoted = authorize_first_frame(open_wire(), json.dumps(md_token))
    # Assert
    assert bare[0] == {"s": 200, "i": 0} and quoted[0] == {"s": 200, "i": 0}, (bare, quoted)


def test_renew_access_token_when_get_with_bearer_then_new_tokens_like_login_break2_break6(
    server: ServerProcess, trader_login: dict[str, Any]
) -> None:
    # Act: the spec's method (a Go client's renewal)
    with server.client(trader_login["accessToken"]) as http:
        r = http.get("/v1/auth/renewAccessToken")
    # Assert
    assert r.status_code == 200, r.text
    assert r.json().get("accessToken") and r.json().get("mdAccessToken"), r.text


# -- REST reads of the robot's start --


def test_account_list_when_trading_strategy_picks_an_account_then_active_and_not_archived_break5(
    server: ServerProcess, trader_login: dict[str, Any]
) -> None:
    # Act
    with server.client(trader_login["accessToken"]) as http:
        accounts = http.get("/v1/account/list", headers=JSON_HEADERS).json()
    # Assert: the robot's replay mode takes `accounts.find(acct => acct.active)`
    assert accounts and all(a.get("active") is True and a.get("archived") is False for a in accounts), (
        accounts[:1]
    )
    assert {"id", "name", "userId"} <= accounts[0].keys()


def test_contract_suggest_when_robot_picks_a_contract_then_contracts_whose_id_find_agrees_on_break6(
    server: ServerProcess, trader_login: dict[str, Any]
) -> None:
    symbol = es_contract()
    with server.client(trader_login["accessToken"]) as http:
        # Act: the robot upper-cases what was typed and asks for ten
        suggested = http.get("/v1/contract/suggest?t=ES&l=10", headers=JSON_HEADERS)
        found = http.get(f"/v1/contract/find?name={symbol}", headers=JSON_HEADERS)
    # Assert
    assert suggested.status_code == 200, suggested.text
    assert found.status_code == 200, found.text
    by_name = {c["name"]: c["id"] for c in suggested.json()}
    assert 0 < len(by_name) <= 10 and by_name.get(symbol) == found.json()["id"], by_name
    validate_response("GET", "/v1/contract/suggest", suggested.json())


# -- sync as the examples send it --


def test_sync_when_only_users_as_js_and_faq_send_it_then_instrument_arrays_and_props_after_a_lock_break4(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any], admin: httpx.Client
) -> None:
    wire = authorized(open_wire, json.dumps(trader_login["accessToken"]))
    # Act
    answer = wire.ask(f"user/syncrequest\n1\n\n{stringify({'users': [trader_login['userId']]})}", 1)
    found = answer.get("d")
    snapshot: dict[str, Any] = found if isinstance(found, dict) else {}
    account_id = snapshot["accounts"][0]["id"] if snapshot.get("accounts") else None
    assert account_id is not None, answer
    r = admin.post(SET_ACTION, json=action_body(account_id))
    assert r.status_code == 200, r.text
    event = wire.event("props", lambda d: d.get("entityType") == "accountRiskStatus")
    # Assert: what the JS EX-12a and FAQ sync handlers read, then a live update without entityTypes
    assert answer["s"] == 200 and "users" in snapshot
    for key in ("accounts", "positions", "cashBalances", "products", "contracts", "contractMaturities"):
        assert isinstance(snapshot.get(key), list), key
    assert snapshot["products"] and snapshot["contracts"] and snapshot["contractMaturities"]
    es = es_contract()
    contract = next(c for c in snapshot["contracts"] if c["name"] == es)
    product = next(p for p in snapshot["products"] if contract["name"].startswith(p["name"]))
    assert product["valuePerPoint"] == 50
    assert event["eventType"] == "Updated" and event["entity"]["adminAction"] == "LockTradingImmediately"
    assert all(a.get("active") is True and a.get("archived") is False for a in snapshot["accounts"])


def test_robot_frames_when_query_and_body_are_the_text_undefined_then_answered_as_if_empty(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any], admin: httpx.Client
) -> None:
    symbol = es_contract()
    set_price(admin, symbol, 5000)
    wire = authorized(open_wire, trader_login["accessToken"])
    # Act: what the robot's request() puts on the wire when it has no query (and no body)
    accounts = wire.ask("account/list\n1\nundefined\nundefined", 1)
    account = accounts["d"][0]
    synced = wire.ask(f"user/syncrequest\n2\nundefined\n{stringify({'accounts': [account['id']]})}", 2)
    order = {
        "symbol": symbol,
        "orderQty": 1,
        "accountSpec": account["name"],
        "accountId": account["id"],
        "action": "Buy",
        "orderType": "Market",
        "isAutomated": True,
    }
    placed = wire.ask(f"order/placeOrder\n3\nundefined\n{stringify(order)}", 3)
    # Assert
    assert accounts["s"] == 200 and {"id", "name", "userId"} <= account.keys(), accounts
    assert synced["s"] == 200 and [a["id"] for a in synced["d"]["accounts"]] == [account["id"]], synced
    assert placed["s"] == 200 and isinstance(placed["d"].get("orderId"), int), placed


def test_sync_when_robot_sends_accounts_only_then_products_for_its_handler_and_position_props_break4(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any], admin: httpx.Client
) -> None:
    symbol = es_contract()
    set_price(admin, symbol, 5000)
    wire = authorized(open_wire, trader_login["accessToken"])
    account = wire.ask("account/list\n1\nundefined\nundefined", 1)["d"][0]
    contract_id = _contract_id(wire, symbol)
    # Act: the robot's synchronize() (no entityTypes), then an order of its placeOrder middleware
    synced = wire.ask(f"user/syncrequest\n2\nundefined\n{stringify({'accounts': [account['id']]})}", 2)
    order = {
        "symbol": symbol,
        "orderQty": 1,
        "accountSpec": account["name"],
        "accountId": account["id"],
        "action": "Buy",
        "orderType": "Market",
        "isAutomated": True,
    }
    wire.ask(f"order/placeOrder\n3\nundefined\n{stringify(order)}", 3)
    position = wire.event("props", lambda d: d.get("entityType") == "position")
    # Assert: onUserSync's products.find / positions.find / cashBalances[0], then onProps' position
    snapshot = synced["d"]
    assert isinstance(snapshot.get("products"), list), sorted(snapshot)
    assert next(p for p in snapshot["products"] if symbol.startswith(p["name"]))["valuePerPoint"] == 50
    assert isinstance(snapshot["positions"], list) and isinstance(snapshot["cashBalances"], list)
    assert position["entity"]["netPos"] == 1 and position["entity"]["contractId"] == contract_id, position


def _contract_id(wire: Wire, symbol: str) -> int:
    """contract/find over the socket (the JS tutorials' way with query `name=`)."""
    found = wire.ask(f"contract/find\n900\nname={symbol}\nundefined", 900)
    assert found["s"] == 200, found
    return int(found["d"]["id"])


def test_rest_sync_request_when_users_only_then_the_snapshot_validates_break4(
    server: ServerProcess, trader_login: dict[str, Any]
) -> None:
    # Act
    with server.client(trader_login["accessToken"]) as http:
        r = http.post("/v1/user/syncrequest", json={"users": [trader_login["userId"]]})
    # Assert
    assert r.status_code == 200, r.text
    assert {"users", "accounts", "products", "contracts"} <= r.json().keys(), r.text[:300]
    validate_response("POST", "/v1/user/syncrequest", r.json())


def test_product_find_when_query_name_and_undefined_body_then_the_product_the_robot_reads(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any]
) -> None:
    wire = authorized(open_wire, trader_login["accessToken"])
    # Act: the robot's productFind middleware (no body: JSON.stringify(undefined) is "undefined")
    found = wire.ask("product/find\n1\nname=ES\nundefined", 1)
    # Assert
    assert found["s"] == 200 and found["d"]["name"] == "ES" and found["d"]["valuePerPoint"] == 50, found


# -- market data --


def test_subscribe_quote_when_lower_case_by_name_then_nine_entries_with_the_contract_find_id_break3(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any], admin: httpx.Client
) -> None:
    symbol = es_contract()
    wire = authorized(open_wire, json.dumps(trader_login["accessToken"]))
    contract_id = _contract_id(wire, symbol)
    # Act: JS EX-08a
    answer = wire.ask(f"md/subscribequote\n1\n\n{stringify({'symbol': symbol})}", 1)
    set_price(admin, symbol, 5012.25)
    quote = _quote_at(wire, contract_id, 5012.25)
    # Assert
    assert answer["s"] == 200 and isinstance(answer.get("d"), dict), answer
    assert set(quote["entries"]) == QUOTE_KEYS, quote
    assert all(
        any(isinstance(entry.get(k), int | float) for k in ("price", "size"))
        for entry in quote["entries"].values()
    ), quote
    assert isinstance(quote["timestamp"], str)


def _quote_at(wire: Wire, contract_id: int, price: float) -> dict[str, Any]:
    """The first quote of `contract_id` whose Trade price is `price` (earlier ones skipped)."""
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        md = wire.event("md", lambda d: isinstance(d, dict) and "quotes" in d)
        for quote in md["quotes"]:
            if (
                quote.get("contractId") == contract_id
                and quote["entries"].get("Trade", {}).get("price") == price
            ):
                return dict(quote)
    pytest.fail(f"not within {GUARD} s")


def test_subscribe_quote_and_dom_when_trading_strategy_camel_case_then_both_follow_a_price_break3(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any], admin: httpx.Client
) -> None:
    symbol = es_contract()
    md_token = trader_login.get("mdAccessToken")
    assert isinstance(md_token, str), trader_login
    wire = authorized(open_wire, md_token)
    contract_id = _contract_id(wire, symbol)
    # Act
    dom_answer = wire.ask(f"md/subscribeDOM\n1\nundefined\n{stringify({'symbol': symbol})}", 1)
    quote_answer = wire.ask(f"md/subscribeQuote\n2\nundefined\n{stringify({'symbol': symbol})}", 2)
    set_price(admin, symbol, 5000)
    quote = _quote_at(wire, contract_id, 5000)
    dom = wire.event("md", lambda d: isinstance(d, dict) and any(x.get("bids") for x in d.get("doms", [])))[
        "doms"
    ][0]
    unsubscribed = wire.ask(f"md/unsubscribeQuote\n3\nundefined\n{stringify({'symbol': symbol})}", 3)
    # Assert
    assert dom_answer["s"] == 200 and quote_answer["s"] == 200, (dom_answer, quote_answer)
    assert quote["entries"]["Trade"]["price"] == 5000
    assert dom["contractId"] == contract_id and dom["bids"] and dom["offers"], dom
    bids = [level["price"] for level in dom["bids"]]
    offers = [level["price"] for level in dom["offers"]]
    assert bids == sorted(bids, reverse=True) and offers == sorted(offers) and bids[0] < offers[0], dom
    assert unsubscribed["s"] == 200 and isinstance(unsubscribed.get("d"), dict), unsubscribed


def test_get_chart_when_js_tutorial_asks_minute_bars_then_history_eoh_live_bar_cancel_by_realtime_id_break3(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any], admin: httpx.Client
) -> None:
    symbol = es_contract()
    set_price(admin, symbol, 5000)
    set_price(admin, symbol, 5001.25)
    wire = authorized(open_wire, json.dumps(trader_login["accessToken"]))
    body = {
        "symbol": symbol,
        "chartDescription": {
            "underlyingType": "MinuteBar",
            "elementSize": 1,
            "elementSizeUnit": "UnderlyingUnits",
            "withHistogram": False,
        },
        "timeRange": {"asMuchAsElements": 20},
    }
    # Act: JS EX-10a (lower case), then a price, then its unsubscribe
    answer = wire.ask(f"md/getchart\n1\n\n{stringify(body)}", 1)
    ids = answer.get("d") or {}
    realtime_id = ids.get("realtimeId")
    history = _chart_packets_until_eoh(wire, realtime_id)
    set_price(admin, symbol, 5003)
    live = _chart_packet(wire, lambda c: c.get("id") == realtime_id and "bars" in c)
    cancelled = wire.ask(f"md/cancelChart\n2\n\n{stringify({'subscriptionId': realtime_id})}", 2)
    # Assert
    assert answer["s"] == 200 and isinstance(realtime_id, int) and isinstance(ids.get("historicalId"), int), (
        answer
    )
    bars = [bar for packet in history for bar in packet.get("bars", [])]
    assert bars and all(bar.keys() >= BAR_FIELDS for bar in bars), history
    assert all(isinstance(packet.get("td"), int) for packet in history if "bars" in packet), history
    assert any(bar["close"] in (5001.25, 5000) for bar in bars), bars
    assert live["bars"] and live["bars"][-1]["close"] == 5003, live
    assert cancelled["s"] == 200 and isinstance(cancelled.get("d"), dict), cancelled


def _chart_packet(wire: Wire, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        chart = wire.event("chart", lambda d: isinstance(d, dict) and "charts" in d)
        for packet in chart["charts"]:
            if wanted(packet):
                return dict(packet)
    pytest.fail(f"not within {GUARD} s")


def _chart_packets_until_eoh(wire: Wire, realtime_id: Any) -> list[dict[str, Any]]:
    """Chart packets tagged `realtime_id` (the JS tutorials keep only those) up to the end-of-history."""
    packets: list[dict[str, Any]] = []
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        packet = _chart_packet(wire, lambda c: c.get("id") == realtime_id)
        if packet.get("eoh") is True:
            return packets
        packets.append(packet)
    pytest.fail(f"not within {GUARD} s")


def test_get_chart_when_trading_strategy_asks_then_cancel_by_historical_id_answers_break3(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any], admin: httpx.Client
) -> None:
    symbol = es_contract()
    set_price(admin, symbol, 5000)
    md_token = trader_login.get("mdAccessToken")
    assert isinstance(md_token, str), trader_login
    wire = authorized(open_wire, md_token)
    body = {
        "symbol": symbol,
        "chartDescription": {
            "underlyingType": "MinuteBar",
            "elementSize": 1,
            "elementSizeUnit": "UnderlyingUnits",
            "withHistogram": False,
        },
        "timeRange": {"asMuchAsElements": 14},
    }
    # Act
    answer = wire.ask(f"md/getChart\n1\nundefined\n{stringify(body)}", 1)
    ids = answer.get("d") or {}
    _chart_packet(
        wire,
        lambda c: c.get("id") in (ids.get("realtimeId"), ids.get("historicalId")) and c.get("eoh") is True,
    )
    cancelled = wire.ask(
        f"md/cancelChart\n2\nundefined\n{stringify({'subscriptionId': ids.get('historicalId')})}", 2
    )
    # Assert
    assert answer["s"] == 200 and {"realtimeId", "historicalId"} <= ids.keys(), answer
    assert cancelled["s"] == 200, cancelled


# -- orders the examples place --


def _account(wire: Wire, request_id: int) -> dict[str, Any]:
    answer = wire.ask(f"account/list\n{request_id}\nundefined\nundefined", request_id)
    assert answer["s"] == 200 and answer["d"], answer
    return dict(answer["d"][0])


def test_place_oco_when_trading_strategy_middleware_sends_it_then_order_and_oco_ids_break6(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any], admin: httpx.Client
) -> None:
    symbol = es_contract()
    set_price(admin, symbol, 5000)
    wire = authorized(open_wire, trader_login["accessToken"])
    account = _account(wire, 1)
    body = {
        "accountSpec": account["name"],
        "accountId": account["id"],
        "action": "Buy",
        "symbol": symbol,
        "orderQty": 1,
        "orderType": "Limit",
        "price": 4990,
        "isAutomated": True,
        "other": {"action": "Buy", "orderType": "Stop", "stopPrice": 5010},
    }
    # Act
    placed = wire.ask(f"order/placeOCO\n2\nundefined\n{stringify(body)}", 2)
    # Assert
    assert placed["s"] == 200, placed
    assert isinstance(placed["d"].get("orderId"), int) and isinstance(placed["d"].get("ocoId"), int), placed
    validate_response("POST", "/v1/order/placeoco", placed["d"])


def test_place_oso_when_lower_case_as_a_go_client_sends_it_then_entry_and_bracket_ids_break6(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any], admin: httpx.Client
) -> None:
    symbol = es_contract()
    set_price(admin, symbol, 5000)
    wire = authorized(open_wire, json.dumps(trader_login["accessToken"]) + "\n")
    account = _account(wire, 1)
    body = {
        "accountSpec": account["name"],
        "accountId": account["id"],
        "action": "Buy",
        "symbol": symbol,
        "orderQty": 1,
        "orderType": "Limit",
        "price": 4990,
        "isAutomated": True,
        "bracket1": {"action": "Sell", "orderType": "Limit", "price": 5020},
        "bracket2": {"action": "Sell", "orderType": "Stop", "stopPrice": 4980},
    }
    # Act: a JSON encoder's body, trailing newline included
    placed = wire.ask(f"order/placeoso\n2\n\n{stringify(body)}\n", 2)
    # Assert
    assert placed["s"] == 200, placed
    assert all(isinstance(placed["d"].get(k), int) for k in ("orderId", "oso1Id", "oso2Id")), placed
    validate_response("POST", "/v1/order/placeoso", placed["d"])


def test_start_order_strategy_when_faq_params_string_then_an_active_multibracket_strategy_break6(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any], admin: httpx.Client
) -> None:
    symbol = es_contract()
    set_price(admin, symbol, 5000)
    wire = authorized(open_wire, json.dumps(trader_login["accessToken"]))
    account = _account(wire, 1)
    body = {
        "symbol": symbol,
        "accountId": account["id"],
        "action": "Buy",
        "orderStrategyTypeId": 2,
        "params": stringify(FAQ_STRATEGY_PARAMS),
    }
    # Act: the FAQ's start-an-order-strategy (the robot's crossover sends the same shape)
    started = wire.ask(f"orderStrategy/startOrderStrategy\n2\n\n{stringify(body)}", 2)
    # Assert
    assert started["s"] == 200, started
    strategy = started["d"].get("orderStrategy")
    assert not started["d"].get("errorText") and isinstance(strategy, dict), started
    assert strategy["orderStrategyTypeId"] == 2 and strategy["accountId"] == account["id"], strategy
    validate_response("POST", "/v1/orderStrategy/startorderstrategy", started["d"])


def test_fill_pair_list_when_robot_ends_a_session_then_answers_a_list_break6(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any]
) -> None:
    wire = authorized(open_wire, trader_login["accessToken"])
    # Act: the robot's replayComplete middleware
    answer = wire.ask("fillPair/list\n1\nundefined\nundefined", 1)
    # Assert
    assert answer["s"] == 200 and isinstance(answer["d"], list), answer


# Each endpoint of break 6 as a client calls it (socket frame fields after the id). A route that does
# not exist answers 404 "Not Found" (an unknown entity of an existing route: "Not found").
BREAK6_ENDPOINTS: list[tuple[str, str, str]] = [
    ("contract/suggest", "t=ES&l=10", ""),
    ("user/list", "", ""),
    ("order/placeOCO", "", "{}"),
    ("order/placeOSO", "", "{}"),
    ("orderStrategy/startOrderStrategy", "", "{}"),
    ("fillPair/list", "", ""),
    ("contractGroup/list", "", ""),
    ("contractMaturity/item", "id={maturity}", ""),
    ("product/suggest", "t=ES&l=10", ""),
    ("product/items", "ids=1", ""),
    ("product/deps", "masterid=1", ""),
    ("product/ldeps", "masterids=1", ""),
    ("account/suggest", "t=D&l=10", ""),
    ("account/ldeps", "masterids={user}", ""),
    ("position/find", "name=x", ""),
    ("order/dryrun", "", "{}"),
    ("replay/initializeClock", "", "{}"),
    ("replay/checkReplaySession", "", "{}"),
]


def test_every_endpoint_of_break6_when_called_over_the_socket_then_none_answers_404_or_405(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any], server: ServerProcess
) -> None:
    wire = authorized(open_wire, trader_login["accessToken"])
    today = datetime.now(ZoneInfo("America/Chicago")).date()
    ids = {
        "maturity": listed_contracts(PRODUCTS_BY_NAME["ES"], today)[1].maturity_id,
        "user": trader_login["userId"],
    }
    # Act
    answers = {
        endpoint: wire.ask(f"{endpoint}\n{n}\n{query.format(**ids)}\n{body}", n)
        for n, (endpoint, query, body) in enumerate(BREAK6_ENDPOINTS, start=1)
    }
    with server.client(trader_login["accessToken"]) as http:
        renewed = http.get("/v1/auth/renewaccesstoken")
    # Assert: bad bodies may answer 400; a route that does not exist may not
    missing = {
        e: a for e, a in answers.items() if a["s"] == 405 or (a["s"] == 404 and a.get("d") == "Not Found")
    }
    assert missing == {}
    assert renewed.status_code == 200, renewed.text


# -- replay, as the robot's dev mode runs it (last: it moves the sandbox clock; the reset restores it) --


def test_replay_when_robot_checks_initializes_and_lists_then_ok_clock_events_and_an_active_account_break6(
    open_wire: Callable[[], Wire], server: ServerProcess, admin: httpx.Client
) -> None:
    login = server.login("admin")
    md_token = login.get("mdAccessToken")
    assert isinstance(md_token, str), login
    wire = authorized(open_wire, md_token)
    start = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    # Act: checkReplaySession -> initializeClock -> account/list, as the robot chains them
    checked = wire.ask(f"replay/checkReplaySession\n1\nundefined\n{stringify({'startTimestamp': start})}", 1)
    init_body = {"startTimestamp": start, "speed": 400, "initialBalance": 50000}
    initialized = wire.ask(f"replay/initializeClock\n2\nundefined\n{stringify(init_body)}", 2)
    clock = wire.until(lambda m: m.get("e") == "clock")
    accounts = wire.ask("account/list\n3\nundefined\nundefined", 3)
    # Assert
    assert checked["s"] == 200 and checked["d"].get("checkStatus") == "OK", checked
    assert initialized["s"] == 200, initialized
    assert isinstance(clock["d"], str), clock
    ticked = json.loads(clock["d"])
    assert datetime.fromisoformat(ticked["t"].replace("Z", "+00:00")) >= datetime.fromisoformat(
        start.replace("Z", "+00:00")
    ) - timedelta(seconds=1)
    assert isinstance(ticked["s"], int | float)
    assert accounts["s"] == 200 and any(a.get("active") for a in accounts["d"]), accounts


def test_websocket_frames_when_examples_speak_then_every_answer_carries_d_for_the_js_listeners(
    open_wire: Callable[[], Wire], trader_login: dict[str, Any]
) -> None:
    wire = authorized(open_wire, trader_login["accessToken"])
    # Act: a read without a body, then the JS sync
    listed = wire.ask("account/list\n1\n\nundefined", 1)
    synced = wire.ask(f"user/syncrequest\n2\n\n{stringify({'users': [trader_login['userId']]})}", 2)
    # Assert: the JS subscribe() touches `d` of every message of every frame
    assert "d" in listed and "d" in synced, (listed, synced)
    assert listed["s"] == 200, listed


# -- the SDK's market-data helpers against the real server (docs/sdk.md, "Market data") --


def test_sdk_market_data_when_prices_move_then_quotes_bars_and_ticks_on_both_clients(
    server: ServerProcess, admin: httpx.Client
) -> None:
    # Arrange: two prices, a minute apart on the server's own clock is not needed: bars by minute
    symbol = es_contract()
    set_price(admin, symbol, 5000.25)
    with Client(server.base_url, name="trader", password=server.trader_password, trust_env=False) as client:
        # Act: the current quote first, then the next price's
        with client.subscribe_quote(symbol) as quotes:
            first = next(quotes)
            set_price(admin, symbol, 5001.5)
            second = next(q for q in quotes if q.trade.price == 5001.5)
        bars = client.get_chart(symbol, elements=10)
        ticks = client.get_ticks(symbol, elements=10)

    async def async_quote() -> float | None:
        async with (
            AsyncClient(
                server.base_url, name="trader", password=server.trader_password, trust_env=False
            ) as async_client,
            async_client.subscribe_quote(symbol) as stream,
        ):
            async for quote in stream:
                return quote.trade.price
        return None

    latest = asyncio.run(async_quote())
    # Assert
    contract = admin.get("/v1/contract/find", params={"name": symbol}).json()
    assert first.contract_id == second.contract_id == contract["id"]
    assert first.trade.price == 5000.25
    assert (second.bid.price, second.offer.price) == (5001.25, 5001.75)
    assert bars and bars[-1].close == 5001.5
    assert [t.price for t in ticks][-2:] == [5000.25, 5001.5]
    assert latest == 5001.5
