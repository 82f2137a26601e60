"""The real `autoliq serve` in a child process: durability under kill -9, reads across a restart,
the start-up banner, environment variables and the default bind address.

Every test runs on SQLite and on PostgreSQL (`database_url` gives a fresh, migrated, empty database;
the server seeds the demo organization on its first start). Loopback only; every wait is bounded.
"""

from __future__ import annotations

import random
import re
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.schema import organization
from tests.server import ServerProcess, http_client

pytestmark = pytest.mark.slow

SET_ACTION = "/v1/accountRiskStatus/setadminautoliqaction"
ACTIONS = ("LockTradingImmediately", "LiquidateOnlyModeImmediately", "Normal")
CLIENTS = 6
MIN_ACKS_BEFORE_KILL = 50
STREAM_DEADLINE = 30.0  # seconds the writers may run at most before the kill, however slow the machine


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def account_ids(server: ServerProcess, token: str) -> list[int]:
    with server.client(token) as c:
        r = c.get("/v1/account/list")
    assert r.status_code == 200, r.text
    return sorted(int(a["id"]) for a in r.json())


# -- a) durability under kill -9 --


@dataclass(frozen=True)
class Sent:
    """One setadminautoliqaction request; `reason` is unique across the whole test."""

    client: int
    seq: int
    account_id: int
    action: str
    reason: str


