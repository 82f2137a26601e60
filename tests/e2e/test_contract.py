"""Every answer of every implemented Tradovate route fits Tradovate's official OpenAPI schema.

A strict client generated from Tradovate's document must accept each response, and no response may carry a
field the document does not declare (tests/contract.py). Runs on SQLite and PostgreSQL (`database_url`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from litestar.testing import TestClient

from tests.conftest import ADMIN_PW, TRADER_PW, World
from tests.contract import ADMIN_ACTIONS, ContractError, response_schema, validate_response
from tests.helpers import full_auto_liq

Headers = dict[str, str]
Params = dict[str, Any] | list[tuple[str, Any]]

ACCESS_TOKEN_REQUEST = "/v1/auth/accesstokenrequest"
RENEW_ACCESS_TOKEN = "/v1/auth/renewaccesstoken"
ME = "/v1/auth/me"
SET_ADMIN_ACTION = "/v1/accountRiskStatus/setadminautoliqaction"


@pytest.fixture
def reader_headers(request: pytest.FixtureRequest) -> Headers:
    """The headers of the user named by the test's `reader` parameter (`admin` or `trader`)."""
    who: str = request.param
    return dict(request.getfixturevalue(f"{who}_headers"))


READERS = pytest.mark.parametrize("reader_headers", ["admin", "trader"], indirect=True)


def get_validated(client: TestClient[Any], path: str, headers: Headers, params: Params | None = None) -> Any:
    """GET `path`, assert HTTP 200 and validate the body against Tradovate's schema; the body."""
    r = client.get(path, params=params, headers=headers)
    assert r.status_code == 200, f"GET {path} {params}: {r.status_code} {r.text}"
    body = r.json()
    validate_response("GET", path, body)
    return body


def set_admin_action(client: TestClient[Any], headers: Headers, body: dict[str, Any]) -> dict[str, Any]:
    """POST setadminautoliqaction, assert HTTP 200 (business errors too) and validate the answer; the body."""
    r = client.post(SET_ADMIN_ACTION, json=body, headers=headers)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    validate_response("POST", SET_ADMIN_ACTION, answer)
    return answer


def lock_body(account_id: int, action: str, reason: str = "contract test") -> dict[str, Any]:
    """A valid setadminautoliqaction body."""
    return {
        "accountId": account_id,
        "adminAction": action,
        "adminActionReasonCode": "Other",
        "adminActionReason": reason,
    }


def change_some_statuses(client: TestClient[Any], admin_headers: Headers, world: World) -> list[str]:
    """Lock account 0, then make it liquidate-only; liquidate account 1: 3 log rows, dated fields set."""
    first, second = world.demo_account_ids[:2]
    changes = [
        (first, "LockTradingImmediately"),
        (first, "LiquidateOnlyModeImmediately"),
        (second, "LiquidateImmediately"),
    ]
    for account_id, action in changes:
        answer = set_admin_action(client, admin_headers, lock_body(account_id, action))
        assert answer["accountRiskStatus"]["adminAction"] == action, answer
    return [action for _, action in changes]


# -- auth --


def test_access_token_request_when_credentials_are_right_then_answer_fits_official_schema(
    client: TestClient[Any], world: World
) -> None:
    for name, password in (("admin", ADMIN_PW), ("trader", TRADER_PW)):
        r = client.post(ACCESS_TOKEN_REQUEST, json={"name": name, "password": password})
        assert r.status_code == 200, r.text
        body = r.json()
        validate_response("POST", ACCESS_TOKEN_REQUEST, body)
        assert body["accessToken"]
        assert body["name"] == name
        assert isinstance(body["userId"], int)
        assert "expirationTime" in body
        assert "errorText" not in body


def test_access_token_request_when_password_is_wrong_then_200_with_error_text_fits_official_schema(
    client: TestClient[Any], world: World
) -> None:
    r = client.post(ACCESS_TOKEN_REQUEST, json={"name": "admin", "password": "wrong-" + ADMIN_PW})
    assert r.status_code == 200, r.text
    body = r.json()
    validate_response("POST", ACCESS_TOKEN_REQUEST, body)
    assert body["errorText"]
    assert "accessToken" not in body


