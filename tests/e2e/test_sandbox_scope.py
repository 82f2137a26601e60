"""The sandbox's scope: one market and one clock, operated by one organization's admins (the demo
organization, seeded first, unless AUTOLIQ_SANDBOX_OPERATOR names another); another organization's
admin resets only its own organization and injects faults only into its own users' calls.

Each test is a reproduction of issue 13 (on 62575c4 Other Firm's admin changed the demo
organization's sandbox) or the operator's side of it.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from autoliq.adapters.sql.db import create_admin_engine, migrate
from autoliq.adapters.sql.schema import organization
from autoliq.api.app import create_app
from autoliq.bootstrap import bootstrap, check_sandbox_operator
from autoliq.cli.main import app as cli_app
from autoliq.config import Settings
from autoliq.domain.instruments import PRODUCTS_BY_NAME, listed_contracts
from autoliq.domain.session import CHICAGO
from autoliq.service.clock import ManualClock
from autoliq.service.sandbox import UnknownOperator
from tests.conftest import ADMIN_PW, OTHER_ADMIN_PW, World, bearer, login, make_settings, worker_settings
from tests.e2e.test_sandbox_faults import socket_frames
from tests.helpers import SET_ACTION, action_body, app_client

H = dict[str, str]
DENIED = (401, {"errorText": "Access is denied"})
FAULTS = "/_autoliq/faults"
LOGIN = "/v1/auth/accesstokenrequest"


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def denied(response: Any) -> tuple[int, Any]:
    return response.status_code, response.json()


def symbol(clock: ManualClock) -> str:
    """An ES contract listed today that does not expire today."""
    return listed_contracts(PRODUCTS_BY_NAME["ES"], clock.now().astimezone(CHICAGO).date(), 2)[1].name


def prices(es: str, price: float) -> dict[str, Any]:
    return {"prices": [{"symbol": es, "price": price}]}


def admin_action(client: TestClient[Any], headers: H, account: int) -> str:
    found = ok(client.get("/v1/accountRiskStatus/item", params={"id": account}, headers=headers))
    return str(found["adminAction"])


def layer(client: TestClient[Any], headers: H, account: int) -> str:
    found = ok(client.get("/_autoliq/autoLiqStatus", params={"accountId": account}, headers=headers))
    return str(found["state"])


def buy(client: TestClient[Any], headers: H, account: int, es: str) -> dict[str, Any]:
    body = {"accountId": account, "action": "Buy", "symbol": es, "orderQty": 1, "orderType": "Market"}
    return dict(ok(client.post("/v1/order/placeorder", json=body, headers=headers)))


# -- reset --


def test_reset_when_other_firms_admin_then_demo_lock_stands_and_only_other_firm_goes_back(
    client: TestClient[Any],
    world: World,
    clock: ManualClock,
    admin_headers: H,
    trader_headers: H,
    other_admin_headers: H,
) -> None:
    demo, firm = world.demo_account_ids, world.other_account_ids
    es = symbol(clock)
    ok(client.post("/_autoliq/prices", json=prices(es, 5000), headers=admin_headers))
    ok(client.post(SET_ACTION, json=action_body(demo[0]), headers=admin_headers))
    ok(client.post(SET_ACTION, json=action_body(firm[0]), headers=other_admin_headers))
    assert "orderId" in buy(client, other_admin_headers, firm[1], es)
    notes = {"accountId": firm[2], "notes": "watch"}
    ok(client.post("/v1/accountRiskStatus/setaccountnotes", json=notes, headers=other_admin_headers))
    ok(
        client.post(
            FAULTS, json={"path": "/v1/account/list", "kind": "delay", "delayMs": 1}, headers=admin_headers
        )
    )
    theirs = {"path": "/v1/order/list", "kind": "serverError"}
    ok(client.post(FAULTS, json=theirs, headers=other_admin_headers))
    clock_before = ok(client.get("/_autoliq/clock", headers=admin_headers))

    answer = ok(client.post("/_autoliq/reset", headers=other_admin_headers))

    # The demo organization's lock stands, and its trader is still refused.
    assert admin_action(client, admin_headers, demo[0]) == "LockTradingImmediately"
    refused = buy(client, trader_headers, demo[0], es)
    assert refused["failureReason"] == "TradingLocked"
    # Other Firm is as seeded: status, orders, positions, notes, its fault.
    assert answer["scope"] == "organization" and answer["statusesReset"] == 1
    assert answer["removed"]["orders"] == 1 and answer["removed"]["faults"] == 1
    assert answer["removed"]["prices"] == 0
    assert admin_action(client, other_admin_headers, firm[0]) == "Normal"
    assert ok(client.get("/v1/order/list", headers=other_admin_headers)) == []
    assert ok(client.get("/v1/position/list", headers=other_admin_headers)) == []
    assert ok(client.get(f"/_autoliq/accountNotes/{firm[2]}", headers=other_admin_headers))["notes"] is None
    assert ok(client.get(FAULTS, headers=other_admin_headers)) == {"faults": []}
    last = ok(client.get("/_autoliq/audit", params={"accountId": firm[0]}, headers=other_admin_headers))
    other_id = ok(client.get("/v1/auth/me", headers=other_admin_headers))["userId"]
    assert (last["entries"][-1]["reason"], last["entries"][-1]["actorUserId"]) == ("Sandbox reset", other_id)
    assert (
        last["entries"][-1]["timestamp"] == answer["resetAt"] == "2026-11-24T15:00:00Z"
    )  # the sandbox clock
    # The shared market and clock, and the demo organization's fault, are untouched.
    assert [p["price"] for p in ok(client.get("/_autoliq/prices", headers=admin_headers))["prices"]] == [5000]
    assert ok(client.get("/_autoliq/clock", headers=admin_headers))["now"] == clock_before["now"]
    assert [f["path"] for f in ok(client.get(FAULTS, headers=admin_headers))["faults"]] == [
        "/v1/account/list"
    ]


def test_reset_when_operator_then_the_whole_server_goes_back(
    client: TestClient[Any], world: World, admin_headers: H, other_admin_headers: H
) -> None:
    firm = world.other_account_ids[0]
    ok(client.post(SET_ACTION, json=action_body(firm), headers=other_admin_headers))
    ok(
        client.post(
            FAULTS, json={"path": "/v1/order/list", "kind": "serverError"}, headers=other_admin_headers
        )
    )

    answer = ok(client.post("/_autoliq/reset", headers=admin_headers))

    assert answer["scope"] == "server" and answer["removed"]["faults"] == 1
    # The in-process clock, which also times the tokens here, went back to the machine's.
    other = bearer(login(client, "other-admin", OTHER_ADMIN_PW))
    assert admin_action(client, other, firm) == "Normal"
    assert ok(client.get(FAULTS, headers=other)) == {"faults": []}


# -- the one market and the one clock --


def test_prices_when_other_firms_admin_moves_them_then_401_and_no_account_is_liquidated(
    client: TestClient[Any],
    world: World,
    clock: ManualClock,
    admin_headers: H,
    trader_headers: H,
    other_admin_headers: H,
) -> None:
    account = world.demo_account_ids[0]
    es = symbol(clock)
    ok(client.post("/_autoliq/prices", json=prices(es, 5000), headers=admin_headers))
    rule = {"id": account, "dailyLossAutoLiq": 100, "doNotUnlock": True}
    ok(client.post("/v1/userAccountAutoLiq/create", json=rule, headers=admin_headers))
    assert "orderId" in buy(client, trader_headers, account, es)

    refused = client.post("/_autoliq/prices", json=prices(es, 4990), headers=other_admin_headers)

    assert denied(refused) == DENIED
    assert [
        p["price"] for p in ok(client.get("/_autoliq/prices", headers=other_admin_headers))["prices"]
    ] == [5000]
    assert layer(client, admin_headers, account) == "Normal"
    assert [p["netPos"] for p in ok(client.get("/v1/position/list", headers=admin_headers))] == [1]
    # The same move by the operator reaches the rule: the set-up would have liquidated.
    ok(client.post("/_autoliq/prices", json=prices(es, 4990), headers=admin_headers))
    assert layer(client, admin_headers, account) == "Locked"


def test_clock_when_other_firms_admin_moves_it_then_401_and_unchanged(
    client: TestClient[Any], clock: ManualClock, admin_headers: H, other_admin_headers: H
) -> None:
    before = clock.now()

    refused = [
        client.post("/_autoliq/clock", json={"advanceSeconds": 3600}, headers=other_admin_headers),
        client.post("/_autoliq/clock", json={"now": "2026-11-25T12:00:00Z"}, headers=other_admin_headers),
    ]

    assert [denied(r) for r in refused] == [DENIED, DENIED]
    assert clock.now() == before
    # Reading stays open to every user; the operator still moves it.
    assert ok(client.get("/_autoliq/clock", headers=other_admin_headers))["now"] == "2026-11-24T15:00:00Z"
    moved = ok(client.post("/_autoliq/clock", json={"advanceSeconds": 60}, headers=admin_headers))
    assert moved["now"] == "2026-11-24T15:01:00Z"


# -- faults --


def test_fault_when_other_firms_admin_injects_it_then_demo_lock_passes_and_other_firm_takes_it(
    client: TestClient[Any], world: World, admin_headers: H, other_admin_headers: H
) -> None:
    demo, firm = world.demo_account_ids[0], world.other_account_ids[0]
    ok(client.post(FAULTS, json={"path": SET_ACTION, "kind": "serverError"}, headers=other_admin_headers))

    mine = client.post(SET_ACTION, json=action_body(demo), headers=admin_headers)

    assert (
        mine.status_code == 200
        and mine.json()["accountRiskStatus"]["adminAction"] == "LockTradingImmediately"
    )
    assert ok(client.get(FAULTS, headers=admin_headers)) == {"faults": []}
    assert [f["remaining"] for f in ok(client.get(FAULTS, headers=other_admin_headers))["faults"]] == [1]
    theirs = client.post(SET_ACTION, json=action_body(firm), headers=other_admin_headers)
    assert (theirs.status_code, theirs.json()) == (500, {"errorText": "Internal server error"})
    assert admin_action(client, other_admin_headers, firm) == "Normal"
    assert ok(client.get(FAULTS, headers=other_admin_headers)) == {"faults": []}


def test_fault_when_other_firms_admin_injects_it_then_a_demo_request_over_the_websocket_passes(
    client: TestClient[Any], world: World, admin_headers: H, other_admin_headers: H
) -> None:
    ok(client.post(FAULTS, json={"path": SET_ACTION, "kind": "tooManyRequests"}, headers=other_admin_headers))
    token = admin_headers["Authorization"].removeprefix("Bearer ")
    body = json.dumps(action_body(world.demo_account_ids[0]))

    with client.websocket_connect("/v1/websocket") as session:
        frames = iter(socket_frames(session))
        assert next(frames) == "o"
        session.send_text(f"authorize\n0\n\n{token}")
        assert next(frames) == 'a[{"s":200,"i":0}]'
        session.send_text(f"accountRiskStatus/setadminautoliqaction\n1\n\n{body}")
        answer = json.loads(next(frames)[1:])[0]

    assert (answer["s"], answer["i"]) == (200, 1)
    assert answer["d"]["accountRiskStatus"]["adminAction"] == "LockTradingImmediately"
    assert [f["remaining"] for f in ok(client.get(FAULTS, headers=other_admin_headers))["faults"]] == [1]


def test_faults_when_cleared_by_other_firms_admin_then_only_its_own_go(
    client: TestClient[Any], admin_headers: H, other_admin_headers: H
) -> None:
    ok(client.post(FAULTS, json={"path": "/v1/account/list", "kind": "serverError"}, headers=admin_headers))
    ok(
        client.post(
            FAULTS, json={"path": "/v1/account/list", "kind": "serverError"}, headers=other_admin_headers
        )
    )

    cleared = ok(client.delete(FAULTS, headers=other_admin_headers))

    assert cleared == {"cleared": 1}
    assert [f["path"] for f in ok(client.get(FAULTS, headers=admin_headers))["faults"]] == [
        "/v1/account/list"
    ]
    assert client.get("/v1/account/list", headers=other_admin_headers).status_code == 200
    assert client.get("/v1/account/list", headers=admin_headers).status_code == 500


def test_fault_on_login_when_injected_then_the_user_names_organization_takes_it_anonymous_the_operators(
    client: TestClient[Any], admin_headers: H, other_admin_headers: H
) -> None:
    ok(
        client.post(
            FAULTS, json={"path": LOGIN, "kind": "penaltyTicket", "pTime": 0}, headers=other_admin_headers
        )
    )
    ok(client.post(FAULTS, json={"path": LOGIN, "kind": "tooManyRequests"}, headers=admin_headers))

    admin = client.post(
        LOGIN, json={"name": "nobody-here", "password": "x"}
    )  # no organization: the operator's
    demo = client.post(LOGIN, json={"name": "admin", "password": ADMIN_PW})
    other = client.post(LOGIN, json={"name": "other-admin", "password": OTHER_ADMIN_PW})

    assert admin.status_code == 429
    assert demo.status_code == 200 and "accessToken" in demo.json()
    assert other.status_code == 200 and set(other.json()) == {"p-ticket", "p-time", "p-captcha"}
    assert "accessToken" in ok(client.post(LOGIN, json={"name": "other-admin", "password": OTHER_ADMIN_PW}))


# -- the operator named by a setting --


def test_operator_when_setting_names_other_firm_then_its_admin_operates_and_the_demo_admin_does_not(
    world: World, clock: ManualClock
) -> None:
    es = symbol(clock)
    demo, firm = world.demo_account_ids[0], world.other_account_ids[0]
    with app_client(world.database_url, clock, sandbox_operator="Other Firm") as client:
        admin = bearer(login(client, "admin", ADMIN_PW))
        other = bearer(login(client, "other-admin", OTHER_ADMIN_PW))
        ok(client.post(SET_ACTION, json=action_body(demo), headers=admin))
        ok(client.post(SET_ACTION, json=action_body(firm), headers=other))

        assert denied(client.post("/_autoliq/prices", json=prices(es, 5000), headers=admin)) == DENIED
        assert denied(client.post("/_autoliq/clock", json={"advanceSeconds": 60}, headers=admin)) == DENIED
        assert ok(client.post("/_autoliq/reset", headers=admin))["scope"] == "organization"
        assert admin_action(client, other, firm) == "LockTradingImmediately"
        ok(client.post("/_autoliq/prices", json=prices(es, 5000), headers=other))
        ok(client.post("/_autoliq/clock", json={"advanceSeconds": 60}, headers=other))
        ok(client.post(SET_ACTION, json=action_body(demo), headers=admin))
        assert ok(client.post("/_autoliq/reset", headers=other))["scope"] == "server"
        # The whole server's reset set the in-process clock (which times the tokens) to the machine's.
        admin = bearer(login(client, "admin", ADMIN_PW))
        assert admin_action(client, admin, demo) == "Normal"


def test_operator_when_setting_names_no_organization_then_an_error_at_start(
    world: World, clock: ManualClock
) -> None:
    with pytest.raises(UnknownOperator) as raised:
        bootstrap(
            make_settings(world.database_url, sandbox_operator="No Such Firm"),
            clock=clock,
            run_migrations=False,
        )
    assert str(raised.value) == "AUTOLIQ_SANDBOX_OPERATOR='No Such Firm': no organization has that name"
    with pytest.raises(UnknownOperator):
        check_sandbox_operator(make_settings(world.database_url, sandbox_operator="No Such Firm"))
    check_sandbox_operator(make_settings(world.database_url, sandbox_operator="Other Firm"))


def test_operator_when_env_names_it_then_read_and_on_an_empty_database_only_the_demo_name_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOLIQ_SANDBOX_OPERATOR", " Other Firm ")
    assert Settings.from_env().sandbox_operator == "Other Firm"
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    migrate(url)
    check_sandbox_operator(make_settings(url, sandbox_operator="Demo Prop Firm"))
    with pytest.raises(UnknownOperator):
        check_sandbox_operator(make_settings(url, sandbox_operator="Other Firm"))


def test_serve_when_operator_unknown_then_one_line_exit_2_and_nothing_seeded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOLIQ_SANDBOX_OPERATOR", "No Such Firm")
    database = tmp_path / "serve.db"
    root = logging.getLogger()
    handlers_before = list(root.handlers)

    result = CliRunner().invoke(cli_app, ["serve", "--database-url", f"sqlite:///{database}", "--port", "1"])

    assert result.exit_code == 2
    # No handler left on the runner's stream, closed now (later log lines would fail on it: a CLI test
    # in the same process then saw "--- Logging error ---" on its standard error).
    assert root.handlers == handlers_before
    # (The lines before it are the migrations' log.)
    assert result.output.splitlines()[-1] == (
        "error: AUTOLIQ_SANDBOX_OPERATOR='No Such Firm': no organization has that name"
    )
    assert "Traceback" not in result.output and "admin /" not in result.output
    engine = create_admin_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(organization)).scalar_one() == 0
    finally:
        engine.dispose()


def test_reset_of_an_organization_when_made_through_one_worker_then_the_other_drops_only_its_faults(
    world: World, clock: ManualClock
) -> None:
    """Two apps over one database, as two workers: an organization's reset reaches the other through
    the event outbox, which reads its faults again (the operator's stay) and keeps its clock."""
    one = bootstrap(worker_settings(world.database_url), clock=clock, run_migrations=False)
    two = bootstrap(worker_settings(world.database_url), clock=clock, run_migrations=False)
    with TestClient(app=create_app(one)) as first, TestClient(app=create_app(two)) as second:
        admin = bearer(login(first, "admin", ADMIN_PW))
        other = bearer(login(first, "other-admin", OTHER_ADMIN_PW))
        ok(second.post(FAULTS, json={"path": "/v1/account/list", "kind": "serverError"}, headers=admin))
        ok(second.post(FAULTS, json={"path": "/v1/order/list", "kind": "serverError"}, headers=other))
        assert set(two.sandbox.state.paths) == {"/v1/account/list", "/v1/order/list"}

        ok(first.post("/_autoliq/reset", headers=other))

        assert set(one.sandbox.state.paths) == {"/v1/account/list"}
        deadline = time.monotonic() + 15
        while set(two.sandbox.state.paths) != {"/v1/account/list"}:
            assert time.monotonic() < deadline, "the other worker did not hear of the reset"
            time.sleep(0.02)
        assert second.get("/v1/order/list", headers=other).status_code == 200
        assert second.get("/v1/account/list", headers=admin).status_code == 500
