"""The SDK against the real `autoliq serve` (a child process on a loopback port, SQLite: the SDK sees
only HTTP, so the database engine does not matter here).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from autoliq.client import AccessDeniedError, AsyncClient, Client, NotFoundError, PropsEvent, SyncSnapshot
from tests.server import ADMIN_PASSWORD, TRADER_PASSWORD, ServerProcess

pytestmark = pytest.mark.slow

REASON = "sdk e2e: risk review"
GUARD = 15.0  # seconds; a bound on a wait (a failure past it), not a measured duration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("sdk")
    with ServerProcess(f"sqlite:///{workdir / 'sdk.db'}", workdir) as running:
        yield running


def admin(server: ServerProcess, **options: object) -> Client:
    return Client(server.base_url, name="admin", password=ADMIN_PASSWORD, trust_env=False, **options)  # type: ignore[arg-type]


class Recording(httpx.BaseTransport):
    """A real HTTP transport that notes the path of every request."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_sdk_when_admin_locks_with_verify_then_status_log_and_audit_show_it_and_unlock_restores(
    server: ServerProcess,
) -> None:
    with admin(server) as client:
        account_id = client.accounts()[0]["id"]

        locked = client.lock(account_id, REASON, verify=True)
        status = client.risk_status(account_id)
        log = client.risk_status_log(account_id)
        unlocked = client.unlock(account_id, "sdk e2e: review done", verify=True)
        audit = client.audit(account_id)

        assert (locked.applied, locked.verified, locked.write_error) == (True, True, None)
        assert locked.status is not None and locked.status["adminAction"] == "LockTradingImmediately"
        assert locked.read_back is not None and locked.read_back["id"] == account_id
        assert status["adminAction"] == "LockTradingImmediately"
        assert [row["adminAction"] for row in log][-1:] == ["LockTradingImmediately"]
        assert all(row["accountId"] == account_id for row in log)
        last = audit["entries"][-2:]
        assert [(e["adminAction"], e["reasonCode"], e["reason"], e["actor"]) for e in last] == [
            ("LockTradingImmediately", "Other", REASON, "user"),
            ("Normal", "Other", "sdk e2e: review done", "user"),
        ]
        assert unlocked.applied and unlocked.read_back is not None
        assert unlocked.read_back["adminAction"] == "Normal"
        assert client.risk_status_deps(account_id)[0]["adminAction"] == "Normal"


def test_sdk_when_async_client_liquidate_only_with_verify_then_same_as_sync(server: ServerProcess) -> None:
    async def run() -> tuple[str, str]:
        client = AsyncClient(server.base_url, name="admin", password=ADMIN_PASSWORD, trust_env=False)
        async with client:
            account_id = (await client.accounts())[1]["id"]
            result = await client.liquidate_only(account_id, REASON, verify=True)
            await client.unlock(account_id, "sdk e2e: back to normal", verify=True)
            after = await client.risk_status(account_id)
            assert result.read_back is not None
            return result.read_back["adminAction"], after["adminAction"]

    assert asyncio.run(run()) == ("LiquidateOnlyModeImmediately", "Normal")


def test_sdk_when_sync_client_subscribes_and_locks_from_another_thread_then_status_updated_event_arrives(
    server: ServerProcess,
) -> None:
    with admin(server) as client, ThreadPoolExecutor(max_workers=1) as pool:
        account_id = client.accounts()[2]["id"]
        try:
            with client.subscribe(["accountRiskStatus"], accounts=[account_id]) as stream:
                snapshot = next(stream)
                # a missing event ends the stream (StreamClosedError) instead of blocking forever
                watchdog = threading.Timer(GUARD, stream.close)
                watchdog.start()
                try:
                    locking = pool.submit(client.lock, account_id, REASON)
                    event = next(
                        item
                        for item in stream
                        if isinstance(item, PropsEvent) and item.entity.get("id") == account_id
                    )
                finally:
                    watchdog.cancel()
                locked = locking.result(timeout=GUARD)
        finally:
            client.unlock(account_id, "sdk e2e: stream seen", verify=True)

    assert isinstance(snapshot, SyncSnapshot)
    assert [s["id"] for s in snapshot.data["accountRiskStatuses"]] == [account_id]
    assert snapshot.data["accountRiskStatuses"][0]["adminAction"] == "Normal"
    assert locked.applied
    assert (event.entity_type, event.event_type) == ("accountRiskStatus", "Updated")
    assert event.entity["adminAction"] == "LockTradingImmediately"


def test_sdk_when_trader_locks_or_reads_unknown_account_then_access_denied_or_not_found(
    server: ServerProcess,
) -> None:
    with Client(server.base_url, name="trader", password=TRADER_PASSWORD, trust_env=False) as trader:
        account_id = trader.accounts()[0]["id"]

        with pytest.raises(AccessDeniedError):
            trader.lock(account_id, REASON, verify=True)
        with pytest.raises(NotFoundError):
            trader.risk_status(10**12)

        assert trader.risk_status(account_id)["adminAction"] == "Normal"


def test_sdk_when_token_short_lived_then_renewed_before_requests_and_relogin_when_renewal_refused(
    tmp_path: Path,
) -> None:
    # 0.5 min = 30 s: inside the client's default 15 min margin from the start, so every request
    # renews first (the server takes fractions; 0.05 works too, but 3 s could lapse between two
    # requests on a loaded machine). No test waits for the expiry itself.
    extra_env = {"AUTOLIQ_TOKEN_MINUTES": "0.5"}
    with ServerProcess(f"sqlite:///{tmp_path / 'renew.db'}", tmp_path, extra_env=extra_env) as running:
        transport = Recording()
        with admin(running, transport=transport) as client:
            first = client.login()
            assert first.expiration_time is not None

            client.me()
            renewed = client.token
            assert renewed is not None and renewed.expiration_time is not None
            assert renewed.expiration_time >= first.expiration_time
            assert transport.paths == [
                "/v1/auth/accesstokenrequest",
                "/v1/auth/renewaccesstoken",
                "/v1/auth/me",
            ]

            # Two more logins of the admin close the SDK's session (at most 2 live per user):
            # its renewal then gets 401, and the client logs in again by itself.
            running.login("admin")
            running.login("admin")
            transport.paths.clear()
            me = client.me()

            assert me["name"] == "admin"
            assert transport.paths == [
                "/v1/auth/renewaccesstoken",
                "/v1/auth/accesstokenrequest",
                "/v1/auth/me",
            ]
            assert client.token is not None and client.token.access_token != first.access_token