def test_renew_access_token_when_token_is_valid_then_answer_fits_official_schema(
    client: TestClient[Any], admin_headers: Headers
) -> None:
    body = get_validated(client, RENEW_ACCESS_TOKEN, admin_headers)
    assert body["accessToken"]
    assert body["expirationTime"]
    assert body["name"] == "admin"


@READERS
def test_me_when_token_is_valid_then_answer_fits_official_schema(
    client: TestClient[Any], reader_headers: Headers
) -> None:
    body = get_validated(client, ME, reader_headers)
    assert body["name"] in ("admin", "trader")
    assert body["organizationName"] == "Demo Prop Firm"


# -- setadminautoliqaction --


def test_set_admin_action_when_each_action_is_set_in_turn_then_every_answer_fits_official_schema(
    client: TestClient[Any], admin_headers: Headers, world: World, subtests: pytest.Subtests
) -> None:
    account_id = world.demo_account_ids[3]
    for action in ADMIN_ACTIONS:
        with subtests.test(msg=action):
            body = set_admin_action(client, admin_headers, lock_body(account_id, action))
            assert "errorText" not in body
            status = body["accountRiskStatus"]
            assert status["id"] == account_id
            assert status["adminAction"] == action
            assert "adminTimestamp" in status  # a date-time the validator has checked


INVALID_SET_ADMIN_ACTION_BODIES: dict[str, dict[str, Any]] = {
    "unknown adminAction": {
        "accountId": 1,
        "adminAction": "Locked",
        "adminActionReasonCode": "Other",
        "adminActionReason": "x",
    },
    "accountId zero": {
        "accountId": 0,
        "adminAction": "Normal",
        "adminActionReasonCode": "Other",
        "adminActionReason": "x",
    },
    "reason missing for Other": {"accountId": 1, "adminAction": "Normal", "adminActionReasonCode": "Other"},
    "accountId missing": {"adminAction": "Normal", "adminActionReasonCode": "Other"},
}


def test_set_admin_action_when_body_fails_validation_then_200_with_error_text_fits_official_schema(
    client: TestClient[Any], admin_headers: Headers, world: World, subtests: pytest.Subtests
) -> None:
    for case, body in INVALID_SET_ADMIN_ACTION_BODIES.items():
        with subtests.test(msg=case):
            answer = set_admin_action(client, admin_headers, body)
            assert answer["errorText"]
            assert "accountRiskStatus" not in answer


# -- accountRiskStatus reads --

# (route, query built from the demo account ids, expected list length or None for a single object)
RISK_STATUS_READS: list[tuple[str, Callable[[list[int]], Params | None], int | None]] = [
    ("/v1/accountRiskStatus/list", lambda ids: None, 10),
    ("/v1/accountRiskStatus/item", lambda ids: {"id": ids[0]}, None),
    ("/v1/accountRiskStatus/items", lambda ids: {"ids": f"{ids[0]},{ids[1]}"}, 2),
    ("/v1/accountRiskStatus/items", lambda ids: [("ids", ids[0]), ("ids", ids[1])], 2),
    ("/v1/accountRiskStatus/deps", lambda ids: {"masterid": ids[0]}, 1),
    ("/v1/accountRiskStatus/ldeps", lambda ids: {"masterids": f"{ids[0]},{ids[1]}"}, 2),
    ("/v1/accountRiskStatus/ldeps", lambda ids: [("masterids", ids[0]), ("masterids", ids[1])], 2),
]


@READERS
def test_risk_status_reads_when_statuses_changed_then_every_answer_fits_official_schema(
    client: TestClient[Any],
    admin_headers: Headers,
    reader_headers: Headers,
    world: World,
    subtests: pytest.Subtests,
) -> None:
    change_some_statuses(client, admin_headers, world)
    for path, query, expected in RISK_STATUS_READS:
        params = query(world.demo_account_ids)
        with subtests.test(msg=f"{path} {params}"):
            body = get_validated(client, path, reader_headers, params)
            statuses = [body] if expected is None else body
            if expected is not None:
                assert len(body) == expected, body
            by_id = {s["id"]: s for s in statuses}
            first = by_id.get(world.demo_account_ids[0])
            assert first is not None, statuses
            assert first["adminAction"] == "LiquidateOnlyModeImmediately"
            assert "liquidateOnly" in first  # date-times the validator has checked
            assert "adminTimestamp" in first


