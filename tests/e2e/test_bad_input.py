"""Bad input gets the contract's answer, never a 500, and changes nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from litestar.routes import HTTPRoute
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


# -- text holding a NUL: PostgreSQL's text cannot store one (it refused the statement: a 500), SQLite
# can; every body's text is refused at decoding, 400 naming the field, on both engines --

NUL = "Evalu\x00ation"
NUL_IN_TEXT = [
    # (route, caller, body (`{a}`: a demo account id), field named, a read that must not change)
    pytest.param(
        "/_autoliq/riskCategories", "admin", {"name": NUL}, "name", "/_autoliq/riskCategories",
        id="autoliq-risk-categories",
    ),
    pytest.param(
        "/v1/accountRiskStatus/setaccountnotes", "admin", {"accountId": "{a}", "notes": NUL}, "notes",
        "/_autoliq/accountNotes/{a}", id="set-account-notes",
    ),
    pytest.param(
        SET_ACTION, "admin", action_body("{a}", reason=NUL), "adminActionReason",
        "/v1/accountRiskStatus/item?id={a}", id="set-admin-action",
    ),
    pytest.param(
        "/v1/accountRiskStatus/organizationadminunlockaccount", "admin", {"accountId": "{a}", "reason": NUL},
        "reason", "/v1/accountRiskStatus/item?id={a}", id="organization-admin-unlock",
    ),
    pytest.param(
        "/v1/auth/accesstokenrequest", "nobody", {"name": NUL, "password": "x"}, "name", None,
        id="access-token-request",
    ),
    pytest.param(
        "/v1/order/placeorder", "trader",
        {"accountId": "{a}", "action": "Buy", "symbol": "ESZ6", "orderQty": 1, "orderType": "Limit",
         "price": 1000, "clOrdId": NUL},
        "clOrdId", "/v1/order/list", id="place-order",
    ),
    pytest.param(
        "/v1/cashBalance/changedemobalance", "admin", {"accountId": "{a}", "cashChange": 10, "comment": NUL},
        "comment", "/v1/cashBalance/list", id="change-demo-balance",
    ),
    pytest.param(
        "/_autoliq/prices", "admin",
        {"prices": [{"symbol": "ESZ6", "price": 5000}, {"symbol": NUL, "price": 1}]},
        "prices[1].symbol", "/_autoliq/prices", id="autoliq-prices-nested",
    ),
]  # fmt: skip


def _with_account(value: Any, account_id: int) -> Any:
    """`value` with every `"{a}"` replaced by `account_id` (the id itself where it is the whole value)."""
    if value == "{a}":
        return account_id
    if isinstance(value, str):
        return value.replace("{a}", str(account_id))
    if isinstance(value, dict):
        return {k: _with_account(v, account_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_account(v, account_id) for v in value]
    return value


@pytest.mark.parametrize(("path", "caller", "body", "field", "read"), NUL_IN_TEXT)
def test_body_when_text_holds_a_nul_then_400_naming_the_field_and_nothing_changes(
    client: TestClient[Any],
    admin_headers: dict[str, str],
    trader_headers: dict[str, str],
    world: World,
    path: str,
    caller: str,
    body: dict[str, Any],
    field: str,
    read: str | None,
) -> None:
    a = world.demo_account_ids[0]
    headers = {"admin": admin_headers, "trader": trader_headers, "nobody": {}}[caller]
    read_path = None if read is None else _with_account(read, a)
    seen = None if read_path is None else client.get(read_path, headers=admin_headers).json()
    before = db_snapshot(world.database_url)
    r = client.post(path, json=_with_account(body, a), headers=headers)
    assert (r.status_code, r.json()) == (400, {"errorText": f"{field}: NUL (U+0000) is not allowed in text"})
    assert db_snapshot(world.database_url) == before
    if read_path is not None:
        assert client.get(read_path, headers=admin_headers).json() == seen


def test_body_when_text_holds_an_escaped_backslash_before_u0000_then_stored_as_written(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    # `"\\u0000"` in JSON is a backslash and the letters `u0000`, no NUL: taken as it is.
    raw = b'{"name": "Evalu\\\\u0000ation"}'
    r = client.post(
        "/_autoliq/riskCategories", content=raw, headers={**admin_headers, "content-type": "application/json"}
    )
    assert r.status_code == 200 and r.json()["name"] == "Evalu\\u0000ation", r.text


@pytest.mark.parametrize("raw", [b"", b"  \n"], ids=["empty", "whitespace"])
@pytest.mark.parametrize(
    "path",
    [
        SET_ACTION,  # a hot route (api/asgi_post.py)
        "/v1/order/placeorder",  # the other hot route
        "/v1/userAccountAutoLiq/create",  # Litestar routes
        "/_autoliq/bulk/setadminautoliqaction",
        "/_autoliq/prices",
        "/v1/auth/accesstokenrequest",
    ],
)
def test_post_when_the_body_is_missing_then_400_naming_the_body_as_a_field_and_nothing_changes(
    client: TestClient[Any], admin_headers: dict[str, str], world: World, path: str, raw: bytes
) -> None:
    """`<field>: <what is wrong>`, as for every 400: it answered `'data'` (Litestar's KeyError) or
    `Malformed JSON body: Input data was truncated` before."""
    before = db_snapshot(world.database_url)
    r = client.post(path, content=raw, headers={**admin_headers, "content-type": "application/json"})
    assert (r.status_code, r.json()) == (400, {"errorText": "body: is required (a JSON object)"})
    assert db_snapshot(world.database_url) == before


# -- every route's 400s --

FIELD_FIRST = re.compile(r"[A-Za-z_][\w.\[\]-]*: \S.*", re.S)
"""`<field>: <what is wrong>` (api.md): a field (`accountId`, `prices[0].price`, `body` for the body
as a whole, a query parameter's name, a header's), a colon, then what is wrong."""

BAD_BODIES = [
    b"{",
    b"not json",
    b"[]",
    b"[1]",
    b'"x"',
    b"7",
    b"{}",
    b'{"x": "\\u0000"}',
    b"nul\x00",
    b"",
    b" ",
]
NOT_JSON_ROUTES = ("/desk", "/_autoliq/docs")  # pages and files, not API routes


def _routes(client: TestClient[Any]) -> list[tuple[str, str, Any]]:
    """Every API route as (method, path with each path parameter 1, its handler)."""
    found = []
    for route in client.app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(NOT_JSON_ROUTES):
            continue
        for method, (handler, _) in sorted(route.route_handler_map.items()):
            if method not in ("HEAD", "OPTIONS"):
                found.append((method, re.sub(r"\{[^}]+\}", "1", route.path), handler))
    return found


def _query_names(handler: Any) -> list[str]:
    """The query parameters a handler declares (by their wire names)."""
    names = []
    for name, field in handler.parsed_fn_signature.parameters.items():
        if name in ("data", "request", "services", "state", "scope", "socket") or name.endswith("_id"):
            continue
        kwarg = field.kwarg_definition
        names.append(getattr(kwarg, "query", None) or name)
    return names


def test_every_route_when_given_bad_input_then_each_400_names_its_field_first(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    """Every route of the app (Tradovate's and autoliq's), as an admin of the sandbox's operator:
    each body route gets malformed JSON, bodies of the wrong shape, an empty object, NULs and no
    body; each route with query parameters gets none, then each one as a word and empty. Every 400
    answered must read `<field>: <what is wrong>`; none may be a 500."""
    routes = _routes(client)
    assert len(routes) > 100, len(routes)
    answered_400: dict[str, str] = {}
    wrong: list[str] = []
    for method, path, handler in routes:
        tries: list[tuple[bytes | None, dict[str, str]]] = []
        if method in ("POST", "PUT", "PATCH"):
            tries += [(raw, {}) for raw in BAD_BODIES]
        names = _query_names(handler)
        tries += [(None, {})] + [(None, {n: v}) for n in names for v in ("abc", "", "-1", "9" * 30)]
        for raw, params in tries:
            headers = (
                {**admin_headers, "content-type": "application/json"} if raw is not None else admin_headers
            )
            r = client.request(method, path, content=raw, params=params, headers=headers)
            where = f"{method} {path} body={raw!r} query={params}"
            if r.status_code >= 500:
                wrong.append(f"{where}: {r.status_code} {r.text}")
            elif r.status_code == 400:
                text = r.json()["errorText"]
                answered_400[where] = text
                if not FIELD_FIRST.fullmatch(text):
                    wrong.append(f"{where}: {text!r}")
    assert wrong == []
    # The probes reached the checks: malformed bodies and bad parameters were answered 400.
    texts = set(answered_400.values())
    assert {
        "body: is required (a JSON object)",
        "body: is not valid JSON (Input data was truncated)",
    } <= texts
    assert "accountId: is required" in texts and "body: Expected `object`, got `array`" in texts
    assert any(t.startswith("id: ") for t in texts) and any(t.startswith("ids: ") for t in texts)
    assert len(answered_400) > 500, len(answered_400)
