"""Linked orders in process (both engines): OCO, OSO and multibracket strategies through prices,
with a lock, liquidate-only or a liquidation in between; every 200 answer validated against
Tradovate's official schemas."""

from __future__ import annotations

import json
from typing import Any

from litestar.testing import TestClient

from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, TRADER_PW, World, bearer, login
from tests.contract import validate_response
from tests.e2e.test_websocket import open_socket, token_of
from tests.helpers import SET_ACTION, action_body, app_client, market_order

H = dict[str, str]
PRICES = "/_autoliq/prices"
OCO = "/v1/order/placeoco"
OSO = "/v1/order/placeoso"
START = "/v1/orderStrategy/startorderstrategy"
INTERRUPT = "/v1/orderStrategy/interruptorderstrategy"
MODIFY = "/v1/orderStrategy/modifyorderstrategy"


# -- helpers --


def price(client: TestClient[Any], admin: H, value: float) -> None:
    r = client.post(PRICES, json={"prices": [{"symbol": "ESZ6", "price": value}]}, headers=admin)
    assert r.status_code == 200, r.text


def post(client: TestClient[Any], headers: H, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(path, json=body, headers=headers)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    validate_response("POST", path, answer)
    return answer


def get(client: TestClient[Any], headers: H, path: str) -> Any:
    r = client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    answer = r.json()
    validate_response("GET", path.partition("?")[0], answer)
    return answer


def orders(client: TestClient[Any], headers: H, account_id: int) -> dict[int, dict[str, Any]]:
    return {o["id"]: o for o in get(client, headers, f"/v1/order/deps?masterid={account_id}")}


def statuses(client: TestClient[Any], headers: H, account_id: int, *ids: int) -> list[str]:
    found = orders(client, headers, account_id)
    return [found[i]["ordStatus"] for i in ids]


def net_pos(client: TestClient[Any], headers: H, account_id: int) -> int:
    return sum(p["netPos"] for p in get(client, headers, f"/v1/position/deps?masterid={account_id}"))


def set_action(client: TestClient[Any], admin: H, account_id: int, action: str) -> None:
    r = client.post(SET_ACTION, json=action_body(account_id, action), headers=admin)
    assert r.status_code == 200 and "accountRiskStatus" in r.json(), r.text


def oso_body(account_id: int, **extra: Any) -> dict[str, Any]:
    """A Buy Limit 4990 entry; bracket1 Sell Limit 5010 (target), bracket2 Sell Stop 4980 (stop)."""
    body = {
        "accountId": account_id, "action": "Buy", "symbol": "ESZ6", "orderQty": 1, "orderType": "Limit",
        "price": 4990, "isAutomated": True,
        "bracket1": {"action": "Sell", "orderType": "Limit", "price": 5010},
        "bracket2": {"action": "Sell", "orderType": "Stop", "stopPrice": 4980},
    }  # fmt: skip
    return {**body, **extra}


def oco_body(account_id: int, **extra: Any) -> dict[str, Any]:
    """Sell Limit 5010 (take profit) OCO Sell Stop 4990 (stop loss), qty 1."""
    body = {
        "accountId": account_id, "action": "Sell", "symbol": "ESZ6", "orderQty": 1, "orderType": "Limit",
        "price": 5010, "other": {"action": "Sell", "orderType": "Stop", "stopPrice": 4990},
    }  # fmt: skip
    return {**body, **extra}


def strategy_body(account_id: int, params: Any, **extra: Any) -> dict[str, Any]:
    body = {
        "accountId": account_id, "accountSpec": "trader", "symbol": "ESZ6", "action": "Buy",
        "orderStrategyTypeId": 2, "params": params,
    }  # fmt: skip
    return {**body, **extra}


def bracket_params(entry: dict[str, Any] | None = None, **bracket: Any) -> str:
    brackets = [{"qty": 1, "profitTarget": 10, "stopLoss": -5, "trailingStop": False, **bracket}]
    return json.dumps({"entryVersion": entry or {"orderQty": 1, "orderType": "Market"}, "brackets": brackets})


# -- OSO --


def test_oso_when_entry_fills_then_brackets_work_and_one_fill_cancels_the_other_and_position_flat(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    result = post(client, trader_headers, OSO, oso_body(a))
    entry, target, stop = result["orderId"], result["oso1Id"], result["oso2Id"]
    assert statuses(client, trader_headers, a, entry, target, stop) == ["Working", "Suspended", "Suspended"]
    found = orders(client, trader_headers, a)
    assert (found[target]["parentId"], found[stop]["parentId"]) == (entry, entry)
    assert (found[target]["ocoId"], found[stop]["ocoId"]) == (stop, target)
    price(client, admin_headers, 5005)  # reaches the target's price, but it is suspended: nothing
    assert statuses(client, trader_headers, a, entry, target, stop) == ["Working", "Suspended", "Suspended"]

    price(client, admin_headers, 4990)
    assert statuses(client, trader_headers, a, entry, target, stop) == ["Filled", "Working", "Working"]
    assert net_pos(client, trader_headers, a) == 1
    price(client, admin_headers, 5010)

    assert statuses(client, trader_headers, a, entry, target, stop) == ["Filled", "Filled", "Canceled"]
    assert net_pos(client, trader_headers, a) == 0


def test_oso_when_entry_cancelled_then_suspended_brackets_cancelled(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    result = post(client, trader_headers, OSO, oso_body(a))

    cancel = post(client, trader_headers, "/v1/order/cancelorder", {"orderId": result["orderId"]})

    assert "failureReason" not in cancel
    ids = (result["orderId"], result["oso1Id"], result["oso2Id"])
    assert statuses(client, trader_headers, a, *ids) == ["Canceled"] * 3
    price(client, admin_headers, 4980)
    assert net_pos(client, trader_headers, a) == 0


def test_oso_when_market_entry_then_filled_at_once_and_its_one_bracket_works(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    body = oso_body(a, orderType="Market", bracket2=None)
    del body["bracket2"]

    result = post(client, trader_headers, OSO, body)

    assert set(result) == {"orderId", "oso1Id"}
    assert statuses(client, trader_headers, a, result["orderId"], result["oso1Id"]) == ["Filled", "Working"]
    assert "ocoId" not in orders(client, trader_headers, a)[result["oso1Id"]]


def test_oso_when_day_entry_expires_at_the_trade_date_end_then_its_brackets_cancelled(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    result = post(client, trader_headers, OSO, oso_body(a, timeInForce="Day"))
    ids = (result["orderId"], result["oso1Id"], result["oso2Id"])

    r = client.post("/_autoliq/clock", json={"now": "2026-11-24T23:00:00Z"}, headers=admin_headers)
    assert r.status_code == 200, r.text
    trader = bearer(login(client, "trader", TRADER_PW))  # tokens live 90 minutes of the sandbox's time

    assert statuses(client, trader, a, *ids) == ["Expired", "Canceled", "Canceled"]


def test_oso_when_locked_between_placing_and_entry_price_then_entry_not_filled_brackets_stay_suspended(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    result = post(client, trader_headers, OSO, oso_body(a))
    ids = (result["orderId"], result["oso1Id"], result["oso2Id"])
    set_action(client, admin_headers, a, "LockTradingImmediately")

    price(client, admin_headers, 4990)

    assert statuses(client, trader_headers, a, *ids) == ["Working", "Suspended", "Suspended"]
    assert net_pos(client, trader_headers, a) == 0
    refused = post(client, trader_headers, OSO, oso_body(a))
    assert refused["failureReason"] == "TradingLocked" and "orderId" not in refused
    refused = post(client, trader_headers, OCO, oco_body(a))
    assert refused["failureReason"] == "TradingLocked" and "orderId" not in refused
    refused = post(client, trader_headers, START, strategy_body(a, bracket_params()))
    assert refused["failureReason"] == "TradingLocked" and "orderStrategy" not in refused
    assert get(client, trader_headers, f"/v1/orderStrategy/deps?masterid={a}") == []


def test_oso_when_locked_after_entry_fill_then_working_brackets_do_not_fill_until_unlocked(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 4990)
    result = post(client, trader_headers, OSO, oso_body(a))
    ids = (result["orderId"], result["oso1Id"], result["oso2Id"])
    assert statuses(client, trader_headers, a, *ids) == ["Filled", "Working", "Working"]
    set_action(client, admin_headers, a, "LockTradingImmediately")

    price(client, admin_headers, 5010)

    assert statuses(client, trader_headers, a, *ids) == ["Filled", "Working", "Working"]
    assert net_pos(client, trader_headers, a) == 1
    set_action(client, admin_headers, a, "Normal")
    price(client, admin_headers, 5011)
    assert statuses(client, trader_headers, a, *ids) == ["Filled", "Filled", "Canceled"]
    assert net_pos(client, trader_headers, a) == 0


def test_oso_when_liquidated_then_every_linked_order_cancelled_and_position_flat(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 4990)
    filled = post(client, trader_headers, OSO, oso_body(a))  # entry filled, brackets working
    waiting = post(client, trader_headers, OSO, oso_body(a, price=4900))  # brackets suspended
    ids = [filled["oso1Id"], filled["oso2Id"], waiting["orderId"], waiting["oso1Id"], waiting["oso2Id"]]

    set_action(client, admin_headers, a, "LiquidateImmediately")

    assert statuses(client, trader_headers, a, *ids) == ["Canceled"] * 5
    assert net_pos(client, trader_headers, a) == 0
    for value in (4900, 4980, 5010):  # no bracket ever wakes or fills afterwards
        price(client, admin_headers, value)
    assert statuses(client, trader_headers, a, *ids) == ["Canceled"] * 5
    assert net_pos(client, trader_headers, a) == 0


def test_strategy_when_auto_liquidated_by_daily_loss_then_brackets_cancelled_and_flat(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    r = client.post(
        "/v1/userAccountAutoLiq/create", json={"id": a, "dailyLossAutoLiq": 200}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    price(client, admin_headers, 5000)
    started = post(client, trader_headers, START, strategy_body(a, bracket_params(stopLoss=-20)))

    price(client, admin_headers, 4995)  # a $250 loss passes the $200 limit, above the stop (4980)

    assert net_pos(client, trader_headers, a) == 0
    strategy = get(client, trader_headers, f"/v1/orderStrategy/item?id={started['orderStrategy']['id']}")
    assert strategy["status"] == "ExecutionInterrupted"
    assert not [
        o for o in orders(client, trader_headers, a).values() if o["ordStatus"] in ("Working", "Suspended")
    ]
    price(client, admin_headers, 4980)
    assert net_pos(client, trader_headers, a) == 0


def test_oso_when_liquidate_only_then_opening_entry_refused_and_reducing_entry_accepted(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    market_order(client, trader_headers, a, "Buy", 1)
    set_action(client, admin_headers, a, "LiquidateOnlyModeImmediately")

    opening = post(client, trader_headers, OSO, oso_body(a))
    target = {"action": "Buy", "orderType": "Limit", "price": 4990}
    stop = {"action": "Buy", "orderType": "Stop", "stopPrice": 5020}
    reducing = post(
        client, trader_headers, OSO, oso_body(a, action="Sell", price=5010, bracket1=target, bracket2=stop)
    )

    assert opening["failureReason"] == "LiquidationOnly" and "orderId" not in opening
    assert set(reducing) == {"orderId", "oso1Id", "oso2Id"}


# -- OCO --


def test_oco_when_one_leg_fills_then_other_cancelled_and_position_flat(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    market_order(client, trader_headers, a, "Buy", 1)
    result = post(client, trader_headers, OCO, oco_body(a))
    limit, stop = result["orderId"], result["ocoId"]
    found = orders(client, trader_headers, a)
    assert (found[limit]["ocoId"], found[stop]["ocoId"]) == (stop, limit)

    price(client, admin_headers, 4990)

    assert statuses(client, trader_headers, a, limit, stop) == ["Canceled", "Filled"]
    assert net_pos(client, trader_headers, a) == 0


def test_oco_when_liquidate_only_then_reducing_pair_accepted_and_a_leg_fills_despite_its_sibling(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    market_order(client, trader_headers, a, "Buy", 1)
    set_action(client, admin_headers, a, "LiquidateOnlyModeImmediately")
    result = post(client, trader_headers, OCO, oco_body(a))

    price(client, admin_headers, 4990)  # the stop: its sibling, which can never fill with it, is not counted

    assert statuses(client, trader_headers, a, result["orderId"], result["ocoId"]) == ["Canceled", "Filled"]
    assert net_pos(client, trader_headers, a) == 0


def test_oco_when_one_leg_cancelled_then_other_cancelled(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    result = post(client, trader_headers, OCO, oco_body(a))

    post(client, trader_headers, "/v1/order/cancelorder", {"orderId": result["ocoId"]})

    assert statuses(client, trader_headers, a, result["orderId"], result["ocoId"]) == ["Canceled", "Canceled"]


def test_oco_when_path_in_examples_case_then_same_route(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)

    r = client.post("/v1/order/placeOCO", json=oco_body(a), headers=trader_headers)

    assert r.status_code == 200 and set(r.json()) == {"orderId", "ocoId"}, r.text


def test_oco_when_bad_input_then_400_or_failure_reason_never_500(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    body = oco_body(a)
    del body["other"]
    assert client.post(OCO, json=body, headers=trader_headers).status_code == 400
    r = client.post(OCO, json=oco_body(a, other={"action": "Sell"}), headers=trader_headers)
    assert (r.status_code, r.json()) == (400, {"errorText": "other.orderType: is required"}), r.text
    r = client.post(OCO, json=oco_body(a, other="x"), headers=trader_headers)
    assert r.status_code == 400, r.text
    r = client.post(OCO, json=oco_body(a, accountId=2**63), headers=trader_headers)
    assert r.status_code == 400, r.text

    bad_price = post(
        client,
        trader_headers,
        OCO,
        oco_body(a, other={"action": "Sell", "orderType": "Stop", "stopPrice": 4990.1}),
    )
    bad_side = post(client, trader_headers, OCO, oco_body(a, other={"action": "Hold", "orderType": "Market"}))
    ioc = post(client, trader_headers, OCO, oco_body(a, timeInForce="IOC"))
    other_org = post(client, trader_headers, OCO, oco_body(world.other_account_ids[0]))

    assert bad_price["failureReason"] == "InvalidPrice"
    assert bad_side["failureReason"] == "UnknownReason"
    assert ioc["failureReason"] == "Unsupported"
    assert other_org == {"failureReason": "UnknownReason", "failureText": "Access is denied"}
    assert orders(client, trader_headers, a) == {}


# -- order strategies --


def test_strategy_when_entry_fills_then_target_and_stop_work_and_stop_fill_finishes_it_flat(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)

    started = post(client, trader_headers, START, strategy_body(a, bracket_params()))

    strategy = started["orderStrategy"]
    assert (strategy["status"], strategy["orderStrategyTypeId"], strategy["action"]) == (
        "ActiveStrategy",
        2,
        "Buy",
    )
    links = get(client, trader_headers, f"/v1/orderStrategyLink/deps?masterid={strategy['id']}")
    by_label = {link["label"]: link["orderId"] for link in links}
    assert set(by_label) == {"Entry", "Target1", "Stop1"}
    found = orders(client, trader_headers, a)
    assert [found[by_label[k]]["ordStatus"] for k in ("Entry", "Target1", "Stop1")] == [
        "Filled",
        "Working",
        "Working",
    ]
    assert found[by_label["Target1"]]["ocoId"] == by_label["Stop1"]
    assert found[by_label["Stop1"]]["parentId"] == by_label["Entry"]
    price(client, admin_headers, 5009.75)  # below the target (5010), above the stop (4995)
    assert net_pos(client, trader_headers, a) == 1

    price(client, admin_headers, 4995)

    found = orders(client, trader_headers, a)
    assert [found[by_label[k]]["ordStatus"] for k in ("Target1", "Stop1")] == ["Canceled", "Filled"]
    assert net_pos(client, trader_headers, a) == 0
    item = get(client, trader_headers, f"/v1/orderStrategy/item?id={strategy['id']}")
    assert item["status"] == "ExecutionFinished"


def test_strategy_when_sell_limit_entry_then_brackets_priced_from_fill_and_target_fill_finishes(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    params = json.dumps({
        "entryVersion": {
            "orderQty": 2, "orderType": "Limit", "price": 5002, "timeInForce": "Day", "orderId": 0
        },
        "brackets": [
            {"qty": 1, "profitTarget": -30, "stopLoss": 15, "trailingStop": False},
            {"qty": 1, "profitTarget": -10, "stopLoss": 15, "trailingStop": False},
        ],
    })  # fmt: skip
    started = post(client, trader_headers, START, strategy_body(a, params, action="Sell"))
    strategy_id = started["orderStrategy"]["id"]
    price(client, admin_headers, 5004)  # the entry fills at 5004; targets 4974 and 4994
    assert net_pos(client, trader_headers, a) == -2

    price(client, admin_headers, 4994)
    assert net_pos(client, trader_headers, a) == -1
    assert (
        get(client, trader_headers, f"/v1/orderStrategy/item?id={strategy_id}")["status"] == "ActiveStrategy"
    )
    price(client, admin_headers, 4974)

    assert net_pos(client, trader_headers, a) == 0
    assert (
        get(client, trader_headers, f"/v1/orderStrategy/item?id={strategy_id}")["status"]
        == "ExecutionFinished"
    )
    working = [
        o for o in orders(client, trader_headers, a).values() if o["ordStatus"] in ("Working", "Suspended")
    ]
    assert working == []


def test_strategy_when_liquidate_only_then_every_stop_still_fills_and_position_flat(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    params = json.dumps({
        "entryVersion": {"orderQty": 2, "orderType": "Market"},
        "brackets": [
            {"qty": 1, "profitTarget": 10, "stopLoss": -5}, {"qty": 1, "profitTarget": 20, "stopLoss": -5}
        ],
    })  # fmt: skip
    post(client, trader_headers, START, strategy_body(a, params))
    set_action(client, admin_headers, a, "LiquidateOnlyModeImmediately")

    price(client, admin_headers, 4995)  # both stops: each pair counts once against the position

    assert net_pos(client, trader_headers, a) == 0


def test_strategy_when_interrupted_then_execution_interrupted_and_its_orders_cancelled(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    entry = {"orderQty": 1, "orderType": "Limit", "price": 4990}
    strategy_id = post(client, trader_headers, START, strategy_body(a, bracket_params(entry)))[
        "orderStrategy"
    ]["id"]

    result = post(client, trader_headers, INTERRUPT, {"orderStrategyId": strategy_id})

    assert result["orderStrategy"]["status"] == "ExecutionInterrupted"
    assert {o["ordStatus"] for o in orders(client, trader_headers, a).values()} == {"Canceled"}
    again = post(client, trader_headers, INTERRUPT, {"orderStrategyId": strategy_id})
    assert again["errorText"] == "Order strategy is not running"
    price(client, admin_headers, 4980)
    assert net_pos(client, trader_headers, a) == 0


def test_strategy_when_liquidated_then_interrupted_and_no_bracket_wakes(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    started = post(client, trader_headers, START, strategy_body(a, bracket_params()))

    set_action(client, admin_headers, a, "LiquidateImmediately")

    strategy = get(client, trader_headers, f"/v1/orderStrategy/item?id={started['orderStrategy']['id']}")
    assert (strategy["status"], strategy["failureMessage"]) == (
        "ExecutionInterrupted",
        "Interrupted by a liquidation of the account",
    )
    assert net_pos(client, trader_headers, a) == 0
    price(client, admin_headers, 5010)
    assert not [
        o for o in orders(client, trader_headers, a).values() if o["ordStatus"] in ("Working", "Suspended")
    ]


def test_strategy_when_modified_then_working_target_moves_by_the_new_offset(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    strategy_id = post(client, trader_headers, START, strategy_body(a, bracket_params()))["orderStrategy"][
        "id"
    ]
    command = json.dumps({"bracket": 1, "profitTarget": 3})

    result = post(client, trader_headers, MODIFY, {"orderStrategyId": strategy_id, "command": command})

    assert result["orderStrategy"]["status"] == "ActiveStrategy"
    price(client, admin_headers, 5003)  # the target was 5010, now 5003
    assert net_pos(client, trader_headers, a) == 0
    bad = post(client, trader_headers, MODIFY, {"orderStrategyId": strategy_id, "command": "cancel"})
    assert "errorText" in bad


def test_strategy_when_suspended_bracket_modified_then_priced_from_new_offset_at_entry_fill(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    entry = {"orderQty": 1, "orderType": "Limit", "price": 4990}
    strategy_id = post(client, trader_headers, START, strategy_body(a, bracket_params(entry)))[
        "orderStrategy"
    ]["id"]
    command = json.dumps({"bracket": 1, "stopLoss": -2})

    post(client, trader_headers, MODIFY, {"orderStrategyId": strategy_id, "command": command})
    price(client, admin_headers, 4990)  # the entry fills: target 5000, stop now 4988 (was 4985)
    price(client, admin_headers, 4988)

    assert net_pos(client, trader_headers, a) == 0
    assert (
        get(client, trader_headers, f"/v1/orderStrategy/item?id={strategy_id}")["status"]
        == "ExecutionFinished"
    )


def test_strategy_when_working_bracket_modified_while_locked_then_trading_locked(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    strategy_id = post(client, trader_headers, START, strategy_body(a, bracket_params()))["orderStrategy"][
        "id"
    ]
    set_action(client, admin_headers, a, "LockTradingImmediately")
    command = json.dumps({"bracket": 1, "profitTarget": 1})

    refused = post(client, trader_headers, MODIFY, {"orderStrategyId": strategy_id, "command": command})

    assert refused["failureReason"] == "TradingLocked" and refused["orderStrategy"]["id"] == strategy_id
    price(client, admin_headers, 5001)
    assert net_pos(client, trader_headers, a) == 1


def test_strategy_when_bad_params_then_error_text_never_500(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    as_object = {"entryVersion": {"orderQty": 1, "orderType": "Market"}, "brackets": []}
    cases = {
        "object": strategy_body(a, as_object),
        "missing": strategy_body(a, None),
        "not json": strategy_body(a, "{"),
        "wrong sign": strategy_body(a, bracket_params(profitTarget=-10)),
        "off tick": strategy_body(a, bracket_params(stopLoss=-5.1)),
        "too much qty": strategy_body(a, bracket_params(qty=2)),
        "type": strategy_body(a, bracket_params(), orderStrategyTypeId=3),
        "trailing": strategy_body(a, bracket_params(trailingStop=True)),
    }
    answers = {name: post(client, trader_headers, START, body) for name, body in cases.items()}

    assert answers["object"] == {"errorText": "Invalid or missed parameters"}
    assert all("errorText" in answer and "orderStrategy" not in answer for answer in answers.values())
    assert answers["wrong sign"]["errorText"].endswith("profitTarget: should be positive for a Buy")
    assert orders(client, trader_headers, a) == {}
    r = client.post(START, json=strategy_body(a, "x" * 8193), headers=trader_headers)
    assert r.status_code == 400 and r.json()["errorText"] == "params: at most 8192 characters"
    r = client.post(
        START, json=strategy_body(a, bracket_params(), orderStrategyTypeId="2"), headers=trader_headers
    )
    assert r.status_code == 400


def test_strategy_when_running_cap_reached_then_refused_with_limit_text(
    database_url: str, world: World, clock: ManualClock
) -> None:
    with app_client(database_url, clock, max_order_strategies=1) as client:
        admin = bearer(login(client, "admin", ADMIN_PW))
        a = world.demo_account_ids[0]
        price(client, admin, 5000)
        entry = {"orderQty": 1, "orderType": "Limit", "price": 4990}
        first = post(client, admin, START, strategy_body(a, bracket_params(entry)))

        second = post(client, admin, START, strategy_body(a, bracket_params(entry)))

        assert first["orderStrategy"]["status"] == "ActiveStrategy"
        assert second == {"errorText": "Limit of running order strategies reached"}


def test_strategy_reads_when_other_organization_then_invisible_and_not_interruptible(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    entry = {"orderQty": 1, "orderType": "Limit", "price": 4990}
    strategy_id = post(client, trader_headers, START, strategy_body(a, bracket_params(entry)))[
        "orderStrategy"
    ]["id"]
    other = bearer(login(client, "other-admin", "other-admin-pw"))

    assert get(client, other, "/v1/orderStrategy/list") == []
    assert get(client, other, "/v1/orderStrategyLink/list") == []
    assert client.get(f"/v1/orderStrategy/item?id={strategy_id}", headers=other).status_code == 404
    refused = post(client, other, INTERRUPT, {"orderStrategyId": strategy_id})
    assert refused == {"errorText": "Access is denied"}
    assert [s["id"] for s in get(client, admin_headers, "/v1/orderStrategy/list")] == [strategy_id]
    assert len(get(client, admin_headers, f"/v1/orderStrategy/ldeps?masterids={a}")) == 1
    assert (
        len(get(client, admin_headers, f"/v1/orderStrategy/items?ids={strategy_id},{strategy_id + 1}")) == 1
    )
    links = get(client, admin_headers, f"/v1/orderStrategyLink/ldeps?masterids={strategy_id}")
    assert [link["label"] for link in links] == ["Entry", "Target1", "Stop1"]
    assert get(client, admin_headers, f"/v1/orderStrategyLink/item?id={links[1]['id']}") == links[1]
    ids = ",".join(str(link["id"]) for link in links)
    assert get(client, trader_headers, f"/v1/orderStrategyLink/items?ids={ids}") == links
    assert get(client, other, f"/v1/orderStrategyLink/items?ids={ids}") == []


def test_strategy_types_when_listed_then_multibracket_only(
    client: TestClient[Any], trader_headers: H
) -> None:
    listed = get(client, trader_headers, "/v1/orderStrategyType/list")
    found = get(client, trader_headers, "/v1/orderStrategyType/find?name=multibracket")
    item = get(client, trader_headers, "/v1/orderStrategyType/item?id=2")
    suggested = get(client, trader_headers, "/v1/orderStrategyType/suggest?t=multi&l=5")
    items = get(client, trader_headers, "/v1/orderStrategyType/items?ids=1,2")

    assert listed == [{"id": 2, "name": "multibracket", "enabled": True}]
    assert found == item == listed[0] and suggested == items == listed
    assert client.get("/v1/orderStrategyType/item?id=3", headers=trader_headers).status_code == 404


# -- over the WebSocket: the example's request, the snapshot's arrays, props events --


def test_strategy_over_websocket_when_started_as_examples_do_then_props_and_snapshot_carry_it(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    price(client, admin_headers, 5000)
    types = ["order", "orderStrategy", "orderStrategyLink"]
    with open_socket(client, token_of(trader_headers)) as ws:
        empty = ws.sync(1, users=[], entityTypes=types)
        body = json.dumps(
            strategy_body(a, bracket_params({"orderQty": 1, "orderType": "Limit", "price": 4990}))
        )

        ws.request("orderstrategy/startorderstrategy", 4, body=body)  # the case Tradovate's docs send
        answer = ws.answer(4)
        props = ws.props_until(5)  # the strategy, three links, three orders: at least five
        snapshot = ws.sync(5, users=[], entityTypes=types)

    assert (empty["orderStrategies"], empty["orderStrategyLinks"]) == ([], [])
    assert empty["orderStrategyTypes"] == [{"id": 2, "name": "multibracket", "enabled": True}]
    assert answer["s"] == 200 and answer["d"]["orderStrategy"]["status"] == "ActiveStrategy"
    validate_response("POST", START, answer["d"])
    strategy_id = answer["d"]["orderStrategy"]["id"]
    kinds = {(p["entityType"], p["eventType"]) for p in props}
    assert {("orderStrategy", "Created"), ("orderStrategyLink", "Created")} <= kinds
    [created] = [p["entity"] for p in props if p["entityType"] == "orderStrategy"]
    assert created == get(client, trader_headers, f"/v1/orderStrategy/item?id={strategy_id}")
    validate_response("POST", "/v1/user/syncrequest", snapshot)
    assert [s["id"] for s in snapshot["orderStrategies"]] == [strategy_id]
    assert [link["label"] for link in snapshot["orderStrategyLinks"]] == ["Entry", "Target1", "Stop1"]
    assert snapshot["orderStrategyLinks"] == get(client, trader_headers, "/v1/orderStrategyLink/list")
