"""The operator commands (`autoliq accounts ...`, `autoliq log`, `autoliq watch`) end to end in
process: Typer's runner, the SDK over `httpx.MockTransport` (the CLI's transport seam
`autoliq.cli.connection.base_transport` replaced), the in-memory risk API of tests/fake_risk_api.py.
`watch` runs against the fake Tradovate WebSocket server of test_client_stream.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from autoliq.cli import connection
from autoliq.cli.journal import read_journal
from autoliq.cli.main import app
from tests.fake_risk_api import FAULT_500, FAULT_DENIED, PASSWORD, FakeRiskApi
from tests.server import free_port
from tests.unit.test_client_stream import PASSWORD as STREAM_PASSWORD
from tests.unit.test_client_stream import FakeStreamServer, serving

LOCK = "LockTradingImmediately"
URL = "http://127.0.0.1:9"  # loopback: unpaced (the mock transport connects nowhere)
LOGIN = ["--url", URL, "--user", "admin", "--password", PASSWORD]

runner = CliRunner()


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeRiskApi:
    fake = FakeRiskApi(accounts=6)
    monkeypatch.setattr(connection, "base_transport", lambda _connection, _n: fake.transport())
    monkeypatch.chdir(tmp_path)  # default journals land here
    for name in ("AUTOLIQ_URL", "AUTOLIQ_USER", "AUTOLIQ_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return fake


def invoke(*args: str, stdin: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin)


def lock(*args: str) -> Result:
    return invoke("accounts", "lock", *args, "--reason", "unit test", *LOGIN)


def journal_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- dry run --


def test_cli_dry_run_when_run_then_nothing_is_sent_and_each_account_shows_its_status_and_plan(
    api: FakeRiskApi,
) -> None:
    api.statuses[2] = LOCK

    result = invoke("accounts", "lock", "1", "2", "3", "--dry-run", "--reason", "r", *LOGIN)

    assert result.exit_code == 0, result.output
    assert api.posts() == []
    assert api.writes() == []
    assert "ACC0002" in result.stdout and "skip: already in the state" in result.stdout
    assert "would be sent to 2 of 3 selected accounts" in result.stdout
    assert not list(Path.cwd().glob("*.jsonl"))  # a dry run writes no journal


def test_cli_dry_run_when_json_then_one_document_with_the_plan_per_account(api: FakeRiskApi) -> None:
    api.statuses[2] = LOCK

    result = invoke("accounts", "lock", "--all", "--dry-run", "--json", "--reason", "r", *LOGIN)

    document = json.loads(result.stdout)
    assert result.exit_code == 0
    assert document["dryRun"] is True and document["adminAction"] == LOCK
    assert document["counts"] == {"selected": 6, "send": 5, "skip": 1}
    assert document["accounts"][1] == {
        "accountId": 2,
        "name": "ACC0002",
        "adminAction": LOCK,
        "plan": "skip-in-state",
    }
    assert api.writes() == []


def test_cli_dry_run_when_resuming_a_journal_then_its_verified_accounts_are_planned_as_skipped(
    api: FakeRiskApi,
) -> None:
    journal = Path("run.jsonl")
    assert lock("1", "2", "--journal", str(journal)).exit_code == 0
    api.statuses[1] = "Normal"  # changed since: the journal still counts it as done
    sent = len(api.writes())

    result = invoke(
        "accounts", "lock", "1", "2", "3", "--dry-run", "--json", "--resume", "--journal", str(journal),
        "--reason", "r", *LOGIN,
    )  # fmt: skip

    plans = {a["accountId"]: a["plan"] for a in json.loads(result.stdout)["accounts"]}
    assert plans == {1: "skip-journal", 2: "skip-journal", 3: "send"}
    assert len(api.writes()) == sent
    assert len(read_journal(journal).runs) == 1  # a dry run appends nothing


# -- runs, reports, exit codes --


def test_cli_lock_when_all_verified_then_exit_0_and_the_default_journal_has_a_verified_line_each(
    api: FakeRiskApi,
) -> None:
    result = lock("--all", "--no-progress")

    assert result.exit_code == 0, result.output
    assert api.statuses == dict.fromkeys(range(1, 7), LOCK)
    (journal,) = Path.cwd().glob("autoliq-lock-*.jsonl")
    lines = journal_lines(journal)
    assert lines[0]["run"]["adminAction"] == LOCK and lines[0]["run"]["reason"] == "unit test"
    assert sorted(line["accountId"] for line in lines[1:] if line["outcome"] == "done") == list(range(1, 7))
    assert "done 6, skipped 0" in result.stdout


def test_cli_lock_when_json_and_some_fail_then_exit_1_with_done_skipped_and_failed_reasons(
    api: FakeRiskApi,
) -> None:
    api.statuses[2] = LOCK
    api.faults[3] = [FAULT_500] * 10

    result = lock("1", "2", "3", "404", "--json", "--retries", "0")

    document = json.loads(result.stdout)
    assert result.exit_code == 1
    assert document["counts"] == {
        "selected": 4,
        "done": 1,
        "skipped": 1,
        "failed": 2,
        "notAttempted": 0,
        "interrupted": 0,
    }
    assert document["done"] == [1]
    assert document["skipped"] == {"alreadyInState": [2], "fromJournal": []}
    errors = {f["accountId"]: f["error"] for f in document["failed"]}
    assert set(errors) == {3, 404}
    assert "HTTP 500" in errors[3] and "not found" in errors[404]
    assert (document["command"], document["url"], document["reasonCode"]) == ("lock", URL, "Other")
    # login, the two lists, then one bulk write and one read-back (autoliq's bulk route)
    assert document["requests"] >= 5 and Path(document["journal"]).exists()


def test_cli_lock_when_some_fail_then_failed_accounts_listed_in_the_table(api: FakeRiskApi) -> None:
    api.faults[3] = [FAULT_500] * 10

    result = lock("1", "3", "--retries", "0")

    assert result.exit_code == 1
    assert "failed (1)" in result.stdout
    failed_rows = [line for line in result.stdout.splitlines() if line.startswith("3 ")]
    assert failed_rows and "ACC0003" in failed_rows[0] and "HTTP 500" in failed_rows[0]
    assert "--resume" in result.stdout


def test_cli_lock_when_access_denied_then_run_stops_exit_1_and_the_reason_is_shown(api: FakeRiskApi) -> None:
    api.faults[1] = [FAULT_DENIED]

    result = lock("1", "2", "3", "--concurrency", "1", "--json")

    document = json.loads(result.stdout)
    assert result.exit_code == 1
    assert "access denied" in document["aborted"]
    assert document["notAttempted"] == [2, 3]
    assert api.writes() == [(1, LOCK)]


def test_cli_lock_when_file_with_comments_then_exactly_its_accounts_in_its_order(api: FakeRiskApi) -> None:
    ids = Path("ids.txt")
    ids.write_text("# desk-wide halt\n4\n\n2  # this one too\n#6\n")

    result = lock("--file", str(ids), "--json", "--concurrency", "1")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["done"] == [4, 2]
    assert api.writes() == [(4, LOCK), (2, LOCK)]


def test_cli_lock_when_ids_from_stdin_then_those_accounts(api: FakeRiskApi) -> None:
    result = invoke(
        "accounts", "unlock", "--file", "-", "--reason", "r", "--force", "--json", *LOGIN, stdin="5\n1\n"
    )

    assert result.exit_code == 0, result.output
    assert sorted(api.writes()) == [(1, "Normal"), (5, "Normal")]


def test_cli_lock_when_name_like_and_status_then_only_matching_accounts(api: FakeRiskApi) -> None:
    api.statuses[5] = "LiquidateOnlyModeImmediately"

    result = invoke(
        "accounts", "unlock", "--name-like", "acc000[4-6]", "--status", "LiquidateOnlyModeImmediately",
        "--reason", "r", "--json", *LOGIN,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert api.writes() == [(5, "Normal")]


# -- the journal from the command line --


def test_cli_lock_when_the_same_command_runs_again_without_resume_then_exit_2_before_logging_in(
    api: FakeRiskApi,
) -> None:
    assert lock("1", "2").exit_code == 0
    sent = len(api.requests)

    again = lock("1", "2")

    assert again.exit_code == 2
    assert "--resume" in again.stderr and again.stderr.count("\n") == 1
    assert len(api.requests) == sent  # not even a login


def test_cli_resume_when_journal_verified_accounts_then_they_are_not_sent_again_whatever_their_state(
    api: FakeRiskApi,
) -> None:
    journal = Path("run.jsonl")
    api.faults[3] = [FAULT_500] * 10
    first = lock("1", "2", "3", "--journal", str(journal), "--retries", "0")
    assert first.exit_code == 1
    api.statuses[1] = "Normal"  # someone unlocked account 1 since: the journal still says it was done
    api.faults.clear()
    before = len(api.writes())

    resumed = lock("1", "2", "3", "--journal", str(journal), "--resume", "--json")

    document = json.loads(resumed.stdout)
    assert resumed.exit_code == 0, resumed.output
    assert api.writes()[before:] == [(3, LOCK)]  # only the failed one is tried again
    assert document["skipped"]["fromJournal"] == [1, 2]
    assert document["done"] == [3]
    state = read_journal(journal)
    assert len(state.runs) == 2 and state.verified() == {1, 2, 3}


def test_cli_resume_when_journal_of_another_action_then_exit_2(api: FakeRiskApi) -> None:
    journal = Path("run.jsonl")
    assert lock("1", "--journal", str(journal)).exit_code == 0

    result = invoke("accounts", "unlock", "1", "--reason", "r", "--journal", str(journal), "--resume", *LOGIN)

    assert result.exit_code == 2
    assert "adminAction" in result.stderr


# -- usage and connection errors: exit 2, one line --


def test_cli_when_reason_missing_with_code_other_then_exit_2_before_any_request(api: FakeRiskApi) -> None:
    result = invoke("accounts", "lock", "1", *LOGIN)

    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --reason is required with --reason-code Other (the default)"
    assert api.requests == []


def test_cli_when_reason_code_given_then_reason_optional_and_code_sent(api: FakeRiskApi) -> None:
    result = invoke("accounts", "lock", "1", "--reason-code", "CloseCustomerRequest", "--json", *LOGIN)

    assert result.exit_code == 0, result.output
    (write,) = [r.body for r in api.requests if r.path.endswith("setadminautoliqaction")]
    assert write["adminActionReasonCode"] == "CloseCustomerRequest" and "adminActionReason" not in write


def test_cli_when_nothing_selected_then_exit_2(api: FakeRiskApi) -> None:
    result = invoke("accounts", "lock", "--reason", "r", *LOGIN)

    assert result.exit_code == 2
    assert "no accounts selected" in result.stderr
    assert api.requests == []


def test_cli_when_password_wrong_then_exit_2_one_line_without_traceback_or_password(api: FakeRiskApi) -> None:
    secret = "wrong-secret-pw"

    result = invoke("accounts", "status", "--url", URL, "--user", "admin", "--password", secret)

    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {URL}: Incorrect username or password. Please try again. (user 'admin')"
    )
    assert "Traceback" not in result.output and secret not in result.output


def test_cli_when_no_password_and_stdin_not_a_terminal_then_exit_2(api: FakeRiskApi) -> None:
    result = invoke("accounts", "list", "--url", URL, "--user", "admin")

    assert result.exit_code == 2
    assert "AUTOLIQ_PASSWORD" in result.stderr


def test_cli_when_url_not_a_url_or_preset_then_exit_2(api: FakeRiskApi) -> None:
    result = invoke("accounts", "list", "--url", "staging", "--user", "admin", "--password", "x")

    assert result.exit_code == 2
    assert "local, demo, live" in result.stderr


def test_cli_when_server_unreachable_then_exit_2_cannot_connect_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    result = invoke("accounts", "list", "--url", url, "--user", "admin", "--password", "pw-not-shown")

    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot connect to {url} (ConnectError")
    assert result.stderr.count("\n") == 1 and "pw-not-shown" not in result.output


def test_cli_when_credentials_from_environment_then_used(
    api: FakeRiskApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOLIQ_URL", URL)
    monkeypatch.setenv("AUTOLIQ_USER", "admin")
    monkeypatch.setenv("AUTOLIQ_PASSWORD", PASSWORD)

    result = invoke("accounts", "list", "--json")

    assert result.exit_code == 0, result.output
    assert [a["id"] for a in json.loads(result.stdout)] == list(range(1, 7))


# -- reads --


def test_cli_status_when_ids_then_their_statuses_and_an_unknown_id_gives_exit_1(api: FakeRiskApi) -> None:
    api.statuses[2] = LOCK

    table = invoke("accounts", "status", "2", "3", *LOGIN)
    as_json = invoke("accounts", "status", "2", "--json", *LOGIN)
    unknown = invoke("accounts", "status", "2", "77", *LOGIN)

    assert table.exit_code == 0
    row = next(line for line in table.stdout.splitlines() if line.startswith("2 "))
    assert "ACC0002" in row and LOCK in row
    assert json.loads(as_json.stdout) == [{"id": 2, "adminAction": LOCK, "userTriggeredLiqOnly": False}]
    assert unknown.exit_code == 1 and "not found: 77" in unknown.stderr


def test_cli_list_when_name_like_then_matching_accounts_as_received(api: FakeRiskApi) -> None:
    result = invoke("accounts", "list", "--name-like", "*5", "--json", *LOGIN)

    assert result.exit_code == 0
    assert json.loads(result.stdout) == [{"id": 5, "name": "ACC0005", "userId": 1, "closed": False}]


def test_cli_log_when_server_has_the_audit_then_audit_entries_else_tradovate_log(
    api: FakeRiskApi,
) -> None:
    assert lock("3").exit_code == 0

    audit = invoke("log", "3", "--json", *LOGIN)
    api.audit = False  # now it plays Tradovate: no /_autoliq/audit
    tradovate = invoke("log", "3", "--json", *LOGIN)
    unknown = invoke("log", "99", *LOGIN)

    audit_doc, log_doc = json.loads(audit.stdout), json.loads(tradovate.stdout)
    assert (audit_doc["source"], [e["reason"] for e in audit_doc["entries"]]) == ("audit", ["r"])
    assert (log_doc["source"], [e["adminAction"] for e in log_doc["entries"]]) == ("log", [LOCK])
    assert unknown.exit_code == 1 and "account 99 not found" in unknown.stderr


# -- watch --


@pytest.fixture
def stream_server() -> Iterator[str]:
    with serving(FakeStreamServer()) as base_url:
        yield base_url


def watch(base_url: str, *args: str) -> Result:
    return invoke("watch", "--url", base_url, "--user", "admin", "--password", STREAM_PASSWORD, *args)


def test_cli_watch_when_events_arrive_then_one_line_each_and_exit_1_when_the_server_closes(
    stream_server: str,
) -> None:
    result = watch(stream_server, "--no-reconnect")

    lines = result.stdout.splitlines()
    assert result.exit_code == 1
    assert [line.split(" ", 1)[1] for line in lines] == [
        'accountRiskStatus Updated account=42 {"id":42,"adminAction":"LockTradingImmediately"}',
        'accountRiskStatus Updated account=42 {"id":42,"adminAction":"Normal"}',
        'accountRiskStatus Updated account=43 {"id":43,"adminAction":"LiquidateImmediately"}',
    ]
    assert "watching accountRiskStatus" in result.stderr
    assert "3000 Go away!" in result.stderr
    assert "reconnecting" not in result.stderr


def test_cli_watch_when_the_server_closes_then_it_reconnects_syncs_again_and_goes_on(
    stream_server: str,
) -> None:
    # The fake sends three events, then closes; each new connection starts over.
    result = watch(stream_server, "--max-events", "5")

    lines = result.stdout.splitlines()
    assert result.exit_code == 0, result.stderr
    assert [line.split(" ")[3] for line in lines] == [
        "account=42", "account=42", "account=43", "account=42", "account=42",
    ]  # fmt: skip
    assert (
        "warning: the stream ended: the server closed the stream: 3000 Go away!; reconnecting in 0.5 s"
        in result.stderr
    )
    assert result.stderr.count("reconnected: watching accountRiskStatus") == 1


def test_cli_watch_when_json_account_filter_and_max_events_then_json_lines_of_that_account_and_exit_0(
    stream_server: str,
) -> None:
    result = watch(stream_server, "--json", "--account", "42", "--max-events", "2")

    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 0
    assert [(e["entityType"], e["eventType"], e["entity"]["adminAction"]) for e in events] == [
        ("accountRiskStatus", "Updated", LOCK),
        ("accountRiskStatus", "Updated", "Normal"),
    ]
    assert all(e["time"].endswith("Z") for e in events)


def test_cli_watch_when_entity_type_not_followed_then_its_events_are_not_printed(stream_server: str) -> None:
    result = watch(stream_server, "--entity", "order", "--no-reconnect")

    assert result.exit_code == 1  # the fake closes the stream
    assert result.stdout == ""


def test_cli_watch_when_password_wrong_then_exit_2(stream_server: str) -> None:
    result = invoke("watch", "--url", stream_server, "--user", "admin", "--password", "nope")

    assert result.exit_code == 2
    assert "Incorrect username or password" in result.stderr


def test_cli_pacing_defaults_when_host_remote_then_tradovates_pace_else_unpaced() -> None:
    assert connection.pacing_defaults(loopback=False) == (1.2, 4)
    assert connection.pacing_defaults(loopback=True) == (0.0, 32)


def test_cli_lock_when_rate_and_concurrency_given_then_reported(api: FakeRiskApi) -> None:
    result = lock("1", "--rate", "500", "--concurrency", "7", "--json")

    document = json.loads(result.stdout)
    assert (document["rate"], document["concurrency"]) == (500.0, 7)


# -- the bulk route (autoliq) and one request per account (Tradovate) --


def test_cli_lock_when_server_has_the_bulk_route_then_accounts_sent_together_and_each_journaled(
    api: FakeRiskApi,
) -> None:
    result = lock("--all", "--json", "--journal", "run.jsonl")

    document = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert document["bulk"] is True
    assert api.bulk_requests() == [[1, 2, 3, 4, 5, 6]]
    assert api.writes() == [(a, LOCK) for a in range(1, 7)]
    paths = [r.path for r in api.requests]
    assert "/v1/accountRiskStatus/setadminautoliqaction" not in paths
    assert "/v1/accountRiskStatus/deps" not in paths
    reads = [r.params["ids"] for r in api.requests if r.path == "/v1/accountRiskStatus/items"]
    assert reads == ["1,2,3,4,5,6"]
    lines = journal_lines(Path("run.jsonl"))[1:]
    assert sorted((line["accountId"], line["outcome"]) for line in lines) == [
        (a, "done") for a in range(1, 7)
    ]
    assert document["requests"] == 5  # login, accounts, statuses, one write, one read-back


def test_cli_lock_when_server_has_no_bulk_route_then_one_request_per_account_read_back_by_deps(
    api: FakeRiskApi,
) -> None:
    api.bulk = False  # plays Tradovate: the bulk route answers 404

    result = lock("--all", "--json", "--journal", "run.jsonl")

    document = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert document["bulk"] is False and document["done"] and len(document["done"]) == 6
    assert len(api.bulk_requests()) == 1  # asked once, refused, nothing processed
    singles = [
        r.body["accountId"]
        for r in api.requests
        if r.path.startswith("/v1/") and r.path.endswith("setadminautoliqaction")
    ]
    assert sorted(singles) == list(range(1, 7))
    deps = [int(r.params["masterid"]) for r in api.requests if r.path == "/v1/accountRiskStatus/deps"]
    assert sorted(deps) == list(range(1, 7))  # each read back alone, as before
    assert api.statuses == dict.fromkeys(range(1, 7), LOCK)
    lines = journal_lines(Path("run.jsonl"))[1:]
    assert sorted((line["accountId"], line["outcome"]) for line in lines) == [
        (a, "done") for a in range(1, 7)
    ]


def test_cli_lock_when_per_account_then_the_bulk_route_is_not_used(api: FakeRiskApi) -> None:
    result = lock("1", "2", "--per-account", "--json")

    assert result.exit_code == 0, result.output
    assert api.bulk_requests() == []
    assert sorted(api.writes()) == [(1, LOCK), (2, LOCK)]
    assert json.loads(result.stdout)["bulk"] is False


def test_cli_lock_when_bulk_and_an_accounts_outcome_unknown_then_read_again_and_resent_alone_once(
    api: FakeRiskApi,
) -> None:
    api.faults[3] = [FAULT_500]

    result = lock("--all", "--json", "--retries", "1")

    document = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert sorted(document["done"]) == list(range(1, 7))
    assert api.bulk_requests() == [[1, 2, 3, 4, 5, 6], [3]]  # only the unknown one again
    reads = [r.params["ids"] for r in api.requests if r.path == "/v1/accountRiskStatus/items"]
    assert reads == ["1,2,3,4,5,6", "3", "3"]  # read-back; read before resending; its read-back


def test_cli_lock_when_concurrency_given_then_at_most_that_many_accounts_a_bulk_request(
    api: FakeRiskApi,
) -> None:
    result = lock("--all", "--concurrency", "4", "--json")

    assert result.exit_code == 0, result.output
    assert sorted(len(ids) for ids in api.bulk_requests()) == [2, 4]
    assert sorted(a for ids in api.bulk_requests() for a in ids) == list(range(1, 7))


def test_cli_pace_when_a_request_names_many_accounts_then_it_weighs_one_request_each() -> None:
    bulk = httpx.Request(
        "POST", "http://h/_autoliq/bulk/setadminautoliqaction", json={"accountIds": [1, 2, 3]}
    )
    items = httpx.Request("GET", "http://h/v1/accountRiskStatus/items", params={"ids": "1,2,3,4"})
    single = httpx.Request(
        "POST", "http://h/v1/accountRiskStatus/setadminautoliqaction", json={"accountId": 1}
    )
    assert [connection.request_weight(r) for r in (bulk, items, single)] == [3, 4, 1]
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    pace = connection.Pace(10, clock=lambda: now[0], sleep=sleep)

    async def run() -> None:
        await pace.acquire(3)  # at once; the next request waits for its three slots
        await pace.acquire(1)

    asyncio.run(run())
    assert waits == [pytest.approx(0.3)] and pace.sent == 2


def test_cli_transport_seam_when_not_replaced_then_real_http_with_small_pools() -> None:
    conn = connection.Connection("http://127.0.0.1:1", "admin", "pw")

    transport = connection.base_transport(conn, 10)

    assert isinstance(transport, connection.ShardedTransport)
    assert isinstance(connection.base_transport(conn, 3), httpx.AsyncHTTPTransport)
