"""`POST /v1/account/resetdemoaccountstate`: demo accounts back to their state at the market open of a
past trade date, rebuilt from their fills and demo cash changes, all accounts in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Connection, func, insert, select, update

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.schema import account, account_risk_status_log, auto_liq_layer
from autoliq.domain.states import Environment
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, TRADER_PW, World, bearer, login
from tests.contract import validate_response
from tests.helpers import app_client

H = dict[str, str]
RESET = "/v1/account/resetdemoaccountstate"
PLACE = "/v1/order/placeorder"
SNAPSHOT = "/v1/cashBalance/getcashbalancesnapshot"
ES, NQ = 1_202_612, 3_202_612  # ESZ6 and NQZ6's contract ids
TUESDAY = {"year": 2026, "month": 11, "day": 24}  # the clock fixture's trade date
WEDNESDAY = {"year": 2026, "month": 11, "day": 25}
TOO_MANY = "Only 10000 accounts are allowed in single operation"
MARKET_BUY = {"action": "Buy", "symbol": "ESZ6", "orderQty": 1, "orderType": "Market"}


@contextmanager
def database(world: World) -> Iterator[Connection]:
    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def reset(client: TestClient[Any], headers: H, body: dict[str, Any]) -> tuple[int, Any]:
    r = client.post(RESET, json=body, headers=headers)
    if r.status_code == 200:
        validate_response("POST", RESET, r.json())
    return r.status_code, r.json()


def post(client: TestClient[Any], headers: H, path: str, body: dict[str, Any]) -> Any:
    r = client.post(path, json=body, headers=headers)
    assert r.status_code == 200, f"{path}: {r.text}"
    return r.json()


def set_prices(client: TestClient[Any], admin: H, **prices: float) -> None:
    post(
        client, admin, "/_autoliq/prices", {"prices": [{"symbol": s, "price": p} for s, p in prices.items()]}
    )


def trade(
    client: TestClient[Any],
    headers: H,
    account_id: int,
    action: str,
    qty: int,
    symbol: str = "ESZ6",
    **extra: Any,
) -> int:
    body = {
        "accountId": account_id,
        "action": action,
        "symbol": symbol,
        "orderQty": qty,
        "orderType": "Market",
    }
    answer = post(client, headers, PLACE, {**body, **extra})
    assert "orderId" in answer and "failureReason" not in answer, answer
    return int(answer["orderId"])


def positions(client: TestClient[Any], headers: H, account_id: int) -> dict[int, tuple[int, int, int]]:
    """(netPos, bought, sold) by contract id."""
    r = client.get("/v1/position/deps", params={"masterid": account_id}, headers=headers)
    assert r.status_code == 200, r.text
    validate_response("GET", "/v1/position/deps", r.json())
    return {p["contractId"]: (p["netPos"], p["bought"], p["sold"]) for p in r.json()}


def order_statuses(client: TestClient[Any], headers: H, account_id: int) -> dict[int, str]:
    r = client.get("/v1/order/deps", params={"masterid": account_id}, headers=headers)
    assert r.status_code == 200, r.text
    return {o["id"]: o["ordStatus"] for o in r.json()}


def snapshot(client: TestClient[Any], headers: H, account_id: int) -> dict[str, Any]:
    answer = post(client, headers, SNAPSHOT, {"accountId": account_id})
    validate_response("POST", SNAPSHOT, answer)
    keys = ("totalCashValue", "realizedPnL", "weekRealizedPnL", "totalCashValueSOD", "openPnL", "netLiq")
    return {k: answer[k] for k in keys}


def risk_status(client: TestClient[Any], headers: H, account_id: int) -> dict[str, Any]:
    r = client.get("/v1/accountRiskStatus/item", params={"id": account_id}, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def next_trade_date(client: TestClient[Any], admin: H) -> tuple[H, H]:
    """Move the sandbox clock 8 hours, Tuesday 09:00 CT to 17:00 CT: Wednesday's trade date begins. The
    test clock also times tokens: fresh ones for the admin and the trader."""
    moved = post(client, admin, "/_autoliq/clock", {"advanceSeconds": 8 * 3600})
    assert moved["tradeDate"] == "2026-11-25", moved
    return bearer(login(client, "admin", ADMIN_PW)), bearer(login(client, "trader", TRADER_PW))


def log_rows(world: World) -> int:
    with database(world) as conn:
        return int(conn.execute(select(func.count()).select_from(account_risk_status_log)).scalar_one())


# -- the reset itself --


def test_reset_when_accounts_traded_on_two_dates_then_back_to_the_later_dates_open(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World, clock: ManualClock
) -> None:
    a, b, untouched = world.demo_account_ids[:3]
    # Tuesday: `a` buys 2 at 5000, sells 1 at 5010 (+$500 realized), keeps 1; rests a GTC buy; +$1,000 cash.
    set_prices(client, admin_headers, ESZ6=5000, NQZ6=20000)
    trade(client, trader_headers, a, "Buy", 2)
    set_prices(client, admin_headers, ESZ6=5010)
    trade(client, trader_headers, a, "Sell", 1)
    tuesday_rest = trade(
        client, trader_headers, a, "Buy", 1, orderType="Limit", price=4900, timeInForce="GTC"
    )
    post(client, admin_headers, "/v1/cashBalance/changedemobalance", {"accountId": a, "cashChange": 1000})
    trade(client, trader_headers, untouched, "Buy", 1)
    admin, trader = next_trade_date(client, admin_headers)
    # Wednesday: `a` sells its last one at 5020 (+$1,000), opens NQ, rests a GTC sell; +$500 cash;
    # `b` trades for the first time.
    set_prices(client, admin, ESZ6=5020)
    trade(client, trader, a, "Sell", 1)
    trade(client, trader, a, "Buy", 1, symbol="NQZ6")
    wednesday_rest = trade(client, trader, a, "Sell", 1, orderType="Limit", price=5100, timeInForce="GTC")
    post(client, admin, "/v1/cashBalance/changedemobalance", {"accountId": a, "cashChange": 500})
    trade(client, trader, b, "Buy", 3)
    # EOD: the mark moves at the day's end only, so what the reset sets is what is read back.
    settings = {"id": a, "trailingMaxDrawdown": 2000, "trailingMaxDrawdownMode": "EOD"}
    post(client, admin, "/v1/userAccountAutoLiq/create", settings)
    post(client, admin, "/v1/accountRiskStatus/updatemaxnetliq", {"accountId": a, "maxNetLiq": 54_000})
    assert positions(client, trader, a) == {ES: (0, 2, 2), NQ: (1, 1, 0)}
    assert snapshot(client, trader, a)["totalCashValue"] == 53_000
    untouched_before = (positions(client, trader, untouched), snapshot(client, trader, untouched))
    with database(world) as conn:  # an auto-liq lock, as a breached rule would leave it
        conn.execute(
            insert(auto_liq_layer).values(
                account_id=a, state="Locked", rule="dailyLossAutoLiq", since=clock.now()
            )
        )
    fills_before = client.get("/v1/fill/list", headers=admin).json()

    assert reset(client, admin, {"accountIds": [a, b], "resetTradeDate": WEDNESDAY}) == (200, {"ok": True})

    # `a` as Wednesday opened: long 1 ES from Tuesday's fills (first in, first out), flat NQ.
    assert positions(client, trader, a) == {ES: (1, 2, 1), NQ: (0, 0, 0)}
    # $50,000 + Tuesday's $500 realized + Tuesday's $1,000 cash change; open P&L at 5020 on the long at 5000.
    assert snapshot(client, trader, a) == {
        "totalCashValue": 51_500, "realizedPnL": 0, "weekRealizedPnL": 500, "totalCashValueSOD": 51_500,
        "openPnL": 1_000, "netLiq": 52_500,
    }  # fmt: skip
    [balance] = client.get("/v1/cashBalance/deps", params={"masterid": a}, headers=trader).json()
    assert (balance["amount"], balance["tradeDate"]) == (51_500, WEDNESDAY)
    statuses = order_statuses(client, trader, a)
    assert statuses[tuesday_rest] == statuses[wednesday_rest] == "Canceled"
    assert "Working" not in statuses.values()
    # History stays: every fill and order is still there.
    assert client.get("/v1/fill/list", headers=admin).json() == fills_before
    assert len(statuses) == 6
    # `b` had nothing before Wednesday: flat, with the opening balance; it had no maxNetLiq, none is set.
    assert positions(client, trader, b) == {ES: (0, 0, 0)}
    assert snapshot(client, trader, b)["totalCashValue"] == 50_000
    assert "maxNetLiq" not in risk_status(client, admin, b)
    # The trailing mark moves to the reset cash; the floor follows the account's trailing drawdown.
    status = risk_status(client, admin, a)
    assert (status["maxNetLiq"], status["minNetLiq"], status["adminAction"]) == (51_500, 49_500, "Normal")
    with database(world) as conn:
        assert conn.execute(select(auto_liq_layer).where(auto_liq_layer.c.account_id == a)).first() is None
    trail = client.get("/_autoliq/audit", params={"accountId": a}, headers=admin).json()["entries"]
    admin_id = client.get("/v1/auth/me", headers=admin).json()["userId"]
    assert (trail[-1]["reason"], trail[-1]["actor"], trail[-1]["actorUserId"]) == (
        "Demo account state reset to 2026-11-25",
        "user",
        admin_id,
    )
    # An account not listed is untouched.
    assert (positions(client, trader, untouched), snapshot(client, trader, untouched)) == untouched_before
    # The post-trade rules watch the rebuilt position (before the reset `a` held NQ, not ES): ES at 4950
    # takes net liq to $49,000, under the $49,500 floor, and the account is flattened and locked.
    set_prices(client, admin, ESZ6=4950)
    assert positions(client, trader, a)[ES][0] == 0
    locked = post(client, trader, PLACE, {**MARKET_BUY, "accountId": a})
    assert locked["failureReason"] == "TradingLocked", locked

    # Back further, to Tuesday's open: nothing had happened yet (Tuesday's cash change came after the open).
    assert reset(client, admin, {"accountIds": [a], "resetTradeDate": TUESDAY}) == (200, {"ok": True})
    assert positions(client, trader, a) == {ES: (0, 0, 0), NQ: (0, 0, 0)}
    assert snapshot(client, trader, a) == {
        "totalCashValue": 50_000, "realizedPnL": 0, "weekRealizedPnL": 0, "totalCashValueSOD": 50_000,
        "openPnL": 0, "netLiq": 50_000,
    }  # fmt: skip
    status = risk_status(client, admin, a)
    assert (status["maxNetLiq"], status["minNetLiq"]) == (50_000, 48_000)
    # The lock the trailing drawdown left went with the reset: `a` trades again.
    trade(client, trader, a, "Buy", 1)
    assert positions(client, trader, a)[ES] == (1, 1, 0)


# -- refusals --


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"accountIds": [], "resetTradeDate": TUESDAY}, "Empty accountIds"),
        ({"resetTradeDate": TUESDAY}, "Empty accountIds"),
        ({"accountIds": list(range(1, 10_002)), "resetTradeDate": TUESDAY}, TOO_MANY),
        ({"accountIds": ["A"]}, "Reset Trade Date should be specified"),
        ({"accountIds": ["A"], "resetTradeDate": {"year": 2026, "month": 13, "day": 1}},
         "Reset Trade Date should be a valid date with year, month and day"),
        ({"accountIds": ["A"], "resetTradeDate": {"year": 2026, "month": 2, "day": 29}},
         "Reset Trade Date should be a valid date with year, month and day"),
        ({"accountIds": ["A"], "resetTradeDate": {"year": 2026, "month": 11}},
         "Reset Trade Date should be a valid date with year, month and day"),
        ({"accountIds": ["A"], "resetTradeDate": {"year": 2026, "month": 11, "day": 22}},
         "Reset Trade Date should be a trade date (Monday to Friday)"),
        ({"accountIds": ["A"], "resetTradeDate": WEDNESDAY},
         "Reset Trade Date should not be after the current trade date"),
    ],
)  # fmt: skip
def test_reset_when_value_refused_then_error_text_and_nothing_changes(
    client: TestClient[Any],
    admin_headers: H,
    trader_headers: H,
    world: World,
    body: dict[str, Any],
    text: str,
) -> None:
    a = world.demo_account_ids[0]
    set_prices(client, admin_headers, ESZ6=5000)
    trade(client, trader_headers, a, "Buy", 1)
    rest = trade(client, trader_headers, a, "Buy", 1, orderType="Limit", price=4900, timeInForce="GTC")
    logged = log_rows(world)
    body = {k: [a if x == "A" else x for x in v] if k == "accountIds" else v for k, v in body.items()}
    assert reset(client, admin_headers, body) == (200, {"ok": False, "errorText": text})
    assert positions(client, trader_headers, a) == {ES: (1, 1, 0)}
    assert order_statuses(client, trader_headers, a)[rest] == "Working"
    assert log_rows(world) == logged


def test_reset_when_an_account_unknown_or_of_another_firm_then_404_and_no_account_changes(
    client: TestClient[Any], admin_headers: H, trader_headers: H, other_admin_headers: H, world: World
) -> None:
    a, b = world.demo_account_ids[:2]
    set_prices(client, admin_headers, ESZ6=5000)
    for x in (a, b):
        trade(client, trader_headers, x, "Buy", 2)
    rest = trade(client, trader_headers, a, "Sell", 1, orderType="Limit", price=5100, timeInForce="GTC")
    logged = log_rows(world)
    for ids in ([a, b, 987_654_321], [a, world.other_account_ids[0], b], [a, 0]):
        assert reset(client, admin_headers, {"accountIds": ids, "resetTradeDate": TUESDAY})[0] == 404, ids
    # Another firm's admin cannot reset this firm's accounts, nor learn they exist.
    assert reset(client, other_admin_headers, {"accountIds": [a], "resetTradeDate": TUESDAY})[0] == 404
    for x in (a, b):
        assert positions(client, trader_headers, x) == {ES: (2, 2, 0)}
    assert order_statuses(client, trader_headers, a)[rest] == "Working"
    assert log_rows(world) == logged


def test_reset_when_trader_then_access_is_denied_and_without_token_401(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    set_prices(client, admin_headers, ESZ6=5000)
    trade(client, trader_headers, a, "Buy", 1)
    body = {"accountIds": [a], "resetTradeDate": TUESDAY}
    assert reset(client, trader_headers, body) == (200, {"ok": False, "errorText": "Access is denied"})
    assert client.post(RESET, json=body).status_code == 401
    assert positions(client, trader_headers, a) == {ES: (1, 1, 0)}


def test_reset_when_account_closed_then_demo_account_is_closed_and_nothing_changes(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a, closed = world.demo_account_ids[:2]
    set_prices(client, admin_headers, ESZ6=5000)
    trade(client, trader_headers, a, "Buy", 1)
    with database(world) as conn:  # no API archives an account: the test does it in the database
        conn.execute(update(account).where(account.c.id == closed).values(archived=True))
    body = {"accountIds": [a, closed], "resetTradeDate": TUESDAY}
    assert reset(client, admin_headers, body) == (200, {"ok": False, "errorText": "Demo account is closed"})
    assert positions(client, trader_headers, a) == {ES: (1, 1, 0)}


def test_reset_when_body_has_wrong_types_then_400_naming_the_field(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    for body, field in (
        ({"accountIds": [str(a)], "resetTradeDate": TUESDAY}, "accountIds"),
        ({"accountIds": a, "resetTradeDate": TUESDAY}, "accountIds"),
        ({"accountIds": [a], "resetTradeDate": "2026-11-24"}, "resetTradeDate"),
        ({"accountIds": [a], "resetTradeDate": {**TUESDAY, "day": "24"}}, "resetTradeDate.day"),
    ):
        status, answer = reset(client, admin_headers, body)
        assert status == 400 and field in answer["errorText"], (body, answer)


@pytest.mark.parametrize("environment", [Environment.LIVE, Environment.REPLAY])
def test_reset_when_not_demo_then_called_on_demo_text(
    world: World, clock: ManualClock, environment: Environment
) -> None:
    with app_client(world.database_url, clock, environment=environment) as c:
        headers = bearer(login(c, "admin", ADMIN_PW))
        body = {"accountIds": [world.demo_account_ids[0]], "resetTradeDate": TUESDAY}
        assert reset(c, headers, body) == (
            200,
            {"ok": False, "errorText": "This endpoint should be called on demo.tradovateapi.com"},
        )
