"""`/v1/websocket`: Tradovate's frame protocol, byte for byte.

Most cases run in process (Litestar's test client, on SQLite and PostgreSQL); the last ones start a
real server and speak to it with the `websockets` library. Every wait is bounded by a guard (a
failure, never a timing threshold): a frame that does not come within GUARD seconds fails the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from litestar.testing.websocket_test_session import WebSocketTestSession

from autoliq.api.websocket import WebSocketSettings
from autoliq.api.websocket.hub import Hub
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, TRADER_PW, World, bearer, login
from tests.contract import validate_response
from tests.helpers import SET_ACTION, TRADER2_PW, action_body, add_second_demo_trader
from tests.server import ServerProcess

GUARD = 15.0
PLACE = "/v1/order/placeorder"
ALL_TYPES = [
    "accountRiskStatus",
    "accountRiskStatusLog",
    "order",
    "fill",
    "position",
    "cashBalance",
    "userAccountAutoLiq",
]

# -- helpers --


class Socket:
    """A test-client socket read frame by frame (`h` heartbeats skipped unless asked for)."""

    def __init__(self, session: WebSocketTestSession) -> None:
        self.session = session
        self.frames: list[str] = []
        """Every non-heartbeat frame read so far, raw."""

    def raw(self) -> str:
        """The next frame, whatever it is."""
        try:
            return self.session.receive_text(timeout=GUARD)
        except queue.Empty:
            pytest.fail(f"no frame within {GUARD} s")

    def frame(self) -> str:
        """The next frame that is not a heartbeat."""
        while True:
            text = self.raw()
            if text != "h":
                self.frames.append(text)
                return text

    def send(self, text: str) -> None:
        self.session.send_text(text)

    def request(self, endpoint: str, request_id: int, query: str = "", body: str = "") -> None:
        self.send(f"{endpoint}\n{request_id}\n{query}\n{body}")

    def ask(self, endpoint: str, request_id: int, query: str = "", body: str = "") -> str:
        """Send a request and return the next frame (its answer, when nothing else is followed)."""
        self.request(endpoint, request_id, query, body)
        return self.frame()

    def messages(self) -> list[dict[str, Any]]:
        """The messages of the next `a[...]` frame."""
        text = self.frame()
        assert text.startswith("a["), text
        decoded: list[dict[str, Any]] = json.loads(text[1:])
        return decoded

    def answer(self, request_id: int) -> dict[str, Any]:
        """Messages until the answer to `request_id` (events before it are kept in `frames`)."""
        while True:
            for message in self.messages():
                if message.get("i") == request_id:
                    return message

    def props_until(self, count: int) -> list[dict[str, Any]]:
        """The `d` of props events (answers skipped) of the next frames, until at least `count`."""
        found: list[dict[str, Any]] = []
        while len(found) < count:
            found.extend(m["d"] for m in self.messages() if m.get("e") == "props")
        return found

    def authorize(self, token: str) -> None:
        self.send(f"authorize\n0\n\n{token}")
        assert self.frame() == 'a[{"s":200,"i":0}]'

    def sync(self, request_id: int, **body: Any) -> dict[str, Any]:
        self.request("user/syncrequest", request_id, body=json.dumps(body))
        found = self.answer(request_id)
        assert found["s"] == 200, found
        return dict(found["d"])


@contextlib.contextmanager
def open_socket(client: TestClient[Any], token: str | None = None) -> Iterator[Socket]:
    """A socket past its `o` frame (and authorized when `token` is given)."""
    with client.websocket_connect("/v1/websocket") as session:
        ws = Socket(session)
        assert ws.frame() == "o"
        if token is not None:
            ws.authorize(token)
        yield ws


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def with_settings(client: TestClient[Any], **values: Any) -> None:
    """WebSocket timings for this app (before its first socket): its hub, made with them."""
    client.app.state.websocket_hub = Hub(client.app.state.services, WebSocketSettings(**values))


def props_text(entity_type: str, event_type: str, rest_body: str) -> str:
    """The exact text of a props message whose entity is `rest_body` as REST answered it."""
    head = f'{{"e":"props","d":{{"entityType":"{entity_type}","eventType":"{event_type}"'
    return f'{head},"entity":{rest_body}}}}}'


def lock(
    client: TestClient[Any], headers: dict[str, str], account_id: int, action: str = "LockTradingImmediately"
) -> None:
    r = client.post(SET_ACTION, json=action_body(account_id, action), headers=headers)
    assert r.status_code == 200 and "accountRiskStatus" in r.json(), r.text


def set_price(client: TestClient[Any], admin: dict[str, str], value: float = 5000) -> None:
    r = client.post("/_autoliq/prices", json={"prices": [{"symbol": "ESZ6", "price": value}]}, headers=admin)
    assert r.status_code == 200, r.text


def no_props_before_next_answer(ws: Socket, request_id: int) -> list[dict[str, Any]]:
    """Ask something and read up to its answer: the props that came before it."""
    ws.request("account/list", request_id)
    seen: list[dict[str, Any]] = []
    while True:
        for message in ws.messages():
            if message.get("i") == request_id:
                return seen
            seen.append(message)


# -- frames, authorize --


def test_websocket_when_connected_then_first_frame_is_o(client: TestClient[Any]) -> None:
    # Arrange / Act
    with client.websocket_connect("/v1/websocket") as session:
        # Assert
        assert session.receive_text(timeout=GUARD) == "o"


def test_websocket_when_authorize_with_valid_token_then_answers_200(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    with open_socket(client) as ws:
        # Act
        ws.send(f"authorize\n0\n\n{token_of(admin_headers)}")
        # Assert
        assert ws.frame() == 'a[{"s":200,"i":0}]'


def test_websocket_when_authorize_with_bad_token_then_answers_401_invalid_access_token(
    client: TestClient[Any],
) -> None:
    with open_socket(client) as ws:
        # Act
        ws.send("authorize\n0\n\nnot-a-token")
        # Assert
        assert ws.frame() == 'a[{"s":401,"i":0,"d":"Invalid access token"}]'
        ws.request("account/list", 1)
        assert ws.frame() == 'a[{"s":401,"i":1,"d":"Access is denied"}]'


def test_websocket_when_request_before_authorize_then_401_access_is_denied(client: TestClient[Any]) -> None:
    with open_socket(client) as ws:
        # Act
        ws.request("account/list", 7)
        first = ws.frame()
        ws.request("accountRiskStatus/setadminautoliqaction", 8, body=json.dumps(action_body(1)))
        second = ws.frame()
        # Assert
        assert first == 'a[{"s":401,"i":7,"d":"Access is denied"}]'
        assert second == 'a[{"s":401,"i":8,"d":"Access is denied"}]'


def test_websocket_when_frame_is_not_a_request_then_400_without_id(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    with open_socket(client, token_of(admin_headers)) as ws:
        # Act
        ws.send("account/list\nnot-a-number\n\n")
        # Assert
        assert ws.frame() == (
            'a[{"s":400,"d":"frame: should be endpoint\\\\nid\\\\nquery\\\\nbody with an integer id"}]'
        )


# -- REST over the socket --

GET_CASES = [
    ("account/list", ""),
    ("Account/List", ""),  # case-insensitive, as REST paths are
    ("accountRiskStatus/item", "id={a}"),
    ("accountRiskStatus/ldeps", "masterids={a},{b}"),
    ("accountRiskStatusLog/deps", "masterid={a}"),
    ("position/list", ""),
    ("cashBalance/deps", "masterid={a}"),
    ("auth/me", ""),
]


@pytest.mark.parametrize(("endpoint", "query"), GET_CASES)
def test_websocket_when_rest_read_requested_then_answers_byte_for_byte_what_rest_answers(
    client: TestClient[Any], admin_headers: dict[str, str], world: World, endpoint: str, query: str
) -> None:
    # Arrange
    a, b = world.demo_account_ids[:2]
    query = query.format(a=a, b=b)
    rest = client.get(f"/v1/{endpoint}?{query}", headers=admin_headers)
    assert rest.status_code == 200
    with open_socket(client, token_of(admin_headers)) as ws:
        # Act
        ws.request(endpoint, 3, query)
        # Assert
        assert ws.frame() == f'a[{{"s":200,"i":3,"d":{rest.text}}}]'


def test_websocket_when_actions_requested_then_answers_what_rest_answers_for_each_status(
    client: TestClient[Any], admin_headers: dict[str, str], trader_headers: dict[str, str], world: World
) -> None:
    # Arrange: one of each answer kind, asked over REST first with the same body
    a = world.demo_account_ids[0]
    cases = [
        (SET_ACTION, json.dumps(action_body(0)), admin_headers),  # 200 errorText
        (SET_ACTION, json.dumps(action_body("1")), admin_headers),  # 400 naming the field
        (SET_ACTION, "{not json", admin_headers),  # 400 malformed
        (SET_ACTION, json.dumps(action_body(world.other_account_ids[0])), admin_headers),  # 404
        (SET_ACTION, json.dumps(action_body(a)), trader_headers),  # 401 (trader)
        (
            PLACE,
            json.dumps(
                {"accountId": a, "action": "Buy", "symbol": "ZZZ9", "orderQty": 1, "orderType": "Market"}
            ),
            admin_headers,
        ),
        ("/v1/userAccountAutoLiq/create", json.dumps({"id": a, "dailyLossAutoLiq": -1}), admin_headers),
    ]
    expected = []
    for path, body, headers in cases:
        r = client.post(path, content=body, headers={**headers, "content-type": "application/json"})
        if r.status_code == 200:
            expected.append(f'a[{{"s":200,"i":{{i}},"d":{r.text}}}]')
        else:
            text = json.dumps(r.json()["errorText"], separators=(",", ":"), ensure_ascii=False)
            expected.append(f'a[{{"s":{r.status_code},"i":{{i}},"d":{text}}}]')
    statuses = sorted({e.split('"s":')[1].split(",")[0] for e in expected})
    assert statuses == ["200", "400", "401", "404"]
    for index, (path, body, headers) in enumerate(cases):
        with open_socket(client, token_of(headers)) as ws:
            # Act
            ws.request(path.removeprefix("/v1/"), 10 + index, body=body)
            # Assert
            assert ws.frame() == expected[index].replace("{i}", str(10 + index))


def test_websocket_when_unknown_route_or_entity_then_404_with_rest_error_text(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange
    other = world.other_account_ids[0]
    route_text = client.get("/v1/no/such", headers=admin_headers).json()["errorText"]
    entity_text = client.get(f"/v1/account/item?id={other}", headers=admin_headers).json()["errorText"]
    with open_socket(client, token_of(admin_headers)) as ws:
        # Act
        route = ws.ask("no/such", 1)
        entity = ws.ask("account/item", 2, f"id={other}")
        outside = ws.ask("../_autoliq/prices", 3)
        # Assert
        assert route == f'a[{{"s":404,"i":1,"d":"{route_text}"}}]'
        assert entity == f'a[{{"s":404,"i":2,"d":"{entity_text}"}}]'
        assert outside == f'a[{{"s":404,"i":3,"d":"{route_text}"}}]'


def test_websocket_when_body_over_the_limit_then_413_as_rest(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange
    body = json.dumps({**action_body(world.demo_account_ids[0]), "pad": "x" * (1024 * 1024)})
    rest = client.post(
        SET_ACTION, content=body, headers={**admin_headers, "content-type": "application/json"}
    )
    assert rest.status_code == 413
    with open_socket(client, token_of(admin_headers)) as ws:
        # Act
        action = ws.ask("accountRiskStatus/setadminautoliqaction", 4, body=body)
        sync = ws.ask("user/syncrequest", 5, body=body)
        # Assert
        assert action == f'a[{{"s":413,"i":4,"d":"{rest.json()["errorText"]}"}}]'
        assert sync == f'a[{{"s":413,"i":5,"d":"{rest.json()["errorText"]}"}}]'


def test_websocket_when_frame_over_the_limit_then_closed_frame_too_large(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    with open_socket(client, token_of(admin_headers)) as ws:
        # Act
        ws.request("account/list", 1, body="x" * (1024 * 1024 + 64 * 1024 + 1))
        # Assert
        assert ws.frame() == 'c[1009,"Frame too large"]'
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.raw()
        assert closed.value.code == 1009


def test_websocket_when_token_expires_then_authorized_socket_keeps_acting_as_its_user(
    client: TestClient[Any], admin_headers: dict[str, str], clock: ManualClock, world: World
) -> None:
    # Arrange
    with open_socket(client, token_of(admin_headers)) as ws:
        clock.advance(91 * 60)
        assert client.get("/v1/account/list", headers=admin_headers).status_code == 401
        # Act
        ws.request(
            "accountRiskStatus/setadminautoliqaction",
            1,
            body=json.dumps(action_body(world.demo_account_ids[0])),
        )
        # Assert
        found = ws.answer(1)
        assert (
            found["s"] == 200 and found["d"]["accountRiskStatus"]["adminAction"] == "LockTradingImmediately"
        )


def test_websocket_when_session_closed_by_a_third_login_then_socket_keeps_acting(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    # Arrange
    with open_socket(client, token_of(admin_headers)) as ws:
        login(client, "admin", ADMIN_PW)
        login(client, "admin", ADMIN_PW)  # the third session: the socket's token's is closed
        assert client.get("/v1/account/list", headers=admin_headers).status_code == 401
        # Act
        ws.request("account/list", 2)
        # Assert
        assert ws.answer(2)["s"] == 200


# -- syncrequest --


def test_websocket_when_admin_syncs_then_snapshot_fits_official_schema_and_holds_its_organization(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange
    set_price(client, admin_headers)
    a = world.demo_account_ids[0]
    r = client.post(
        PLACE,
        json={"accountId": a, "action": "Buy", "symbol": "ESZ6", "orderQty": 1, "orderType": "Market"},
        headers=admin_headers,
    )
    assert "orderId" in r.json()
    with open_socket(client, token_of(admin_headers)) as ws:
        # Act
        snapshot = ws.sync(1, users=[], splitResponses=True, entityTypes=ALL_TYPES)
    # Assert
    validate_response("POST", "/v1/user/syncrequest", snapshot)
    assert [x["id"] for x in snapshot["accounts"]] == world.demo_account_ids
    assert [x["id"] for x in snapshot["accountRiskStatuses"]] == world.demo_account_ids
    assert [x["accountId"] for x in snapshot["cashBalances"]] == world.demo_account_ids
    assert snapshot["accounts"] == client.get("/v1/account/list", headers=admin_headers).json()
    assert snapshot["orders"] == client.get("/v1/order/list", headers=admin_headers).json()
    assert snapshot["fills"] == client.get("/v1/fill/list", headers=admin_headers).json()
    assert snapshot["positions"] == client.get("/v1/position/list", headers=admin_headers).json()
    assert snapshot["cashBalances"] == client.get("/v1/cashBalance/list", headers=admin_headers).json()
    assert sorted(u["name"] for u in snapshot["users"]) == ["admin", "trader"]
    # The instruments the sandbox lists, as their REST reads answer them (issue 14).
    for array, path in (
        ("contractGroups", "/v1/contractGroup/list"),
        ("currencies", "/v1/currency/list"),
        ("exchanges", "/v1/exchange/list"),
        ("products", "/v1/product/list"),
    ):
        assert snapshot[array] == client.get(path, headers=admin_headers).json(), array
    products = ",".join(str(p["id"]) for p in snapshot["products"])
    maturities = client.get(f"/v1/contractMaturity/ldeps?masterids={products}", headers=admin_headers).json()
    assert snapshot["contractMaturities"] == maturities and len(maturities) == 12 * 4
    assert [c["contractMaturityId"] for c in snapshot["contracts"]] == [m["id"] for m in maturities]


def test_websocket_when_trader_syncs_then_snapshot_holds_only_accounts_it_owns(
    client: TestClient[Any], world: World
) -> None:
    # Arrange: a second trader of the same organization owns two accounts
    add_second_demo_trader(world.database_url, 2)
    trader = login(client, "trader", TRADER_PW)
    trader2 = login(client, "trader2", TRADER2_PW)
    trader2_id = client.get("/v1/auth/me", headers=bearer(trader2)).json()["userId"]
    with open_socket(client, trader) as ws1, open_socket(client, trader2) as ws2:
        # Act
        mine = ws1.sync(1, entityTypes=ALL_TYPES)
        theirs = ws2.sync(1, users=[trader2_id], entityTypes=ALL_TYPES)
    # Assert
    validate_response("POST", "/v1/user/syncrequest", mine)
    assert [x["id"] for x in mine["accounts"]] == world.demo_account_ids
    assert [u["name"] for u in mine["users"]] == ["trader"]
    assert len(theirs["accounts"]) == 2 and not {x["id"] for x in theirs["accounts"]} & set(
        world.demo_account_ids
    )
    assert [u["name"] for u in theirs["users"]] == ["trader2"]


def test_websocket_when_sync_names_accounts_then_snapshot_and_events_keep_to_them(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange
    a, b = world.demo_account_ids[:2]
    other = world.other_account_ids[0]
    with open_socket(client, token_of(admin_headers)) as ws:
        snapshot = ws.sync(1, accounts=[b, other], entityTypes=["accountRiskStatus"])
        # Act
        lock(client, admin_headers, a)
        lock(client, admin_headers, b)
        # Assert: the first props are b's (a's would have come first)
        assert [x["id"] for x in snapshot["accounts"]] == [b]
        assert ws.props_until(1)[0]["entity"]["id"] == b


def test_websocket_when_sync_body_is_wrong_then_400_naming_the_field(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    with open_socket(client, token_of(admin_headers)) as ws:
        # Act
        wrong_type = ws.ask("user/syncrequest", 1, body='{"accounts": ["1"]}')
        sharding = {"expressionType": "modAccountId", "divisor": 2, "remainder": 2}
        wrong_shard = ws.ask("user/syncrequest", 2, body=json.dumps({"shardingExpression": sharding}))
        # Assert
        assert wrong_type == 'a[{"s":400,"i":1,"d":"accounts[0]: Expected `int`, got `str`"}]'
        assert (
            wrong_shard
            == 'a[{"s":400,"i":2,"d":"shardingExpression.remainder: should be less than divisor"}]'
        )


def test_websocket_when_sharded_then_each_socket_gets_its_share_of_accounts(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    with (
        open_socket(client, token_of(admin_headers)) as ws0,
        open_socket(client, token_of(admin_headers)) as ws1,
    ):
        # Act
        share0 = ws0.sync(
            1, shardingExpression={"expressionType": "modAccountId", "divisor": 2, "remainder": 0}
        )
        share1 = ws1.sync(
            1, shardingExpression={"expressionType": "modAccountId", "divisor": 2, "remainder": 1}
        )
    # Assert
    ids0 = [x["id"] for x in share0["accounts"]]
    ids1 = [x["id"] for x in share1["accounts"]]
    assert all(i % 2 == 0 for i in ids0) and all(i % 2 == 1 for i in ids1)
    assert sorted(ids0 + ids1) == world.demo_account_ids


# -- props events --


def test_websocket_when_admin_locks_over_rest_then_props_status_updated_and_log_created_equal_rest_items(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange
    a = world.demo_account_ids[0]
    with open_socket(client, token_of(admin_headers)) as ws:
        ws.sync(1, entityTypes=ALL_TYPES)
        # Act
        lock(client, admin_headers, a)
        events = ws.props_until(2)
        # Assert
        status = client.get(f"/v1/accountRiskStatus/item?id={a}", headers=admin_headers)
        log_id = client.get(f"/v1/accountRiskStatusLog/deps?masterid={a}", headers=admin_headers).json()[-1][
            "id"
        ]
        log_row = client.get(f"/v1/accountRiskStatusLog/item?id={log_id}", headers=admin_headers)
        assert [(e["entityType"], e["eventType"]) for e in events] == [
            ("accountRiskStatus", "Updated"),
            ("accountRiskStatusLog", "Created"),
        ]
        frames = "".join(ws.frames)
        assert props_text("accountRiskStatus", "Updated", status.text) in frames
        assert props_text("accountRiskStatusLog", "Created", log_row.text) in frames


def test_websocket_when_orders_placed_then_props_order_fill_position_cash_equal_rest_items(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange
    a = world.demo_account_ids[0]
    set_price(client, admin_headers)
    buy = {"accountId": a, "action": "Buy", "symbol": "ESZ6", "orderQty": 2, "orderType": "Market"}
    sell = {**buy, "action": "Sell", "orderQty": 1}
    with open_socket(client, token_of(admin_headers)) as ws:
        ws.sync(1, entityTypes=["order", "fill", "position", "cashBalance"])
        # Act: an opening order over the socket, then a closing one over REST (it realizes P&L)
        ws.request("order/placeorder", 2, body=json.dumps(buy))
        opening = ws.props_until(3)
        set_price(client, admin_headers, 5010)
        assert "orderId" in client.post(PLACE, json=sell, headers=admin_headers).json()
        closing = ws.props_until(4)
        # Assert
        assert sorted((e["entityType"], e["eventType"]) for e in opening) == [
            ("fill", "Created"),
            ("order", "Created"),
            ("position", "Updated"),
        ]
        assert sorted((e["entityType"], e["eventType"]) for e in closing) == [
            ("cashBalance", "Updated"),
            ("fill", "Created"),
            ("order", "Created"),
            ("position", "Updated"),
        ]
        frames = "".join(ws.frames)
        for event in closing:
            entity_type, entity = event["entityType"], event["entity"]
            rest = client.get(f"/v1/{entity_type}/item?id={entity['id']}", headers=admin_headers)
            assert rest.status_code == 200
            assert props_text(entity_type, event["eventType"], rest.text) in frames, entity_type
        position = next(e["entity"] for e in closing if e["entityType"] == "position")
        assert position["netPos"] == 1


def test_websocket_when_settings_change_then_props_user_account_auto_liq_equal_rest_item(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange
    a = world.demo_account_ids[0]
    with open_socket(client, token_of(admin_headers)) as ws:
        ws.sync(1, entityTypes=["userAccountAutoLiq"])
        # Act
        r = client.post(
            "/v1/userAccountAutoLiq/create", json={"id": a, "dailyLossAutoLiq": 500}, headers=admin_headers
        )
        assert r.status_code == 200, r.text
        events = ws.props_until(1)
        # Assert
        rest = client.get(f"/v1/userAccountAutoLiq/item?id={a}", headers=admin_headers)
        assert (events[0]["entityType"], events[0]["eventType"]) == ("userAccountAutoLiq", "Created")
        assert props_text("userAccountAutoLiq", "Created", rest.text) in "".join(ws.frames)


def test_websocket_when_another_organization_changes_then_no_props_reach_the_socket(
    client: TestClient[Any], admin_headers: dict[str, str], other_admin_headers: dict[str, str], world: World
) -> None:
    # Arrange: `watcher` follows Other Firm, so its first props prove the hub handled the event
    with (
        open_socket(client, token_of(admin_headers)) as ws,
        open_socket(client, token_of(other_admin_headers)) as watcher,
    ):
        snapshot = ws.sync(1, accounts=world.other_account_ids, entityTypes=ALL_TYPES)
        watcher.sync(1, entityTypes=ALL_TYPES)
        # Act
        lock(client, other_admin_headers, world.other_account_ids[0])
        watcher.props_until(2)
        # Assert
        assert snapshot["accounts"] == [] and snapshot["accountRiskStatuses"] == []
        assert no_props_before_next_answer(ws, 2) == []


def test_websocket_when_trader_follows_then_props_only_of_accounts_it_owns(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange
    add_second_demo_trader(world.database_url, 1)
    trader2 = bearer(login(client, "trader2", TRADER2_PW))
    theirs = client.get("/v1/account/list", headers=trader2).json()[0]["id"]
    mine = world.demo_account_ids[0]
    with open_socket(client, login(client, "trader", TRADER_PW)) as ws:
        ws.sync(1, entityTypes=ALL_TYPES)
        # Act
        lock(client, admin_headers, theirs)
        lock(client, admin_headers, mine)
        # Assert: the first props are of its own account (the other account's would have come first)
        first = ws.props_until(2)[:2]
        assert [e["entityType"] for e in first] == ["accountRiskStatus", "accountRiskStatusLog"]
        assert [first[0]["entity"]["id"], first[1]["entity"]["accountId"]] == [mine, mine]


def test_websocket_when_entity_types_name_only_types_never_sent_then_no_props(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange (no entityTypes at all means every type: test_client_shapes.py)
    with (
        open_socket(client, token_of(admin_headers)) as ws,
        open_socket(client, token_of(admin_headers)) as watcher,
    ):
        ws.sync(1, entityTypes=["user", "fillPair"])
        watcher.sync(1)
        # Act
        lock(client, admin_headers, world.demo_account_ids[0])
        watcher.props_until(2)
        # Assert
        assert no_props_before_next_answer(ws, 2) == []


# -- heartbeats and liveness --


def test_websocket_when_heartbeat_interval_passes_then_h_frames_arrive(client: TestClient[Any]) -> None:
    # Arrange
    with_settings(client, heartbeat_seconds=0.05, timeout_seconds=30)
    with client.websocket_connect("/v1/websocket") as session:
        ws = Socket(session)
        assert ws.raw() == "o"
        # Act / Assert
        for _ in range(3):
            assert ws.raw() == "h"
            ws.send("[]")


def test_websocket_when_client_keeps_sending_then_stays_open(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    # Arrange: 200 heartbeat periods are twice the timeout
    with_settings(client, heartbeat_seconds=0.02, timeout_seconds=2.0)
    with open_socket(client, token_of(admin_headers)) as ws:
        # Act
        for _ in range(200):
            assert ws.raw() == "h"
            ws.send("[]")
        ws.request("account/list", 1)
        # Assert
        assert ws.answer(1)["s"] == 200


def test_websocket_when_client_stops_sending_then_closed_with_heartbeat_timeout(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    # Arrange
    with_settings(client, heartbeat_seconds=0.05, timeout_seconds=0.3)
    with open_socket(client, token_of(admin_headers)) as ws:
        # Act: send nothing more
        # Assert
        assert ws.frame() == 'c[4001,"Heartbeat timeout"]'
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.raw()
        assert closed.value.code == 4001


def test_websocket_when_not_authorized_in_time_then_closed_authorization_timeout_whatever_it_sends(
    client: TestClient[Any],
) -> None:
    # Arrange
    with_settings(client, heartbeat_seconds=0.05, timeout_seconds=30, authorize_seconds=0.3)
    with client.websocket_connect("/v1/websocket") as session:
        ws = Socket(session)
        assert ws.raw() == "o"
        # Act: a refused request, a bad token, then heartbeats (bounded in frames, not in time)
        assert ws.ask("account/list", 1) == 'a[{"s":401,"i":1,"d":"Access is denied"}]'
        assert ws.ask("authorize", 2, body="not-a-token") == 'a[{"s":401,"i":2,"d":"Invalid access token"}]'
        text = ws.raw()
        for _ in range(1000):
            if text != "h":
                break
            ws.send("[]")
            text = ws.raw()
        # Assert
        assert text == 'c[4004,"Authorization timeout"]'
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.raw()
        assert closed.value.code == 4004


def test_websocket_when_authorized_in_time_then_not_closed_at_the_authorize_deadline(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    # Arrange: 50 heartbeat periods are five times the deadline
    with_settings(client, heartbeat_seconds=0.02, timeout_seconds=30, authorize_seconds=0.2)
    with open_socket(client, token_of(admin_headers)) as ws:
        # Act
        for _ in range(50):
            assert ws.raw() == "h"
            ws.send("[]")
        ws.request("account/list", 1)
        # Assert
        assert ws.answer(1)["s"] == 200


# -- a real server --

REAL_TYPES = ["accountRiskStatus", "accountRiskStatusLog"]
FLOOD = 4000
"""Requests of ~3 KB answers each: 12 MB, more than loopback's socket buffers can hold (4 MB for
the server's send buffer at most here, tcp_wmem), so the server's queue for that client fills."""


async def _recv(ws: Any) -> str:
    text = await asyncio.wait_for(ws.recv(), timeout=GUARD)
    assert isinstance(text, str)
    return text


async def _frame(ws: Any) -> str:
    while True:
        text = await _recv(ws)
        if text != "h":
            return text


async def _props(ws: Any, count: int) -> list[str]:
    """The next frames, until they hold `count` props messages: the raw frames."""
    frames: list[str] = []
    seen = 0
    while seen < count:
        text = await _frame(ws)
        frames.append(text)
        seen += sum(1 for m in json.loads(text[1:]) if m.get("e") == "props")
    return frames


@pytest.mark.slow
def test_websocket_when_real_server_then_protocol_and_props_arrive_byte_for_byte(
    database_url: str, tmp_path: Any
) -> None:
    import websockets.asyncio.client as ws_client

    with ServerProcess(database_url, tmp_path, extra_env={"AUTOLIQ_WS_HEARTBEAT_SECONDS": "0.2"}) as server:
        token = server.login()["accessToken"]
        with server.client(token) as http:
            account = http.get("/v1/account/list").json()[0]["id"]

            async def scenario() -> tuple[list[str], str]:
                url = f"ws://127.0.0.1:{server.port}/v1/websocket"
                async with ws_client.connect(url, max_size=None) as ws:
                    opened = await _recv(ws)
                    heartbeat = await _recv(ws)
                    await ws.send(f"authorize\n0\n\n{token}")
                    authorized = await _frame(ws)
                    await ws.send(f"user/syncrequest\n1\n\n{json.dumps({'entityTypes': REAL_TYPES})}")
                    synced = json.loads((await _frame(ws))[1:])[0]
                    # Act
                    await asyncio.to_thread(lambda: http.post(SET_ACTION, json=action_body(account)))
                    frames = await _props(ws, 2)
                    return [opened, heartbeat, authorized, str(synced["s"])], "".join(frames)

            head, frames = asyncio.run(scenario())
            status = http.get(f"/v1/accountRiskStatus/item?id={account}")
            log_id = http.get(f"/v1/accountRiskStatusLog/deps?masterid={account}").json()[-1]["id"]
            log_row = http.get(f"/v1/accountRiskStatusLog/item?id={log_id}")
    # Assert
    assert head == ["o", "h", 'a[{"s":200,"i":0}]', "200"]
    assert props_text("accountRiskStatus", "Updated", status.text) in frames
    assert props_text("accountRiskStatusLog", "Created", log_row.text) in frames


@pytest.mark.slow
def test_websocket_when_real_server_and_a_burst_of_locks_then_every_socket_gets_every_event_in_one_order(
    database_url: str, tmp_path: Any
) -> None:
    import websockets.asyncio.client as ws_client

    sockets = 40
    with ServerProcess(database_url, tmp_path) as server:
        token = server.login()["accessToken"]
        with server.client(token) as http:
            accounts = [a["id"] for a in http.get("/v1/account/list").json()]

            def post(account: int, action: str) -> None:
                assert http.post(SET_ACTION, json=action_body(account, action)).status_code == 200

            async def scenario() -> list[list[str]]:
                url = f"ws://127.0.0.1:{server.port}/v1/websocket"
                sync_body = json.dumps({"entityTypes": REAL_TYPES})
                opened = [await ws_client.connect(url, max_size=None) for _ in range(sockets)]
                try:
                    for i, ws in enumerate(opened):
                        assert await _recv(ws) == "o"
                        await ws.send(f"authorize\n0\n\n{token}")
                        assert await _frame(ws) == 'a[{"s":200,"i":0}]'
                        await ws.send(f"user/syncrequest\n{i + 1}\n\n{sync_body}")
                        assert json.loads((await _frame(ws))[1:])[0]["s"] == 200
                    # Act: every account locked at once, then every one set back to Normal at once
                    for action in ("LockTradingImmediately", "Normal"):
                        await asyncio.gather(*(asyncio.to_thread(post, a, action) for a in accounts))
                    wanted = 4 * len(accounts)
                    seen = []
                    for ws in opened:
                        frames = await _props(ws, wanted)
                        seen.append([json.dumps(m) for f in frames for m in json.loads(f[1:])])
                    return seen
                finally:
                    await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)

            seen = asyncio.run(scenario())
    # Assert: the same messages in the same order on every socket; each account's log rows once,
    # its lock before its unlock
    assert all(messages == seen[0] for messages in seen)
    logs = [json.loads(m)["d"]["entity"] for m in seen[0] if '"accountRiskStatusLog"' in m]
    assert len({e["id"] for e in logs}) == len(logs) == 2 * len(accounts)
    for account in accounts:
        assert [e["adminAction"] for e in logs if e["accountId"] == account] == [
            "LockTradingImmediately",
            "Normal",
        ]


@pytest.mark.slow
def test_websocket_when_client_does_not_read_then_cut_off_while_another_keeps_receiving(
    database_url: str, tmp_path: Any
) -> None:
    import websockets.asyncio.client as ws_client

    env = {"AUTOLIQ_WS_SEND_QUEUE": "16", "AUTOLIQ_WS_TIMEOUT_SECONDS": "120"}
    with ServerProcess(database_url, tmp_path, extra_env=env) as server:
        token = server.login()["accessToken"]
        with server.client(token) as http:
            accounts = [a["id"] for a in http.get("/v1/account/list").json()]

            async def scenario() -> tuple[int, list[str], int | None]:
                url = f"ws://127.0.0.1:{server.port}/v1/websocket"
                # The slow client reads nothing: a tiny receive buffer, and the library's queue of one frame.
                raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                raw.connect(("127.0.0.1", server.port))
                sync = f"user/syncrequest\n1\n\n{json.dumps({'entityTypes': REAL_TYPES})}"
                async with (
                    ws_client.connect(url, sock=raw, max_queue=1, max_size=None) as slow,
                    ws_client.connect(url, max_size=None) as fast,
                ):
                    for ws in (slow, fast):
                        assert await _recv(ws) == "o"
                        await ws.send(f"authorize\n0\n\n{token}")
                        assert await _frame(ws) == 'a[{"s":200,"i":0}]'
                        await ws.send(sync)
                        assert json.loads((await _frame(ws))[1:])[0]["s"] == 200
                    # Act: the slow client asks for far more than it reads; then accounts are locked
                    for i in range(FLOOD):
                        await slow.send(f"account/list\n{100 + i}\n\n")
                    received = 0
                    for account in accounts:
                        await asyncio.to_thread(lambda a=account: http.post(SET_ACTION, json=action_body(a)))
                        received += sum(f.count('"e":"props"') for f in await _props(fast, 2))
                    # The slow client reads at last: what was buffered, then the server's goodbye
                    tail: list[str] = []
                    with contextlib.suppress(Exception):
                        while True:
                            tail.append(await _recv(slow))
                    return received, tail[-1:], slow.close_code

            received, last, code = asyncio.run(scenario())
            # The server still serves the others
            assert http.get("/v1/account/list").status_code == 200
    # Assert
    assert received == 2 * len(accounts)
    assert last == ['c[4002,"Send queue full"]']
    assert code == 4002


SHUTDOWN_FRAME = 'a[{"e":"shutdown","d":{"reasonCode":"Maintenance","reason":"The server is shutting down"}}]'


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_websocket_when_server_stops_gracefully_then_each_socket_gets_shutdown_event_then_close_frame(
    database_url: str, tmp_path: Any, workers: int
) -> None:
    import websockets.asyncio.client as ws_client
    from websockets.exceptions import ConnectionClosed

    args = ["--workers", str(workers)] if workers > 1 else []
    server = ServerProcess(database_url, tmp_path, extra_args=args)
    with server:
        token = server.login()["accessToken"]

        async def scenario() -> list[tuple[list[str], int | None]]:
            url = f"ws://127.0.0.1:{server.port}/v1/websocket"
            sockets = [await ws_client.connect(url, max_size=None) for _ in range(4 * workers)]
            for ws in sockets:
                assert await _recv(ws) == "o"
                await ws.send(f"authorize\n0\n\n{token}")
                assert await _frame(ws) == 'a[{"s":200,"i":0}]'
            # Act: SIGTERM, as a service manager stops the server
            stopping = asyncio.create_task(asyncio.to_thread(server.terminate))
            seen: list[tuple[list[str], int | None]] = []
            for ws in sockets:
                frames: list[str] = []
                with contextlib.suppress(ConnectionClosed):
                    while True:
                        frames.append(await _frame(ws))
                seen.append((frames, ws.close_code))
            await stopping
            return seen

        seen = asyncio.run(scenario())
    # Assert: every socket, whichever worker held it, was told before it was closed
    assert server.forced_kill is False
    assert seen == [([SHUTDOWN_FRAME, 'c[1001,"Server shutting down"]'], 1001)] * (4 * workers)
