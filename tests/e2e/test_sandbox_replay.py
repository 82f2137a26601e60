"""`autoliq sandbox replay FILE.csv --speed X` against a real server: prices arrive in time order."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autoliq.cli.main import app
from tests.server import ADMIN_PASSWORD, ServerProcess

runner = CliRunner()


@pytest.mark.slow
def test_replay_when_csv_given_then_prices_set_in_order_and_resting_orders_fill(
    database_url: str, tmp_path: Path
) -> None:
    csv_file = tmp_path / "prices.csv"
    csv_file.write_text(
        "time,symbol,price\n"
        "2026-11-24T15:00:00Z,ESZ6,5000.00\n"
        "2026-11-24T15:00:00Z,NQZ6,21000.00\n"
        "2026-11-24T15:00:01Z,ESZ6,4990.25\n"
        "2026-11-24T15:00:02Z,ESZ6,4995.50\n"
    )
    with ServerProcess(database_url, tmp_path) as server:
        # The trader reads and trades: each replay logs the admin in, and a user keeps only 2 sessions.
        token = server.login("trader")["accessToken"]
        with server.client(token) as c:
            account_id = c.get("/v1/account/list").json()[0]["id"]
            args = ["--url", server.base_url, "--user", "admin", "--password", ADMIN_PASSWORD]
            first = runner.invoke(app, ["sandbox", "replay", str(csv_file), "--speed", "0", *args])
            assert first.exit_code == 0, first.output
            assert "replayed 4 prices in 3 steps" in first.output
            prices = {p["symbol"]: p["price"] for p in c.get("/_autoliq/prices").json()["prices"]}
            assert prices == {"ESZ6": 4995.5, "NQZ6": 21000.0}
            # A resting buy at 4991 fills when the replay passes 4990.25, at that price.
            order = {"accountId": account_id, "action": "Buy", "symbol": "ESZ6", "orderQty": 1,
                     "orderType": "Limit", "price": 4991}  # fmt: skip
            assert "orderId" in c.post("/v1/order/placeorder", json=order).json()
            started = time.monotonic()
            second = runner.invoke(app, ["sandbox", "replay", str(csv_file), "--speed", "10", *args])
            elapsed = time.monotonic() - started
            assert second.exit_code == 0, second.output
            assert elapsed >= 0.2  # 2 s of data at 10x
            fills = c.get(f"/v1/fill/deps?masterid={account_id}").json()
            assert [f["price"] for f in fills] == [4990.25]


def test_replay_when_csv_malformed_then_clear_error_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("2026-11-24T15:00:02Z,ESZ6,5000\n2026-11-24T15:00:01Z,ESZ6,5001\n")
    result = runner.invoke(app, ["sandbox", "replay", str(bad), "--password", "x"])
    assert result.exit_code == 2
    assert "backwards" in result.output
    bad.write_text("yesterday,ESZ6,5000\n")
    result = runner.invoke(app, ["sandbox", "replay", str(bad), "--password", "x"])
    assert result.exit_code == 2 and "ISO 8601" in result.output
