"""Risk categories: `/v1/riskCategory` reads, `POST /v1/accountRiskStatus/switchriskcategory`,
`POST /v1/accountRiskStatus/setDemoHalt`, and the sandbox's `/_autoliq/riskCategories`."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from autoliq.domain.states import Environment
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, World, bearer, login
from tests.contract import validate_response
from tests.helpers import app_client

H = dict[str, str]
SWITCH = "/v1/accountRiskStatus/switchriskcategory"
HALT = "/v1/accountRiskStatus/setDemoHalt"
CATEGORIES = "/_autoliq/riskCategories"
ACCESS_DENIED = {"errorText": "Access is denied"}
TOO_MANY = "Only 10000 accounts are allowed in single operation"


def get_v1(client: TestClient[Any], headers: H, path: str, params: dict[str, Any] | None = None) -> Any:
    r = client.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    validate_response("GET", path, r.json())
    return r.json()


def post_v1(client: TestClient[Any], headers: H, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    r = client.post(path, json=body, headers=headers)
    if r.status_code == 200:
        validate_response("POST", path, r.json())
    return r.status_code, r.json()


def add_category(client: TestClient[Any], headers: H, name: str) -> dict[str, Any]:
    r = client.post(CATEGORIES, json={"name": name}, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def categories(client: TestClient[Any], headers: H) -> list[dict[str, Any]]:
    r = client.get(CATEGORIES, headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json())


def category_of(client: TestClient[Any], headers: H, account_id: int) -> int:
    return int(get_v1(client, headers, "/v1/account/item", {"id": account_id})["riskCategoryId"])


def default_category(client: TestClient[Any], headers: H) -> int:
    [default] = [c for c in categories(client, headers) if c["name"] == "Default"]
    return int(default["id"])


# -- reads and creation --


def test_categories_when_organization_seeded_then_one_default_holds_every_account(
    client: TestClient[Any], admin_headers: H, trader_headers: H, other_admin_headers: H, world: World
) -> None:
    mine = get_v1(client, admin_headers, "/v1/riskCategory/list")
    assert [c["name"] for c in mine] == ["Default"]
    assert get_v1(client, trader_headers, "/v1/riskCategory/list") == mine
    theirs = get_v1(client, other_admin_headers, "/v1/riskCategory/list")
    assert [c["name"] for c in theirs] == ["Default"] and theirs[0]["id"] != mine[0]["id"]
    for a in world.demo_account_ids:
        assert category_of(client, admin_headers, a) == mine[0]["id"]
    assert category_of(client, other_admin_headers, world.other_account_ids[0]) == theirs[0]["id"]
    assert categories(client, trader_headers) == [{**mine[0], "halted": False}]


def test_category_item_and_items_when_id_of_another_firm_or_unknown_then_404_or_left_out(
    client: TestClient[Any], admin_headers: H, other_admin_headers: H
) -> None:
    mine = get_v1(client, admin_headers, "/v1/riskCategory/list")[0]
    extra = add_category(client, admin_headers, "Evaluation")
    theirs = get_v1(client, other_admin_headers, "/v1/riskCategory/list")[0]
    assert get_v1(client, admin_headers, "/v1/riskCategory/item", {"id": mine["id"]}) == mine
    for unknown in (theirs["id"], 987_654_321, 0):
        r = client.get("/v1/riskCategory/item", params={"id": unknown}, headers=admin_headers)
        assert r.status_code == 404, r.text
    ids = f"{extra['id']},{theirs['id']},{mine['id']},987654321"
    found = get_v1(client, admin_headers, "/v1/riskCategory/items", {"ids": ids})
    assert found == [mine, {"id": extra["id"], "name": "Evaluation"}]
    assert client.get("/v1/riskCategory/list").status_code == 401


def test_add_category_when_admin_then_listed_and_names_checked_per_organization(
    client: TestClient[Any], admin_headers: H, trader_headers: H, other_admin_headers: H
) -> None:
    created = add_category(client, admin_headers, "  Funded  ")
    assert created == {"id": created["id"], "name": "Funded", "halted": False}
    assert created in categories(client, admin_headers)
    assert {"id": created["id"], "name": "Funded"} in get_v1(client, admin_headers, "/v1/riskCategory/list")
    # Names are unique within an organization, not across them.
    assert add_category(client, other_admin_headers, "Funded")["id"] != created["id"]
    for name, where in (("Funded", "exists already"), ("   ", "not blank"), ("x" * 201, "1 to 200")):
        r = client.post(CATEGORIES, json={"name": name}, headers=admin_headers)
        assert r.status_code == 400 and where in r.json()["errorText"], r.text
    r = client.post(CATEGORIES, json={"name": "Mine"}, headers=trader_headers)
    assert (r.status_code, r.json()) == (401, ACCESS_DENIED)
    assert [c["name"] for c in categories(client, admin_headers)] == ["Default", "Funded"]


# -- switchriskcategory --


def test_switch_when_admin_moves_accounts_then_they_report_the_category_and_repeats_are_skipped(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    a, b, c = world.demo_account_ids[:3]
    default = default_category(client, admin_headers)
    funded = add_category(client, admin_headers, "Funded")["id"]
    assert post_v1(client, admin_headers, SWITCH, {"accountIds": [a, b], "riskCategoryId": funded}) == (
        200,
        {"ok": True},
    )
    assert [category_of(client, admin_headers, x) for x in (a, b, c)] == [funded, funded, default]
    # `a` is in it already (skipped), `c` moves; duplicates are harmless.
    body = {"accountIds": [a, c, c], "riskCategoryId": funded}
    assert post_v1(client, admin_headers, SWITCH, body) == (200, {"ok": True})
    assert [category_of(client, admin_headers, x) for x in (a, b, c)] == [funded] * 3
    back = {"accountIds": [b], "riskCategoryId": default}
    assert post_v1(client, admin_headers, SWITCH, back) == (200, {"ok": True})
    assert category_of(client, admin_headers, b) == default


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"accountIds": [], "riskCategoryId": "C"}, "Empty accountIds"),
        ({"riskCategoryId": "C"}, "Empty accountIds"),
        ({"accountIds": list(range(1, 10_002)), "riskCategoryId": "C"}, TOO_MANY),
        ({"accountIds": ["A"]}, "Risk Category Id should be greater than 0"),
        ({"accountIds": ["A"], "riskCategoryId": 0}, "Risk Category Id should be greater than 0"),
    ],
)  # fmt: skip
def test_switch_when_value_refused_then_error_text_and_nothing_changes(
    client: TestClient[Any], admin_headers: H, world: World, body: dict[str, Any], text: str
) -> None:
    a = world.demo_account_ids[0]
    default = default_category(client, admin_headers)
    funded = add_category(client, admin_headers, "Funded")["id"]
    body = {
        k: funded if v == "C" else [a if x == "A" else x for x in v] if isinstance(v, list) else v
        for k, v in body.items()
    }
    assert post_v1(client, admin_headers, SWITCH, body) == (200, {"ok": False, "errorText": text})
    assert category_of(client, admin_headers, a) == default


def test_switch_when_category_or_an_account_unknown_or_of_another_firm_then_404_and_nothing_changes(
    client: TestClient[Any], admin_headers: H, other_admin_headers: H, world: World
) -> None:
    a, b = world.demo_account_ids[:2]
    default = default_category(client, admin_headers)
    funded = add_category(client, admin_headers, "Funded")["id"]
    theirs = default_category(client, other_admin_headers)
    refused = [
        {"accountIds": [a], "riskCategoryId": 987_654_321},
        {"accountIds": [a], "riskCategoryId": theirs},
        {"accountIds": [a, b, 987_654_321], "riskCategoryId": funded},
        {"accountIds": [a, world.other_account_ids[0], b], "riskCategoryId": funded},
        {"accountIds": [a, -1], "riskCategoryId": funded},
    ]
    for body in refused:
        assert post_v1(client, admin_headers, SWITCH, body)[0] == 404, body
    # Another firm's admin cannot move this firm's accounts into its category, nor learn they exist.
    assert (
        post_v1(client, other_admin_headers, SWITCH, {"accountIds": [a], "riskCategoryId": theirs})[0] == 404
    )
    assert [category_of(client, admin_headers, x) for x in (a, b)] == [default, default]
    assert category_of(client, other_admin_headers, world.other_account_ids[0]) == theirs


def test_switch_when_trader_then_401_and_nothing_changes(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    default = default_category(client, admin_headers)
    funded = add_category(client, admin_headers, "Funded")["id"]
    body = {"accountIds": [a], "riskCategoryId": funded}
    assert post_v1(client, trader_headers, SWITCH, body) == (401, ACCESS_DENIED)
    assert client.post(SWITCH, json=body).status_code == 401
    assert category_of(client, admin_headers, a) == default


# -- setDemoHalt --


def test_set_demo_halt_when_admin_halts_and_clears_then_stored_state_follows(
    client: TestClient[Any], admin_headers: H, other_admin_headers: H
) -> None:
    default = default_category(client, admin_headers)
    funded = add_category(client, admin_headers, "Funded")["id"]
    assert post_v1(client, admin_headers, HALT, {"halt": True, "riskCategoryId": funded}) == (
        200,
        {"ok": True},
    )
    assert {c["id"]: c["halted"] for c in categories(client, admin_headers)} == {default: False, funded: True}
    # Halting again is harmless; another firm's categories are untouched.
    assert post_v1(client, admin_headers, HALT, {"halt": True, "riskCategoryId": funded}) == (
        200,
        {"ok": True},
    )
    assert [c["halted"] for c in categories(client, other_admin_headers)] == [False]
    assert post_v1(client, admin_headers, HALT, {"halt": False, "riskCategoryId": funded}) == (
        200,
        {"ok": True},
    )
    assert {c["id"]: c["halted"] for c in categories(client, admin_headers)} == {
        default: False,
        funded: False,
    }
    # The /v1 entity carries no halt state: only the id and name Tradovate publishes.
    assert get_v1(client, admin_headers, "/v1/riskCategory/item", {"id": funded}) == {
        "id": funded,
        "name": "Funded",
    }


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"riskCategoryId": "C"}, "Halt should be specified"),
        ({"halt": True}, "Risk Category Id should be greater than 0"),
        ({"halt": True, "riskCategoryId": -3}, "Risk Category Id should be greater than 0"),
    ],
)
def test_set_demo_halt_when_value_refused_then_error_text_and_nothing_changes(
    client: TestClient[Any], admin_headers: H, body: dict[str, Any], text: str
) -> None:
    default = default_category(client, admin_headers)
    body = {k: default if v == "C" else v for k, v in body.items()}
    assert post_v1(client, admin_headers, HALT, body) == (200, {"ok": False, "errorText": text})
    assert [c["halted"] for c in categories(client, admin_headers)] == [False]


def test_set_demo_halt_when_category_unknown_or_of_another_firm_or_caller_not_admin_then_404_or_401(
    client: TestClient[Any], admin_headers: H, trader_headers: H, other_admin_headers: H
) -> None:
    default = default_category(client, admin_headers)
    theirs = default_category(client, other_admin_headers)
    for category in (theirs, 987_654_321):
        assert post_v1(client, admin_headers, HALT, {"halt": True, "riskCategoryId": category})[0] == 404
    assert post_v1(client, trader_headers, HALT, {"halt": True, "riskCategoryId": default}) == (
        401,
        ACCESS_DENIED,
    )
    assert client.post(HALT, json={"halt": True, "riskCategoryId": default}).status_code == 401
    assert [c["halted"] for c in categories(client, admin_headers)] == [False]
    assert [c["halted"] for c in categories(client, other_admin_headers)] == [False]


@pytest.mark.parametrize("environment", [Environment.LIVE, Environment.REPLAY])
def test_set_demo_halt_when_not_demo_then_called_on_demo_text_and_nothing_changes(
    world: World, clock: ManualClock, environment: Environment
) -> None:
    with app_client(world.database_url, clock, environment=environment) as c:
        headers = bearer(login(c, "admin", ADMIN_PW))
        default = default_category(c, headers)
        assert post_v1(c, headers, HALT, {"halt": True, "riskCategoryId": default}) == (
            200,
            {"ok": False, "errorText": "This endpoint should be called on demo.tradovateapi.com"},
        )
        assert [cat["halted"] for cat in categories(c, headers)] == [False]


# -- the order gate --


def place_market_buy(client: TestClient[Any], headers: H, account_id: int) -> dict[str, Any]:
    body = {"accountId": account_id, "action": "Buy", "symbol": "ESZ6", "orderQty": 1, "orderType": "Market"}
    r = client.post("/v1/order/placeorder", json=body, headers=headers)
    assert r.status_code == 200, r.text
    validate_response("POST", "/v1/order/placeorder", r.json())
    return dict(r.json())


def test_halted_category_rejects_orders(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a, b = world.demo_account_ids[:2]
    r = client.post(
        "/_autoliq/prices", json={"prices": [{"symbol": "ESZ6", "price": 5000}]}, headers=admin_headers
    )
    assert r.status_code == 200, r.text
    funded = add_category(client, admin_headers, "Funded")["id"]
    assert post_v1(client, admin_headers, SWITCH, {"accountIds": [a], "riskCategoryId": funded}) == (
        200,
        {"ok": True},
    )
    assert post_v1(client, admin_headers, HALT, {"halt": True, "riskCategoryId": funded}) == (
        200,
        {"ok": True},
    )
    refused = place_market_buy(client, trader_headers, a)
    assert refused["failureReason"] == "TradingLocked" and "orderId" not in refused, refused
    # The account of the category that still trades is not affected.
    assert "orderId" in place_market_buy(client, trader_headers, b)
    assert post_v1(client, admin_headers, HALT, {"halt": False, "riskCategoryId": funded}) == (
        200,
        {"ok": True},
    )
    accepted = place_market_buy(client, trader_headers, a)
    assert "orderId" in accepted and "failureReason" not in accepted, accepted