# -- accountRiskStatusLog reads --

LOG_READS = ["list", "item", "items", "deps", "ldeps"]
ENTITY_READS_WITHOUT_LIST = ("item", "items", "deps", "ldeps")  # Tradovate's limit entities have no list


@READERS
def test_risk_status_log_reads_when_log_has_rows_then_every_answer_fits_log_schema(
    client: TestClient[Any],
    admin_headers: Headers,
    reader_headers: Headers,
    world: World,
    subtests: pytest.Subtests,
) -> None:
    actions = change_some_statuses(client, admin_headers, world)
    rows = get_validated(client, "/v1/accountRiskStatusLog/list", reader_headers)
    first, second = world.demo_account_ids[:2]
    mine = [row for row in rows if row["accountId"] in (first, second)]
    assert [row["adminAction"] for row in mine] == actions, rows
    reads: dict[str, tuple[Params, Any]] = {
        "item": ({"id": mine[0]["id"]}, mine[0]),
        "items": ({"ids": f"{mine[0]['id']},{mine[2]['id']}"}, [mine[0], mine[2]]),
        "deps": ({"masterid": first}, [row for row in mine if row["accountId"] == first]),
        "ldeps": ({"masterids": f"{first},{second}"}, mine),
    }
    assert set(reads) | {"list"} == set(LOG_READS)
    for route, (params, expected) in reads.items():
        path = f"/v1/accountRiskStatusLog/{route}"
        with subtests.test(msg=f"{path} {params}"):
            body = get_validated(client, path, reader_headers, params)
            if isinstance(expected, list):
                assert body  # non-empty: the validation was not vacuous
                body = sorted(body, key=lambda r: r["id"])
            assert body == expected


# -- account reads --

ACCOUNT_READS = ["list", "item", "items", "find", "deps"]


@READERS
def test_account_reads_when_accounts_exist_then_every_answer_fits_official_schema(
    client: TestClient[Any], reader_headers: Headers, world: World, subtests: pytest.Subtests
) -> None:
    login = client.post(ACCESS_TOKEN_REQUEST, json={"name": "trader", "password": TRADER_PW})
    assert login.status_code == 200, login.text
    trader_id = login.json()["userId"]
    accounts = get_validated(client, "/v1/account/list", reader_headers)
    demo = sorted((a for a in accounts if a["id"] in world.demo_account_ids), key=lambda a: a["id"])
    assert len(demo) == 10, accounts
    reads: dict[str, tuple[Params, Any]] = {
        "item": ({"id": demo[0]["id"]}, demo[0]),
        "items": ({"ids": f"{demo[0]['id']},{demo[1]['id']}"}, demo[:2]),
        "find": ({"name": demo[0]["name"]}, demo[0]),
        "deps": ({"masterid": trader_id}, demo),
    }
    assert set(reads) | {"list"} == set(ACCOUNT_READS)
    for route, (params, expected) in reads.items():
        path = f"/v1/account/{route}"
        with subtests.test(msg=f"{path} {params}"):
            body = get_validated(client, path, reader_headers, params)
            if isinstance(expected, list):
                assert body  # non-empty: the validation was not vacuous
                body = sorted(body, key=lambda a: a["id"])
            assert body == expected


MARKET_READS = ["/v1/product/list", "/v1/product/item", "/v1/product/find"] + [
    f"/v1/contract/{route}" for route in ("item", "items", "find", "deps")
]


