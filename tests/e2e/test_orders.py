"""Scenarios over HTTP: each admin action's effect on the order path, fills, positions and cash."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import create_engine, text

from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, OTHER_ADMIN_PW, TRADER_PW, World, bearer, login
from tests.helpers import SET_ACTION, action_body, app_client, db_snapshot, market_order

PLACE = "/v1/order/placeorder"
CANCEL = "/v1/order/cancelorder"
PRICES = "/_autoliq/prices"
SNAPSHOT = "/v1/cashBalance/getcashbalancesnapshot"

H = dict[str, str]


def price(client: TestClient[Any], admin: H, symbol: str, value: float) -> None:
    r = client.post(PRICES, json={"prices": [{"symbol": symbol, "price": value}]}, headers=admin)
    assert r.status_code == 200, r.text


def order(
    client: TestClient[Any], headers: H, account_id: int, action: str, qty: int, **extra: Any
) -> dict[str, Any]:
    return dict(market_order(client, headers, account_id, action, qty, **extra))


def set_action(client: TestClient[Any], admin: H, account_id: int, action: str) -> None:
    r = client.post(SET_ACTION, json=action_body(account_id, action), headers=admin)
    assert r.status_code == 200 and "accountRiskStatus" in r.json(), r.text


def net_positions(client: TestClient[Any], headers: H, account_id: int) -> dict[int, int]:
    return {
        p["contractId"]: p["netPos"]
        for p in client.get(f"/v1/position/deps?masterid={account_id}", headers=headers).json()
    }


def working(client: TestClient[Any], headers: H, account_id: int) -> list[dict[str, Any]]:
    return [
        o
        for o in client.get(f"/v1/order/deps?masterid={account_id}", headers=headers).json()
        if o["ordStatus"] == "Working"
    ]


def test_market_order_when_no_price_yet_then_no_quote_and_nothing_stored(
    client: TestClient[Any], trader_headers: H, world: World
) -> None:
    result = order(client, trader_headers, world.demo_account_ids[0], "Buy", 1)
    assert result["failureReason"] == "NoQuote" and "orderId" not in result
    assert client.get("/v1/order/list", headers=trader_headers).json() == []


def test_market_order_when_priced_then_filled_at_last_price_and_position_and_cash_follow(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, "ESZ6", 5000)
    result = order(client, trader_headers, a, "Buy", 2)
    assert set(result) == {"orderId"}
    fills = client.get(f"/v1/fill/deps?masterid={a}", headers=trader_headers).json()
    assert [(f["action"], f["qty"], f["price"]) for f in fills] == [("Buy", 2, 5000.0)]
    [pos] = client.get(f"/v1/position/deps?masterid={a}", headers=trader_headers).json()
    assert (pos["netPos"], pos["netPrice"], pos["bought"], pos["boughtValue"]) == (2, 5000.0, 2, 10000.0)
    price(client, admin_headers, "ESZ6", 5010.25)
    snap = client.post(SNAPSHOT, json={"accountId": a}, headers=trader_headers).json()
    assert snap["openPnL"] == 2 * 10.25 * 50
    assert snap["netLiq"] == 50000 + 1025.0
    order(client, trader_headers, a, "Sell", 2)
    snap = client.post(SNAPSHOT, json={"accountId": a}, headers=trader_headers).json()
    assert (snap["realizedPnL"], snap["openPnL"], snap["totalCashValue"]) == (1025.0, 0.0, 51025.0)


def test_lock_when_set_then_every_new_order_trading_locked_cancel_accepted_positions_kept(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[1]
    price(client, admin_headers, "ESZ6", 5000)
    order(client, trader_headers, a, "Buy", 3)
    resting = order(client, trader_headers, a, "Buy", 1, orderType="Limit", price=4900)
    set_action(client, admin_headers, a, "LockTradingImmediately")
    for side, kind in (("Buy", "Market"), ("Sell", "Market"), ("Sell", "Limit")):
        extra = {"orderType": kind, "price": 5100} if kind == "Limit" else {}
        refused = order(client, trader_headers, a, side, 1, **extra)
        assert refused["failureReason"] == "TradingLocked", refused
    cancelled = client.post(CANCEL, json={"orderId": resting["orderId"]}, headers=trader_headers).json()
    assert "failureReason" not in cancelled
    assert working(client, trader_headers, a) == []
    assert list(net_positions(client, trader_headers, a).values()) == [3]


def test_liquidate_when_set_then_orders_cancelled_positions_flat_pnl_booked_and_locked(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[2]
    price(client, admin_headers, "ESZ6", 5000)
    order(client, trader_headers, a, "Buy", 2)
    order(client, trader_headers, a, "Sell", 1, orderType="Limit", price=5100)
    price(client, admin_headers, "ESZ6", 4990)
    set_action(client, admin_headers, a, "LiquidateImmediately")
    assert working(client, trader_headers, a) == []
    assert set(net_positions(client, trader_headers, a).values()) == {0}
    orders = client.get(f"/v1/order/deps?masterid={a}", headers=trader_headers).json()
    assert any(o["admin"] and o["ordStatus"] == "Filled" for o in orders)
    snap = client.post(SNAPSHOT, json={"accountId": a}, headers=trader_headers).json()
    assert snap["realizedPnL"] == 2 * (4990 - 5000) * 50
    assert order(client, trader_headers, a, "Buy", 1)["failureReason"] == "TradingLocked"


def test_liquidate_when_contract_has_no_price_then_closing_order_waits_for_a_price(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    from sqlalchemy import delete

    from autoliq.adapters.sql.db import create_admin_engine
    from autoliq.adapters.sql.schema import contract_price

    a = world.demo_account_ids[3]
    price(client, admin_headers, "ESZ6", 5000)
    order(client, trader_headers, a, "Sell", 2)
    # The contract loses its quote (as after a sandbox reset of prices): no price to close at.
    engine = create_admin_engine(world.database_url)
    with engine.begin() as conn:
        conn.execute(delete(contract_price))
    engine.dispose()
    set_action(client, admin_headers, a, "LiquidateImmediately")
    [closing] = working(client, trader_headers, a)
    assert closing["admin"] is True
    assert list(net_positions(client, trader_headers, a).values()) == [-2]  # still open, waiting
    assert order(client, trader_headers, a, "Buy", 1)["failureReason"] == "TradingLocked"
    price(client, admin_headers, "ESZ6", 5004)  # a price arrives: the closing order fills at it
    assert working(client, trader_headers, a) == []
    assert list(net_positions(client, trader_headers, a).values()) == [0]
    snap = client.post(SNAPSHOT, json={"accountId": a}, headers=trader_headers).json()
    assert snap["realizedPnL"] == -2 * 4 * 50
    assert order(client, trader_headers, a, "Sell", 1)["failureReason"] == "TradingLocked"


def test_liquidate_only_when_set_then_opening_and_increasing_refused_reducing_filled(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[4]
    price(client, admin_headers, "ESZ6", 5000)
    order(client, trader_headers, a, "Buy", 3)
    set_action(client, admin_headers, a, "LiquidateOnlyModeImmediately")
    assert order(client, trader_headers, a, "Buy", 1)["failureReason"] == "LiquidationOnly"  # increasing
    assert order(client, trader_headers, a, "Sell", 4)["failureReason"] == "LiquidationOnly"  # past flat
    assert "orderId" in order(client, trader_headers, a, "Sell", 2)  # reducing
    assert list(net_positions(client, trader_headers, a).values()) == [1]
    b = world.demo_account_ids[5]
    set_action(client, admin_headers, b, "LiquidateOnlyModeImmediately")
    assert order(client, trader_headers, b, "Buy", 1)["failureReason"] == "LiquidationOnly"  # opening


def test_normal_when_set_after_lock_then_trading_resumes(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[6]
    price(client, admin_headers, "ESZ6", 5000)
    set_action(client, admin_headers, a, "LockTradingImmediately")
    assert order(client, trader_headers, a, "Buy", 1)["failureReason"] == "TradingLocked"
    set_action(client, admin_headers, a, "Normal")
    assert "orderId" in order(client, trader_headers, a, "Buy", 1)


def test_resting_orders_when_price_crosses_then_filled_at_that_price(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[7]
    price(client, admin_headers, "ESZ6", 5000)
    limit = order(client, trader_headers, a, "Buy", 1, orderType="Limit", price=4990)
    stop = order(client, trader_headers, a, "Sell", 1, orderType="Stop", stopPrice=4980)
    assert len(working(client, trader_headers, a)) == 2
    price(client, admin_headers, "ESZ6", 4995)
    assert len(working(client, trader_headers, a)) == 2
    price(client, admin_headers, "ESZ6", 4989.75)  # limit reached, stop not yet
    assert [o["id"] for o in working(client, trader_headers, a)] == [stop["orderId"]]
    price(client, admin_headers, "ESZ6", 4979.5)  # stop reached: sells at the market
    assert working(client, trader_headers, a) == []
    fills = client.get(f"/v1/fill/deps?masterid={a}", headers=trader_headers).json()
    assert [(f["orderId"], f["price"]) for f in fills] == [
        (limit["orderId"], 4989.75),
        (stop["orderId"], 4979.5),
    ]


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ({"symbol": "ZZZ9"}, "InvalidContract"),
        ({"orderType": "Limit"}, "InvalidPrice"),
        ({"orderType": "Limit", "price": 5000.1}, "InvalidPrice"),
        ({"orderType": "TrailingStop"}, "Unsupported"),
        ({"timeInForce": "GTD"}, "Unsupported"),
        ({"orderQty": 0}, "UnknownReason"),
    ],
)
def test_place_order_when_request_invalid_then_failure_reason_and_nothing_stored(
    client: TestClient[Any],
    admin_headers: H,
    trader_headers: H,
    world: World,
    patch: dict[str, Any],
    reason: str,
) -> None:
    price(client, admin_headers, "ESZ6", 5000)
    before = db_snapshot(world.database_url)
    result = order(client, trader_headers, world.demo_account_ids[8], "Buy", 1, **patch)
    assert result["failureReason"] == reason and result["failureText"]
    assert client.get("/v1/order/list", headers=trader_headers).json() == []
    assert db_snapshot(world.database_url) == before


def test_place_order_when_account_not_the_callers_then_access_denied(
    client: TestClient[Any], admin_headers: H, other_admin_headers: H, world: World
) -> None:
    price(client, admin_headers, "ESZ6", 5000)
    result = order(client, other_admin_headers, world.demo_account_ids[0], "Buy", 1)
    assert (result["failureReason"], result["failureText"]) == ("UnknownReason", "Access is denied")
    assert (
        client.get(f"/v1/order/deps?masterid={world.demo_account_ids[0]}", headers=other_admin_headers).json()
        == []
    )
    # An admin trades its own organization's accounts.
    assert "orderId" in order(client, admin_headers, world.demo_account_ids[0], "Buy", 1)


MODIFY = "/v1/order/modifyorder"
LIQ_ONE = "/v1/order/liquidateposition"
LIQ_MANY = "/v1/order/liquidatepositions"


def test_modify_order_when_limit_moved_to_the_market_then_fills_and_when_locked_then_refused(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, "ESZ6", 5000)
    resting = order(client, trader_headers, a, "Buy", 1, orderType="Limit", price=4900)
    moved = client.post(
        MODIFY, json={"orderId": resting["orderId"], "orderQty": 2, "orderType": "Limit", "price": 4950},
        headers=trader_headers,
    ).json()  # fmt: skip
    assert moved == {"commandId": resting["orderId"]}
    assert working(client, trader_headers, a)[0]["id"] == resting["orderId"]
    set_action(client, admin_headers, a, "LockTradingImmediately")
    refused = client.post(
        MODIFY, json={"orderId": resting["orderId"], "orderQty": 1, "orderType": "Limit", "price": 5000},
        headers=trader_headers,
    ).json()  # fmt: skip
    assert refused["failureReason"] == "TradingLocked"
    set_action(client, admin_headers, a, "Normal")
    filled = client.post(
        MODIFY,
        json={"orderId": resting["orderId"], "orderQty": 2, "orderType": "Market"},
        headers=trader_headers,
    ).json()
    assert "failureReason" not in filled
    assert working(client, trader_headers, a) == []
    assert list(net_positions(client, trader_headers, a).values()) == [2]


def test_modify_order_when_liquidate_only_and_qty_grows_past_the_position_then_liquidation_only(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[1]
    price(client, admin_headers, "ESZ6", 5000)
    order(client, trader_headers, a, "Buy", 2)
    resting = order(client, trader_headers, a, "Sell", 1, orderType="Limit", price=5100)
    set_action(client, admin_headers, a, "LiquidateOnlyModeImmediately")
    body = {"orderId": resting["orderId"], "orderType": "Limit", "price": 5100}
    assert (
        "failureReason"
        not in client.post(MODIFY, json={**body, "orderQty": 2}, headers=trader_headers).json()
    )
    grown = client.post(MODIFY, json={**body, "orderQty": 3}, headers=trader_headers).json()
    assert grown["failureReason"] == "LiquidationOnly"


def test_liquidate_position_when_called_then_contract_orders_cancelled_and_position_closed(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[2]
    price(client, admin_headers, "ESZ6", 5000)
    order(client, trader_headers, a, "Sell", 3)
    order(client, trader_headers, a, "Sell", 1, orderType="Limit", price=5100)
    contract_id = next(iter(net_positions(client, trader_headers, a)))
    result = client.post(
        LIQ_ONE, json={"accountId": a, "contractId": contract_id, "admin": False}, headers=trader_headers
    )
    assert "orderId" in result.json()
    assert working(client, trader_headers, a) == []
    assert net_positions(client, trader_headers, a) == {contract_id: 0}
    again = client.post(
        LIQ_ONE, json={"accountId": a, "contractId": contract_id, "admin": False}, headers=trader_headers
    )
    assert again.json()["failureReason"] == "UnknownReason"
    as_admin = client.post(
        LIQ_ONE, json={"accountId": a, "contractId": contract_id, "admin": True}, headers=trader_headers
    )
    assert as_admin.json()["failureText"] == "Access is denied"  # a trader may not send admin orders


def test_liquidate_positions_when_locked_account_and_admin_then_all_closed_by_admin_orders(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a, b = world.demo_account_ids[3:5]
    price(client, admin_headers, "ESZ6", 5000)
    order(client, trader_headers, a, "Buy", 1)
    order(client, trader_headers, b, "Sell", 2)
    set_action(client, admin_headers, a, "LockTradingImmediately")
    ids = [p["id"] for p in client.get(f"/v1/position/ldeps?masterids={a},{b}", headers=admin_headers).json()]
    refused = client.post(LIQ_MANY, json={"positions": ids, "admin": False}, headers=admin_headers).json()
    assert refused == {"ok": True}  # accepted as a request; the locked account's non-admin order is refused
    assert (
        net_positions(client, admin_headers, a) != {}
        and 1 in net_positions(client, admin_headers, a).values()
    )
    done = client.post(LIQ_MANY, json={"positions": ids, "admin": True}, headers=admin_headers).json()
    assert done == {"ok": True}
    assert set(net_positions(client, admin_headers, a).values()) == {0}
    assert set(net_positions(client, admin_headers, b).values()) == {0}
    empty = client.post(LIQ_MANY, json={"positions": [], "admin": True}, headers=admin_headers).json()
    assert empty == {"ok": False, "errorText": "Empty positions"}


def test_cash_when_trade_date_rolls_at_17_chicago_then_day_pnl_resets_and_sod_moves(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World, clock: Any
) -> None:
    from datetime import UTC, datetime

    from tests.conftest import ADMIN_PW, TRADER_PW, bearer, login

    a = world.demo_account_ids[9]
    clock.set(datetime(2026, 11, 24, 20, 0, tzinfo=UTC))  # 14:00 Chicago, trade date Nov 24
    admin, trader = bearer(login(client, "admin", ADMIN_PW)), bearer(login(client, "trader", TRADER_PW))
    price(client, admin, "ESZ6", 5000)
    order(client, trader, a, "Buy", 1)
    price(client, admin, "ESZ6", 5010)
    order(client, trader, a, "Sell", 1)
    day1 = client.post(SNAPSHOT, json={"accountId": a}, headers=trader).json()
    assert (day1["realizedPnL"], day1["netLiqSOD"], day1["totalCashValue"]) == (500.0, 50000.0, 50500.0)
    clock.set(datetime(2026, 11, 24, 23, 1, tzinfo=UTC))  # 17:01 Chicago: trade date Nov 25
    trader = bearer(login(client, "trader", TRADER_PW))
    day2 = client.post(SNAPSHOT, json={"accountId": a}, headers=trader).json()
    assert (day2["realizedPnL"], day2["weekRealizedPnL"], day2["netLiqSOD"]) == (0.0, 500.0, 50500.0)
    [balance] = client.get(f"/v1/cashBalance/deps?masterid={a}", headers=trader).json()
    assert (balance["tradeDate"], balance["amountSOD"]) == ({"year": 2026, "month": 11, "day": 25}, 50500.0)


# -- every kind of request placeorder answers, with its exact answer (moved from the removed
# test_fast_path.py, which compared the plain-ASGI path with the framework route) --


def _order_kinds(world: World) -> list[tuple[str, str, bytes]]:
    """(who, description, raw body) for every kind of answer placeorder gives."""
    free, locked = world.demo_account_ids[0], world.demo_account_ids[1]

    def body(account_id: int, **extra: Any) -> bytes:
        base = {"accountId": account_id, "action": "Buy", "symbol": "ESZ6", "orderQty": 1}
        return json.dumps({**base, "orderType": "Market", **extra}).encode()

    return [
        ("admin", "market fill", body(free)),
        ("admin", "limit rests", body(free, orderType="Limit", price=4000.25)),
        ("admin", "locked", body(locked)),
        ("admin", "no quote", body(free, symbol="NQZ6")),
        ("admin", "unknown contract", body(free, symbol="ZZZ9")),
        ("admin", "off-tick price", body(free, orderType="Limit", price=4000.1)),
        ("admin", "zero quantity", body(free, orderQty=0)),
        ("admin", "unknown time in force", body(free, timeInForce="Forever")),
        ("admin", "unknown account", body(987654321)),
        ("admin", "malformed", b'{"accountId": '),
        ("admin", "wrong type", body(free, accountId=str(free))),
        ("admin", "over 1 MiB", body(free, text="x" * (1024 * 1024))),
        ("trader", "trader", body(free)),
        ("other", "other organization", body(free)),
        ("none", "no token", body(free)),
        ("forged", "forged token", body(free)),
    ]


ORDER_KIND_ANSWERS: dict[str, tuple[int, str]] = {
    # 200 with an order id ("orderId"), 200 with a refusal (its failureReason), else the errorText
    "market fill": (200, "orderId"),
    "limit rests": (200, "orderId"),
    "locked": (200, "TradingLocked"),
    "no quote": (200, "NoQuote"),
    "unknown contract": (200, "InvalidContract"),
    "off-tick price": (200, "InvalidPrice"),
    "zero quantity": (200, "UnknownReason"),
    "unknown time in force": (200, "Unsupported"),
    "unknown account": (200, "UnknownReason"),
    "malformed": (400, "body: is not valid JSON (Input data was truncated)"),
    "wrong type": (400, "accountId: Expected `int | null`, got `str`"),
    "over 1 MiB": (413, "Request body too large"),
    "trader": (200, "orderId"),
    "other organization": (200, "UnknownReason"),
    "no token": (401, "Access is denied"),
    "forged token": (401, "Access is denied"),
}


def test_place_order_when_every_kind_of_request_then_its_exact_answer(
    world: World, clock: ManualClock
) -> None:
    answers: dict[str, tuple[int, Any]] = {}
    orders_before = _order_count(world)
    with app_client(world.database_url, clock) as c:
        admin = bearer(login(c, "admin", ADMIN_PW))
        headers = {
            "admin": admin,
            "trader": bearer(login(c, "trader", TRADER_PW)),
            "other": bearer(login(c, "other-admin", OTHER_ADMIN_PW)),
            "none": {},
            "forged": bearer("forged-token"),
        }
        price(c, admin, "ESZ6", 5000.25)
        lock = c.post(SET_ACTION, json=action_body(world.demo_account_ids[1]), headers=admin)
        assert lock.status_code == 200, lock.text
        for who, label, raw in _order_kinds(world):
            r = c.post(PLACE, content=raw, headers={**headers[who], "content-type": "application/json"})
            answers[label] = (r.status_code, r.json())
    assert list(answers) == list(ORDER_KIND_ANSWERS)
    for label, (status, expected) in ORDER_KIND_ANSWERS.items():
        code, body = answers[label]
        if expected == "orderId":
            assert code == status and list(body) == ["orderId"] and body["orderId"] > 0, (label, body)
        elif "failureReason" in body:
            assert (code, body["failureReason"]) == (status, expected), (label, body)
            assert sorted(body) == ["failureReason", "failureText"], (label, body)
        else:
            assert (code, body) == (status, {"errorText": expected}), label
    # The fill, the resting limit and the trader's order were stored; no refusal stored one.
    assert _order_count(world) == orders_before + 3


def _order_count(world: World) -> int:
    engine = create_engine(world.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM trade_order")).scalar_one())
    finally:
        engine.dispose()
