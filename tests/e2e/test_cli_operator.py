"""The operator CLI against the real `autoliq serve`, as an operator runs it: `python -m autoliq ...`
in a child process. One server (SQLite) for the module, its organizations seeded with
`autoliq seed`: "Bulk Firm" with 10,000 accounts, "Resume Firm" with 1,000 that the other tests
share out in disjoint slices. Every wait is bounded.
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from autoliq.client import Client, HTTPStatusError, NotFoundError
from tests.server import ServerProcess

pytestmark = pytest.mark.slow

LOCK = "LockTradingImmediately"
LIQUIDATE_ONLY = "LiquidateOnlyModeImmediately"
BULK_ACCOUNTS = 10_000
RESUME_ACCOUNTS = 1_000
CLI_TIMEOUT = 900.0  # seconds: a bound for a wedged run, not an expected duration
WAIT = 120.0


@dataclass(frozen=True)
class Admin:
    organization: str
    name: str
    password: str


BULK = Admin("Bulk Firm", "bulkadmin", "bulk-admin-pw")
RESUME = Admin("Resume Firm", "resumeadmin", "resume-admin-pw")


def autoliq(*args: str) -> list[str]:
    return [sys.executable, "-m", "autoliq", *args]


def cli_env(admin: Admin) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOLIQ_")}
    env["AUTOLIQ_PASSWORD"] = admin.password  # never on the command line
    env["COLUMNS"] = "200"
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("cli-operator")
    database_url = f"sqlite:///{workdir / 'cli.db'}"
    for admin, accounts in ((BULK, BULK_ACCOUNTS), (RESUME, RESUME_ACCOUNTS)):
        subprocess.run(
            autoliq(
                "seed", "--organization", admin.organization, "--admin-name", admin.name,
                "--admin-password", admin.password, "--accounts", str(accounts),
                "--database-url", database_url,
            ),
            check=True, capture_output=True, timeout=300, env=cli_env(admin),
        )  # fmt: skip
    with ServerProcess(database_url, workdir) as running:
        yield running


def sdk(server: ServerProcess, admin: Admin) -> Client:
    return Client(server.base_url, name=admin.name, password=admin.password, trust_env=False)


def account_ids(server: ServerProcess, admin: Admin) -> list[int]:
    with sdk(server, admin) as client:
        return sorted(a["id"] for a in client.accounts())


def run_cli(server: ServerProcess, admin: Admin, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        autoliq(*args, "--url", server.base_url, "--user", admin.name),
        capture_output=True, text=True, timeout=CLI_TIMEOUT, env=cli_env(admin), cwd=cwd, check=False,
    )  # fmt: skip


def outcome_lines(journal: Path) -> list[dict[str, Any]]:
    """The journal's complete account lines (a torn last line left out, as the CLI reads it)."""
    text = journal.read_text() if journal.exists() else ""
    complete = text[: text.rfind("\n") + 1]
    lines = [json.loads(line) for line in complete.splitlines()]
    return [line for line in lines if "accountId" in line]


def actions_per_account(server: ServerProcess, admin: Admin, ids: list[int], action: str) -> dict[int, int]:
    """How many times each account received `action`, from autoliq's audit log."""
    with sdk(server, admin) as client:
        return {
            a: sum(
                1 for e in client.audit(a)["entries"] if e["adminAction"] == action and e["actor"] == "user"
            )
            for a in ids
        }


# -- 10,000 accounts --


