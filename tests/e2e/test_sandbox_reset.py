"""`POST /_autoliq/reset`: the whole sandbox back to its seeded state, in one transaction.

The clock starts at the machine's time here (not the shared fixture's fixed Tuesday): a reset sets
the sandbox clock back to the machine's, and the reads compared before and after must be read on the
same trade date. The front contracts are computed from that clock for the same reason.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select, update

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.schema import risk_session, sandbox_clock
from autoliq.api.app import create_app
from autoliq.bootstrap import Services, bootstrap
from autoliq.domain.events import SandboxReset
from autoliq.domain.instruments import PRODUCTS_BY_NAME, listed_contracts
from autoliq.domain.session import CHICAGO, previous_trade_date, trade_date
from autoliq.domain.states import Environment
from autoliq.service.clock import ManualClock, SandboxClock
from tests.conftest import ADMIN_PW, OTHER_ADMIN_PW, TRADER_PW, World, bearer, login, worker_settings
from tests.helpers import SET_ACTION, action_body, app_client

H = dict[str, str]
RESET = "/_autoliq/reset"


@pytest.fixture
def clock() -> ManualClock:
    """The machine's time (a reset sets the sandbox clock back to it)."""
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


def symbol(clock: ManualClock) -> str:
    """An ES contract listed today that does not expire today."""
    return listed_contracts(PRODUCTS_BY_NAME["ES"], clock.now().astimezone(CHICAGO).date(), 2)[1].name


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def state(client: TestClient[Any], headers: H, accounts: list[int]) -> dict[str, Any]:
    """Everything a user of the organization can read of its sandbox state (the audit log apart)."""
    reads: dict[str, Any] = {}
    for path in (
        "/v1/account/list",
        "/v1/accountRiskStatus/list",
        "/v1/order/list",
        "/v1/fill/list",
        "/v1/position/list",
        "/v1/userAccountAutoLiq/list",
        "/v1/riskCategory/list",
        "/_autoliq/riskCategories",
        "/_autoliq/prices",
        "/_autoliq/alerts",
    ):
        reads[path] = ok(client.get(path, headers=headers))
    # A cash balance's trade date is the clock's; it is compared apart.
    reads["/v1/cashBalance/list"] = [
        {k: v for k, v in row.items() if k != "tradeDate"}
        for row in ok(client.get("/v1/cashBalance/list", headers=headers))
    ]
    for account in accounts:
        reads[f"notes {account}"] = ok(client.get(f"/_autoliq/accountNotes/{account}", headers=headers))
        reads[f"layer {account}"] = ok(
            client.get("/_autoliq/autoLiqStatus", params={"accountId": account}, headers=headers)
        )
    return reads


def audit(client: TestClient[Any], headers: H, account: int) -> list[dict[str, Any]]:
    return list(ok(client.get("/_autoliq/audit", params={"accountId": account}, headers=headers))["entries"])


def relogin(client: TestClient[Any], admin: H, trader: H, other: H) -> None:
    """Tokens live 90 minutes of the in-process clock: log everyone in again after moving it."""
    admin.update(bearer(login(client, "admin", ADMIN_PW)))
    trader.update(bearer(login(client, "trader", TRADER_PW)))
    other.update(bearer(login(client, "other-admin", OTHER_ADMIN_PW)))