@READERS
def test_product_and_contract_reads_when_called_then_every_answer_fits_official_schema(
    client: TestClient[Any], reader_headers: Headers, subtests: pytest.Subtests
) -> None:
    products = get_validated(client, "/v1/product/list", reader_headers)
    assert len(products) == 12
    es = next(p for p in products if p["name"] == "ES")
    front = get_validated(client, "/v1/contract/find", reader_headers, {"name": "ESZ6"})
    reads: dict[str, tuple[Params, Any]] = {
        "/v1/product/item": ({"id": es["id"]}, es),
        "/v1/product/find": ({"name": "ES"}, es),
        "/v1/contract/item": ({"id": front["id"]}, front),
        "/v1/contract/items": ({"ids": str(front["id"])}, [front]),
        "/v1/contract/deps": ({"masterid": front["contractMaturityId"]}, [front]),
    }
    assert set(reads) | {"/v1/product/list", "/v1/contract/find"} == set(MARKET_READS)
    for path, (params, expected) in reads.items():
        with subtests.test(msg=f"{path} {params}"):
            assert get_validated(client, path, reader_headers, params) == expected


TRADING_READS = [f"/v1/{entity}/{route}" for entity in ("order", "fill", "position") for route in LOG_READS]
PLACE_ORDER = "/v1/order/placeorder"
CANCEL_ORDER = "/v1/order/cancelorder"
CASH_SNAPSHOT = "/v1/cashBalance/getcashbalancesnapshot"
MODIFY_ORDER = "/v1/order/modifyorder"
LIQUIDATE_POSITION = "/v1/order/liquidateposition"
LIQUIDATE_POSITIONS = "/v1/order/liquidatepositions"


def post_validated(client: TestClient[Any], path: str, headers: Headers, body: dict[str, Any]) -> Any:
    """POST `path`, assert HTTP 200 and validate the answer against Tradovate's schema; the body."""
    r = client.post(path, json=body, headers=headers)
    assert r.status_code == 200, f"POST {path}: {r.status_code} {r.text}"
    answer = r.json()
    validate_response("POST", path, answer)
    return answer


