"""What real Tradovate clients send and read, where autoliq used to break them (issue 14): the
`authorize` forms, `mdAccessToken`, syncrequest without `entityTypes`, the REST syncrequest, renewal by
POST, and `Account.active`/`archived`. In process (the test client's socket), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import create_engine, update

from autoliq.adapters.sql.schema import account
from autoliq.api.websocket.sync import ENTITY_TYPES, entity_types_of
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, TRADER_PW, World, bearer, login
from tests.contract import validate_response
from tests.e2e.test_websocket import lock, open_socket, token_of

LOGIN = "/v1/auth/accesstokenrequest"
RENEW = "/v1/auth/renewaccesstoken"
SYNC = "/v1/user/syncrequest"
EVERY_TYPE = {
    "accountRiskStatus",
    "accountRiskStatusLog",
    "order",
    "fill",
    "position",
    "cashBalance",
    "userAccountAutoLiq",
}


def login_answer(client: TestClient[Any], name: str = "admin", password: str = ADMIN_PW) -> dict[str, Any]:
    r = client.post(LOGIN, json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def authorize_answer(client: TestClient[Any], body: str) -> str:
    """The frame answering `authorize\\n0\\n\\n<body>` on a new socket."""
    with open_socket(client) as ws:
        ws.send(f"authorize\n0\n\n{body}")
        return ws.frame()


OK = 'a[{"s":200,"i":0}]'
INVALID = 'a[{"s":401,"i":0,"d":"Invalid access token"}]'


# -- authorize --


def test_authorize_when_token_json_quoted_or_followed_by_newlines_then_200_and_socket_acts(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    # Arrange: the JS tutorials' JSON.stringify(token), the Go client's (with a newline), a bare one
    token = token_of(admin_headers)
    rest = client.get("/v1/account/list", headers=admin_headers).json()
    answers = []
    for form in (f'"{token}"', f'"{token}"\n', f"{token}\n\n"):
        with open_socket(client) as ws:
            # Act
            ws.send(f"authorize\n0\n\n{form}")
            first = ws.frame()
            ws.request("account/list", 1)
            answers.append((first, ws.answer(1)))
    # Assert
    assert answers == [(OK, {"s": 200, "i": 1, "d": rest})] * 3


def test_authorize_when_quoted_token_does_not_decode_or_is_unknown_then_401_invalid_access_token(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    # Arrange
    token = token_of(admin_headers)
    forms = (f'"{token}', f'"{token}"x', f'"\\q{token}"', '"not-a-token"')
    # Act
    answers = [authorize_answer(client, form) for form in forms]
    # Assert
    assert answers == [INVALID] * len(forms)


# -- mdAccessToken --


def test_access_token_request_when_granted_then_md_access_token_beside_access_token_fits_schema(
    client: TestClient[Any], world: World
) -> None:
    # Act
    body = login_answer(client)
    # Assert
    validate_response("POST", LOGIN, body)
    assert isinstance(body["mdAccessToken"], str) and len(body["mdAccessToken"]) >= 32
    assert body["mdAccessToken"] != body["accessToken"]


def test_authorize_when_md_access_token_bare_or_quoted_then_socket_acts_as_its_user(
    client: TestClient[Any], world: World
) -> None:
    # Arrange
    body = login_answer(client, "trader", TRADER_PW)
    rest = client.get("/v1/account/list", headers=bearer(body["accessToken"])).json()
    answers = []
    for form in (body["mdAccessToken"], json.dumps(body["mdAccessToken"])):
        with open_socket(client) as ws:
            # Act
            ws.send(f"authorize\n0\n\n{form}")
            first = ws.frame()
            ws.request("account/list", 1)
            answers.append((first, ws.answer(1)))
    # Assert
    assert answers == [(OK, {"s": 200, "i": 1, "d": rest})] * 2


def test_md_access_token_when_sent_as_rest_bearer_then_401(client: TestClient[Any], world: World) -> None:
    # Arrange
    md_token = login_answer(client)["mdAccessToken"]
    order = {"accountId": world.demo_account_ids[0], "action": "Buy", "symbol": "ESZ6", "orderQty": 1}
    # Act: a Litestar route, the order entry (an ASGI route handler), the renewal
    read = client.get("/v1/account/list", headers=bearer(md_token))
    placed = client.post(
        "/v1/order/placeorder", json={**order, "orderType": "Market"}, headers=bearer(md_token)
    )
    renewed = client.get(RENEW, headers=bearer(md_token))
    # Assert
    for r in (read, placed, renewed):
        assert (r.status_code, r.json()) == (401, {"errorText": "Access is denied"}), r.request.url


def test_renew_when_posted_or_got_then_same_tokens_and_md_access_token_lives_as_long_as_the_session(
    client: TestClient[Any], clock: ManualClock, world: World
) -> None:
    # Arrange: a 90-minute token
    first = login_answer(client)
    headers = bearer(first["accessToken"])
    # Act
    clock.advance(80 * 60)
    by_get = client.get(RENEW, headers=headers)
    clock.advance(80 * 60)  # past the first expiry
    by_post = client.post(RENEW, headers=headers)
    clock.advance(80 * 60)  # past the GET's expiry, within the POST's
    within = authorize_answer(client, first["mdAccessToken"])
    clock.advance(11 * 60)  # past the POST's expiry
    after = authorize_answer(client, first["mdAccessToken"])
    # Assert
    for method, r in (("GET", by_get), ("POST", by_post)):
        assert r.status_code == 200, r.text
        validate_response(method, RENEW, r.json())
        assert (r.json()["accessToken"], r.json()["mdAccessToken"]) == (
            first["accessToken"],
            first["mdAccessToken"],
        )
    assert (within, after) == (OK, INVALID)


def test_md_access_token_when_its_session_closed_by_a_third_login_then_401(
    client: TestClient[Any], world: World
) -> None:
    # Arrange
    oldest = login_answer(client, "trader", TRADER_PW)
    assert authorize_answer(client, oldest["mdAccessToken"]) == OK  # cached by this process now
    # Act
    login_answer(client, "trader", TRADER_PW)
    login_answer(client, "trader", TRADER_PW)
    # Assert
    assert authorize_answer(client, oldest["mdAccessToken"]) == INVALID
    assert authorize_answer(client, json.dumps(oldest["mdAccessToken"])) == INVALID


# -- the request frame's tolerances --


def test_request_when_query_and_body_are_undefined_then_read_as_empty(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange: the TypeScript strategy's frames when it has no query (and no body)
    rest = client.get("/v1/account/list", headers=admin_headers).json()
    with open_socket(client, token_of(admin_headers)) as ws:
        # Act
        ws.request("account/list", 1, "undefined", "undefined")
        listed = ws.answer(1)
        ws.request("user/syncrequest", 2, "undefined", "undefined")
        synced = ws.answer(2)
    # Assert
    assert listed == {"s": 200, "i": 1, "d": rest}
    assert synced["s"] == 200 and synced["d"]["accounts"] == rest


def test_request_when_json_body_followed_by_a_newline_then_answered_as_without_it(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange: the Go client appends a newline after every JSON body
    a = world.demo_account_ids[0]
    body = {
        "accountId": a,
        "adminAction": "Normal",
        "adminActionReasonCode": "Other",
        "adminActionReason": "x",
    }
    with open_socket(client, token_of(admin_headers)) as ws:
        # Act
        ws.request("accountRiskStatus/setadminautoliqaction", 1, body=json.dumps(body) + "\n")
        action = ws.answer(1)
        ws.request("user/syncrequest", 2, body=json.dumps({"accounts": [a]}) + "\n")
        synced = ws.answer(2)
    # Assert
    assert action["s"] == 200 and action["d"]["accountRiskStatus"]["id"] == a
    assert synced["s"] == 200 and [x["id"] for x in synced["d"]["accounts"]] == [a]


# -- syncrequest without entityTypes --


def test_sync_when_entity_types_not_named_then_props_of_every_type_follow(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange: the JS tutorials' body, the TS strategy's, and an explicit empty list
    a = world.demo_account_ids[0]
    user_id = client.get("/v1/auth/me", headers=admin_headers).json()["userId"]
    requests: list[dict[str, Any]] = [
        {"users": [user_id]},
        {"accounts": [a]},
        {"users": [user_id], "entityTypes": []},
    ]
    token = token_of(admin_headers)
    with (
        open_socket(client, token) as ws0,
        open_socket(client, token) as ws1,
        open_socket(client, token) as ws2,
    ):
        sockets = [ws0, ws1, ws2]
        for ws, request in zip(sockets, requests, strict=True):
            ws.sync(1, **request)
        # Act
        lock(client, admin_headers, a)
        r = client.post(
            "/v1/userAccountAutoLiq/create", json={"id": a, "dailyLossAutoLiq": 500}, headers=admin_headers
        )
        assert r.status_code == 200, r.text
        received = [ws.props_until(3)[:3] for ws in sockets]
    # Assert
    expected = [("accountRiskStatus", a), ("accountRiskStatusLog", a), ("userAccountAutoLiq", a)]
    for events in received:
        assert [
            (e["entityType"], e["entity"].get("accountId", e["entity"]["id"])) for e in events
        ] == expected


def test_subscription_when_entity_types_not_named_then_follows_all_of_entity_types() -> None:
    # Act / Assert: the default is the set itself, so a type added to it later is followed too
    assert entity_types_of(None) is ENTITY_TYPES
    assert entity_types_of([]) is ENTITY_TYPES
    assert set(ENTITY_TYPES) >= EVERY_TYPE
    assert entity_types_of(["order", "user"]) == {"order"}


# -- POST /v1/user/syncrequest --


def test_rest_sync_request_when_posted_then_the_socket_snapshot_fitting_official_schema(
    client: TestClient[Any], world: World
) -> None:
    for name, password in (("admin", ADMIN_PW), ("trader", TRADER_PW)):
        # Arrange
        token = login(client, name, password)
        user_id = client.get("/v1/auth/me", headers=bearer(token)).json()["userId"]
        with open_socket(client, token) as ws:
            on_socket = ws.sync(1, users=[user_id])
        # Act
        r = client.post(SYNC, json={"users": [user_id]}, headers=bearer(token))
        # Assert
        assert r.status_code == 200, r.text
        validate_response("POST", SYNC, r.json())
        assert r.json() == on_socket, name
        assert [x["id"] for x in r.json()["accounts"]] == world.demo_account_ids, name


def test_rest_sync_request_when_narrowed_or_all_then_as_the_socket_narrows(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange
    a = world.demo_account_ids[1]
    other = world.other_account_ids[0]
    # Act
    named = client.post(SYNC, json={"accounts": [a, other]}, headers=admin_headers)
    everything = client.post(SYNC, json={}, headers=admin_headers)
    # Assert
    assert [x["id"] for x in named.json()["accounts"]] == [a]  # never another organization's
    assert [x["id"] for x in everything.json()["accounts"]] == world.demo_account_ids
    validate_response("POST", SYNC, everything.json())


def test_rest_sync_request_when_body_wrong_or_no_token_then_400_naming_the_field_or_401(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    # Act
    wrong = client.post(SYNC, json={"accounts": ["1"]}, headers=admin_headers)
    too_many = client.post(SYNC, json={"users": list(range(1, 10_002))}, headers=admin_headers)
    empty = client.post(SYNC, content=b"", headers=admin_headers)
    anonymous = client.post(SYNC, json={})
    # Assert
    assert (wrong.status_code, wrong.json()) == (400, {"errorText": "accounts[0]: Expected `int`, got `str`"})
    assert (too_many.status_code, too_many.json()) == (
        400,
        {"errorText": "users: at most 10000 ids per request"},
    )
    assert (empty.status_code, empty.json()) == (400, {"errorText": "body: is required (a JSON object)"})
    assert anonymous.status_code == 401


# -- Account.active / archived --


def test_account_reads_when_served_then_active_true_and_archived_false_in_every_form(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange
    a, b = world.demo_account_ids[:2]
    name = client.get(f"/v1/account/item?id={a}", headers=admin_headers).json()["name"]
    user_id = client.get(f"/v1/account/item?id={a}", headers=admin_headers).json()["userId"]
    reads = {
        "/v1/account/list": "",
        "/v1/account/item": f"id={a}",
        "/v1/account/items": f"ids={a},{b}",
        "/v1/account/find": f"name={name}",
        "/v1/account/deps": f"masterid={user_id}",
    }
    # Act
    answers = {
        path: client.get(f"{path}?{query}", headers=admin_headers).json() for path, query in reads.items()
    }
    answers[SYNC] = client.post(SYNC, json={}, headers=admin_headers).json()
    # Assert
    for path, body in answers.items():
        validate_response("POST" if path == SYNC else "GET", path, body)
        entities = body["accounts"] if path == SYNC else body if isinstance(body, list) else [body]
        assert entities, path
        assert {(x["active"], x["archived"]) for x in entities} == {(True, False)}, path


def test_account_when_archived_then_not_active_and_archived(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange
    a = world.demo_account_ids[0]
    engine = create_engine(world.database_url)
    with engine.begin() as conn:
        conn.execute(update(account).where(account.c.id == a).values(archived=True))
    engine.dispose()
    # Act
    body = client.get(f"/v1/account/item?id={a}", headers=admin_headers).json()
    # Assert
    assert (body["active"], body["archived"], body["closed"]) == (False, True, True)
