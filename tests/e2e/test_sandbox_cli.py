"""`autoliq sandbox reset` and `autoliq sandbox fault add|list|clear` against a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from autoliq.bootstrap import seed_organization
from autoliq.cli.main import app
from tests.server import ADMIN_PASSWORD, TRADER_PASSWORD, ServerProcess

pytestmark = pytest.mark.slow
runner = CliRunner()
SET_ACTION = "/v1/accountRiskStatus/setadminautoliqaction"
LOCK = {
    "accountId": 1,
    "adminAction": "LockTradingImmediately",
    "adminActionReasonCode": "Other",
    "adminActionReason": "cli",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("sandbox-cli")
    with ServerProcess(f"sqlite:///{workdir / 'cli.db'}", workdir) as running:
        yield running


def cli(
    server: ServerProcess, *args: str, password: str = ADMIN_PASSWORD, user: str = "admin", stdin: str = ""
) -> tuple[int, str]:
    result = runner.invoke(
        app, ["sandbox", *args, "--url", server.base_url, "--user", user, "--password", password], input=stdin
    )
    return result.exit_code, result.output


def test_sandbox_fault_when_added_listed_and_cleared_then_the_server_follows(server: ServerProcess) -> None:
    added = cli(
        server, "fault", "add", "/v1/Order/PlaceOrder", "penaltyTicket", "--count", "2", "--p-time", "5"
    )
    second = cli(server, "fault", "add", "/v1/account/list", "delay", "--delay-ms", "10")
    listed = cli(server, "fault", "list")
    with server.client(server.login()["accessToken"]) as http:
        ticket = http.post("/v1/order/placeorder", json={"accountId": 1}).json()
    cleared = cli(server, "fault", "clear")
    empty = cli(server, "fault", "list")

    assert (
        added[0] == 0
        and "added #" in added[1]
        and "/v1/order/placeorder  penaltyTicket  x2  p-time 5 s" in added[1]
    )
    assert second[0] == 0 and "/v1/account/list  delay  x1  delay 10 ms" in second[1]
    assert listed[0] == 0 and listed[1].count("#") == 2 and "x2" in listed[1]
    assert ticket["p-time"] == 5 and ticket["p-ticket"]
    assert cleared == (0, "cleared 2 faults\n")
    assert empty == (0, "no pending faults\n")


def test_sandbox_fault_when_refused_then_the_error_text_and_exit_1(server: ServerProcess) -> None:
    bad_path = cli(server, "fault", "add", "/v1/nothing/here", "serverError")
    trader = cli(server, "fault", "list", user="trader", password=TRADER_PASSWORD)

    assert bad_path[0] == 1 and "refused: path: no /v1 route '/v1/nothing/here'" in bad_path[1]
    assert trader == (1, "refused: Access is denied\n")


def test_sandbox_reset_when_confirmed_then_seeded_state_and_when_declined_then_nothing(
    server: ServerProcess,
) -> None:
    with server.client(server.login()["accessToken"]) as http:
        assert http.post(SET_ACTION, json=LOCK).status_code == 200

        declined = cli(server, "reset", stdin="n\n")
        still = http.get("/v1/accountRiskStatus/item", params={"id": 1}).json()["adminAction"]
        done = cli(server, "reset", "--yes")
        after = http.get("/v1/accountRiskStatus/item", params={"id": 1}).json()["adminAction"]

    assert declined[0] == 1 and "Reset every organization's sandbox state" in declined[1]
    assert still == "LockTradingImmediately"
    assert done[0] == 0 and "1 statuses back to Normal" in done[1] and "removed:" in done[1]
    assert "sandbox reset (every organization)" in done[1]
    assert after == "Normal"


def test_sandbox_reset_when_trader_then_refused_access_is_denied(server: ServerProcess) -> None:
    assert cli(server, "reset", "--yes", user="trader", password=TRADER_PASSWORD) == (
        1,
        "refused: Access is denied\n",
    )


def test_sandbox_when_another_organizations_admin_then_clock_and_prices_refused_and_reset_its_own(
    server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> None:
    seed_organization(server.database_url, "Other Firm", "other-admin", "other-admin-password", 1)
    prices = tmp_path_factory.mktemp("replay") / "prices.csv"
    prices.write_text("time,symbol,price\n0,ESZ6,5000\n")
    with server.client(server.login()["accessToken"]) as http:
        assert http.post(SET_ACTION, json=LOCK).status_code == 200
        other = {"user": "other-admin", "password": "other-admin-password"}

        clock = cli(server, "clock", "--advance", "60", **other)
        replay = cli(server, "replay", str(prices), "--speed", "0", **other)
        reset = cli(server, "reset", "--yes", **other)
        still = http.get("/v1/accountRiskStatus/item", params={"id": 1}).json()["adminAction"]
        http.post(SET_ACTION, json={**LOCK, "adminAction": "Normal"})

    assert clock == (1, "refused: Access is denied\n")
    assert replay[0] == 1 and "rejected at offset 0 s: Access is denied" in replay[1]
    assert reset[0] == 0 and "sandbox reset (your organization)" in reset[1]
    assert still == "LockTradingImmediately"


def test_sandbox_when_help_then_reset_and_fault_listed() -> None:
    result = runner.invoke(app, ["sandbox", "--help"])
    faults = runner.invoke(app, ["sandbox", "fault", "--help"])

    assert result.exit_code == 0 and "reset" in result.output and "fault" in result.output
    assert faults.exit_code == 0 and all(word in faults.output for word in ("add", "list", "clear"))
