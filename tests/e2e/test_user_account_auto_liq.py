"""/v1/userAccountAutoLiq: post-trade risk settings per account, who may change them, and how."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import World
from tests.helpers import full_auto_liq

H = dict[str, str]
BASE = "/v1/userAccountAutoLiq"


def post(client: TestClient[Any], route: str, body: Any, headers: H) -> tuple[int, Any]:
    r = client.post(f"{BASE}/{route}", json=body, headers=headers)
    return r.status_code, r.json()


def settings(client: TestClient[Any], headers: H, account_id: int) -> list[dict[str, Any]]:
    r = client.get(f"{BASE}/deps", params={"masterid": account_id}, headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json())


FULL = full_auto_liq()


def test_create_when_admin_then_every_field_stored_and_read_back_everywhere(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    account = world.demo_account_ids[0]
    status, body = post(client, "create", {"id": account, **FULL}, admin_headers)
    assert status == 200, body
    expected = {"id": account, **{k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v
                                  for k, v in FULL.items()}}  # fmt: skip
    assert body == expected
    for headers in (admin_headers, trader_headers):  # the trader owns the account
        assert settings(client, headers, account) == [expected]
        assert client.get(f"{BASE}/item", params={"id": account}, headers=headers).json() == expected
        assert client.get(f"{BASE}/list", headers=headers).json() == [expected]
        items = client.get(f"{BASE}/items", params={"ids": f"{account},987654"}, headers=headers).json()
        assert items == [expected]
        ldeps = client.get(f"{BASE}/ldeps", params={"masterids": str(account)}, headers=headers).json()
        assert ldeps == [expected]
    # One set per account.
    assert post(client, "create", {"id": account}, admin_headers) == (
        400, {"errorText": "id: Auto-liquidation settings already exist for this account: use update"},
    )  # fmt: skip
    assert settings(client, admin_headers, world.demo_account_ids[1]) == []


def test_update_when_fields_omitted_then_those_checks_are_switched_off(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    account = world.demo_account_ids[0]
    assert post(client, "update", {"id": account, "dailyLossAutoLiq": 500}, admin_headers)[0] == 404
    post(client, "create", {"id": account, **FULL}, admin_headers)
    status, body = post(client, "update", {"id": account, "dailyLossAutoLiq": 500}, admin_headers)
    assert status == 200
    assert body == {"id": account, "changesLocked": False, "dailyLossAutoLiq": 500.0, "doNotUnlock": False}
    assert settings(client, admin_headers, account) == [body]


def test_changes_locked_when_set_by_admin_then_owner_and_admin_as_owner_are_refused(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    account = world.demo_account_ids[2]
    # While unlocked, the owner sets its own limits, but may not lock them.
    status, body = post(
        client, "updateuserautoliq", {"accountId": account, "dailyLossAutoLiq": 700}, trader_headers
    )
    assert status == 200 and body["userAccountAutoLiq"]["dailyLossAutoLiq"] == 700.0
    assert body["permissionedAccountAutoLiq"] == {
        "id": account,
        "dailyLossAutoLiq": 700.0,
        "changesLocked": False,
    }
    lock_self = {"accountId": account, "dailyLossAutoLiq": 700, "changesLocked": True}
    assert post(client, "updateuserautoliq", lock_self, trader_headers)[1] == {
        "errorText": "Access is denied"
    }
    # The admin locks them.
    locked = {"accountId": account, "dailyLossAutoLiq": 600, "changesLocked": True}
    status, body = post(client, "updateuserautoliq", locked, admin_headers)
    assert status == 200 and body["userAccountAutoLiq"]["changesLocked"] is True
    for headers, extra in ((trader_headers, {}), (admin_headers, {"asOwner": True})):
        attempt = {"accountId": account, "dailyLossAutoLiq": 5000, "changesLocked": True, **extra}
        assert post(client, "updateuserautoliq", attempt, headers) == (200, {"errorText": "Access is denied"})
        entity = {"id": account, "dailyLossAutoLiq": 5000, "changesLocked": True}
        assert post(client, "update", entity, trader_headers) == (401, {"errorText": "Access is denied"})
    assert settings(client, admin_headers, account)[0]["dailyLossAutoLiq"] == 600.0
    # The admin (not as owner) may still change and unlock them.
    status, body = post(
        client, "updateuserautoliq", {"accountId": account, "dailyLossAutoLiq": 650}, admin_headers
    )
    assert status == 200 and body["userAccountAutoLiq"]["changesLocked"] is False


def test_settings_when_other_organization_then_404_and_invisible(
    client: TestClient[Any], admin_headers: H, other_admin_headers: H, world: World
) -> None:
    mine, theirs = world.demo_account_ids[0], world.other_account_ids[0]
    post(client, "create", {"id": mine, "dailyLossAutoLiq": 100}, admin_headers)
    assert post(client, "create", {"id": theirs, "dailyLossAutoLiq": 1}, admin_headers)[0] == 404
    assert post(client, "updateuserautoliq", {"accountId": theirs}, admin_headers)[0] == 404
    assert post(client, "updateuserautoliq", {"accountId": mine}, other_admin_headers)[0] == 404
    assert client.get(f"{BASE}/list", headers=other_admin_headers).json() == []
    assert client.get(f"{BASE}/item", params={"id": mine}, headers=other_admin_headers).status_code == 404
    assert settings(client, other_admin_headers, mine) == []
    assert client.get(f"{BASE}/list").status_code == 401


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"dailyLossAutoLiq": -1}, "dailyLossAutoLiq should be a number greater than or equal to 0"),
        (
            {"dailyLossPercentageLiqOnly": 100.5},
            "dailyLossPercentageLiqOnly should be less than or equal to 100",
        ),
        ({"flattenTimestamp": "2026-11-24T21:55:00"}, "flattenTimestamp should include a time zone offset"),
    ],
)
def test_settings_when_value_invalid_then_refused_and_nothing_stored(
    client: TestClient[Any], admin_headers: H, world: World, fields: dict[str, Any], text: str
) -> None:
    account = world.demo_account_ids[0]
    field, what = text.split(" ", 1)  # a 400 names its field first; the 200's errorText is Tradovate-like
    assert post(client, "create", {"id": account, **fields}, admin_headers) == (
        400,
        {"errorText": f"{field}: {what}"},
    )
    assert post(client, "updateuserautoliq", {"accountId": account, **fields}, admin_headers) == (
        200, {"errorText": text},
    )  # fmt: skip
    assert settings(client, admin_headers, account) == []


def test_settings_when_body_malformed_then_400_naming_the_field(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    account = world.demo_account_ids[0]
    status, body = post(client, "create", {"id": account, "trailingMaxDrawdownMode": "Weekly"}, admin_headers)
    assert status == 400 and "trailingMaxDrawdownMode" in body["errorText"]
    status, body = post(client, "create", {"id": account, "dailyLossAutoLiq": "a lot"}, admin_headers)
    assert status == 400 and "dailyLossAutoLiq" in body["errorText"]
    assert post(client, "create", {"dailyLossAutoLiq": 5}, admin_headers) == (
        400, {"errorText": "id: should be the account's id, greater than 0"},
    )  # fmt: skip
    assert post(client, "updateuserautoliq", {"dailyLossAutoLiq": 5}, admin_headers) == (
        200, {"errorText": "Account Id should be greater than 0"},
    )  # fmt: skip
    assert settings(client, admin_headers, account) == []


def test_updateuserautoliqs_when_one_item_refused_then_nothing_changes(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    a, b, c = world.demo_account_ids[:3]
    good = [{"accountId": a, "dailyLossAutoLiq": 100}, {"accountId": b, "weeklyLossAutoLiq": 300}]
    status, body = post(client, "updateuserautoliqs", {"items": good}, admin_headers)
    assert status == 200 and "errorText" not in body
    assert [i["userAccountAutoLiq"]["id"] for i in body["userAutoLiqs"]] == [a, b]
    bad = [{"accountId": a, "dailyLossAutoLiq": 1}, {"accountId": c, "dailyLossAlert": -5}]
    text = "dailyLossAlert should be a number greater than or equal to 0"
    assert post(client, "updateuserautoliqs", {"items": bad}, admin_headers) == (
        200, {"userAutoLiqs": [], "errorText": text},
    )  # fmt: skip
    assert settings(client, admin_headers, a)[0]["dailyLossAutoLiq"] == 100.0
    assert settings(client, admin_headers, c) == []
    cases = [
        ([], "Empty items"),
        ([{"accountId": a}, {"accountId": a}], "An account is listed more than once"),
        ([{"accountId": a}] * 10_001, "Only 10000 accounts are allowed in single operation"),
    ]
    for items, text in cases:
        assert post(client, "updateuserautoliqs", {"items": items}, admin_headers) == (
            200, {"userAutoLiqs": [], "errorText": text},
        )  # fmt: skip