@dataclass
class Writer:
    """What one client thread sent and which answers it received."""

    index: int
    accounts: list[int]
    acked: list[Sent] = field(default_factory=list)
    in_flight: Sent | None = None
    failures: list[str] = field(default_factory=list)
    transport_error: str | None = None
    error_before_kill: bool = False

    def run(self, base_url: str, token: str, killed: threading.Event, stop: threading.Event) -> None:
        with http_client(base_url, token) as c:
            seq = 0
            while not stop.is_set():
                account = self.accounts[seq % len(self.accounts)]
                action = ACTIONS[(seq // len(self.accounts) + self.index) % len(ACTIONS)]
                sent = Sent(self.index, seq, account, action, f"client{self.index}-{seq}")
                self.in_flight = sent
                try:
                    r = c.post(
                        SET_ACTION,
                        json={
                            "accountId": account,
                            "adminAction": action,
                            "adminActionReasonCode": "Other",
                            "adminActionReason": sent.reason,
                        },
                    )
                    body = r.json() if r.status_code == 200 else None
                except httpx.TransportError as exc:
                    self.transport_error = f"{type(exc).__name__}: {exc}"
                    self.error_before_kill = not killed.is_set()
                    return  # the request may or may not have landed: it stays in_flight
                except ValueError as exc:  # a 200 whose body is not JSON
                    self.failures.append(f"{sent}: unreadable answer {exc}")
                    return
                if body is None or "accountRiskStatus" not in body:
                    self.failures.append(f"{sent}: HTTP {r.status_code} {r.text[:300]}")
                    return
                self.in_flight = None
                returned = body["accountRiskStatus"].get("adminAction")
                if returned != action or body["accountRiskStatus"].get("id") != account:
                    self.failures.append(f"{sent}: acknowledged with {body['accountRiskStatus']}")
                self.acked.append(sent)
                seq += 1


def check_account_after_crash(
    c: httpx.Client, account: int, acked: list[Sent], in_flight: set[str], admin_id: int
) -> list[str]:
    """Problems with `account`'s audit, status and log given what was acknowledged; [] when none."""
    problems: list[str] = []
    r = c.get(f"/_autoliq/audit?accountId={account}")
    if r.status_code != 200:
        return [f"account {account}: audit answered HTTP {r.status_code} {r.text[:200]}"]
    entries: list[dict[str, Any]] = r.json()["entries"]
    reasons = [e["reason"] for e in entries]
    by_reason = {e["reason"]: e for e in entries}
    for sent in acked:
        n = reasons.count(sent.reason)
        if n != 1:
            problems.append(
                f"account {account}: acknowledged {sent.reason} ({sent.action}) in audit {n} times"
            )
            continue
        e = by_reason[sent.reason]
        got = (e["adminAction"], e["reasonCode"], e["actor"], e["actorUserId"], e["accountId"])
        want = (sent.action, "Other", "user", admin_id, account)
        if got != want:
            problems.append(f"account {account}: audit entry of {sent.reason} is {got}, expected {want}")
        if not e.get("timestamp"):
            problems.append(f"account {account}: audit entry of {sent.reason} has no timestamp")
    known = {s.reason for s in acked} | in_flight
    strangers = [x for x in reasons if x not in known]
    if strangers:
        problems.append(f"account {account}: audit has entries nobody sent: {strangers}")
    positions = [reasons.index(s.reason) for s in acked if reasons.count(s.reason) == 1]
    if positions != sorted(positions):
        problems.append(f"account {account}: acknowledged actions out of order in audit: {reasons}")
    tail = reasons[positions[-1] + 1 :] if positions else reasons
    if len(tail) > 1 or any(x not in in_flight for x in tail):
        problems.append(
            f"account {account}: after the last acknowledged action the audit has {tail}; "
            f"only the one un-acknowledged in-flight request {sorted(in_flight)} may follow"
        )

    r = c.get(f"/v1/accountRiskStatus/deps?masterid={account}")
    if r.status_code != 200:
        problems.append(f"account {account}: deps answered HTTP {r.status_code} {r.text[:200]}")
    else:
        statuses = r.json()
        expected = entries[-1]["adminAction"] if entries else "Normal"
        if [s["adminAction"] for s in statuses] != [expected]:
            problems.append(f"account {account}: status {statuses}, last audit entry says {expected}")

    r = c.get(f"/v1/accountRiskStatusLog/deps?masterid={account}")
    if r.status_code != 200:
        problems.append(f"account {account}: log deps answered HTTP {r.status_code} {r.text[:200]}")
    else:
        rows = r.json()
        if [(x["id"], x["adminAction"]) for x in rows] != [(e["id"], e["adminAction"]) for e in entries]:
            problems.append(
                f"account {account}: log has {len(rows)} rows, audit {len(entries)}: "
                f"{[x['adminAction'] for x in rows]} vs {[e['adminAction'] for e in entries]}"
            )
    return problems


WORKER_COUNTS = [1, 4]
"""One process, and more workers than this machine's two cores (2 workers, the case between them,
was dropped to keep the suite within 15 minutes)."""


@pytest.mark.parametrize("workers", WORKER_COUNTS)
def test_every_acknowledged_action_survives_kill_9_exactly_once_and_status_matches_the_last_entry(
    database_url: str, tmp_path: Path, workers: int
) -> None:
    """Each writer keeps its own connection, so with several workers the writers are spread over
    them; the kill takes the supervisor and every worker at once (a process group)."""
    with ServerProcess(database_url, tmp_path, extra_args=("--workers", str(workers))) as server:
        login = server.login()  # one session shared by every writer (at most 2 live per user)
        token, admin_id = login["accessToken"], login["userId"]
        accounts = account_ids(server, token)
        assert len(accounts) == 10
        writers = [Writer(i, accounts[i::CLIENTS]) for i in range(CLIENTS)]
        killed, stop = threading.Event(), threading.Event()
        threads = [
            threading.Thread(target=w.run, args=(server.base_url, token, killed, stop), daemon=True)
            for w in writers
        ]
        started = time.monotonic()
        kill_after = random.uniform(1.5, 2.5)
        for t in threads:
            t.start()
        try:
            while True:
                time.sleep(0.05)
                acks = sum(len(w.acked) for w in writers)
                elapsed = time.monotonic() - started
                if elapsed >= kill_after and acks > MIN_ACKS_BEFORE_KILL:
                    break
                if elapsed > STREAM_DEADLINE or not all(t.is_alive() for t in threads):
                    break
            acks_before_kill = sum(len(w.acked) for w in writers)
            still_streaming = sum(t.is_alive() for t in threads)
            killed.set()  # before the signal: from here on a lost connection is the kill's doing
            server.kill9()
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "a writer thread did not stop"
        elapsed_at_kill = elapsed

    failures = [f for w in writers for f in w.failures]
    assert failures == [], f"writers got wrong answers before the kill: {failures[:10]}"
    early = [(w.index, w.transport_error) for w in writers if w.error_before_kill]
    assert early == [], f"writers lost the connection before the kill: {early}"
    assert still_streaming == CLIENTS, f"only {still_streaming} of {CLIENTS} writers were running at the kill"
    assert acks_before_kill > MIN_ACKS_BEFORE_KILL, (
        f"only {acks_before_kill} acknowledgements in {elapsed_at_kill:.1f} s before the kill"
    )

    in_flight = [w.in_flight for w in writers if w.in_flight is not None]
    with ServerProcess(database_url, tmp_path) as again:
        assert "admin /" not in again.stdout_text(), "the restart seeded the database again"
        token2 = again.login()["accessToken"]
        assert account_ids(again, token2) == accounts
        problems: list[str] = []
        landed = 0
        with again.client(token2) as c:
            for account in accounts:
                acked = sorted((s for w in writers for s in w.acked if s.account_id == account), key=_seq)
                maybe = {s.reason for s in in_flight if s.account_id == account}
                problems += check_account_after_crash(c, account, acked, maybe, admin_id)
                audit = c.get(f"/_autoliq/audit?accountId={account}").json()["entries"]
                landed += sum(e["reason"] in maybe for e in audit)
    total_acks = sum(len(w.acked) for w in writers)
    print(
        f"\n[{database_url.split(':')[0]}, {workers} worker(s)] {acks_before_kill} acks in "
        f"{elapsed_at_kill:.2f} s before kill -9 "
        f"({total_acks} in all); {len(in_flight)} requests in flight, {landed} of them landed"
    )
    assert problems == [], "\n".join(problems)


def _seq(s: Sent) -> int:
    return s.seq


# -- b) visibility across a restart --


def assert_reads_show(c: httpx.Client, account: int, status: dict[str, Any], log_rows: int) -> None:
    """The four reads agree with `status` (the setadminautoliqaction answer) and the log has `log_rows`."""
    r = c.get(f"/v1/accountRiskStatus/deps?masterid={account}")
    assert r.status_code == 200, r.text
    assert r.json() == [status]
    r = c.get(f"/v1/accountRiskStatus/item?id={account}")
    assert r.status_code == 200, r.text
    assert r.json() == status
    r = c.get("/v1/accountRiskStatus/list")
    assert r.status_code == 200, r.text
    listed = {s["id"]: s for s in r.json()}
    assert len(listed) == 10
    assert listed[account] == status
    assert all(s["adminAction"] == "Normal" for i, s in listed.items() if i != account)
    r = c.get(f"/v1/accountRiskStatusLog/deps?masterid={account}")
    assert r.status_code == 200, r.text
    rows = r.json()
    assert len(rows) == log_rows
    assert rows[-1]["accountId"] == account
    assert rows[-1]["adminAction"] == status["adminAction"]
    assert rows[-1]["adminTimestamp"] == status["adminTimestamp"]


@pytest.mark.parametrize("workers", WORKER_COUNTS)
def test_an_action_is_visible_in_every_read_at_once_and_after_a_graceful_restart(
    database_url: str, tmp_path: Path, workers: int
) -> None:
    """With several workers the reads come on new connections, each answered by whichever worker
    accepts it: a change answered by one is visible in every worker's reads at once."""
    with ServerProcess(database_url, tmp_path, extra_args=("--workers", str(workers))) as server:
        token = server.login()["accessToken"]
        account = account_ids(server, token)[3]
        with server.client(token) as c:
            r = c.post(
                SET_ACTION,
                json={
                    "accountId": account,
                    "adminAction": "LiquidateOnlyModeImmediately",
                    "adminActionReasonCode": "Other",
                    "adminActionReason": "visible across restart",
                },
            )
            assert r.status_code == 200, r.text
            status = r.json()["accountRiskStatus"]
            assert status["id"] == account
            assert status["adminAction"] == "LiquidateOnlyModeImmediately"
            assert "adminTimestamp" in status
            assert_reads_show(c, account, status, log_rows=1)
        for _ in range(4 * workers):
            with server.client(token) as fresh:
                assert_reads_show(fresh, account, status, log_rows=1)
        # uvicorn re-raises the SIGTERM it caught once its graceful shutdown is done
        assert server.terminate() in (0, -signal.SIGTERM), server.stderr_text()
        assert not server.forced_kill, "the server ignored SIGTERM and had to be killed"

    with ServerProcess(database_url, tmp_path) as again:
        token = again.login()["accessToken"]
        with again.client(token) as c:
            assert_reads_show(c, account, status, log_rows=1)
            audit = c.get(f"/_autoliq/audit?accountId={account}").json()["entries"]
            assert [(e["adminAction"], e["reason"]) for e in audit] == [
                ("LiquidateOnlyModeImmediately", "visible across restart")
            ]


# -- c) the start-up banner, generated passwords, environment variables --


def printed_password(stdout: str, user: str) -> str:
    match = re.search(rf"^\s*{user} / (\S+)", stdout, re.MULTILINE)
    assert match is not None, f"no password printed for {user!r}:\n{stdout}"
    return match.group(1)


def login_works(server: ServerProcess, name: str, password: str) -> bool:
    with server.client() as c:
        r = c.post("/v1/auth/accesstokenrequest", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    return "accessToken" in r.json()


def test_first_start_prints_urls_and_working_generated_passwords_and_a_restart_neither_prints_nor_reseeds(
    database_url: str, tmp_path: Path
) -> None:
    first = ServerProcess(database_url, tmp_path, admin_password=None, trader_password=None)
    with first:
        out = first.stdout_text()
        assert f"http://127.0.0.1:{first.port}/v1" in out
        assert f"http://127.0.0.1:{first.port}/_autoliq/docs" in out
        admin_pw = printed_password(out, "admin")
        trader_pw = printed_password(out, "trader")
        assert admin_pw != trader_pw
        assert "generated" in out
        assert login_works(first, "admin", admin_pw)
        assert login_works(first, "trader", trader_pw)
        assert not login_works(first, "admin", admin_pw + "x")
        with first.client() as c:
            assert c.get("/_autoliq/docs").status_code == 200

    second = ServerProcess(database_url, tmp_path, admin_password=None, trader_password=None)
    with second:
        out = second.stdout_text()
        assert f"http://127.0.0.1:{second.port}/v1" in out
        assert f"http://127.0.0.1:{second.port}/_autoliq/docs" in out
        assert admin_pw not in out
        assert trader_pw not in out
        assert "admin /" not in out
        assert "trader /" not in out
        assert login_works(second, "admin", admin_pw)
        assert login_works(second, "trader", trader_pw)
        token = second.login("admin", admin_pw)["accessToken"]
        assert len(account_ids(second, token)) == 10


def test_first_start_when_passwords_supplied_then_never_printed_and_a_restart_with_others_warns(
    database_url: str, tmp_path: Path
) -> None:
    admin_pw, trader_pw = "adm[/]in[bold]pw", "tra[red]der-pw"  # rich markup: shown as text if ever
    with ServerProcess(database_url, tmp_path, admin_password=admin_pw, trader_password=trader_pw) as server:
        out = server.stdout_text() + server.stderr_text()
        assert "admin / (as supplied)" in out and "trader / (as supplied)" in out
        assert admin_pw not in out and trader_pw not in out
        assert "generated" not in out
        assert login_works(server, "admin", admin_pw)
        assert login_works(server, "trader", trader_pw)

    other = "another-trader-pw"
    with ServerProcess(database_url, tmp_path, admin_password=admin_pw, trader_password=other) as again:
        warnings = [line for line in again.stderr_text().splitlines() if line.startswith("warning:")]
        assert warnings == [
            "warning: AUTOLIQ_TRADER_PASSWORD is not the password of 'trader' in this database (seeded "
            "before, its own is kept; change it with: autoliq users set-password trader)"
        ]
        assert other not in again.stdout_text() + again.stderr_text()
        assert login_works(again, "trader", trader_pw)
        assert not login_works(again, "trader", other)


def organizations_in(database_url: str) -> int:
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(organization)).scalar_one())
    finally:
        engine.dispose()


def test_serve_takes_port_and_database_url_from_the_environment_when_the_flags_are_absent(
    database_url: str, tmp_path: Path
) -> None:
    server = ServerProcess(database_url, tmp_path, port_via_env=True, database_url_via_env=True)
    assert "--port" not in server.argv()
    assert "--database-url" not in server.argv()
    with server:  # it answered on the port given by AUTOLIQ_PORT
        assert f"http://127.0.0.1:{server.port}/v1" in server.stdout_text()
        token = server.login()["accessToken"]
        assert len(account_ids(server, token)) == 10
    assert not (tmp_path / "autoliq.db").exists(), "the default database was used instead"
    assert organizations_in(database_url) == 1


# -- d) loopback by default --


def _ipv4(hex_addr: str) -> str:
    return socket.inet_ntoa(bytes.fromhex(hex_addr)[::-1])


def _ipv6(hex_addr: str) -> str:
    raw = b"".join(bytes.fromhex(hex_addr[i : i + 8])[::-1] for i in range(0, 32, 8))
    return socket.inet_ntop(socket.AF_INET6, raw)


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a TCP socket in LISTEN on `port`, from /proc/net/tcp{,6}."""
    found: set[str] = set()
    for name, decode in (("tcp", _ipv4), ("tcp6", _ipv6)):
        table = Path("/proc/net") / name
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] == "0A" and int(port_hex, 16) == port:
                found.add(decode(address))
    return found


def test_serve_binds_only_the_loopback_interface_by_default(database_url: str, tmp_path: Path) -> None:
    server = ServerProcess(database_url, tmp_path, host=None)
    assert "--host" not in server.argv()
    with server:  # it answered on 127.0.0.1
        assert f"http://127.0.0.1:{server.port}/v1" in server.stdout_text()
        if not Path("/proc/net/tcp").exists():
            pytest.skip("no /proc/net/tcp here to read the listening sockets from")
        assert listening_addresses(server.port) == {"127.0.0.1"}
