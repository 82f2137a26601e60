"""Bad input gets the contract's answer, never a 500, and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import World
from tests.helpers import SET_ACTION, action_body, db_snapshot

MALFORMED = [
    pytest.param(b"{", id="truncated"),
    pytest.param(b"not json at all", id="not-json"),
    pytest.param(b'{"accountId": 1,}', id="trailing-comma"),
    pytest.param(b"\xff\xfe\x00", id="not-utf8"),
]


@pytest.mark.parametrize("raw", MALFORMED)
def test_set_admin_action_when_json_malformed_then_400_with_error_text(
    client: TestClient[Any], admin_headers: dict[str, str], world: World, raw: bytes
) -> None:
    before = db_snapshot(world.database_url)
    r = client.post(SET_ACTION, content=raw, headers={**admin_headers, "content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["errorText"]
    assert db_snapshot(world.database_url) == before


WRONG_TYPES = [
    pytest.param({"accountId": "1"}, "accountId", id="account-id-string"),
    pytest.param({"accountId": 1.5}, "accountId", id="account-id-float"),
    pytest.param({"accountId": True}, "accountId", id="account-id-bool"),
    pytest.param({"accountId": [1]}, "accountId", id="account-id-array"),
    pytest.param({"accountId": 2**63}, "accountId", id="account-id-int64-overflow"),
    pytest.param({"accountId": 2**64 + 1}, "accountId", id="account-id-uint64-overflow"),
    pytest.param({"accountId": 10**30}, "accountId", id="account-id-huge"),
    pytest.param({"adminAction": 3}, "adminAction", id="action-number"),
    pytest.param({"adminActionReasonCode": {"x": 1}}, "adminActionReasonCode", id="code-object"),
    pytest.param({"adminActionReason": 42}, "adminActionReason", id="reason-number"),
]


@pytest.mark.parametrize(("patch", "field"), WRONG_TYPES)
def test_set_admin_action_when_field_has_wrong_json_type_then_400_naming_the_field(
    client: TestClient[Any], admin_headers: dict[str, str], world: World, patch: dict[str, Any], field: str
) -> None:
    body = {**action_body(world.demo_account_ids[0]), **patch}
    before = db_snapshot(world.database_url)
    r = client.post(
        SET_ACTION,
        content=json.dumps(body).encode(),
        headers={**admin_headers, "content-type": "application/json"},
    )
    assert r.status_code == 400
    assert field in r.json()["errorText"]
    assert db_snapshot(world.database_url) == before


@pytest.mark.parametrize("raw", [b"[]", b"1", b'"x"', b"null"], ids=["array", "number", "string", "null"])
def test_set_admin_action_when_body_is_not_an_object_then_400(
    client: TestClient[Any], admin_headers: dict[str, str], world: World, raw: bytes
) -> None:
    before = db_snapshot(world.database_url)
    r = client.post(SET_ACTION, content=raw, headers={**admin_headers, "content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["errorText"]
    assert db_snapshot(world.database_url) == before


def test_set_admin_action_when_int64_max_account_id_then_404_not_an_error(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    r = client.post(SET_ACTION, json=action_body(2**63 - 1), headers=admin_headers)
    assert r.status_code == 404


def test_set_admin_action_when_int64_min_account_id_then_account_id_text(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    r = client.post(SET_ACTION, json=action_body(-(2**63)), headers=admin_headers)
    assert (r.status_code, r.json()) == (200, {"errorText": "Account Id should be greater than 0"})


def test_set_admin_action_when_unknown_extra_fields_then_ignored(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    body = {**action_body(world.demo_account_ids[0]), "p-ticket": "abc", "extra": {"nested": [1, 2]}}
    r = client.post(SET_ACTION, json=body, headers=admin_headers)
    assert r.status_code == 200 and r.json()["accountRiskStatus"]["adminAction"] == "LockTradingImmediately"


def test_set_admin_action_when_body_over_one_mib_then_413_and_nothing_changes(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # A valid body whose reason pads it past 1 MiB.
    body = json.dumps(action_body(world.demo_account_ids[0], reason="x" * (1024 * 1024))).encode()
    before = db_snapshot(world.database_url)
    r = client.post(SET_ACTION, content=body, headers={**admin_headers, "content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["errorText"]
    assert db_snapshot(world.database_url) == before


def test_set_admin_action_when_body_just_under_one_mib_then_read_and_validated(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    body = json.dumps(action_body(world.demo_account_ids[0], reason="x" * (1024 * 1024 - 200))).encode()
    assert len(body) <= 1024 * 1024
    r = client.post(SET_ACTION, content=body, headers={**admin_headers, "content-type": "application/json"})
    assert (r.status_code, r.json()) == (
        200,
        {"errorText": "Admin Action Reason should be no longer than 8192"},
    )


@pytest.mark.parametrize(
    "query",
    ["id=abc", "id=", "id=1.5", f"id={2**63}", f"id={-(2**63) - 1}"],
)
def test_item_when_id_not_an_int64_then_400_naming_id(
    client: TestClient[Any], admin_headers: dict[str, str], query: str
) -> None:
    r = client.get(f"/v1/accountRiskStatus/item?{query}", headers=admin_headers)
    assert r.status_code == 400
    assert "id" in r.json()["errorText"]


def test_item_when_id_missing_then_400(client: TestClient[Any], admin_headers: dict[str, str]) -> None:
    r = client.get("/v1/account/item", headers=admin_headers)
    assert r.status_code == 400
    assert "id" in r.json()["errorText"]


@pytest.mark.parametrize("ids", ["1,x", f"1,{2**63}", "1;2"])
def test_items_when_ids_malformed_then_400_naming_ids(
    client: TestClient[Any], admin_headers: dict[str, str], ids: str
) -> None:
    r = client.get(f"/v1/accountRiskStatus/items?ids={ids}", headers=admin_headers)
    assert r.status_code == 400
    assert "ids" in r.json()["errorText"]


def test_item_when_negative_id_then_404(client: TestClient[Any], admin_headers: dict[str, str]) -> None:
    assert client.get("/v1/accountRiskStatus/item?id=-1", headers=admin_headers).status_code == 404


def test_access_token_request_when_fields_missing_or_wrong_type_then_400(client: TestClient[Any]) -> None:
    r = client.post("/v1/auth/accesstokenrequest", json={"name": "admin"})
    assert r.status_code == 400 and "password" in r.json()["errorText"]
    r = client.post("/v1/auth/accesstokenrequest", json={"name": 5, "password": "x"})
    assert r.status_code == 400 and "name" in r.json()["errorText"]


def test_unknown_route_when_called_then_404_with_error_text(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    r = client.get("/v1/nothing/here", headers=admin_headers)
    assert r.status_code == 404
    assert r.json()["errorText"]


@pytest.mark.parametrize(
    "path",
    ["/v1/account/find?name=DEMO%00", "/v1/product/find?name=E%00S", "/v1/contract/find?name=ESZ6%00"],
)
def test_find_when_name_holds_a_nul_byte_then_404_on_every_database(
    client: TestClient[Any], admin_headers: dict[str, str], path: str
) -> None:
    r = client.get(path, headers=admin_headers)
    assert r.status_code == 404 and r.json() == {"errorText": "Not found"}
