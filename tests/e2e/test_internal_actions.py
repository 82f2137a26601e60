"""Internal admin actions: PlaceAutoLiqOnHold and AgreedOnLiqOnlyModeByAutoLiq return to Normal after
60 s of sandbox time (logged with actor `system`), once, also across a restart; the others stay."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, World, bearer, login
from tests.helpers import SET_ACTION, action_body
from tests.server import ServerProcess

H = dict[str, str]
CLOCK = "/_autoliq/clock"


def set_action(client: Any, headers: H, account: int, action: str) -> dict[str, Any]:
    r = client.post(SET_ACTION, json=action_body(account, action), headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json()["accountRiskStatus"])


def status(client: Any, headers: H, account: int) -> dict[str, Any]:
    r = client.get("/v1/accountRiskStatus/item", params={"id": account}, headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def audit(client: Any, headers: H, account: int) -> list[dict[str, Any]]:
    r = client.get("/_autoliq/audit", params={"accountId": account}, headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json()["entries"])


def advance(client: Any, headers: H, seconds: float) -> None:
    r = client.post(CLOCK, json={"advanceSeconds": seconds}, headers=headers)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("action", ["PlaceAutoLiqOnHold", "AgreedOnLiqOnlyModeByAutoLiq"])
def test_internal_action_when_60_s_pass_then_normal_logged_by_system_once(
    client: TestClient[Any], admin_headers: H, world: World, action: str
) -> None:
    account = world.demo_account_ids[0]
    set_at = set_action(client, admin_headers, account, action)["adminTimestamp"]
    advance(client, admin_headers, 59.999)
    assert status(client, admin_headers, account)["adminAction"] == action
    advance(client, admin_headers, 0.001)
    after = status(client, admin_headers, account)
    assert after["adminAction"] == "Normal"
    assert after["adminTimestamp"] == set_at.replace("15:00:00", "15:01:00")  # set + 60 s, the due time
    entries = audit(client, admin_headers, account)
    assert [(e["adminAction"], e["actor"]) for e in entries] == [(action, "user"), ("Normal", "system")]
    assert entries[1]["reason"] == f"{action} expired after 60 s" and entries[1]["actorUserId"] is None
    advance(client, admin_headers, 3600)
    assert len(audit(client, admin_headers, account)) == 2  # fired once


def test_internal_action_when_changed_before_expiry_then_the_new_action_stands(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    account = world.demo_account_ids[1]
    set_action(client, admin_headers, account, "PlaceAutoLiqOnHold")
    advance(client, admin_headers, 30)
    set_action(client, admin_headers, account, "LockTradingImmediately")
    advance(client, admin_headers, 31)  # the hold's 60 s are over
    assert status(client, admin_headers, account)["adminAction"] == "LockTradingImmediately"
    # A hold set again restarts its own 60 s; the first hold's timer does not end it early.
    set_action(client, admin_headers, account, "PlaceAutoLiqOnHold")
    advance(client, admin_headers, 30)
    set_action(client, admin_headers, account, "PlaceAutoLiqOnHold")
    advance(client, admin_headers, 31)
    assert status(client, admin_headers, account)["adminAction"] == "PlaceAutoLiqOnHold"
    advance(client, admin_headers, 30)
    assert status(client, admin_headers, account)["adminAction"] == "Normal"
    actors = [e["actor"] for e in audit(client, admin_headers, account)]
    assert actors == ["user", "user", "user", "user", "system"]


@pytest.mark.parametrize("action", ["DisableAutoLiq", "AgreedOnLiquidationByAutoLiq"])
def test_lasting_internal_action_when_time_passes_then_it_stays(
    client: TestClient[Any], admin_headers: H, world: World, action: str
) -> None:
    account = world.demo_account_ids[2]
    set_action(client, admin_headers, account, action)
    advance(client, admin_headers, 3 * 86400)
    headers = bearer(login(client, "admin", ADMIN_PW))  # the test clock also times tokens
    assert status(client, headers, account)["adminAction"] == action


def test_internal_action_when_clock_runs_on_by_itself_then_the_background_scheduler_fires(
    client: TestClient[Any], admin_headers: H, world: World, clock: ManualClock
) -> None:
    account = world.demo_account_ids[3]
    set_action(client, admin_headers, account, "PlaceAutoLiqOnHold")
    clock.advance(61)  # time passes without anyone calling /_autoliq/clock
    deadline = time.monotonic() + 10
    while status(client, admin_headers, account)["adminAction"] != "Normal":
        assert time.monotonic() < deadline, "the scheduler did not fire the due timer"
        time.sleep(0.05)
    assert [e["actor"] for e in audit(client, admin_headers, account)] == ["user", "system"]


@pytest.mark.slow
def test_internal_action_when_server_restarts_then_the_hold_still_expires_once(
    database_url: str, tmp_path: Path
) -> None:
    with ServerProcess(database_url, tmp_path) as server:
        token = server.login()["accessToken"]
        with server.client(token) as c:
            account = c.get("/v1/account/list").json()[0]["id"]
            set_action(c, {}, account, "PlaceAutoLiqOnHold")
        assert server.terminate() in (0, -signal.SIGTERM), server.stderr_text()
    with ServerProcess(database_url, tmp_path) as again, again.client(again.login()["accessToken"]) as c:
        assert status(c, {}, account)["adminAction"] == "PlaceAutoLiqOnHold"
        advance(c, {}, 61)
        assert status(c, {}, account)["adminAction"] == "Normal"
        entries = audit(c, {}, account)
        assert [(e["adminAction"], e["actor"]) for e in entries] == [
            ("PlaceAutoLiqOnHold", "user"), ("Normal", "system"),
        ]  # fmt: skip
