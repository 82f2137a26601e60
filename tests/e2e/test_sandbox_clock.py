"""The sandbox clock: `GET/POST /_autoliq/clock` and `autoliq sandbox clock`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from autoliq.cli.main import app
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, TRADER_PW, bearer, login
from tests.server import ADMIN_PASSWORD, ServerProcess

CLOCK = "/_autoliq/clock"
H = dict[str, str]
runner = CliRunner()


def test_clock_when_read_then_sandbox_time_trade_date_and_next_opens(
    client: TestClient[Any], trader_headers: H
) -> None:
    # The fixture's clock: Tuesday 2026-11-24 15:00 UTC = 09:00 in Chicago (CST, UTC-6).
    r = client.get(CLOCK, headers=trader_headers)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "now": "2026-11-24T15:00:00Z",
        "tradeDate": "2026-11-24",
        "marketOpen": True,
        "nextMarketOpen": "2026-11-24T23:00:00Z",
        "nextWeeklyOpen": "2026-11-29T23:00:00Z",
        "offsetSeconds": pytest.approx(r.json()["offsetSeconds"]),
    }
    assert client.get(CLOCK).status_code == 401


def test_clock_when_advanced_then_every_service_reads_the_new_time(
    client: TestClient[Any], admin_headers: H, clock: ManualClock
) -> None:
    r = client.post(CLOCK, json={"advanceSeconds": 8 * 3600}, headers=admin_headers)
    assert r.status_code == 200, r.text
    body = r.json()
    # 23:00 UTC is 17:00 in Chicago: the market has just opened on Wednesday's trade date.
    assert body["now"] == "2026-11-24T23:00:00Z" and body["tradeDate"] == "2026-11-25"
    assert body["marketOpen"] is True and body["nextMarketOpen"] == "2026-11-25T23:00:00Z"
    assert clock.now() == datetime(2026, 11, 24, 23, tzinfo=UTC)
    # In-process, the test clock also times the tokens (the real server times them by the machine's
    # clock: see the restart test below), so 8 hours on, the admin logs in again.
    admin_headers = bearer(login(client, "admin", ADMIN_PW))
    # Setting it: Saturday noon in Chicago, the market is closed until Sunday 17:00.
    r = client.post(CLOCK, json={"now": "2026-11-28T12:00:00-06:00"}, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.json()["now"] == "2026-11-28T18:00:00Z" and r.json()["marketOpen"] is False
    assert r.json()["nextMarketOpen"] == r.json()["nextWeeklyOpen"] == "2026-11-29T23:00:00Z"
    assert r.json()["tradeDate"] == "2026-11-30"  # the weekend counts for Monday
    assert clock.now() == datetime(2026, 11, 28, 18, tzinfo=UTC)
    trader = bearer(login(client, "trader", TRADER_PW))
    assert client.get(CLOCK, headers=trader).json()["now"] == "2026-11-28T18:00:00Z"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"now": "2026-11-24T14:59:59Z"}, "The sandbox clock only moves forward: it is already"),
        ({"now": "2026-11-25T12:00:00"}, "now must include a time zone offset"),
        ({"now": "2026-11-25T12:00:00Z", "advanceSeconds": 5}, "Give either now or advanceSeconds"),
        ({}, "Give either now or advanceSeconds"),
        ({"advanceSeconds": 0}, "advanceSeconds must be greater than 0 and at most 31622400"),
        ({"advanceSeconds": -5}, "advanceSeconds must be greater than 0"),
        ({"advanceSeconds": 31622401}, "at most 31622400"),
        ({"now": "yesterday"}, "now"),
        ({"advanceSeconds": 5, "speed": 2}, "speed"),
    ],
)
def test_clock_when_bad_move_then_400_names_it_and_clock_unchanged(
    client: TestClient[Any], admin_headers: H, clock: ManualClock, body: dict[str, Any], text: str
) -> None:
    before = clock.now()
    r = client.post(CLOCK, json=body, headers=admin_headers)
    assert r.status_code == 400, r.text
    assert text in r.json()["errorText"]
    assert clock.now() == before


def test_clock_when_trader_or_no_token_moves_it_then_401_and_unchanged(
    client: TestClient[Any], trader_headers: H, clock: ManualClock
) -> None:
    before = clock.now()
    assert client.post(CLOCK, json={"advanceSeconds": 60}, headers=trader_headers).status_code == 401
    assert client.post(CLOCK, json={"advanceSeconds": 60}).status_code == 401
    assert clock.now() == before


@pytest.mark.slow
def test_clock_when_moved_on_a_real_server_then_it_survives_a_restart_and_tokens_keep_machine_time(
    database_url: str, tmp_path: Path
) -> None:
    target = datetime.now(UTC) + timedelta(days=2)
    with ServerProcess(database_url, tmp_path) as server:
        token = server.login()["accessToken"]
        args = ["--url", server.base_url, "--user", "admin", "--password", ADMIN_PASSWORD]
        moved = runner.invoke(app, ["sandbox", "clock", "--now", target.isoformat(), *args])
        assert moved.exit_code == 0, moved.output
        assert "sandbox time" in moved.output and "ahead of the machine's clock" in moved.output
        with server.client(token) as c:
            # Two days ahead, yet the token taken before (90 minutes, machine time) still works.
            r = c.get(CLOCK)
            assert r.status_code == 200, r.text
            assert datetime.fromisoformat(r.json()["now"]) >= target
            assert r.json()["offsetSeconds"] == pytest.approx(2 * 86400, abs=60)
            backwards = runner.invoke(app, ["sandbox", "clock", "--advance", "-1", *args])
            assert backwards.exit_code != 0
    with ServerProcess(database_url, tmp_path) as again:
        with again.client(again.login()["accessToken"]) as c:
            after = c.get(CLOCK).json()
            assert datetime.fromisoformat(after["now"]) >= target
            assert after["offsetSeconds"] == pytest.approx(2 * 86400, abs=60)
        shown = runner.invoke(
            app, ["sandbox", "clock", "--url", again.base_url, "--password", ADMIN_PASSWORD]
        )
        assert shown.exit_code == 0, shown.output
        assert "trade date" in shown.output
