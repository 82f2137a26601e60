"""Instruments and sandbox prices over HTTP: /v1/product, /v1/contract, /_autoliq/prices."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import TestClient

from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, World, bearer, login
from tests.helpers import app_client

PRICES = "/_autoliq/prices"


def test_products_when_listed_then_twelve_cme_futures_with_tick_and_point_value(
    client: TestClient[Any], trader_headers: dict[str, str]
) -> None:
    products = {p["name"]: p for p in client.get("/v1/product/list", headers=trader_headers).json()}
    assert len(products) == 12
    assert (products["ES"]["tickSize"], products["ES"]["valuePerPoint"]) == (0.25, 50.0)
    assert (products["CL"]["tickSize"], products["CL"]["valuePerPoint"]) == (0.01, 1000.0)
    assert (products["MGC"]["tickSize"], products["MGC"]["valuePerPoint"]) == (0.1, 10.0)
    assert client.get("/v1/product/find?name=ZZ", headers=trader_headers).status_code == 404
    assert client.get("/v1/product/item?id=99", headers=trader_headers).status_code == 404


def test_contracts_when_clock_passes_expiry_then_front_month_rolls(world: World, clock: ManualClock) -> None:
    clock.set(datetime(2026, 12, 18, 20, 0, tzinfo=UTC))  # ESZ6's last trading day, in Chicago
    with app_client(world.database_url, clock) as c:
        h = bearer(login(c, "admin", ADMIN_PW))
        assert c.get("/v1/contract/find?name=ESZ6", headers=h).status_code == 200
        clock.set(datetime(2026, 12, 19, 20, 0, tzinfo=UTC))
        h = bearer(login(c, "admin", ADMIN_PW))  # a day later the first token has expired
        assert c.get("/v1/contract/find?name=ESZ6", headers=h).status_code == 404
        assert c.get("/v1/contract/find?name=ESH7", headers=h).json()["name"] == "ESH7"


def test_contract_reads_when_unknown_then_404_or_left_out(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    assert client.get("/v1/contract/find?name=ESF7", headers=admin_headers).status_code == 404
    assert client.get("/v1/contract/item?id=1", headers=admin_headers).status_code == 404
    front = client.get("/v1/contract/find?name=NQZ6", headers=admin_headers).json()
    items = client.get(f"/v1/contract/items?ids=1,{front['id']}", headers=admin_headers).json()
    assert [c["name"] for c in items] == ["NQZ6"]


def test_prices_when_admin_sets_several_then_read_back_exactly(
    client: TestClient[Any], admin_headers: dict[str, str], trader_headers: dict[str, str], clock: ManualClock
) -> None:
    body = {"prices": [{"symbol": "ESZ6", "price": 5012.25}, {"symbol": "CLF7", "price": 71.23}]}
    r = client.post(PRICES, json=body, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert [(p["symbol"], p["price"]) for p in r.json()["prices"]] == [("ESZ6", 5012.25), ("CLF7", 71.23)]
    read = client.get(PRICES, headers=trader_headers).json()["prices"]
    assert {p["symbol"]: p["price"] for p in read} == {"ESZ6": 5012.25, "CLF7": 71.23}
    assert all(p["timestamp"] == clock.now().isoformat().replace("+00:00", "Z") for p in read)
    client.post(PRICES, json={"prices": [{"symbol": "ESZ6", "price": 5013}]}, headers=admin_headers)
    read = client.get(PRICES, headers=trader_headers).json()["prices"]
    assert {p["symbol"]: p["price"] for p in read} == {"ESZ6": 5013.0, "CLF7": 71.23}


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"symbol": "ESZ6", "price": 5012.3}, "tick size"),
        ({"symbol": "ESZ6", "price": 0}, "positive"),
        ({"symbol": "ESZ6", "price": -1}, "positive"),
        ({"symbol": "NOPE", "price": 1}, "not a listed contract"),
        ({"symbol": "ESF7", "price": 5000}, "not a listed contract"),
        ({"symbol": "ESZ6", "price": "5000"}, "price"),
    ],
)
def test_prices_when_any_entry_bad_then_400_and_none_applied(
    client: TestClient[Any], admin_headers: dict[str, str], entry: dict[str, Any], fragment: str
) -> None:
    body = {"prices": [{"symbol": "NQZ6", "price": 21000.5}, entry]}
    r = client.post(PRICES, json=body, headers=admin_headers)
    assert r.status_code == 400
    assert fragment in r.json()["errorText"]
    assert client.get(PRICES, headers=admin_headers).json()["prices"] == []


def test_prices_when_trader_sets_then_401_and_nothing_set(
    client: TestClient[Any], trader_headers: dict[str, str]
) -> None:
    r = client.post(PRICES, json={"prices": [{"symbol": "ESZ6", "price": 5000}]}, headers=trader_headers)
    assert (r.status_code, r.json()) == (401, {"errorText": "Access is denied"})
    assert client.get(PRICES, headers=trader_headers).json()["prices"] == []


def test_operator_routes_when_refused_caller_sends_a_malformed_body_then_401_before_the_body_is_read(
    client: TestClient[Any], trader_headers: dict[str, str]
) -> None:
    # Arrange: bodies wrong in type or shape, from a trader (not an admin, not the operator)
    cases = [
        (PRICES, {"prices": "many"}),
        ("/_autoliq/clock", {"advanceSeconds": "soon"}),
        ("/_autoliq/faults", {"path": 7}),
    ]
    for path, body in cases:
        # Act
        r = client.post(path, json=body, headers=trader_headers)
        # Assert: refused for who it is, as before the body was decoded by the framework
        assert (r.status_code, r.json()) == (401, {"errorText": "Access is denied"}), path


def test_prices_when_set_then_survive_a_new_process(world: World, clock: ManualClock) -> None:
    with app_client(world.database_url, clock) as c:
        h = bearer(login(c, "admin", ADMIN_PW))
        assert (
            c.post(PRICES, json={"prices": [{"symbol": "GCZ6", "price": 2650.1}]}, headers=h).status_code
            == 200
        )
    with app_client(world.database_url, clock) as c:
        h = bearer(login(c, "admin", ADMIN_PW))
        assert c.get(PRICES, headers=h).json()["prices"][0]["price"] == 2650.1


def test_market_routes_when_no_token_then_401(client: TestClient[Any]) -> None:
    for path in ("/v1/product/list", "/v1/contract/find?name=ESZ6", PRICES):
        assert client.get(path).status_code == 401
    assert client.post(PRICES, json={"prices": []}).status_code == 401
