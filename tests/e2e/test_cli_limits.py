"""`autoliq limits show|set|clear` against the real `autoliq serve`, as an operator runs it
(`python -m autoliq ...` in a child process): rows set and read back, a risk parameter under them,
the same command run again updating rather than adding, the journal refusing a second run without
`--resume` and skipping verified accounts with it, and clear. Every wait is bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autoliq.client import Client
from tests.server import ADMIN_PASSWORD, ServerProcess

CLI_TIMEOUT = 120.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(f"sqlite:///{tmp_path / 'limits.db'}", tmp_path) as running:
        yield running


def cli(server: ServerProcess, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOLIQ_")}
    env["AUTOLIQ_PASSWORD"] = ADMIN_PASSWORD
    env["COLUMNS"] = "200"
    argv = [sys.executable, "-m", "autoliq", "limits", *args, "--url", server.base_url, "--user", "admin"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=CLI_TIMEOUT, env=env, cwd=cwd)


def rows(server: ServerProcess, account_ids: list[int]) -> list[dict[str, Any]]:
    with Client(server.base_url, name="admin", password=ADMIN_PASSWORD, trust_env=False) as client:
        found = [dict(r) for r in client.position_limits(account_ids)]
    return sorted(found, key=lambda r: r["accountId"])  # created concurrently: ids in any order


def test_cli_limits_when_set_twice_shown_resumed_and_cleared_then_each_read_back(
    server: ServerProcess, tmp_path: Path
) -> None:
    with Client(server.base_url, name="admin", password=ADMIN_PASSWORD, trust_env=False) as client:
        accounts = [int(a["id"]) for a in client.accounts()][:3]
        es = client.request("GET", "product/find", params={"name": "ES"})
    ids = [str(a) for a in accounts]
    options = ("--total-by", "Product", "--product", "ES", "--long", "2", "--max-opening-qty", "1", "--json")

    first = cli(server, tmp_path, "set", *ids, *options, "--journal", "set.jsonl")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["done"], report["failed"]) == (3, 0)
    stored = rows(server, accounts)
    assert [(r["accountId"], r["totalBy"], r["productId"], r["longLimit"]) for r in stored] == [
        (a, "Product", es["id"], 2) for a in accounts
    ]
    journal = [json.loads(line) for line in (tmp_path / "set.jsonl").read_text().splitlines()]
    assert [line["outcome"] for line in journal[1:]] == ["done"] * 3

    again = cli(server, tmp_path, "set", *ids, *options, "--journal", "set.jsonl")
    assert again.returncode == 2 and "--resume" in again.stderr  # the journal exists
    resumed = cli(server, tmp_path, "set", *ids, *options, "--journal", "set.jsonl", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["skipped"] == 3

    changed = ("--total-by", "Product", "--product", "ES", "--long", "5", "--json")
    updated = cli(server, tmp_path, "set", *ids, *changed, "--journal", "set5.jsonl")
    assert updated.returncode == 0, updated.stderr
    assert [(r["id"], r["longLimit"]) for r in rows(server, accounts)] == [(r["id"], 5) for r in stored]

    shown = cli(server, tmp_path, "show", *ids, "--json")
    assert shown.returncode == 0, shown.stderr
    listed = sorted(json.loads(shown.stdout), key=lambda r: r["accountId"])
    assert [r["longLimit"] for r in listed] == [5, 5, 5]
    assert [[p["maxOpeningOrderQty"] for p in r["riskParameters"]] for r in listed] == [[1], [1], [1]]

    cleared = cli(server, tmp_path, "clear", *ids, "--json", "--journal", "clear.jsonl")
    assert cleared.returncode == 0, cleared.stderr
    assert json.loads(cleared.stdout)["done"] == 3
    assert rows(server, accounts) == []


def test_cli_limits_when_the_scope_is_missing_or_unknown_then_exit_2_or_1_with_a_line(
    server: ServerProcess, tmp_path: Path
) -> None:
    missing = cli(server, tmp_path, "set", "1", "--total-by", "Exchange", "--long", "1")
    assert missing.returncode == 2 and "--scope-id" in missing.stderr
    wrong = cli(server, tmp_path, "set", "1", "--total-by", "Planet")
    assert wrong.returncode == 2 and "--total-by must be one of" in wrong.stderr
