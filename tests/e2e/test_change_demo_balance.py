"""`POST /v1/cashBalance/changedemobalance`: a delta to a demo account's cash, with every documented
`errorText` and the non-admin limits ($50,000, one change per account per hour)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import create_engine, update

from autoliq.adapters.sql.schema import account
from autoliq.domain.states import Environment
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, TRADER_PW, World, bearer, login
from tests.contract import validate_response
from tests.helpers import app_client

H = dict[str, str]
CHANGE = "/v1/cashBalance/changedemobalance"
SNAPSHOT = "/v1/cashBalance/getcashbalancesnapshot"


def change(client: TestClient[Any], headers: H, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(CHANGE, json=body, headers=headers)
    assert r.status_code == 200, r.text
    validate_response("POST", CHANGE, r.json())
    return dict(r.json())


def cash(client: TestClient[Any], headers: H, account_id: int) -> float:
    r = client.post(SNAPSHOT, json={"accountId": account_id}, headers=headers)
    assert r.status_code == 200, r.text
    return float(r.json()["totalCashValue"])


def test_change_when_admin_adds_then_cash_moves_by_the_delta_and_pnl_does_not(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    after = change(client, admin_headers, {"accountId": a, "cashChange": 10_000.255, "comment": "top-up"})
    assert after["totalCashValue"] == 60_000.26 and after["netLiq"] == 60_000.26
    assert after["realizedPnL"] == 0 and after["totalCashValueSOD"] == 50_000
    # An admin has no hourly limit and no $50,000 cap.
    assert change(client, admin_headers, {"accountId": a, "cashChange": -0.26})["totalCashValue"] == 60_000
    assert cash(client, admin_headers, a) == 60_000
    balances = client.get("/v1/cashBalance/deps", params={"masterid": a}, headers=admin_headers).json()
    assert [b["amount"] for b in balances] == [60_000]


def test_change_when_trader_then_cap_and_once_per_hour(
    client: TestClient[Any], trader_headers: H, world: World, clock: ManualClock
) -> None:
    a = world.demo_account_ids[1]
    capped = "Maximum cash amount in the simulation account must be less than or equal to $50,000"
    assert change(client, trader_headers, {"accountId": a, "cashChange": 0.01}) == {"errorText": capped}
    assert change(client, trader_headers, {"accountId": a, "cashChange": -1_000})["totalCashValue"] == 49_000
    once = "One change to the simulation cash balance is permitted per hour. Please try again later."
    assert change(client, trader_headers, {"accountId": a, "cashChange": 500}) == {"errorText": once}
    clock.advance(3599)
    assert change(client, trader_headers, {"accountId": a, "cashChange": 500}) == {"errorText": once}
    clock.advance(1)
    trader = bearer(login(client, "trader", TRADER_PW))  # the test clock also times tokens
    assert change(client, trader, {"accountId": a, "cashChange": 1_000})["totalCashValue"] == 50_000
    assert cash(client, trader, a) == 50_000


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"accountId": 0, "cashChange": 1}, "Account Id should be greater than 0"),
        ({"cashChange": 1}, "Account Id should be greater than 0"),
        ({"accountId": "A", "cashChange": -1_000_000}, "Cash Change should be greater than -1000000"),
        ({"accountId": "A", "cashChange": 1_000_000}, "Cash Change should be less than 1000000"),
        ({"accountId": "A", "cashChange": 1, "comment": "c" * 65}, "Comment should be no longer than 64"),
        ({"accountId": 987_654_321, "cashChange": 1}, "Access denied"),
        ({"accountId": "OTHER", "cashChange": 1}, "Access denied"),
    ],
)
def test_change_when_request_refused_then_documented_error_text_and_cash_unchanged(
    client: TestClient[Any], admin_headers: H, world: World, body: dict[str, Any], text: str
) -> None:
    ids = {"A": world.demo_account_ids[0], "OTHER": world.other_account_ids[0]}
    body = {k: ids.get(v, v) if k == "accountId" else v for k, v in body.items()}
    assert change(client, admin_headers, body) == {"errorText": text}
    assert cash(client, admin_headers, world.demo_account_ids[0]) == 50_000


def test_change_when_account_closed_then_demo_account_is_closed(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    closed = world.demo_account_ids[4]
    engine = create_engine(world.database_url)
    try:
        with engine.begin() as conn:  # no API archives an account: the test does it in the database
            conn.execute(update(account).where(account.c.id == closed).values(archived=True))
    finally:
        engine.dispose()
    assert change(client, admin_headers, {"accountId": closed, "cashChange": 5}) == {
        "errorText": "Demo account is closed"
    }


@pytest.mark.parametrize("environment", [Environment.LIVE, Environment.REPLAY])
def test_change_when_not_demo_then_called_on_demo_text(
    world: World, clock: ManualClock, environment: Environment
) -> None:
    with app_client(world.database_url, clock, environment=environment) as c:
        headers = bearer(login(c, "admin", ADMIN_PW))
        body = {"accountId": world.demo_account_ids[0], "cashChange": 5}
        assert change(c, headers, body) == {
            "errorText": "This endpoint should be called on demo.tradovateapi.com"
        }
