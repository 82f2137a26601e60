from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.conftest import World


def test_set_admin_action_when_admin_locks_then_deps_reports_lock(
    client: TestClient[Any], admin_headers: dict[str, str], world: World
) -> None:
    account_id = world.demo_account_ids[0]
    r = client.post(
        "/v1/accountRiskStatus/setadminautoliqaction",
        json={"accountId": account_id, "adminAction": "LockTradingImmediately", "adminActionReasonCode": "Other",
              "adminActionReason": "smoke"},
        headers=admin_headers,
    )
    assert r.status_code == 200
    assert r.json()["accountRiskStatus"]["adminAction"] == "LockTradingImmediately"
    deps = client.get(f"/v1/accountRiskStatus/deps?masterid={account_id}", headers=admin_headers).json()
    assert [d["adminAction"] for d in deps] == ["LockTradingImmediately"]