def test_reset_when_locks_orders_clock_settings_and_faults_changed_then_every_read_is_as_seeded(
    client: TestClient[Any],
    world: World,
    clock: ManualClock,
    admin_headers: H,
    trader_headers: H,
    other_admin_headers: H,
) -> None:
    admin, trader, other = admin_headers, trader_headers, other_admin_headers
    demo, firm = world.demo_account_ids, world.other_account_ids
    seeded = (state(client, admin, demo), state(client, trader, demo), state(client, other, firm))
    es = symbol(clock)

    # The clock two days on (the session job runs), then every kind of change the API makes.
    ok(client.post("/_autoliq/clock", json={"advanceSeconds": 2 * 86400}, headers=admin))
    relogin(client, admin, trader, other)
    ok(client.post(SET_ACTION, json=action_body(demo[0]), headers=admin))
    ok(client.post(SET_ACTION, json=action_body(demo[2], "PlaceAutoLiqOnHold"), headers=admin))  # a timer
    ok(client.post("/_autoliq/prices", json={"prices": [{"symbol": es, "price": 5000}]}, headers=admin))
    market = {"accountId": demo[1], "action": "Buy", "symbol": es, "orderQty": 1, "orderType": "Market"}
    assert "orderId" in ok(client.post("/v1/order/placeorder", json=market, headers=trader))
    limit = {**market, "orderType": "Limit", "price": 4000}
    assert "orderId" in ok(client.post("/v1/order/placeorder", json=limit, headers=trader))
    change = {"accountId": demo[1], "cashChange": 100, "comment": "top up"}
    ok(client.post("/v1/cashBalance/changedemobalance", json=change, headers=admin))
    rule = {"id": demo[4], "dailyLossAutoLiq": 100, "doNotUnlock": True}
    ok(client.post("/v1/userAccountAutoLiq/create", json=rule, headers=admin))
    ok(client.post("/v1/order/placeorder", json={**market, "accountId": demo[4]}, headers=trader))
    ok(client.post("/_autoliq/prices", json={"prices": [{"symbol": es, "price": 4990}]}, headers=admin))
    notes = {"accountId": demo[5], "notes": "watch this one"}
    ok(client.post("/v1/accountRiskStatus/setaccountnotes", json=notes, headers=admin))
    category = ok(client.post("/_autoliq/riskCategories", json={"name": "Evaluation"}, headers=admin))["id"]
    switch = {"accountIds": [demo[6]], "riskCategoryId": category}
    ok(client.post("/v1/accountRiskStatus/switchriskcategory", json=switch, headers=admin))
    ok(
        client.post(
            "/v1/accountRiskStatus/setDemoHalt",
            json={"halt": True, "riskCategoryId": category},
            headers=admin,
        )
    )
    ok(
        client.post(
            "/v1/accountRiskStatus/updatemaxnetliq",
            json={"accountId": demo[7], "maxNetLiq": 51000},
            headers=admin,
        )
    )
    ok(client.post(SET_ACTION, json=action_body(firm[0], "LiquidateOnlyModeImmediately"), headers=other))
    fault = {"path": "/v1/accountRiskStatus/resetautoliqstatus", "kind": "serverError", "count": 5}
    ok(client.post("/_autoliq/faults", json=fault, headers=admin))
    assert (
        ok(client.get("/_autoliq/autoLiqStatus", params={"accountId": demo[4]}, headers=admin))["state"]
        == "Locked"
    )
    changed = (state(client, admin, demo), state(client, trader, demo), state(client, other, firm))
    assert all(
        changed[i][path] != seeded[i][path]
        for i, path in ((0, "/v1/order/list"), (2, "/v1/accountRiskStatus/list"))
    )
    logged_before = {a: len(audit(client, admin, a)) for a in demo}
    session_before_reset = admin["Authorization"]

    before = datetime.now(UTC)
    answer = ok(client.post(RESET, headers=admin))
    after = datetime.now(UTC)

    # Tokens survive (users and sessions are kept), and passwords still log in.
    assert admin["Authorization"] == session_before_reset
    assert ok(client.get("/v1/auth/me", headers=admin))["name"] == "admin"
    login(client, "trader", TRADER_PW)
    assert (state(client, admin, demo), state(client, trader, demo), state(client, other, firm)) == seeded
    assert ok(client.get("/_autoliq/faults", headers=admin)) == {"faults": []}
    # One log row per account whose status or auto-liq layer was not as seeded: consistent with it.
    assert answer["statusesReset"] == 5
    assert before <= datetime.fromisoformat(answer["resetAt"]) <= after
    removed = answer["removed"]
    assert (removed["prices"], removed["faults"], removed["riskCategories"], removed["cashChanges"]) == (
        1,
        1,
        1,
        1,
    )
    assert removed["userAccountAutoLiqs"] == 1 and removed["alerts"] >= 1 and removed["timers"] >= 1
    assert removed["orders"] >= 3 and removed["fills"] >= 2 and removed["positions"] == 2
    admin_id = ok(client.get("/v1/auth/me", headers=admin))["userId"]
    reset_row = {
        "adminAction": "Normal",
        "actor": "user",
        "actorUserId": admin_id,
        "reasonCode": None,
        "reason": "Sandbox reset",
    }
    for account in (demo[0], demo[2], demo[4], demo[7]):
        last = audit(client, admin, account)[-1]
        assert {k: last[k] for k in reset_row} == reset_row, account
        assert last["timestamp"] == answer["resetAt"]
    assert {k: audit(client, other, firm[0])[-1][k] for k in reset_row} == {
        **reset_row,
        "actorUserId": admin_id,
    }
    for account in (demo[1], demo[3], demo[5], demo[6], demo[8], demo[9]):
        assert len(audit(client, admin, account)) == logged_before[account], account
    log_list = ok(client.get("/v1/accountRiskStatusLog/list", headers=admin))
    assert log_list[-1]["adminAction"] == "Normal" and "adminTimestamp" not in log_list[-1]
    # The clock is the machine's again (nothing stored), the session job starts from today.
    moment = ok(client.get("/_autoliq/clock", headers=admin))
    assert before <= datetime.fromisoformat(moment["now"]) <= after and moment["offsetSeconds"] <= 0
    cash = ok(client.get("/v1/cashBalance/list", headers=admin))
    today = trade_date(clock.now())
    assert all(
        row["tradeDate"] == {"year": today.year, "month": today.month, "day": today.day} for row in cash
    )
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(sandbox_clock)).all() == []
            closed = conn.execute(select(risk_session.c.closed_trade_date)).scalar_one()
    finally:
        engine.dispose()
    assert closed == previous_trade_date(trade_date(clock.now()))