def test_cli_lock_all_when_10000_accounts_then_each_read_back_locked_and_journal_has_10000_verified_lines(
    server: ServerProcess, tmp_path: Path
) -> None:
    with sdk(server, BULK) as client:
        before = client.risk_statuses()
    assert len(before) == BULK_ACCOUNTS and {s["adminAction"] for s in before} == {"Normal"}
    journal = tmp_path / "bulk.jsonl"

    result = run_cli(
        server, BULK, "accounts", "lock", "--all", "--reason", "e2e: desk-wide halt", "--json",
        "--journal", str(journal), "--concurrency", "32", cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["counts"] == {
        "selected": BULK_ACCOUNTS,
        "done": BULK_ACCOUNTS,
        "skipped": 0,
        "failed": 0,
        "notAttempted": 0,
        "interrupted": 0,
    }
    lines = outcome_lines(journal)
    assert len(lines) == BULK_ACCOUNTS
    assert {line["outcome"] for line in lines} == {"done"}
    assert {line["accountId"] for line in lines} == {s["id"] for s in before}
    # Sent in bulk (autoliq), 32 accounts in flight: a bulk write and an items read-back per 32
    # accounts, plus the login and the lists.
    assert report["bulk"] is True
    assert report["requests"] == 2 * math.ceil(BULK_ACCOUNTS / 32) + 3
    with sdk(server, BULK) as client:
        after = client.risk_statuses()
    assert {s["id"]: s["adminAction"] for s in after} == {s["id"]: LOCK for s in before}


# -- interrupted runs, resumed --


@pytest.mark.parametrize(
    ("how", "accounts"),
    [(signal.SIGKILL, slice(0, 300)), (signal.SIGINT, slice(300, 600))],
    ids=["kill-9", "ctrl-c"],
)
def test_cli_lock_when_interrupted_then_resume_from_journal_locks_the_rest_and_no_account_twice(
    server: ServerProcess, tmp_path: Path, how: signal.Signals, accounts: slice
) -> None:
    ids = account_ids(server, RESUME)[accounts]
    id_file = tmp_path / "ids.txt"
    id_file.write_text("# e2e resume\n" + "\n".join(map(str, ids)) + "\n")
    journal = tmp_path / "resume.jsonl"
    command = ["accounts", "lock", "--file", str(id_file), "--reason", f"e2e resume {how.name}"]
    command += ["--journal", str(journal), "--json"]
    # 60 requests/s: 300 accounts need at least 10 s, so the run is surely stopped midway.
    first = subprocess.Popen(
        autoliq(*command, "--rate", "60", "--url", server.base_url, "--user", RESUME.name),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(RESUME), cwd=tmp_path,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + WAIT
        while len(outcome_lines(journal)) < 30:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the journal did not reach 30 lines"
            time.sleep(0.02)
        first.send_signal(how)
        stdout, stderr = first.communicate(timeout=WAIT)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    journaled = outcome_lines(journal)
    assert 30 <= len(journaled) < len(ids)
    if how == signal.SIGINT:  # a clean stop: exit 130, the report says what is left
        assert first.returncode == 130, stderr
        stopped = json.loads(stdout)
        assert stopped["stopped"] is True
        assert stopped["notAttempted"] or stopped["interrupted"]
    else:
        assert first.returncode == -signal.SIGKILL

    resumed = run_cli(server, RESUME, *command, "--resume", cwd=tmp_path)

    assert resumed.returncode == 0, resumed.stderr[-2000:]
    report = json.loads(resumed.stdout)
    assert sorted(report["skipped"]["fromJournal"]) == sorted(line["accountId"] for line in journaled)
    settled = report["done"] + report["skipped"]["fromJournal"] + report["skipped"]["alreadyInState"]
    assert sorted(settled) == sorted(ids)
    assert report["failed"] == []
    assert actions_per_account(server, RESUME, ids, LOCK) == dict.fromkeys(ids, 1)
    with sdk(server, RESUME) as client:
        statuses = {s["id"]: s["adminAction"] for s in client.risk_statuses()}
    assert {a: statuses[a] for a in ids} == dict.fromkeys(ids, LOCK)


# -- faults --


def test_cli_when_penalty_tickets_429s_and_500s_injected_then_every_account_verified_once_or_listed_failed(
    server: ServerProcess, tmp_path: Path
) -> None:
    ids = account_ids(server, RESUME)[600:700]
    path = "/v1/accountRiskStatus/setadminautoliqaction"
    faults = [
        {"path": path, "kind": "penaltyTicket", "count": 3, "pTime": 1},
        {"path": path, "kind": "serverError", "count": 5},  # not processed: read back, tried again
        {"path": path, "kind": "serverErrorAfterCommit", "count": 3},  # processed: the read-back shows it
        {"path": path, "kind": "tooManyRequests", "count": 2},
    ]
    with sdk(server, RESUME) as client:
        try:
            client.request("POST", "/_autoliq/faults", json=faults[0])
        except HTTPStatusError as exc:
            if isinstance(exc, NotFoundError) or exc.status_code == 405:
                pytest.skip("fault injection not available (POST /_autoliq/faults answers 404/405)")
            raise
        for fault in faults[1:]:
            client.request("POST", "/_autoliq/faults", json=fault)
    id_file = tmp_path / "ids.txt"
    id_file.write_text("\n".join(map(str, ids)) + "\n")
    try:
        result = run_cli(
            server, RESUME, "accounts", "liquidate-only", "--file", str(id_file), "--reason", "e2e faults",
            "--json", "--concurrency", "8", "--journal", str(tmp_path / "faults.jsonl"),
            "--per-account",  # the faults are injected on Tradovate's route, never on /_autoliq/bulk
            cwd=tmp_path,
        )  # fmt: skip
        with sdk(server, RESUME) as client:
            pending = client.request("GET", "/_autoliq/faults")["faults"]
    finally:
        with sdk(server, RESUME) as client:
            client.request("DELETE", "/_autoliq/faults")

    report = json.loads(result.stdout)
    verified = report["done"] + report["skipped"]["alreadyInState"]
    failed = {f["accountId"]: f["error"] for f in report["failed"]}
    assert sorted(verified + list(failed)) == sorted(ids)
    assert all(failed.values())
    assert result.returncode == (1 if failed else 0)
    assert pending == []  # every injected fault met the run
    with sdk(server, RESUME) as client:
        statuses = {s["id"]: s["adminAction"] for s in client.risk_statuses()}
    assert all(statuses[a] == LIQUIDATE_ONLY for a in verified)
    # Nothing sent twice: a 500 that was not processed was read back before sending again, and one
    # that was (after commit) was settled by its read-back.
    assert actions_per_account(server, RESUME, verified, LIQUIDATE_ONLY) == dict.fromkeys(verified, 1)


# -- watch --


def read_until(stream: Any, text: str, deadline: float) -> str:
    """Read a child's pipe until `text` shows up (bounded); what was read."""
    seen = b""
    fd = stream.fileno()
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{text!r} not seen in {seen.decode(errors='replace')!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            assert chunk, f"the pipe closed before {text!r}: {seen.decode(errors='replace')!r}"
            seen += chunk
    return seen.decode(errors="replace")


def test_cli_watch_when_an_account_is_locked_then_one_json_line_for_its_status(
    server: ServerProcess, tmp_path: Path
) -> None:
    account = account_ids(server, RESUME)[700]
    watcher = subprocess.Popen(
        autoliq("watch", "--json", "--account", str(account), "--max-events", "1",
                "--url", server.base_url, "--user", RESUME.name),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(RESUME), cwd=tmp_path,
    )  # fmt: skip
    try:
        read_until(watcher.stderr, "watching accountRiskStatus", time.monotonic() + WAIT)
        with sdk(server, RESUME) as client:
            client.lock(account, "e2e watch", verify=True)
        stdout, _ = watcher.communicate(timeout=WAIT)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()

    assert watcher.returncode == 0
    (line,) = stdout.decode().splitlines()
    event = json.loads(line)
    assert (event["entityType"], event["eventType"]) == ("accountRiskStatus", "Updated")
    assert (event["entity"]["id"], event["entity"]["adminAction"]) == (account, LOCK)
