"""Bounds of the order path over HTTP, on both engines: the per-order quantity cap, the net position
cap, the price bound, huge JSON numbers (never a 500), and the reproduction of issue 13: a position
nobody could close."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.schema import cash_balance, trade_order
from autoliq.bootstrap import bootstrap
from autoliq.cli import connection
from autoliq.cli.main import app as cli_app
from autoliq.domain.instruments import PRODUCTS_BY_NAME, ContractSpec
from autoliq.domain.limits import INT64_MAX, OPEN_BOUND
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, TRADER_PW, World, app_for, bearer, login, make_settings
from tests.e2e.test_websocket import open_socket
from tests.helpers import SET_ACTION, action_body, market_order

PLACE = "/v1/order/placeorder"
MODIFY = "/v1/order/modifyorder"
PRICES = "/_autoliq/prices"
LIQUIDATE = "/v1/order/liquidateposition"
H = dict[str, str]
ES = PRODUCTS_BY_NAME["ES"]
ES_MAX = float(ES.max_price - ES.tick_size)  # the highest price allowed: 2,499,999.75


@contextmanager
def app_client(world: World, clock: ManualClock, **settings: Any) -> Iterator[TestClient[Any]]:
    """A client of an app built with these settings over the seeded world."""
    services = bootstrap(make_settings(world.database_url, **settings), clock=clock, run_migrations=False)
    with TestClient(app=app_for(services)) as c:
        yield c


def set_price(client: TestClient[Any], admin: H, value: float, symbol: str = "ESZ6") -> None:
    r = client.post(PRICES, json={"prices": [{"symbol": symbol, "price": value}]}, headers=admin)
    assert r.status_code == 200, r.text


def raw_place(client: TestClient[Any], headers: H, body_text: str) -> Any:
    return client.post(PLACE, content=body_text, headers={**headers, "Content-Type": "application/json"})


def net_pos(client: TestClient[Any], headers: H, account_id: int) -> int:
    return sum(
        p["netPos"] for p in client.get(f"/v1/position/deps?masterid={account_id}", headers=headers).json()
    )


def order_rows(database_url: str) -> int:
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as conn:
            return len(conn.execute(select(trade_order.c.id)).all())
    finally:
        engine.dispose()


# -- orderQty: the per-order cap and huge numbers --


def test_place_order_when_quantity_over_the_cap_or_huge_then_max_order_qty_and_never_a_500(
    world: World, clock: ManualClock
) -> None:
    with app_client(world, clock) as client:
        admin, trader = bearer(login(client, "admin", ADMIN_PW)), bearer(login(client, "trader", TRADER_PW))
        a = world.demo_account_ids[0]
        set_price(client, admin, 5000)
        template = (
            '{{"accountId": {a}, "action": "Buy", "symbol": "ESZ6", "orderType": "Market", "orderQty": {q}}}'
        )
        # Integers of any size over the cap: the failure reason, nothing stored.
        for qty in (
            "10001",
            "3000000000000",
            str(2**31),
            str(2**53),
            str(2**63),
            str(2**64 + 1),
            "1" + "0" * 30,
        ):
            r = raw_place(client, trader, template.format(a=a, q=qty))
            assert r.status_code == 200, (qty, r.text)
            body = r.json()
            assert body["failureReason"] == "MaxOrderQtyLimitReached", (qty, body)
            assert "10000" in body["failureText"] and "orderId" not in body
        # Zero and negatives: Tradovate's quantity text, as before.
        for qty in ("0", "-1", str(-(2**63)), "-" + "9" * 40):
            body = raw_place(client, trader, template.format(a=a, q=qty)).json()
            assert body == {
                "failureReason": "UnknownReason",
                "failureText": "Order quantity should be greater than 0",
            }
        # Not an integer: 400 naming the field.
        for qty in ("1e30", "1.5", "10000.0", '"5"', "true"):
            r = raw_place(client, trader, template.format(a=a, q=qty))
            assert r.status_code == 400, (qty, r.text)
            assert "orderQty" in r.json()["errorText"], (qty, r.text)
        # Beyond a double: malformed JSON (the framework's decoder does not name the field there).
        assert raw_place(client, trader, template.format(a=a, q="1e400")).status_code == 400
        assert order_rows(world.database_url) == 0
        # The cap itself is accepted.
        assert "orderId" in market_order(client, trader, a, "Buy", 10_000)


def test_modify_order_when_quantity_over_the_cap_then_max_order_qty_and_order_unchanged(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    set_price(client, admin_headers, 5000)
    order_id = market_order(client, trader_headers, a, "Buy", 1, orderType="Limit", price=4000)["orderId"]
    for qty in (10_001, 2**31, 2**63):
        body = {"orderId": order_id, "orderQty": qty, "orderType": "Limit", "price": 4000}
        answer = client.post(MODIFY, json=body, headers=trader_headers).json()
        assert answer["failureReason"] == "MaxOrderQtyLimitReached", answer
    body = {"orderId": order_id, "orderQty": 1, "orderType": "Limit", "price": 1e20}
    assert client.post(MODIFY, json=body, headers=trader_headers).json()["failureReason"] == "InvalidPrice"
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(trade_order.c.qty, trade_order.c.limit_ticks)).all() == [(1, 16_000)]
    finally:
        engine.dispose()


def test_websocket_place_order_when_quantity_huge_then_same_failure_as_rest(
    client: TestClient[Any], trader_headers: H, admin_headers: H, world: World
) -> None:
    set_price(client, admin_headers, 5000)
    body = {"accountId": world.demo_account_ids[0], "action": "Buy", "symbol": "ESZ6", "orderType": "Market"}
    with open_socket(client, trader_headers["Authorization"].removeprefix("Bearer ")) as ws:
        ws.request("order/placeorder", 1, body=json.dumps({**body, "orderQty": 2**63}))
        answer = ws.answer(1)
        ws.request("order/placeorder", 2, body=json.dumps({**body, "orderQty": 1.5}))
        bad = ws.answer(2)
    assert answer["s"] == 200 and answer["d"]["failureReason"] == "MaxOrderQtyLimitReached", answer
    assert bad["s"] == 400 and "orderQty" in str(bad["d"]), bad


# -- prices --


def test_place_order_when_price_beyond_the_bound_then_invalid_price_and_never_a_500(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    for extra in (
        {"orderType": "Limit", "price": 1e20},
        {"orderType": "Limit", "price": 1e308},
        {"orderType": "Limit", "price": 2_500_000},
        {"orderType": "Stop", "stopPrice": 1e20},
        {"orderType": "StopLimit", "price": 5000, "stopPrice": 1e308},
        {"orderType": "Limit", "price": -5000},
    ):
        answer = market_order(client, trader_headers, a, "Buy", 1, **extra)
        assert answer["failureReason"] == "InvalidPrice", (extra, answer)
        assert "below 2500000" in answer["failureText"], answer
    answer = market_order(client, trader_headers, a, "Buy", 1, orderType="Limit", price=ES_MAX)
    assert "orderId" in answer, answer
    assert order_rows(world.database_url) == 1


def test_set_prices_when_price_beyond_the_bound_then_400_naming_the_entry_and_nothing_set(
    client: TestClient[Any], admin_headers: H
) -> None:
    for value in (1e20, 1e308, 2_500_000):
        body = {"prices": [{"symbol": "ESZ6", "price": 5000}, {"symbol": "ESZ6", "price": value}]}
        r = client.post(PRICES, json=body, headers=admin_headers)
        assert r.status_code == 400, r.text
        assert r.json()["errorText"].startswith("prices[1].price: must be below 2500000"), r.text
    assert client.get(PRICES, headers=admin_headers).json() == {"prices": []}
    set_price(client, admin_headers, ES_MAX)


# -- the net position cap --


def test_place_order_when_position_with_working_orders_would_pass_the_cap_then_max_pos_limit_reached(
    world: World, clock: ManualClock
) -> None:
    with app_client(world, clock, max_order_qty=3, max_position=5) as client:
        admin, trader = bearer(login(client, "admin", ADMIN_PW)), bearer(login(client, "trader", TRADER_PW))
        a = world.demo_account_ids[0]
        set_price(client, admin, 5000)
        assert "orderId" in market_order(client, trader, a, "Buy", 3)
        # A working buy counts as if it filled: 3 held + 2 working + 1 = 6 > 5.
        assert "orderId" in market_order(client, trader, a, "Buy", 2, orderType="Limit", price=4000)
        refused = market_order(client, trader, a, "Buy", 1)
        assert refused["failureReason"] == "MaxPosLimitReached" and "5" in refused["failureText"]
        # Selling side: judged on the short side only; a sell of 3 reduces and passes, as does a
        # reversal to the short cap (3 - 3 = 0, then 0 - 3 - 2 = -5).
        assert "orderId" in market_order(client, trader, a, "Sell", 3)
        assert "orderId" in market_order(client, trader, a, "Sell", 2, orderType="Limit", price=6000)
        assert "orderId" in market_order(client, trader, a, "Sell", 3)
        assert market_order(client, trader, a, "Sell", 1)["failureReason"] == "MaxPosLimitReached"
        assert net_pos(client, trader, a) == -3


def test_place_order_when_cap_lowered_below_the_position_then_reducing_orders_pass_and_resting_buys_wait(
    world: World, clock: ManualClock
) -> None:
    a = world.demo_account_ids[0]
    with app_client(world, clock) as client:
        admin, trader = bearer(login(client, "admin", ADMIN_PW)), bearer(login(client, "trader", TRADER_PW))
        set_price(client, admin, 5000)
        assert "orderId" in market_order(client, trader, a, "Buy", 10)
        assert "orderId" in market_order(client, trader, a, "Buy", 1, orderType="Limit", price=4000)
    with app_client(world, clock, max_position=4) as client:
        admin, trader = bearer(login(client, "admin", ADMIN_PW)), bearer(login(client, "trader", TRADER_PW))
        assert market_order(client, trader, a, "Buy", 1)["failureReason"] == "MaxPosLimitReached"
        # The resting buy would take the position further past the lowered cap: it stays working.
        set_price(client, admin, 4000)
        assert net_pos(client, trader, a) == 10
        assert "orderId" in market_order(client, trader, a, "Sell", 4)
        assert net_pos(client, trader, a) == 6
        body = {"accountId": a, "contractId": ContractSpec(ES, 2026, 12).id, "admin": False}
        result = client.post(LIQUIDATE, json=body, headers=trader).json()
        assert "orderId" in result, result
        assert net_pos(client, trader, a) == 0


# -- issue 13's reproduction: a position nobody can close --


def test_huge_market_order_then_refused_and_the_largest_position_allowed_is_liquidated_at_the_highest_price(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    """On 62575c4, 3×10¹² contracts were bought at market; after a price move the trader's sell,
    LiquidateImmediately and liquidateposition all answered 500 (int64 overflow in the cash update).
    Now the order is refused, and the largest position the caps allow, bought at the lowest price
    and marked at the highest, is liquidated and its cash written exactly."""
    a = world.demo_account_ids[0]
    set_price(client, admin_headers, 0.25)
    refused = market_order(client, trader_headers, a, "Buy", 3 * 10**12)
    assert refused["failureReason"] == "MaxOrderQtyLimitReached"
    for _ in range(10):
        assert "orderId" in market_order(client, trader_headers, a, "Buy", 10_000)
    assert market_order(client, trader_headers, a, "Buy", 1)["failureReason"] == "MaxPosLimitReached"
    set_price(client, admin_headers, ES_MAX)
    r = client.post(SET_ACTION, json=action_body(a, "LiquidateImmediately"), headers=admin_headers)
    assert r.status_code == 200 and r.json()["accountRiskStatus"]["adminAction"] == "LiquidateImmediately", (
        r.text
    )
    assert net_pos(client, trader_headers, a) == 0
    gained_cents = 100_000 * (10_000_000 - 2) * 1250  # contracts × ticks gained × cents per tick
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn:
            amount = conn.execute(select(cash_balance.c.amount_cents).where(cash_balance.c.account_id == a))
            assert amount.scalar_one() == 5_000_000 + gained_cents
    finally:
        engine.dispose()


def test_account_at_the_storage_bound_when_order_opens_then_refused_and_reducing_and_liquidation_pass(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    set_price(client, admin_headers, 5000)
    assert "orderId" in market_order(client, trader_headers, a, "Buy", 5)
    set_price(client, admin_headers, 5001)
    assert "orderId" in market_order(client, trader_headers, a, "Sell", 1)  # realized: the cash row exists
    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                update(cash_balance).where(cash_balance.c.account_id == a).values(amount_cents=OPEN_BOUND)
            )
    finally:
        engine.dispose()
    refused = market_order(client, trader_headers, a, "Buy", 1)
    assert refused["failureReason"] == "MaxPosLimitReached" and "bound" in refused["failureText"]
    assert (
        market_order(client, trader_headers, a, "Sell", 5)["failureReason"] == "MaxPosLimitReached"
    )  # a reversal
    assert "orderId" in market_order(client, trader_headers, a, "Sell", 1)
    set_price(client, admin_headers, ES_MAX)
    r = client.post(SET_ACTION, json=action_body(a, "LiquidateImmediately"), headers=admin_headers)
    assert r.status_code == 200 and "accountRiskStatus" in r.json(), r.text
    assert net_pos(client, trader_headers, a) == 0
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn:
            amount = conn.execute(select(cash_balance.c.amount_cents).where(cash_balance.c.account_id == a))
            assert OPEN_BOUND < amount.scalar_one() < INT64_MAX
    finally:
        engine.dispose()


def test_sandbox_replay_when_a_price_is_beyond_the_bound_then_rejected_naming_the_field(
    client: TestClient[Any], admin_headers: H, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`autoliq sandbox replay` posts to /_autoliq/prices: the 400 names the entry, the CLI says so
    (run in process: the CLI's HTTP client is pointed at the test app)."""
    csv_file = tmp_path / "prices.csv"
    csv_file.write_text("time,symbol,price\n0,ESZ6,5000\n1,ESZ6,1e20\n")

    def in_process(request: httpx.Request) -> httpx.Response:
        answer = client._transport.handle_request(request)
        answer.read()  # a plain response: the CLI's async client reads it
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    monkeypatch.setattr(connection, "base_transport", lambda _connection, _n: httpx.MockTransport(in_process))
    monkeypatch.setenv("AUTOLIQ_URL", str(client.base_url))
    result = CliRunner().invoke(
        cli_app, ["sandbox", "replay", str(csv_file), "--speed", "0", "--password", ADMIN_PW]
    )
    assert result.exit_code == 1, result.output
    assert "prices[0].price: must be below 2500000 for ES" in result.output
    # A new session: the CLI's logins may have closed the oldest of the admin's (two live at most).
    answer = client.get(PRICES, headers=bearer(login(client, "admin", ADMIN_PW)))
    assert answer.status_code == 200, answer.text
    prices = answer.json()["prices"]
    assert [p["price"] for p in prices] == [5000.0]