def test_reset_when_done_then_accounts_trade_again_and_cleared_timers_never_fire(
    client: TestClient[Any], world: World, clock: ManualClock, admin_headers: H, trader_headers: H
) -> None:
    demo = world.demo_account_ids
    es = symbol(clock)
    ok(client.post(SET_ACTION, json=action_body(demo[0]), headers=admin_headers))
    ok(client.post(SET_ACTION, json=action_body(demo[1], "PlaceAutoLiqOnHold"), headers=admin_headers))

    ok(client.post(RESET, headers=admin_headers))

    ok(
        client.post(
            "/_autoliq/prices", json={"prices": [{"symbol": es, "price": 5000}]}, headers=admin_headers
        )
    )
    market = {"accountId": demo[0], "action": "Buy", "symbol": es, "orderQty": 1, "orderType": "Market"}
    assert "orderId" in ok(client.post("/v1/order/placeorder", json=market, headers=trader_headers))
    logged = len(audit(client, admin_headers, demo[1]))
    # The hold's 60-second expiry was a timer: the reset deleted it, so moving past it logs nothing.
    ok(client.post("/_autoliq/clock", json={"advanceSeconds": 120}, headers=admin_headers))
    admin = bearer(login(client, "admin", ADMIN_PW))
    assert len(audit(client, admin, demo[1])) == logged
    assert ok(client.get("/v1/accountRiskStatus/item", params={"id": demo[1]}, headers=admin)) == {
        "id": demo[1],
        "adminAction": "Normal",
        "userTriggeredLiqOnly": False,
    }


