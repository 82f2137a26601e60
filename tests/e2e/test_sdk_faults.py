"""The SDK against a real `autoliq serve` with injected faults: it waits out a penalty ticket and
resends with it, backs off a 429, and its read-back (`verify=True`) tells a change that was not made
from one whose answer was lost. Each test starts from a reset sandbox (`POST /_autoliq/reset`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from autoliq.client import (
    ActionNotAppliedError,
    Client,
    ClientSettings,
    PenaltyTicketError,
    RateLimitedError,
    ServerError,
)
from tests.server import ADMIN_PASSWORD, ServerProcess

pytestmark = pytest.mark.slow

SET_ACTION = "/v1/accountRiskStatus/setadminautoliqaction"
REASON = "sdk faults: risk review"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("sdk-faults")
    with ServerProcess(f"sqlite:///{workdir / 'faults.db'}", workdir) as running:
        yield running


@pytest.fixture
def admin_http(server: ServerProcess) -> Iterator[httpx.Client]:
    """The admin's plain HTTP client (to set faults and read state behind the SDK's back), on a
    freshly reset sandbox."""
    with server.client(server.login()["accessToken"]) as http:
        assert http.post("/_autoliq/reset").status_code == 200
        yield http


class Recording(httpx.BaseTransport):
    """A real HTTP transport that notes every request (method, path, query, JSON body)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[tuple[str, str, str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.sent.append((request.method, request.url.path, request.url.query.decode(), body))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class Sleeps:
    """The SDK's sleep: noted, and really slept when `real` (a ticket is good only after its p-time)."""

    def __init__(self, *, real: bool) -> None:
        self.real = real
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.real:
            time.sleep(seconds)


def sdk(server: ServerProcess, sleeps: Sleeps, transport: Recording, **settings: Any) -> Client:
    return Client(
        server.base_url,
        name="admin",
        password=ADMIN_PASSWORD,
        sleep=sleeps,
        transport=transport,
        settings=ClientSettings(**settings),
        trust_env=False,
    )


def fault(http: httpx.Client, path: str, kind: str, **fields: Any) -> None:
    r = http.post("/_autoliq/faults", json={"path": path, "kind": kind, **fields})
    assert r.status_code == 200, r.text


def admin_action(http: httpx.Client, account: int) -> str:
    return str(http.get("/v1/accountRiskStatus/item", params={"id": account}).json()["adminAction"])


def locks_logged(http: httpx.Client, account: int) -> int:
    """Locks in the account's audit log since the last sandbox reset (the log is kept by a reset)."""
    entries = http.get("/_autoliq/audit", params={"accountId": account}).json()["entries"]
    resets = [i for i, e in enumerate(entries) if e["reason"] == "Sandbox reset"]
    since = entries[resets[-1] + 1 :] if resets else entries
    return sum(1 for e in since if e["adminAction"] == "LockTradingImmediately")


def test_sdk_when_penalty_ticket_injected_then_waits_p_time_resends_with_ticket_and_succeeds_once(
    server: ServerProcess, admin_http: httpx.Client
) -> None:
    fault(admin_http, SET_ACTION, "penaltyTicket", pTime=1)
    fault(admin_http, "/v1/account/list", "penaltyTicket", pTime=1)
    sleeps, transport = Sleeps(real=True), Recording()

    with sdk(server, sleeps, transport) as client:
        account = client.accounts()[0]["id"]
        result = client.lock(account, REASON, verify=True)

    assert (result.applied, result.verified, result.write_error) == (True, True, None)
    assert sleeps.waits == [1.0, 1.0]
    lists = [s for s in transport.sent if s[1] == "/v1/account/list"]
    writes = [s for s in transport.sent if s[1] == SET_ACTION]
    assert len(lists) == 2 and "p-ticket=" not in lists[0][2] and "p-ticket=" in lists[1][2]
    assert len(writes) == 2 and "p-ticket" not in writes[0][3] and writes[1][3]["p-ticket"]
    # Processed once: one lock in the audit log, and no fault left.
    assert locks_logged(admin_http, account) == 1
    assert admin_http.get("/_autoliq/faults").json() == {"faults": []}


def test_sdk_when_it_resends_before_the_p_time_then_ticketed_again_until_penalty_error_and_not_processed(
    server: ServerProcess, admin_http: httpx.Client
) -> None:
    fault(admin_http, SET_ACTION, "penaltyTicket", pTime=30)
    sleeps, transport = Sleeps(real=False), Recording()  # the SDK thinks it waited; the server knows

    with sdk(server, sleeps, transport) as client:
        account = client.accounts()[0]["id"]
        with pytest.raises(PenaltyTicketError, match="still ticketed after 3 resends") as raised:
            client.lock(account, REASON, verify=True)

    assert raised.value.p_time == 30 and not raised.value.captcha
    tickets = [s[3].get("p-ticket") for s in transport.sent if s[1] == SET_ACTION]
    assert len(tickets) == 4 and tickets[0] is None and len(set(tickets[1:])) == 3  # a new one each time
    assert admin_action(admin_http, account) == "Normal" and locks_logged(admin_http, account) == 0


def test_sdk_when_429s_injected_then_backs_off_and_succeeds_or_gives_up_past_its_budget(
    server: ServerProcess, admin_http: httpx.Client
) -> None:
    fault(admin_http, "/v1/account/list", "tooManyRequests", count=2)
    sleeps = Sleeps(real=False)  # a 429 fault is counted in calls, not time: nothing to wait for

    with sdk(server, sleeps, Recording()) as client:
        accounts = client.accounts()
        fault(admin_http, SET_ACTION, "tooManyRequests", count=6)
        with pytest.raises(RateLimitedError) as raised:
            client.lock(accounts[0]["id"], REASON)

    assert len(accounts) == 10
    # 1 + 2 s for the read; then 1 + 2 + 4 + 8 + 16 s, and a sixth 429 whose 30 s would pass 60.
    assert sleeps.waits == [1.0, 2.0, 1.0, 2.0, 4.0, 8.0, 16.0]
    assert raised.value.waited == 31.0
    assert admin_http.get("/_autoliq/faults").json() == {"faults": []}  # six calls, not one more
    assert admin_action(admin_http, accounts[0]["id"]) == "Normal"


def test_sdk_when_server_error_before_processing_and_verify_then_action_not_applied_error(
    server: ServerProcess, admin_http: httpx.Client
) -> None:
    fault(admin_http, SET_ACTION, "serverError")

    with sdk(server, Sleeps(real=False), Recording()) as client:
        account = client.accounts()[0]["id"]
        with pytest.raises(ActionNotAppliedError) as raised:
            client.lock(account, REASON, verify=True)
        fault(admin_http, SET_ACTION, "serverError")
        with pytest.raises(ServerError) as unverified:
            client.lock(account, REASON)

    result = raised.value.result
    assert (result.applied, result.verified, result.status) == (False, True, None)
    assert result.read_back is not None and result.read_back["adminAction"] == "Normal"
    assert isinstance(result.write_error, ServerError) and result.write_error.ambiguous
    assert result.write_error.status_code == 500 and result.write_error.error_text == "Internal server error"
    assert unverified.value.ambiguous  # without a read-back the SDK cannot tell: it says so
    assert admin_action(admin_http, account) == "Normal" and locks_logged(admin_http, account) == 0


def test_sdk_when_server_error_after_commit_and_verify_then_applied_with_the_write_error_kept(
    server: ServerProcess, admin_http: httpx.Client
) -> None:
    fault(admin_http, SET_ACTION, "serverErrorAfterCommit")

    with sdk(server, Sleeps(real=False), Recording()) as client:
        account = client.accounts()[0]["id"]
        result = client.lock(account, REASON, verify=True)

    assert (result.applied, result.verified, result.status) == (True, True, None)
    assert result.read_back is not None and result.read_back["adminAction"] == "LockTradingImmediately"
    assert isinstance(result.write_error, ServerError) and result.write_error.ambiguous
    # The write was made once: the SDK did not repeat it.
    assert locks_logged(admin_http, account) == 1


def test_sdk_when_sandbox_reset_then_its_token_still_works(
    server: ServerProcess, admin_http: httpx.Client
) -> None:
    with sdk(server, Sleeps(real=False), Recording()) as client:
        account = client.accounts()[0]["id"]
        client.lock(account, REASON, verify=True)
        assert admin_http.post("/_autoliq/reset").json()["statusesReset"] == 1

        after = client.risk_status(account)

    assert after == {"id": account, "adminAction": "Normal", "userTriggeredLiqOnly": False}