def test_order_path_when_orders_placed_filled_and_cancelled_then_every_answer_fits_official_schema(
    client: TestClient[Any],
    admin_headers: Headers,
    trader_headers: Headers,
    world: World,
    subtests: pytest.Subtests,
) -> None:
    account_id = world.demo_account_ids[0]
    r = client.post(
        "/_autoliq/prices", json={"prices": [{"symbol": "ESZ6", "price": 5000}]}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    order = {"accountId": account_id, "action": "Buy", "symbol": "ESZ6", "orderQty": 2, "orderType": "Market"}
    filled = post_validated(client, PLACE_ORDER, trader_headers, order)
    resting = post_validated(
        client, PLACE_ORDER, trader_headers, {**order, "orderType": "Limit", "price": 4900}
    )
    refused = post_validated(client, PLACE_ORDER, trader_headers, {**order, "symbol": "NOPE9"})
    assert "orderId" in filled and "orderId" in resting and refused["failureReason"] == "InvalidContract"
    cancelled = post_validated(client, CANCEL_ORDER, trader_headers, {"orderId": resting["orderId"]})
    assert "failureReason" not in cancelled
    again = post_validated(client, CANCEL_ORDER, trader_headers, {"orderId": resting["orderId"]})
    assert again["failureReason"] == "UnknownReason"
    second = post_validated(
        client, PLACE_ORDER, trader_headers, {**order, "orderType": "Limit", "price": 4800}
    )
    modified = post_validated(
        client,
        MODIFY_ORDER,
        trader_headers,
        {"orderId": second["orderId"], "orderQty": 1, "orderType": "Limit", "price": 4850},
    )
    assert modified == {"commandId": second["orderId"]}
    positions = get_validated(client, "/v1/position/deps", trader_headers, {"masterid": account_id})
    contract_id = positions[0]["contractId"]
    closed = post_validated(
        client,
        LIQUIDATE_POSITION,
        trader_headers,
        {"accountId": account_id, "contractId": contract_id, "admin": False},
    )
    assert "orderId" in closed
    many = post_validated(
        client, LIQUIDATE_POSITIONS, admin_headers, {"positions": [positions[0]["id"]], "admin": True}
    )
    assert many == {"ok": True}
    snapshot = post_validated(client, CASH_SNAPSHOT, trader_headers, {"accountId": account_id})
    assert snapshot["totalCashValue"] == 50000.0  # bought and sold back at the same price
    balances = get_validated(client, "/v1/cashBalance/list", trader_headers)
    assert {b["accountId"] for b in balances} == set(world.demo_account_ids)
    mine = next(b for b in balances if b["accountId"] == account_id)
    for route, params, expected in [
        ("item", {"id": account_id}, mine),
        ("items", {"ids": str(account_id)}, [mine]),
        ("deps", {"masterid": account_id}, [mine]),
        ("ldeps", {"masterids": str(account_id)}, [mine]),
    ]:
        with subtests.test(msg=f"/v1/cashBalance/{route}"):
            assert get_validated(client, f"/v1/cashBalance/{route}", trader_headers, params) == expected
    for entity in ("order", "fill", "position"):
        rows = get_validated(client, f"/v1/{entity}/list", trader_headers)
        assert rows, entity
        first = rows[0]
        reads: dict[str, Params] = {
            "item": {"id": first["id"]},
            "items": {"ids": ",".join(str(x["id"]) for x in rows)},
            "deps": {"masterid": account_id},
            "ldeps": {"masterids": str(account_id)},
        }
        for route, params in reads.items():
            path = f"/v1/{entity}/{route}"
            with subtests.test(msg=f"{path} {params}"):
                body = get_validated(client, path, trader_headers, params)
                assert body == first if route == "item" else body == rows


# -- post-trade risk settings --

AUTO_LIQ = "/v1/userAccountAutoLiq"
AUTO_LIQ_WRITES = ("create", "update", "updateuserautoliq", "updateuserautoliqs")


def test_user_account_auto_liq_when_created_updated_and_read_then_every_answer_fits_official_schema(
    client: TestClient[Any], admin_headers: Headers, trader_headers: Headers, world: World
) -> None:
    a, b, c = world.demo_account_ids[:3]
    full = full_auto_liq(changesLocked=True, trailingMaxDrawdownMode="RealTime")
    created = post_validated(client, f"{AUTO_LIQ}/create", admin_headers, {"id": a, **full})
    assert created["id"] == a and created["trailingMaxDrawdownMode"] == "RealTime"
    post_validated(client, f"{AUTO_LIQ}/update", admin_headers, {"id": a, **full, "dailyLossAutoLiq": 1200})
    one = post_validated(client, f"{AUTO_LIQ}/updateuserautoliq", admin_headers, {"accountId": b, **full})
    assert set(one) == {"userAccountAutoLiq", "permissionedAccountAutoLiq"}
    attempt = {"accountId": b, "dailyLossAutoLiq": 1}
    refused = post_validated(client, f"{AUTO_LIQ}/updateuserautoliq", trader_headers, attempt)
    assert refused == {"errorText": "Access is denied"}  # changesLocked
    items = {"items": [{"accountId": c, "dailyLossAutoLiq": 5}]}
    many = post_validated(client, f"{AUTO_LIQ}/updateuserautoliqs", admin_headers, items)
    assert len(many["userAutoLiqs"]) == 1
    empty = post_validated(client, f"{AUTO_LIQ}/updateuserautoliqs", admin_headers, {"items": []})
    assert empty == {"userAutoLiqs": [], "errorText": "Empty items"}
    for headers in (admin_headers, trader_headers):
        rows = get_validated(client, f"{AUTO_LIQ}/list", headers)
        assert [r["id"] for r in rows] == [a, b, c]
        assert get_validated(client, f"{AUTO_LIQ}/item", headers, {"id": a})["dailyLossAutoLiq"] == 1200
        assert len(get_validated(client, f"{AUTO_LIQ}/items", headers, {"ids": f"{a},{b}"})) == 2
        assert len(get_validated(client, f"{AUTO_LIQ}/deps", headers, {"masterid": c})) == 1
        assert len(get_validated(client, f"{AUTO_LIQ}/ldeps", headers, {"masterids": f"{a},{c}"})) == 2


# -- coverage of the routes --

WEBSOCKET = "/v1/websocket"
EXERCISED_V1_ROUTES = {
    ACCESS_TOKEN_REQUEST,
    RENEW_ACCESS_TOKEN,
    ME,
    SET_ADMIN_ACTION,
    *(path for path, _, _ in RISK_STATUS_READS),
    *(f"/v1/accountRiskStatusLog/{route}" for route in LOG_READS),
    *(f"/v1/account/{route}" for route in ACCOUNT_READS),
    *MARKET_READS,
    *TRADING_READS,
    PLACE_ORDER,
    CANCEL_ORDER,
    CASH_SNAPSHOT,
    MODIFY_ORDER,
    LIQUIDATE_POSITION,
    LIQUIDATE_POSITIONS,
    *(f"/v1/cashBalance/{route}" for route in LOG_READS),
    *(f"{AUTO_LIQ}/{route}" for route in (*AUTO_LIQ_WRITES, "list", *LOG_READS)),
    "/v1/cashBalance/changedemobalance",  # every answer validated in test_change_demo_balance.py
    "/v1/accountRiskStatus/updatemaxnetliq",  # every answer validated in test_update_max_net_liq.py
    "/v1/accountRiskStatus/resetautoliqstatus",  # validated in test_auto_liq_rules.py
    "/v1/accountRiskStatus/organizationadminunlockaccount",  # validated in test_auto_liq_rules.py
    "/v1/accountRiskStatus/setaccountnotes",  # every answer validated in test_account_notes.py
    "/v1/accountRiskStatus/switchriskcategory",  # in test_risk_categories.py
    "/v1/accountRiskStatus/setDemoHalt",  # in test_risk_categories.py
    *(f"/v1/riskCategory/{route}" for route in ("list", "item", "items")),  # in test_risk_categories.py
    "/v1/account/resetdemoaccountstate",  # in test_reset_demo_account_state.py
    "/v1/user/syncrequest",  # in test_client_shapes.py
    # Linked orders: every answer validated in test_linked_orders.py.
    "/v1/order/placeoco",
    "/v1/order/placeoso",
    *(f"/v1/orderStrategy/{route}" for route in ("startorderstrategy", "interruptorderstrategy")),
    "/v1/orderStrategy/modifyorderstrategy",
    *(f"/v1/orderStrategy/{route}" for route in LOG_READS),
    *(f"/v1/orderStrategyLink/{route}" for route in LOG_READS),
    *(f"/v1/orderStrategyType/{route}" for route in ("list", "item", "items", "find", "suggest")),
    "/v1/order/dryrun",  # every answer validated in test_dry_run.py
    # The reads real clients call (issue 14): every answer validated in test_reads_clients_call.py.
    "/v1/account/suggest",
    "/v1/account/ldeps",
    "/v1/contract/suggest",
    "/v1/contract/ldeps",
    "/v1/position/find",
    *(f"/v1/product/{route}" for route in ("items", "deps", "ldeps", "suggest")),
    *(f"/v1/user/{route}" for route in ("list", "item", "items", "find", "suggest")),
    *(f"/v1/contractMaturity/{route}" for route in ("item", "items", "deps", "ldeps")),
    *(f"/v1/fillPair/{route}" for route in ("list", "item", "items", "deps", "ldeps")),
    *(
        f"/v1/{entity}/{route}"
        for entity in ("contractGroup", "exchange", "currency")
        for route in ("list", "item", "items", "find", "suggest")
    ),
    # Pre-trade limits (issue 17): every answer validated in test_position_limits_api.py.
    *(
        f"/v1/userAccountPositionLimit/{route}"
        for route in (
            "create",
            "update",
            "deleteuseraccountpositionlimit",
            "deleteuseraccountriskparameter",
            *ENTITY_READS_WITHOUT_LIST,
        )
    ),
    *(f"/v1/userAccountRiskParameter/{route}" for route in ("create", "update", *ENTITY_READS_WITHOUT_LIST)),
    WEBSOCKET,  # not a REST route: its frames and snapshot are checked in test_websocket.py
}


def test_v1_routes_when_app_is_built_then_each_is_exercised_here_and_declared_by_tradovate(
    client: TestClient[Any],
) -> None:
    app = client.app
    routes = {route.path for route in app.routes if route.path.startswith("/v1/")}  # type: ignore[attr-defined]
    assert routes == EXERCISED_V1_ROUTES, "add contract tests for new /v1 routes (or drop removed ones)"
    for route in app.routes:  # type: ignore[attr-defined]
        if not route.path.startswith("/v1/") or route.path == WEBSOCKET:
            continue
        for method in set(route.methods) - {"HEAD", "OPTIONS"}:
            response_schema(method, route.path)  # raises for a path or method Tradovate does not have


# -- the validator itself --

ITEM = "/v1/accountRiskStatus/item"
LOG_ITEM = "/v1/accountRiskStatusLog/item"
A_TIME = "2026-11-24T15:00:00Z"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("GET", ITEM, {"id": 1, "adminAction": "Normal", "adminTimestamp": A_TIME}, id="status"),
        pytest.param("GET", "/v1/accountRiskStatus/list", [], id="empty-list"),
        pytest.param(
            "GET", LOG_ITEM, {"id": 4, "accountId": 1, "timestamp": A_TIME, "adminAction": "Normal"}, id="log"
        ),
        pytest.param("GET", ITEM + "?id=1", {"id": 1}, id="query-string-ignored"),
    ],
)
def test_validator_when_body_fits_schema_then_accepts_it(method: str, path: str, body: Any) -> None:
    validate_response(method, path, body)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param(ITEM, {"id": "x", "adminAction": "Normal"}, id="string-id"),
        pytest.param(ITEM, {"id": 1, "adminAction": "Locked"}, id="enum"),
        pytest.param(ITEM, {"id": 1, "adminTimestamp": "yesterday"}, id="date-time"),
        pytest.param(ITEM, {"id": 1, "adminTimestamp": "2026-13-24T15:00:00Z"}, id="date-time-month-13"),
        pytest.param(ITEM, {"id": 1, "adminTimestamp": "2026-11-24T15:00:00"}, id="date-time-no-offset"),
        pytest.param(ITEM, [{"id": 1}], id="list-for-object"),
        pytest.param("/v1/accountRiskStatus/list", [{"id": 1.5}], id="float-id-in-list"),
        pytest.param("/v1/account/item", {"id": 1, "name": "A"}, id="account-missing-required"),
        pytest.param(LOG_ITEM, {"id": 1, "accountId": 1}, id="log-missing-timestamp"),
        pytest.param(
            LOG_ITEM, {"id": 1, "timestamp": A_TIME, "actor": "admin", "accountId": 1}, id="log-extra"
        ),
        pytest.param(LOG_ITEM, {"accountId": 1, "timestamp": A_TIME, "adminAction": "Locked"}, id="log-enum"),
    ],
)
def test_validator_when_body_breaks_schema_then_raises_validation_error(path: str, body: Any) -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate_response("GET", path, body)


