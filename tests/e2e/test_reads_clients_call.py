"""Issue 14's reads (in process, both engines): the routes real Tradovate clients call that were 404,
with the official schemas, the callers' scope, bounded parameters, and fill pairs that agree with
the realized P&L."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.conftest import TRADER_PW, World, bearer, login
from tests.contract import validate_response
from tests.e2e.test_websocket import open_socket, token_of
from tests.helpers import TRADER2_PW, add_second_demo_trader, market_order

PRICES = "/_autoliq/prices"


def _price(client: TestClient[Any], admin: dict[str, str], price: float) -> None:
    r = client.post(PRICES, json={"prices": [{"symbol": "ESZ6", "price": price}]}, headers=admin)
    assert r.status_code == 200, r.text


def _trade(
    client: TestClient[Any], admin: dict[str, str], account_id: int, moves: list[tuple[str, int, float]]
) -> None:
    """Market orders for ESZ6 at the prices given, in order."""
    for action, qty, price in moves:
        _price(client, admin, price)
        assert "orderId" in market_order(client, admin, account_id, action, qty), (action, qty, price)


def _get(client: TestClient[Any], path: str, headers: dict[str, str]) -> Any:
    r = client.get(path, headers=headers)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.json()


def test_new_reads_when_called_then_each_answers_200_and_fits_the_official_schema(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange: a closed round trip and an open position, so every read has something to answer.
    a = world.demo_account_ids[0]
    _trade(client, admin_headers, a, [("Buy", 2, 5000), ("Sell", 1, 5010)])
    position = _get(client, f"/v1/position/deps?masterid={a}", admin_headers)[0]
    pair = _get(client, f"/v1/fillPair/deps?masterid={position['id']}", admin_headers)[0]
    user_id = _get(client, "/v1/auth/me", admin_headers)["userId"]
    owner_id = _get(client, f"/v1/account/item?id={a}", admin_headers)["userId"]
    es = _get(client, "/v1/product/find?name=ES", admin_headers)
    esz6 = _get(client, "/v1/contract/find?name=ESZ6", admin_headers)
    paths = [
        "/v1/contract/suggest?t=ES&l=10",
        f"/v1/contract/ldeps?masterids={esz6['contractMaturityId']}",
        "/v1/product/suggest?t=e&l=5",
        f"/v1/product/items?ids={es['id']}",
        f"/v1/product/deps?masterid={es['exchangeId']}",
        f"/v1/product/ldeps?masterids={es['exchangeId']}",
        "/v1/account/suggest?t=&l=3",
        f"/v1/account/ldeps?masterids={owner_id}",
        "/v1/user/list",
        f"/v1/user/item?id={user_id}",
        f"/v1/user/items?ids={user_id}",
        "/v1/user/find?name=admin",
        "/v1/user/suggest?t=ad&l=5",
        "/v1/contractGroup/list",
        f"/v1/contractGroup/item?id={es['contractGroupId']}",
        f"/v1/contractGroup/items?ids={es['contractGroupId']}",
        "/v1/contractGroup/find?name=Energy",
        "/v1/contractGroup/suggest?t=me&l=5",
        f"/v1/contractMaturity/item?id={esz6['contractMaturityId']}",
        f"/v1/contractMaturity/items?ids={esz6['contractMaturityId']}",
        f"/v1/contractMaturity/deps?masterid={es['id']}",
        f"/v1/contractMaturity/ldeps?masterids={es['id']}",
        "/v1/fillPair/list",
        f"/v1/fillPair/item?id={pair['id']}",
        f"/v1/fillPair/items?ids={pair['id']}",
        f"/v1/fillPair/deps?masterid={position['id']}",
        f"/v1/fillPair/ldeps?masterids={position['id']}",
        "/v1/position/find?name=ESZ6",
        "/v1/exchange/list",
        f"/v1/exchange/item?id={es['exchangeId']}",
        f"/v1/exchange/items?ids={es['exchangeId']}",
        "/v1/exchange/find?name=CME",
        "/v1/exchange/suggest?t=c&l=5",
        "/v1/currency/list",
        "/v1/currency/item?id=1",
        "/v1/currency/items?ids=1",
        "/v1/currency/find?name=USD",
        "/v1/currency/suggest?t=us&l=5",
    ]
    for path in paths:
        # Act
        body = _get(client, path, admin_headers)
        # Assert
        validate_response("GET", path, body)
        assert body not in ([], None), path


def test_instrument_reads_when_read_then_consistent_ids_across_entities(
    client: TestClient[Any], trader_headers: dict[str, str]
) -> None:
    # Act
    products = _get(client, "/v1/product/list", trader_headers)
    exchanges = {e["id"]: e["name"] for e in _get(client, "/v1/exchange/list", trader_headers)}
    groups = {g["id"]: g["name"] for g in _get(client, "/v1/contractGroup/list", trader_headers)}
    currencies = _get(client, "/v1/currency/list", trader_headers)
    balance = _get(client, "/v1/cashBalance/list", trader_headers)[0]
    es_maturities = _get(client, "/v1/contractMaturity/deps?masterid=1", trader_headers)
    # Assert
    by_name = {p["name"]: p for p in products}
    assert exchanges == {1: "CME", 2: "CBOT", 3: "NYMEX", 4: "COMEX"}
    assert {exchanges[p["exchangeId"]] for p in products} == set(exchanges.values())
    assert groups[by_name["ES"]["contractGroupId"]] == "Equity Index"
    assert groups[by_name["CL"]["contractGroupId"]] == "Energy"
    assert groups[by_name["GC"]["contractGroupId"]] == "Metals"
    assert currencies == [{"id": 1, "name": "USD", "symbol": "$"}]
    assert {p["currencyId"] for p in products} == {1} == {balance["currencyId"]}
    # 2026-11-24: ESZ6 is the front month; its last trading day is 2026-12-18.
    assert [(m["expirationMonth"], m["isFront"]) for m in es_maturities] == [
        (202612, True), (202703, False), (202706, False), (202709, False)
    ]  # fmt: skip
    assert es_maturities[0]["expirationDate"] == "2026-12-18T00:00:00Z"
    esz6 = _get(client, "/v1/contract/find?name=ESZ6", trader_headers)
    assert _get(client, f"/v1/contract/deps?masterid={es_maturities[0]['id']}", trader_headers) == [esz6]
    assert [p["name"] for p in _get(client, "/v1/product/deps?masterid=4", trader_headers)] == ["GC", "MGC"]
    assert client.get("/v1/contractMaturity/item?id=1", headers=trader_headers).status_code == 404
    assert client.get("/v1/exchange/item?id=9", headers=trader_headers).status_code == 404
    assert client.get("/v1/currency/find?name=EUR", headers=trader_headers).status_code == 404


def test_suggest_when_text_and_limit_then_case_insensitive_substring_prefix_first_at_most_l(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    # Act
    contracts = _get(client, "/v1/contract/suggest?t=esz&l=10", admin_headers)
    nq = _get(client, "/v1/contract/suggest?t=NQ&l=5", admin_headers)
    products = _get(client, "/v1/product/suggest?t=Es&l=10", admin_headers)
    limited = _get(client, "/v1/product/suggest?t=m&l=2", admin_headers)
    nothing = _get(client, "/v1/product/suggest?t=ES&l=0", admin_headers)
    accounts = _get(client, "/v1/account/suggest?t=&l=1000", admin_headers)
    # Assert
    assert [c["name"] for c in contracts] == ["ESZ6", "MESZ6"]
    # Names that start with the text first, then by product and nearest month: clients take the first.
    assert [c["name"] for c in nq] == ["NQZ6", "NQH7", "NQM7", "NQU7", "MNQZ6"]
    assert [p["name"] for p in products] == ["ES", "MES"]
    assert [p["name"] for p in limited] == ["M2K", "MCL"]
    assert nothing == []
    names = [a["name"] for a in accounts]
    assert names == sorted(names, key=str.casefold) and len(names) == 10


def test_user_reads_when_admin_trader_or_other_organization_then_each_sees_only_its_scope(
    client: TestClient[Any],
    admin_headers: dict[str, str],
    trader_headers: dict[str, str],
    other_admin_headers: dict[str, str],
) -> None:
    # Arrange
    admin_id = _get(client, "/v1/auth/me", admin_headers)["userId"]
    trader_id = _get(client, "/v1/auth/me", trader_headers)["userId"]
    other_id = _get(client, "/v1/auth/me", other_admin_headers)["userId"]
    # Act / Assert: the admin sees its organization's users, not another's.
    assert [u["name"] for u in _get(client, "/v1/user/list", admin_headers)] == ["admin", "trader"]
    assert _get(client, f"/v1/user/item?id={trader_id}", admin_headers)["name"] == "trader"
    assert client.get(f"/v1/user/item?id={other_id}", headers=admin_headers).status_code == 404
    assert client.get("/v1/user/find?name=other-admin", headers=admin_headers).status_code == 404
    items = _get(client, f"/v1/user/items?ids={admin_id},{trader_id},{other_id}", admin_headers)
    assert [u["id"] for u in items] == [admin_id, trader_id]
    assert [u["name"] for u in _get(client, "/v1/user/suggest?t=&l=10", other_admin_headers)] == [
        "other-admin"
    ]
    # A trader sees itself only.
    assert [u["id"] for u in _get(client, "/v1/user/list", trader_headers)] == [trader_id]
    assert client.get(f"/v1/user/item?id={admin_id}", headers=trader_headers).status_code == 404
    assert client.get("/v1/user/find?name=admin", headers=trader_headers).status_code == 404
    assert _get(client, "/v1/user/find?name=trader", trader_headers)["id"] == trader_id
    assert _get(client, "/v1/user/suggest?t=ADM&l=10", trader_headers) == []
    # account/ldeps: the accounts of those users the caller may see.
    ldeps = _get(client, f"/v1/account/ldeps?masterids={trader_id},{other_id}", admin_headers)
    assert len(ldeps) == 10 and {a["userId"] for a in ldeps} == {trader_id}
    assert _get(client, f"/v1/account/ldeps?masterids={trader_id}", other_admin_headers) == []


def test_fill_pairs_when_round_trips_then_fifo_pairs_whose_pnl_is_the_realized_pnl(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    # Arrange: long 2 @5000 and 1 @5010; sell 3 @5020 (closes both lots); short 1 @5030, buy it back @5000.
    a = world.demo_account_ids[1]
    _trade(
        client, admin_headers, a,
        [("Buy", 2, 5000), ("Buy", 1, 5010), ("Sell", 3, 5020), ("Sell", 1, 5030), ("Buy", 1, 5000)],
    )  # fmt: skip
    fills = _get(client, f"/v1/fill/deps?masterid={a}", admin_headers)
    position = _get(client, f"/v1/position/deps?masterid={a}", admin_headers)[0]
    # Act
    pairs = _get(client, f"/v1/fillPair/deps?masterid={position['id']}", admin_headers)
    # Assert
    f = [x["id"] for x in fills]
    assert [(p["buyFillId"], p["sellFillId"], p["qty"], p["buyPrice"], p["sellPrice"]) for p in pairs] == [
        (f[0], f[2], 2, 5000.0, 5020.0),
        (f[1], f[2], 1, 5010.0, 5020.0),
        (f[4], f[3], 1, 5000.0, 5030.0),
    ]
    assert {p["positionId"] for p in pairs} == {position["id"]} and all(p["active"] for p in pairs)
    assert sum(p["qty"] for p in pairs) == min(position["bought"], position["sold"])
    pnl = sum(p["qty"] * (p["sellPrice"] - p["buyPrice"]) for p in pairs) * 50  # ES: $50 a point
    balance = _get(client, f"/v1/cashBalance/item?id={a}", admin_headers)
    assert pnl == balance["realizedPnL"] == 4000.0
    assert [_get(client, f"/v1/fillPair/item?id={p['id']}", admin_headers) for p in pairs] == pairs


def test_fill_pairs_and_position_find_when_trader_or_other_organization_then_scoped(
    client: TestClient[Any], admin_headers: dict[str, str], other_admin_headers: dict[str, str], world: World
) -> None:
    # Arrange: a round trip in the trader's account; trader2 of the same organization owns others.
    a = world.demo_account_ids[2]
    _trade(client, admin_headers, a, [("Buy", 1, 5000), ("Sell", 1, 5005)])
    add_second_demo_trader(world.database_url, 1)
    trader = bearer(login(client, "trader", TRADER_PW))
    trader2 = bearer(login(client, "trader2", TRADER2_PW))
    pair = _get(client, "/v1/fillPair/list", admin_headers)[0]
    position_id = pair["positionId"]
    # Act / Assert
    assert _get(client, "/v1/fillPair/list", trader) == [pair]
    assert _get(client, "/v1/position/find?name=ESZ6", trader)["id"] == position_id
    for headers in (trader2, other_admin_headers):
        assert _get(client, "/v1/fillPair/list", headers) == []
        assert client.get(f"/v1/fillPair/item?id={pair['id']}", headers=headers).status_code == 404
        assert _get(client, f"/v1/fillPair/items?ids={pair['id']}", headers) == []
        assert _get(client, f"/v1/fillPair/deps?masterid={position_id}", headers) == []
        assert client.get("/v1/position/find?name=ESZ6", headers=headers).status_code == 404
    assert client.get("/v1/fillPair/item?id=1", headers=admin_headers).status_code == 404
    assert client.get("/v1/position/find?name=NQZ6", headers=admin_headers).status_code == 404


BAD_PARAMETERS = [
    ("/v1/contract/suggest?t=ES", "l"),
    ("/v1/contract/suggest?l=5", "t"),
    ("/v1/product/suggest?t=ES&l=x", "l"),
    ("/v1/product/suggest?t=ES&l=-1", "l"),
    ("/v1/contract/suggest?t=ES&l=99999999999999999999", "l"),
    ("/v1/account/suggest?t=a&l=10001", "l"),
    ("/v1/user/suggest?t=" + "a" * 201 + "&l=1", "t"),
    ("/v1/user/item?id=abc", "id"),
    ("/v1/user/item?id=9223372036854775808", "id"),
    ("/v1/user/items?ids=1,x", "ids"),
    ("/v1/user/find?name=" + "a" * 201, "name"),
    ("/v1/product/items?ids=a", "ids"),
    ("/v1/product/deps?masterid=x", "masterid"),
    ("/v1/account/ldeps?masterids=1,,x", "masterids"),
    ("/v1/contractMaturity/item?id=1.5", "id"),
    ("/v1/contractMaturity/ldeps?masterids=99999999999999999999", "masterids"),
    ("/v1/fillPair/item?id=-9223372036854775809", "id"),
    ("/v1/fillPair/ldeps?masterids=z", "masterids"),
    ("/v1/position/find?name=" + "E" * 65, "name"),
    ("/v1/exchange/item", "id"),
    ("/v1/currency/find?name=" + "U" * 65, "name"),
    ("/v1/contractGroup/items?ids=q", "ids"),
]


def test_reads_when_parameters_bad_then_400_naming_the_parameter(
    client: TestClient[Any], admin_headers: dict[str, str]
) -> None:
    for path, name in BAD_PARAMETERS:
        # Act
        r = client.get(path, headers=admin_headers)
        # Assert
        assert r.status_code == 400, (path, r.status_code, r.text)
        assert r.json()["errorText"].startswith(f"{name}"), (path, r.text)
    # Text holding a NUL names nothing (no 500 on either engine).
    for path in ("/v1/user/find?name=a%00b", "/v1/position/find?name=ES%00", "/v1/exchange/find?name=%00"):
        assert client.get(path, headers=admin_headers).status_code == 404, path
    assert _get(client, "/v1/account/suggest?t=%00&l=5", admin_headers) == []


def test_new_reads_when_sent_over_the_websocket_then_same_answers_as_rest_and_sync_holds_fill_pairs(
    client: TestClient[Any], admin_headers: dict[str, str], trader_headers: dict[str, str], world: World
) -> None:
    # Arrange: a round trip in one of the trader's accounts.
    _trade(client, admin_headers, world.demo_account_ids[3], [("Buy", 1, 5000), ("Sell", 1, 5004)])
    requests = [
        ("contract/suggest", "t=ESZ&l=5"),
        ("user/list", ""),
        ("contractMaturity/deps", "masterid=1"),
        ("fillPair/list", ""),
        ("currency/list", ""),
    ]
    with open_socket(client, token_of(trader_headers)) as ws:
        for i, (endpoint, query) in enumerate(requests, start=1):
            # Act
            ws.request(endpoint, i, query=query)
            answer = ws.answer(i)
            # Assert
            assert answer["s"] == 200, answer
            assert answer["d"] == _get(client, f"/v1/{endpoint}?{query}", trader_headers), endpoint
        ws.request("contract/suggest", 99, query="t=ES")
        assert ws.answer(99) == {"s": 400, "i": 99, "d": "l: is required"}
        snapshot = ws.sync(100, users=[_get(client, "/v1/auth/me", trader_headers)["userId"]])
    validate_response("POST", "/v1/user/syncrequest", snapshot)
    pairs = _get(client, "/v1/fillPair/list", trader_headers)
    assert snapshot["fillPairs"] == pairs and len(pairs) == 1
