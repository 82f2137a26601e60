"""Storage faults over HTTP and the WebSocket, in process (both engines): every kind of write answers
503 `Storage unavailable` with `Retry-After` while the storage fails, `/_autoliq/ready` says why, and
both recover without a restart once the cause is gone."""

from __future__ import annotations

import errno
import json
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import event

from autoliq.api.app import create_app
from autoliq.bootstrap import bootstrap
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, TRADER_PW, World, bearer, login, make_settings
from tests.e2e.test_websocket import open_socket
from tests.helpers import SET_ACTION, action_body

PLACE = "/v1/order/placeorder"
STORAGE_UNAVAILABLE = {"errorText": "Storage unavailable"}


def _limit_order(account_id: int) -> dict[str, Any]:
    return {
        "accountId": account_id,
        "action": "Buy",
        "symbol": "ESZ6",
        "orderQty": 1,
        "orderType": "Limit",
        "price": 4000,
    }


def test_writes_when_commits_fail_then_503_retry_after_everywhere_ready_503_and_all_recover_without_restart(
    world: World, clock: ManualClock
) -> None:
    """Regression (62575c4): after one failed commit every write answered 500 until a restart, and
    `/_autoliq/ready` said ready throughout. The COMMIT fails as on a full disk (ENOSPC) for as long
    as the test says, the probe write of `/ready` included."""
    services = bootstrap(make_settings(world.database_url), clock=clock, run_migrations=False)
    full = [False]

    def commit(_conn: Any) -> None:
        if full[0]:
            raise OSError(errno.ENOSPC, "No space left on device")

    event.listen(services.write_engine, "commit", commit)
    account = world.demo_account_ids[0]
    with TestClient(app=create_app(services)) as client:
        admin = bearer(login(client, "admin", ADMIN_PW))
        trader = bearer(login(client, "trader", TRADER_PW))
        assert client.get("/_autoliq/ready").status_code == 200
        with open_socket(client, admin["Authorization"].removeprefix("Bearer ")) as ws:
            full[0] = True
            answers = [
                client.post(SET_ACTION, json=action_body(account), headers=admin),
                client.post(PLACE, json=_limit_order(account), headers=trader),
                client.post("/v1/auth/accesstokenrequest", json={"name": "admin", "password": ADMIN_PW}),
                client.get("/v1/auth/renewaccesstoken", headers=admin),
            ]
            ws.request("accountRiskStatus/setadminautoliqaction", 7, body=json.dumps(action_body(account)))
            socket_answer = ws.answer(7)
            ready = client.get("/_autoliq/ready")
            still = client.post(SET_ACTION, json=action_body(account), headers=admin)
            full[0] = False
            ready_again = client.get("/_autoliq/ready")  # its probe write commits: ready
            ws.request("accountRiskStatus/setadminautoliqaction", 8, body=json.dumps(action_body(account)))
            socket_after = ws.answer(8)
        after = [
            client.post(SET_ACTION, json=action_body(account, "Normal"), headers=admin),
            client.post(PLACE, json=_limit_order(account), headers=trader),
            client.post("/v1/auth/accesstokenrequest", json={"name": "admin", "password": ADMIN_PW}),
        ]
    for r in [*answers, still]:
        assert (r.status_code, r.json(), r.headers.get("retry-after")) == (503, STORAGE_UNAVAILABLE, "1")
    assert socket_answer == {"s": 503, "i": 7, "d": "Storage unavailable"}
    assert ready.status_code == 503
    assert ready.json()["status"] == "not ready"
    assert ready.json()["database"] == "writes failing: OSError: [Errno 28] No space left on device"
    assert ready_again.status_code == 200 and ready_again.json()["database"] == "ok"
    assert (
        socket_after["s"] == 200
        and socket_after["d"]["accountRiskStatus"]["adminAction"] == "LockTradingImmediately"
    )
    assert [r.status_code for r in after] == [200, 200, 200]
    assert after[0].json()["accountRiskStatus"]["adminAction"] == "Normal"
    assert after[1].json().get("orderId"), after[1].json()
    assert "accessToken" in after[2].json()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_writes_when_the_database_is_read_only_then_503_and_ready_names_the_cause_until_writable(
    world: World, clock: ManualClock
) -> None:
    """A real SQLITE_READONLY ("attempt to write a readonly database", as a read-only -wal gives):
    `PRAGMA query_only` on every transaction of the writer, reconnects included, then lifted."""
    services = bootstrap(make_settings(world.database_url), clock=clock, run_migrations=False)
    read_only = [False]

    def begin(conn: Any) -> None:
        conn.exec_driver_sql(f"PRAGMA query_only = {'ON' if read_only[0] else 'OFF'}")

    event.listen(services.write_engine, "begin", begin)
    with TestClient(app=create_app(services)) as client:
        admin = bearer(login(client, "admin", ADMIN_PW))
        read_only[0] = True
        refused = client.post(SET_ACTION, json=action_body(world.demo_account_ids[0]), headers=admin)
        login_refused = client.post(
            "/v1/auth/accesstokenrequest", json={"name": "trader", "password": TRADER_PW}
        )
        ready = client.get("/_autoliq/ready")
        read_only[0] = False
        ready_again = client.get("/_autoliq/ready")
        landed = client.post(SET_ACTION, json=action_body(world.demo_account_ids[0]), headers=admin)
    assert (refused.status_code, refused.json()) == (503, STORAGE_UNAVAILABLE)
    assert (login_refused.status_code, login_refused.json()) == (503, STORAGE_UNAVAILABLE)
    assert ready.status_code == 503
    assert (
        ready.json()["database"] == "writes failing: OperationalError: attempt to write a readonly database"
    )
    assert ready_again.status_code == 200
    assert landed.status_code == 200 and "accountRiskStatus" in landed.json()