@pytest.mark.parametrize(
    ("method", "path", "body", "where"),
    [
        pytest.param("GET", ITEM, {"id": 1, "adminAction": "Normal", "actor": "admin"}, "$.actor", id="top"),
        pytest.param(
            "GET", "/v1/accountRiskStatus/list", [{"id": 1}, {"id": 2, "x": 0}], "$[1].x", id="list"
        ),
        pytest.param(
            "POST",
            SET_ADMIN_ACTION,
            {"accountRiskStatus": {"id": 1, "reason": "x"}},
            "$.accountRiskStatus.reason",
            id="nested",
        ),
        pytest.param("GET", ME, {"userId": 1, "organizationId": 3}, "$.organizationId", id="me"),
    ],
)
def test_validator_when_body_has_undeclared_field_then_raises_contract_error(
    method: str, path: str, body: Any, where: str
) -> None:
    with pytest.raises(ContractError, match=re.escape(f"fields not in Tradovate's schema: {where}")):
        validate_response(method, path, body)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "/v1/accountRiskStatus/itemz", id="typo"),
        pytest.param("POST", "/v1/accountRiskStatus/list", id="wrong-method"),
        pytest.param("GET", "/accountRiskStatus/list", id="no-v1-prefix"),
        pytest.param("GET", "/_autoliq/audit", id="extension"),
        pytest.param("POST", "/v1/accountRiskStatusLog/list", id="log-wrong-method"),
    ],
)
def test_validator_when_path_or_method_is_not_tradovates_then_raises_contract_error(
    method: str, path: str
) -> None:
    with pytest.raises(ContractError):
        validate_response(method, path, {})
