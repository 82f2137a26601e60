"""/v1/userAccountPositionLimit and /v1/userAccountRiskParameter over the in-process app, both
engines: the routes Tradovate has (no list), who may read and write, every answer validated against
Tradovate's schemas, a log row per change, `props` events, and the sandbox reset."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import create_engine, text

from tests.conftest import World
from tests.contract import validate_response

H = dict[str, str]
LIMIT = "/v1/userAccountPositionLimit"
PARAMETER = "/v1/userAccountRiskParameter"


def post(client: TestClient[Any], path: str, body: Any, headers: H) -> tuple[int, Any]:
    r = client.post(path, json=body, headers=headers)
    payload = r.json() if r.content else None
    if r.status_code == 200:
        validate_response("post", path, payload)
    return r.status_code, payload


def get(client: TestClient[Any], path: str, params: dict[str, Any], headers: H) -> tuple[int, Any]:
    r = client.get(path, params=params, headers=headers)
    payload = r.json() if r.content else None
    if r.status_code == 200:
        validate_response("get", path, payload)
    return r.status_code, payload


def a_limit(account: int, **fields: Any) -> dict[str, Any]:
    return {
        "accountId": account,
        "active": True,
        "totalBy": "Contract",
        "contractId": 1,
        "longLimit": 5,
        **fields,
    }


def log_rows(world: World) -> list[tuple[Any, ...]]:
    engine = create_engine(world.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT account_id, entity_type, entity_id, change, actor_user_id, entity "
                    "FROM limit_log ORDER BY id"
                )
            )
            return [tuple(r) for r in rows]
    finally:
        engine.dispose()


def test_position_limit_when_created_updated_read_and_deleted_then_tradovate_shapes_and_a_log_row_each(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    account = world.demo_account_ids[0]
    status, created = post(client, f"{LIMIT}/create", a_limit(account, description="ES cap"), admin_headers)
    assert status == 200, created
    limit_id = created["id"]
    assert created == {
        "id": limit_id,
        "accountId": account,
        "active": True,
        "totalBy": "Contract",
        "contractId": 1,
        "longLimit": 5,
        "description": "ES cap",
    }
    updated_body = {**a_limit(account, shortLimit=3, longLimit=None), "id": limit_id}
    status, updated = post(client, f"{LIMIT}/update", updated_body, admin_headers)
    assert status == 200, updated
    assert updated == {
        "id": limit_id,
        "accountId": account,
        "active": True,
        "totalBy": "Contract",
        "contractId": 1,
        "shortLimit": 3,
    }
    for headers in (admin_headers, trader_headers):  # the trader owns the account: reads it
        assert get(client, f"{LIMIT}/item", {"id": limit_id}, headers) == (200, updated)
        assert get(client, f"{LIMIT}/items", {"ids": str(limit_id)}, headers) == (200, [updated])
        assert get(client, f"{LIMIT}/deps", {"masterid": account}, headers) == (200, [updated])
        assert get(client, f"{LIMIT}/ldeps", {"masterids": str(account)}, headers) == (200, [updated])
    assert client.get(f"{LIMIT}/list", headers=admin_headers).status_code == 404  # Tradovate has none
    status, deleted = post(
        client,
        f"{LIMIT}/deleteuseraccountpositionlimit",
        {"userAccountPositionLimitId": limit_id},
        admin_headers,
    )
    assert (status, deleted) == (200, {"success": True})
    assert get(client, f"{LIMIT}/item", {"id": limit_id}, admin_headers)[0] == 404
    status, again = post(
        client,
        f"{LIMIT}/deleteuseraccountpositionlimit",
        {"userAccountPositionLimitId": limit_id},
        admin_headers,
    )
    assert (status, again) == (200, {"success": False, "errorText": "Position limit not found"})
    rows = log_rows(world)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (account, "userAccountPositionLimit", limit_id, "Created"),
        (account, "userAccountPositionLimit", limit_id, "Updated"),
        (account, "userAccountPositionLimit", limit_id, "Deleted"),
    ]
    assert all(r[4] is not None for r in rows)  # the admin who made each change
    assert json.loads(rows[1][5])["short_limit"] == 3 and rows[2][5] is None


def test_risk_parameter_when_created_under_a_limit_then_served_and_deleted_with_its_limit(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    account = world.demo_account_ids[0]
    limit_id = post(client, f"{LIMIT}/create", a_limit(account), admin_headers)[1]["id"]
    body = {
        "userAccountPositionLimitId": limit_id,
        "maxOpeningOrderQty": 2,
        "maxBackMonth": 1,
        "hardLimit": True,
    }
    status, created = post(client, f"{PARAMETER}/create", body, admin_headers)
    assert status == 200, created
    parameter_id = created["id"]
    assert created == {"id": parameter_id, **body}
    status, updated = post(
        client, f"{PARAMETER}/update", {**body, "id": parameter_id, "maxOpeningOrderQty": 4}, admin_headers
    )
    assert status == 200 and updated["maxOpeningOrderQty"] == 4
    assert get(client, f"{PARAMETER}/deps", {"masterid": limit_id}, admin_headers) == (200, [updated])
    assert get(client, f"{PARAMETER}/ldeps", {"masterids": str(limit_id)}, admin_headers) == (200, [updated])
    assert get(client, f"{PARAMETER}/items", {"ids": str(parameter_id)}, admin_headers) == (200, [updated])
    # Deleting the position limit deletes its risk parameters.
    post(
        client,
        f"{LIMIT}/deleteuseraccountpositionlimit",
        {"userAccountPositionLimitId": limit_id},
        admin_headers,
    )
    assert get(client, f"{PARAMETER}/item", {"id": parameter_id}, admin_headers)[0] == 404
    changes = [(r[1], r[3]) for r in log_rows(world)]
    assert changes[-2:] == [("userAccountRiskParameter", "Deleted"), ("userAccountPositionLimit", "Deleted")]


def test_risk_parameter_delete_when_called_under_the_position_limit_path_then_it_deletes(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    account = world.demo_account_ids[0]
    limit_id = post(client, f"{LIMIT}/create", a_limit(account), admin_headers)[1]["id"]
    parameter_id = post(
        client, f"{PARAMETER}/create", {"userAccountPositionLimitId": limit_id}, admin_headers
    )[1]["id"]
    status, deleted = post(
        client,
        f"{LIMIT}/deleteuseraccountriskparameter",
        {"userAccountRiskParameterId": parameter_id},
        admin_headers,
    )
    assert (status, deleted) == (200, {"success": True})
    assert get(client, f"{PARAMETER}/deps", {"masterid": limit_id}, admin_headers) == (200, [])


def test_limits_when_a_trader_writes_then_access_is_denied_and_nothing_changes(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    account = world.demo_account_ids[0]
    r = client.post(f"{LIMIT}/create", json=a_limit(account), headers=trader_headers)
    assert r.status_code == 401
    limit_id = post(client, f"{LIMIT}/create", a_limit(account), admin_headers)[1]["id"]
    r = client.post(
        f"{LIMIT}/update", json={**a_limit(account, longLimit=1000), "id": limit_id}, headers=trader_headers
    )
    assert r.status_code == 401
    status, answer = post(
        client,
        f"{LIMIT}/deleteuseraccountpositionlimit",
        {"userAccountPositionLimitId": limit_id},
        trader_headers,
    )
    assert (status, answer) == (200, {"success": False, "errorText": "Access is denied"})
    assert get(client, f"{LIMIT}/item", {"id": limit_id}, admin_headers)[1]["longLimit"] == 5


def test_limits_when_another_organization_asks_then_404_and_nothing_listed(
    client: TestClient[Any], admin_headers: H, other_admin_headers: H, world: World
) -> None:
    account = world.demo_account_ids[0]
    limit_id = post(client, f"{LIMIT}/create", a_limit(account), admin_headers)[1]["id"]
    assert (
        client.post(f"{LIMIT}/create", json=a_limit(account), headers=other_admin_headers).status_code == 404
    )
    assert get(client, f"{LIMIT}/item", {"id": limit_id}, other_admin_headers)[0] == 404
    assert get(client, f"{LIMIT}/deps", {"masterid": account}, other_admin_headers) == (200, [])
    body = {**a_limit(account), "id": limit_id}
    assert client.post(f"{LIMIT}/update", json=body, headers=other_admin_headers).status_code == 404
    status, answer = post(
        client,
        f"{LIMIT}/deleteuseraccountpositionlimit",
        {"userAccountPositionLimitId": limit_id},
        other_admin_headers,
    )
    assert (status, answer) == (200, {"success": False, "errorText": "Position limit not found"})
    r = client.post(
        f"{PARAMETER}/create", json={"userAccountPositionLimitId": limit_id}, headers=other_admin_headers
    )
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"totalBy": "Contract", "contractId": None}, "contractId: is required when totalBy is Contract"),
        ({"longLimit": -1}, "longLimit: should be between 0 and 1,000,000"),
        ({"description": "x" * 65}, "description: should be at most 64 characters"),
        ({"totalBy": "Product", "productId": 0}, "productId: should be greater than 0"),
    ],
)
def test_position_limit_when_a_value_is_wrong_then_400_naming_it(
    client: TestClient[Any], admin_headers: H, world: World, body: dict[str, Any], error: str
) -> None:
    r = client.post(f"{LIMIT}/create", json=a_limit(world.demo_account_ids[0], **body), headers=admin_headers)
    assert r.status_code == 400
    assert error in r.text


def test_position_limit_when_the_body_lacks_a_required_field_or_has_a_bad_enum_then_400(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    account = world.demo_account_ids[0]
    for body in (
        {"active": True, "totalBy": "Overall"},
        {**a_limit(account), "totalBy": "Planet"},
        {**a_limit(account), "longLimit": 2**70},
    ):
        assert client.post(f"{LIMIT}/create", json=body, headers=admin_headers).status_code == 400
    update = client.post(f"{LIMIT}/update", json=a_limit(account), headers=admin_headers)  # no id
    assert update.status_code == 400


def test_position_limit_when_the_account_changes_on_update_then_400(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    first, second = world.demo_account_ids[:2]
    limit_id = post(client, f"{LIMIT}/create", a_limit(first), admin_headers)[1]["id"]
    r = client.post(f"{LIMIT}/update", json={**a_limit(second), "id": limit_id}, headers=admin_headers)
    assert r.status_code == 400 and "accountId: cannot change" in r.text


def test_limits_when_changed_then_props_created_updated_deleted_reach_the_socket(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    from tests.e2e.test_websocket import open_socket, props_text, token_of

    account = world.demo_account_ids[0]
    with open_socket(client, token_of(admin_headers)) as ws:
        ws.sync(1, entityTypes=["userAccountPositionLimit", "userAccountRiskParameter"])
        # Each change's event is read before the next change (an event carries the entity as it is
        # when the hub reads it: a row deleted first would leave its Created event out).
        limit_id = post(client, f"{LIMIT}/create", a_limit(account), admin_headers)[1]["id"]
        events = ws.props_until(1)
        parameter = {"userAccountPositionLimitId": limit_id, "maxOpeningOrderQty": 1}
        parameter_id = post(client, f"{PARAMETER}/create", parameter, admin_headers)[1]["id"]
        events += ws.props_until(1)
        rest_parameter = client.get(
            f"{PARAMETER}/item", params={"id": parameter_id}, headers=admin_headers
        ).text
        post(client, f"{LIMIT}/update", {**a_limit(account, longLimit=9), "id": limit_id}, admin_headers)
        events += ws.props_until(1)
        rest_limit = client.get(f"{LIMIT}/item", params={"id": limit_id}, headers=admin_headers).text
        post(
            client,
            f"{LIMIT}/deleteuseraccountpositionlimit",
            {"userAccountPositionLimitId": limit_id},
            admin_headers,
        )
        events += ws.props_until(2)
        kinds = [(e["entityType"], e["eventType"], e["entity"]["id"]) for e in events]
        assert kinds == [
            ("userAccountPositionLimit", "Created", limit_id),
            ("userAccountRiskParameter", "Created", parameter_id),
            ("userAccountPositionLimit", "Updated", limit_id),
            ("userAccountRiskParameter", "Deleted", parameter_id),
            ("userAccountPositionLimit", "Deleted", limit_id),
        ]
        frames = "".join(ws.frames)
        assert props_text("userAccountPositionLimit", "Updated", rest_limit) in frames
        assert props_text("userAccountRiskParameter", "Created", rest_parameter) in frames
        assert props_text("userAccountPositionLimit", "Deleted", f'{{"id":{limit_id}}}') in frames


# -- the gate, through the public API (the in-process app; its clock: 2026-11-24 09:00 CST) --

PLACE = "/v1/order/placeorder"


def place(
    client: TestClient[Any], headers: H, account: int, action: str, qty: int, symbol: str = "ESZ6"
) -> Any:
    body = {"accountId": account, "action": action, "symbol": symbol, "orderQty": qty, "orderType": "Market"}
    status, answer = post(client, PLACE, body, headers)  # validated against Tradovate's PlaceOrderResult
    assert status == 200, answer
    return answer


def contract_id(client: TestClient[Any], headers: H, symbol: str) -> int:
    return int(get(client, "/v1/contract/find", {"name": symbol}, headers)[1]["id"])


def product_id(client: TestClient[Any], headers: H, name: str) -> int:
    return int(get(client, "/v1/product/find", {"name": name}, headers)[1]["id"])


@pytest.mark.parametrize(
    ("limit", "parameter", "orders", "reason"),
    [
        ({"totalBy": "Contract", "longLimit": 1}, None, [("Buy", 1), ("Buy", 1)], "MaxPosLimitReached"),
        ({"totalBy": "Contract", "shortLimit": 0}, None, [("Sell", 1)], "MaxPosLimitReached"),
        ({"totalBy": "Overall", "longLimit": 2}, None, [("Buy", 2), ("Buy", 1)], "MaxTotalPosLimitReached"),
        ({"totalBy": "Product"}, {"maxOpeningOrderQty": 2}, [("Buy", 3)], "MaxOrderQtyLimitReached"),
        (
            {"totalBy": "Product"},
            {"maxClosingOrderQty": 1},
            [("Buy", 2), ("Sell", 2)],
            "MaxOrderQtyLimitReached",
        ),
        ({"totalBy": "Product"}, {"preExpirationDays": 30}, [("Buy", 1)], "LiquidationOnlyBeforeExpiration"),
        ({"totalBy": "Product"}, {"maxBackMonth": 0}, [("Buy", 1, "ESH7")], "BackMonthProhibited"),
    ],
)
def test_placeorder_when_an_account_limit_refuses_then_the_failure_reason_and_the_rest_passes(
    client: TestClient[Any],
    admin_headers: H,
    world: World,
    limit: dict[str, Any],
    parameter: dict[str, Any] | None,
    orders: list[tuple[Any, ...]],
    reason: str,
) -> None:
    account = world.demo_account_ids[0]
    for symbol, price in (("ESZ6", 5000), ("ESH7", 5050)):
        r = client.post(
            "/_autoliq/prices", json={"prices": [{"symbol": symbol, "price": price}]}, headers=admin_headers
        )
        assert r.status_code == 200, r.text
    scope = {
        "Contract": {"contractId": contract_id(client, admin_headers, "ESZ6")},
        "Product": {"productId": product_id(client, admin_headers, "ES")},
    }
    body = {"accountId": account, "active": True, **limit, **scope.get(limit["totalBy"], {})}
    status, created = post(client, f"{LIMIT}/create", body, admin_headers)
    assert status == 200, created
    if parameter is not None:
        status, answer = post(
            client,
            f"{PARAMETER}/create",
            {"userAccountPositionLimitId": created["id"], **parameter},
            admin_headers,
        )
        assert status == 200, answer
    answers = [place(client, admin_headers, account, *order) for order in orders]
    assert all("orderId" in answer for answer in answers[:-1]), answers
    assert answers[-1].get("failureReason") == reason, answers[-1]
    assert "orderId" not in answers[-1]
    # The refused order changed nothing: with the row switched off, it passes.
    post(client, f"{LIMIT}/update", {**body, "id": created["id"], "active": False}, admin_headers)
    assert "orderId" in place(client, admin_headers, account, *orders[-1])


def order_status(client: TestClient[Any], headers: H, order_id: int) -> str:
    status, order = get(client, "/v1/order/item", {"id": order_id}, headers)
    assert status == 200, order
    return str(order["ordStatus"])


def net_position(client: TestClient[Any], headers: H, account: int) -> int:
    status, positions = get(client, "/v1/position/deps", {"masterid": account}, headers)
    assert status == 200, positions
    return sum(int(p["netPos"]) for p in positions)


def set_prices(client: TestClient[Any], headers: H, price: float) -> None:
    r = client.post(
        "/_autoliq/prices", json={"prices": [{"symbol": "ESZ6", "price": price}]}, headers=headers
    )
    assert r.status_code == 200, r.text


def test_limits_over_http_when_resting_orders_fill_a_reducing_order_a_liquidation_and_a_limit_change(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    """The scenarios of the issue through the public API, every answer validated: the position limit
    reached by a fill of a resting order (the next stays working), a reducing order passing at the
    limit, a limit set while an order works (it waits), a liquidation passing every limit."""
    account = world.demo_account_ids[0]
    set_prices(client, admin_headers, 5000)
    es = contract_id(client, admin_headers, "ESZ6")
    body = {"accountId": account, "active": True, "totalBy": "Contract", "contractId": es, "longLimit": 1}
    status, limit = post(client, f"{LIMIT}/create", body, admin_headers)
    assert status == 200, limit
    resting = []
    for _ in range(2):  # both accepted: the position is flat when they are placed
        order = {
            "accountId": account,
            "action": "Buy",
            "symbol": "ESZ6",
            "orderQty": 1,
            "orderType": "Limit",
            "price": 4990.0,
            "timeInForce": "GTC",
        }
        status, answer = post(client, PLACE, order, admin_headers)
        assert status == 200 and "orderId" in answer, answer
        resting.append(answer["orderId"])
    set_prices(client, admin_headers, 4985)  # reaches both: the second would pass the limit
    assert [order_status(client, admin_headers, i) for i in resting] == ["Filled", "Working"]
    assert net_position(client, admin_headers, account) == 1
    # At the limit a reducing order passes, and the position can be rebuilt to it.
    assert "orderId" in place(client, admin_headers, account, "Sell", 1)
    assert "orderId" in place(client, admin_headers, account, "Buy", 1)
    assert place(client, admin_headers, account, "Buy", 1)["failureReason"] == "MaxPosLimitReached"
    # A limit lowered while an order works: the order waits at the next price that reaches it.
    lowered = {**body, "id": limit["id"], "longLimit": 0, "shortLimit": 0}
    assert post(client, f"{LIMIT}/update", lowered, admin_headers)[0] == 200
    set_prices(client, admin_headers, 4980)
    assert order_status(client, admin_headers, resting[1]) == "Working"
    assert place(client, admin_headers, account, "Buy", 1)["failureReason"] == "MaxPosLimitReached"
    # The liquidation passes every limit.
    liquidation = {"accountId": account, "contractId": es, "admin": True}
    status, answer = post(client, "/v1/order/liquidateposition", liquidation, admin_headers)
    assert status == 200 and "orderId" in answer, answer
    assert net_position(client, admin_headers, account) == 0
