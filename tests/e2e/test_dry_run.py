"""`POST /v1/order/dryrun`: orders judged by the one gate, nothing stored (issue 14)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import func, select

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.schema import event_outbox, trade_order
from autoliq.api.app import create_app
from autoliq.bootstrap import bootstrap
from autoliq.domain.rate_limits import TRADOVATE, EndpointLimit
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, TRADER_PW, World, bearer, login, make_settings
from tests.contract import validate_response
from tests.e2e.test_websocket import open_socket, token_of
from tests.helpers import SET_ACTION, action_body, app_client, market_order

DRY_RUN = "/v1/order/dryrun"
PRICES = "/_autoliq/prices"
H = dict[str, str]


def es_contract_id(client: TestClient[Any], headers: H) -> int:
    r = client.get("/v1/contract/find?name=ESZ6", headers=headers)
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


def es_order(contract_id: int, action: str = "Buy", qty: int = 1, **extra: Any) -> dict[str, Any]:
    return {"contractId": contract_id, "action": action, "orderQty": qty, "orderType": "Market", **extra}


def set_price(client: TestClient[Any], admin: H, value: float) -> None:
    r = client.post(PRICES, json={"prices": [{"symbol": "ESZ6", "price": value}]}, headers=admin)
    assert r.status_code == 200, r.text


def stored_rows(database_url: str) -> tuple[int, int]:
    """Orders and outbox events, straight from the database."""
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as conn:
            orders = conn.execute(select(func.count()).select_from(trade_order)).scalar_one()
            events = conn.execute(select(func.count()).select_from(event_outbox)).scalar_one()
        return int(orders), int(events)
    finally:
        engine.dispose()


def test_dry_run_when_orders_pass_then_no_reject_reason_details_and_zero_fees_valid_schema(
    client: TestClient[Any], trader_headers: H, admin_headers: H, world: World
) -> None:
    # Arrange: a long position of 2 at 6000, the price now 6010.
    account = world.demo_account_ids[0]
    set_price(client, admin_headers, 6000)
    assert "orderId" in market_order(client, trader_headers, account, "Buy", 2)
    set_price(client, admin_headers, 6010)
    contract = es_contract_id(client, trader_headers)
    body = {"accountId": account, "orders": [es_order(contract, "Buy", 1), es_order(contract, "Sell", 3)]}

    # Act
    r = client.post(DRY_RUN, json=body, headers=trader_headers)

    # Assert
    assert r.status_code == 200, r.text
    answer = r.json()
    validate_response("POST", DRY_RUN, answer)
    assert "rejectReason" not in answer and "errorText" not in answer
    details = answer["details"]
    assert (details["beforeNetPos"], details["hypoLongPos"], details["hypoShortPos"]) == (2, 3, -1)
    assert details["isExitOrder"] is False
    assert details["futuresOpenPnL"] == 1000.0  # 2 contracts x 10 points x $50
    assert details["netLiqValue"] == details["totalCash"] + 1000.0 == details["excess"]
    assert details["initialMarginReq"] == 0.0 and answer["fees"]["commission"] == 0.0


def test_dry_run_when_account_locked_then_trading_locked_and_nothing_stored(
    client: TestClient[Any], trader_headers: H, admin_headers: H, world: World
) -> None:
    # Arrange
    account = world.demo_account_ids[1]
    set_price(client, admin_headers, 6000)
    r = client.post(SET_ACTION, json=action_body(account, "LockTradingImmediately"), headers=admin_headers)
    assert r.status_code == 200, r.text
    contract = es_contract_id(client, trader_headers)
    before = stored_rows(world.database_url)

    # Act
    r = client.post(
        DRY_RUN, json={"accountId": account, "orders": [es_order(contract)]}, headers=trader_headers
    )

    # Assert
    assert r.status_code == 200, r.text
    answer = r.json()
    validate_response("POST", DRY_RUN, answer)
    assert answer["rejectReason"] == "TradingLocked" and answer["comment"]
    assert answer["details"]["beforeNetPos"] == 0
    assert stored_rows(world.database_url) == before
    assert client.get("/v1/order/list", headers=trader_headers).json() == []


def test_dry_run_when_batch_passes_the_cap_together_then_max_pos_limit_reached(
    world: World, clock: ManualClock
) -> None:
    # Arrange: a position cap of 10; every order of 3 alone is within it, the four together are not.
    with app_client(world.database_url, clock, max_position=10) as client:
        admin, trader = bearer(login(client, "admin", ADMIN_PW)), bearer(login(client, "trader", TRADER_PW))
        set_price(client, admin, 6000)
        contract = es_contract_id(client, trader)
        body = {"accountId": world.demo_account_ids[2], "orders": [es_order(contract, "Buy", 3)] * 4}
        alone = {"accountId": world.demo_account_ids[2], "orders": [es_order(contract, "Buy", 3)] * 3}

        # Act
        four = client.post(DRY_RUN, json=body, headers=trader).json()
        three = client.post(DRY_RUN, json=alone, headers=trader).json()

    # Assert
    assert four["rejectReason"] == "MaxPosLimitReached", four
    assert "rejectReason" not in three, three
    assert four["details"]["hypoLongPos"] == 12


def test_dry_run_when_no_price_or_unknown_contract_or_extra_volume_then_reject_reasons(
    client: TestClient[Any], trader_headers: H, world: World
) -> None:
    account = world.demo_account_ids[0]
    contract = es_contract_id(client, trader_headers)

    no_quote = client.post(
        DRY_RUN, json={"accountId": account, "orders": [es_order(contract)]}, headers=trader_headers
    )
    unknown = client.post(
        DRY_RUN, json={"accountId": account, "orders": [es_order(999_999)]}, headers=trader_headers
    )
    limit = {"contractId": contract, "action": "Buy", "orderQty": 3, "orderType": "Limit", "price": 5000}
    extra = {"products": {}, "contracts": {}, "maxTradedVolumeTotal": 2}
    volume = client.post(
        DRY_RUN,
        json={"accountId": account, "orders": [limit], "extraPreTradeRisk": extra},
        headers=trader_headers,
    )

    assert no_quote.json()["rejectReason"] == "NoQuote"
    assert unknown.json()["rejectReason"] == "InvalidContract"
    assert volume.json()["rejectReason"] == "MaxOrderQtyLimitReached"
    for r in (no_quote, unknown, volume):
        validate_response("POST", DRY_RUN, r.json())


def test_dry_run_when_account_unknown_or_another_organizations_then_the_same_404(
    client: TestClient[Any], trader_headers: H, other_admin_headers: H, world: World
) -> None:
    contract = es_contract_id(client, trader_headers)

    unknown = client.post(
        DRY_RUN, json={"accountId": 987_654_321, "orders": [es_order(contract)]}, headers=trader_headers
    )
    others = client.post(
        DRY_RUN,
        json={"accountId": world.demo_account_ids[0], "orders": [es_order(contract)]},
        headers=other_admin_headers,
    )

    # Assert: another organization's account reads as an unknown one (nothing tells them apart)
    assert unknown.status_code == 404 and "errorText" in unknown.json()
    assert (others.status_code, others.json()) == (unknown.status_code, unknown.json())


def test_dry_run_when_bad_input_then_400_naming_the_field(
    client: TestClient[Any], trader_headers: H, world: World
) -> None:
    account = world.demo_account_ids[0]
    order = es_order(1)
    bodies = [
        ("orders", {"accountId": account, "orders": [order] * 5}),
        ("orders", {"accountId": account, "orders": []}),
        ("accountId", {"accountId": "1", "orders": [order]}),
        ("orders[0].orderQty", {"accountId": account, "orders": [{**order, "orderQty": 2**70}]}),
        (
            "extraPreTradeRisk.maxExposedTotal",
            {
                "accountId": account,
                "orders": [order],
                "extraPreTradeRisk": {"products": {}, "contracts": {}, "maxExposedTotal": -1},
            },
        ),
    ]
    for field, body in bodies:
        r = client.post(DRY_RUN, json=body, headers=trader_headers)
        assert r.status_code == 400, (field, r.text)
        assert r.json()["errorText"].startswith(f"{field}:"), (field, r.text)


def test_dry_run_when_sent_over_the_websocket_then_the_rest_answer_and_nothing_stored(
    client: TestClient[Any], trader_headers: H, admin_headers: H, world: World
) -> None:
    set_price(client, admin_headers, 6000)
    body = {
        "accountId": world.demo_account_ids[0],
        "orders": [es_order(es_contract_id(client, trader_headers))],
    }
    rest = client.post(DRY_RUN, json=body, headers=trader_headers).json()
    before = stored_rows(world.database_url)

    with open_socket(client, token_of(trader_headers)) as ws:
        ws.request("order/dryrun", 1, body=json.dumps(body))
        answer = ws.answer(1)

    assert answer == {"s": 200, "i": 1, "d": rest}
    assert stored_rows(world.database_url) == before


def test_dry_run_when_past_its_hourly_limit_then_penalty_ticket_with_its_back_off(
    world: World, clock: ManualClock
) -> None:
    # Arrange: Tradovate's numbers for the route (500 an hour, 1 s, every call counted), with an hour
    # of 2 calls so that the test makes three.
    assert TRADOVATE.endpoints[DRY_RUN] == EndpointLimit(DRY_RUN, 500, 1.0, counts_success=True)
    services = bootstrap(make_settings(world.database_url), clock=clock, run_migrations=False)
    services.rate_limits = dataclasses.replace(
        TRADOVATE, endpoints={DRY_RUN: dataclasses.replace(TRADOVATE.endpoints[DRY_RUN], per_hour=2)}
    )
    with TestClient(app=create_app(services)) as client:
        trader = bearer(login(client, "trader", TRADER_PW))
        body = {"accountId": world.demo_account_ids[0], "orders": [es_order(es_contract_id(client, trader))]}

        # Act
        answers = [client.post(DRY_RUN, json=body, headers=trader).json() for _ in range(3)]

    # Assert
    assert all("details" in a for a in answers[:2])
    assert set(answers[2]) == {"p-ticket", "p-time", "p-captcha"} and answers[2]["p-time"] == 1
