"""The README's "Using it" block, run as written (bash, curl, python3) against a real server: only
the address is the test server's instead of localhost:8080, and `PW` is its admin password. What it
prints is what the README says it does: the lock, its audit row, account 1's order refused
`TradingLocked`, account 2's filled, then flattened and locked by its daily loss limit."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.server import ServerProcess

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"


def using_it_block() -> str:
    text = README.read_text()
    section = text[text.index("## Using it") :]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match is not None, "no sh block under ## Using it"
    return match.group(1)


def test_readme_using_it_when_run_as_written_then_it_does_what_it_says(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.fail("curl is missing: the README's examples use it")
    block = using_it_block()
    assert block.count("localhost:8080") >= 10, block
    with ServerProcess(f"sqlite:///{tmp_path / 'readme.db'}", tmp_path) as server:
        script = block.replace("localhost:8080", f"127.0.0.1:{server.port}")
        env = {**os.environ, "PW": server.admin_password or ""}
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            capture_output=True, text=True, timeout=120, env=env, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        printed = done.stdout
        expected_in_order = [
            '"adminAction":"LockTradingImmediately"',  # the lock's answer
            '"reasonCode":"Other","reason":"risk review"',  # its audit row
            '"failureReason":"TradingLocked"',  # account 1's order
            '"orderId"',  # account 2's order, filled
            '"state":"Locked","rule":"dailyLossAutoLiq"',  # account 2 after the price fell
            '"level":"AutoLiq"',  # its alert
        ]
        at = 0
        for piece in expected_in_order:
            found = printed.find(piece, at)
            assert found >= 0, f"{piece} not printed after position {at}:\n{printed}"
            at = found + len(piece)
        token = server.login()["accessToken"]
        with server.client(token) as api:
            status = api.get("/v1/accountRiskStatus/item", params={"id": 1}).json()
            positions = api.get("/v1/position/deps", params={"masterid": 2}).json()
        assert status["adminAction"] == "LockTradingImmediately"
        assert [p["netPos"] for p in positions] == [0]  # flattened