def test_reset_when_trader_or_no_token_then_401_and_nothing_changes(
    client: TestClient[Any], world: World, admin_headers: H, trader_headers: H
) -> None:
    account = world.demo_account_ids[0]
    ok(client.post(SET_ACTION, json=action_body(account), headers=admin_headers))

    refused = [client.post(RESET, headers=trader_headers), client.post(RESET)]

    assert [(r.status_code, r.json()) for r in refused] == [(401, {"errorText": "Access is denied"})] * 2
    status = ok(client.get("/v1/accountRiskStatus/item", params={"id": account}, headers=admin_headers))
    assert status["adminAction"] == "LockTradingImmediately"


@pytest.mark.parametrize("environment", [Environment.LIVE, Environment.REPLAY])
def test_reset_when_server_not_demo_then_401_names_it_and_nothing_changes(
    world: World, clock: ManualClock, environment: Environment
) -> None:
    with app_client(world.database_url, clock, environment=environment) as client:
        admin = bearer(login(client, "admin", ADMIN_PW))
        price = {"prices": [{"symbol": symbol(clock), "price": 5000}]}
        ok(client.post("/_autoliq/prices", json=price, headers=admin))

        r = client.post(RESET, headers=admin)

        assert r.status_code == 401
        assert r.json() == {
            "errorText": "The sandbox reset is only available on a demo server "
            f"(this one plays {environment.value})"
        }
        assert len(ok(client.get("/_autoliq/prices", headers=admin))["prices"]) == 1


def test_reset_when_made_through_one_worker_then_the_other_sets_its_clock_back_and_drops_its_faults(
    world: World,
) -> None:
    """Two apps over one database, as two workers with their own sandbox clocks (the machine's plus
    the stored offset, as `autoliq serve` runs them): the reset reaches the other one through the
    event outbox (its relay), the one that answered before its answer."""
    one = bootstrap(worker_settings(world.database_url), run_migrations=False)
    two = bootstrap(worker_settings(world.database_url), run_migrations=False)
    assert isinstance(one.clock, SandboxClock) and isinstance(two.clock, SandboxClock)
    with TestClient(app=create_app(one)) as first, TestClient(app=create_app(two)) as second:
        admin = bearer(login(first, "admin", ADMIN_PW))
        for client in (first, second):
            ok(client.post("/_autoliq/clock", json={"advanceSeconds": 86400}, headers=admin))
        fault = {"path": "/v1/account/list", "kind": "serverError", "count": 3}
        ok(second.post("/_autoliq/faults", json=fault, headers=admin))
        assert two.clock.offset > timedelta(hours=23) and two.sandbox.armed

        ok(first.post(RESET, headers=admin))

        assert one.clock.offset < timedelta(seconds=1) and not one.sandbox.armed
        deadline = time.monotonic() + 15
        while two.clock.offset > timedelta(seconds=1) or two.sandbox.armed:
            assert time.monotonic() < deadline, "the other worker did not hear of the reset"
            time.sleep(0.02)
        assert second.get("/v1/account/list", headers=admin).status_code == 200


def test_reset_when_heard_after_a_timer_run_on_the_old_clock_then_the_session_job_date_moves_back(
    client: TestClient[Any], world: World, clock: ManualClock, services: Services
) -> None:
    """A worker that has not heard of a reset yet may commit a session-job run on its old clock (days
    ahead) after the reset: hearing the reset, it sets the job's date back."""
    ahead = trade_date(clock.now()) + timedelta(days=5)
    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(update(risk_session).values(closed_trade_date=ahead))
    finally:
        engine.dispose()
    clock.set(clock.now() + timedelta(days=6))

    async def hear_a_reset() -> None:
        services.publisher.publish([SandboxReset(by_user_id=1)])
        await services.sandbox.drain()

    with client.portal() as portal:
        portal.call(hear_a_reset)

    assert clock.now() <= datetime.now(UTC)
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn:
            closed = conn.execute(select(risk_session.c.closed_trade_date)).scalar_one()
    finally:
        engine.dispose()
    assert closed == previous_trade_date(trade_date(clock.now()))
