"""The risk desk against `autoliq serve --workers 2`: it uses only the public API, so a lock committed
by the worker that does not hold the desk's WebSocket reaches the desk too (through the outbox relay),
live, within a second. The JSON access log says which worker answered each lock."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.browser.conftest import Contexts, Desk, sign_in
from tests.browser.test_desk import LIVE_LIMIT_S, cell, wait_text
from tests.e2e.test_metrics_workers import logged_answers

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WORKERS = 2
LOCK = "/v1/accountRiskStatus/setadminautoliqaction"


@pytest.fixture(scope="module")
def desk(desk_factory: Any) -> Desk:
    return desk_factory(10, "--workers", str(WORKERS), "--access-log", "--log-format", "json")


def test_locks_committed_by_either_worker_show_live_in_the_desk(desk: Desk, contexts: Contexts) -> None:
    pids = set(desk.server.worker_pids())
    assert len(pids) == WORKERS, pids
    accounts = desk.accounts()
    page = contexts.new_page(desk)
    sign_in(page, desk)
    token = desk.admin.headers["Authorization"].removeprefix("Bearer ")
    answered_by: set[int] = set()
    latencies = []
    for n, account in enumerate(accounts):  # each lock on a new connection: either worker takes it
        with desk.server.client(token) as fresh:
            body = {
                "accountId": account["id"], "adminAction": "LockTradingImmediately",
                "adminActionReasonCode": "Other", "adminActionReason": f"worker test {n}",
            }  # fmt: skip
            r = fresh.post(LOCK, json=body)
        assert r.status_code == 200 and "accountRiskStatus" in r.json(), r.text
        began = time.monotonic()
        wait_text(page, cell(account["id"], "cell-admin-action"), "LockTradingImmediately")
        latencies.append(time.monotonic() - began)
        answered_by.add(logged_answers(desk.server, LOCK, n + 1)[-1])
        if answered_by == pids and n >= 3:
            break
    print(f"\nlive locks over {WORKERS} workers: {[round(x * 1000) for x in latencies]} ms")
    assert answered_by == pids, f"every lock was answered by one worker: {answered_by}"
    assert max(latencies) < LIVE_LIMIT_S
