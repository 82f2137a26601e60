"""Crashes with several workers, while admin actions and orders stream in over HTTP:

- `kill -9` of one worker process (uvicorn's supervisor starts a new one);
- `kill -9` of the whole server, supervisor and workers, then a restart;
- PostgreSQL restarted under the running server (a private cluster of the test's own: initdb).

Afterwards every acknowledged change is present exactly once: each acknowledged action (its unique
reason) once in the audit log, each acknowledged order once with exactly one fill, and no fill
without an order; requests in flight at the crash landed at most once. Internal-action timers fire
once however many workers run their schedulers, and the service answers again with no manual step.
Every wait is bounded; loopback only.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from autoliq.adapters.sql.db import migrate
from tests.conftest import REQUIRE_PG
from tests.server import ServerProcess, free_port, http_client

pytestmark = pytest.mark.slow

WORKERS = 2
CLIENTS = 6
SET_ACTION = "/v1/accountRiskStatus/setadminautoliqaction"
PLACE = "/v1/order/placeorder"
RECOVERY_DEADLINE = 60.0


@dataclass
class Stream:
    """One client thread: alternately an admin action and a market order on its own accounts."""

    index: int
    accounts: list[int]
    acked_reasons: list[tuple[int, str]] = field(default_factory=list)
    acked_orders: list[tuple[int, int]] = field(default_factory=list)
    unsure_reasons: list[tuple[int, str]] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    def run(self, base_url: str, admin_token: str, stop: threading.Event) -> None:
        seq = 0
        client = http_client(base_url, admin_token)
        try:
            while not stop.is_set():
                account = self.accounts[seq % len(self.accounts)]
                seq += 1
                if seq % 2:
                    reason = f"c{self.index}-{seq}"
                    body = {
                        "accountId": account,
                        "adminAction": "DisableAutoLiq" if seq % 4 == 1 else "Normal",
                        "adminActionReasonCode": "Other",
                        "adminActionReason": reason,
                    }
                    outcome = self._post(client, SET_ACTION, body)
                    if outcome is None:
                        self.unsure_reasons.append((account, reason))
                    elif outcome.get("accountRiskStatus"):
                        self.acked_reasons.append((account, reason))
                    else:
                        self.wrong.append(f"{reason}: {outcome}")
                else:
                    action = "Buy" if (seq // 2) % 2 else "Sell"
                    body = {
                        "accountId": account, "action": action, "symbol": "ESZ6", "orderQty": 1,
                        "orderType": "Market",
                    }  # fmt: skip
                    outcome = self._post(client, PLACE, body)
                    if outcome is not None and outcome.get("orderId"):
                        self.acked_orders.append((account, int(outcome["orderId"])))
                    elif outcome is not None:
                        self.wrong.append(f"order on {account}: {outcome}")
                if outcome is None:
                    client.close()
                    time.sleep(0.05)
                    client = http_client(base_url, admin_token)
        finally:
            client.close()

    @staticmethod
    def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """The answer, or None when the connection failed (the outcome is unknown)."""
        try:
            r = client.post(path, json=body, timeout=10.0)
        except httpx.TransportError:
            return None
        if r.status_code >= 500:
            return None  # the database went away under the request: not acknowledged
        answer: dict[str, Any] = r.json()
        return answer


def _wait_answering(server: ServerProcess, token: str) -> None:
    deadline = time.monotonic() + RECOVERY_DEADLINE
    while True:
        try:
            with server.client(token) as c:
                if c.get("/v1/account/list", timeout=3).status_code == 200:
                    return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the service did not recover"
        time.sleep(0.2)


def _stream_and_crash(server: ServerProcess, crash: Callable[[], None]) -> tuple[list[Stream], list[int]]:
    token = server.login()["accessToken"]
    with server.client(token) as c:
        accounts = sorted(a["id"] for a in c.get("/v1/account/list").json())
        r = c.post("/_autoliq/prices", json={"prices": [{"symbol": "ESZ6", "price": 5000}]})
        assert r.status_code == 200, r.text
    streams = [Stream(i, accounts[i::CLIENTS]) for i in range(CLIENTS)]
    stop = threading.Event()
    threads = [
        threading.Thread(target=s.run, args=(server.base_url, token, stop), daemon=True) for s in streams
    ]
    for t in threads:
        t.start()
    time.sleep(1.5)
    crash()
    time.sleep(2.0)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a client thread did not stop"
    return streams, accounts


def _check(server: ServerProcess, streams: list[Stream], accounts: list[int]) -> None:
    assert [w for s in streams for w in s.wrong] == []
    acked_reasons = [r for s in streams for _a, r in s.acked_reasons]
    acked_orders = {o for s in streams for _a, o in s.acked_orders}
    unsure = {r for s in streams for _a, r in s.unsure_reasons}
    assert len(acked_reasons) > 20 and len(acked_orders) > 20, (len(acked_reasons), len(acked_orders))
    token = server.login()["accessToken"]
    problems: list[str] = []
    with server.client(token) as c:
        logged: list[str] = []
        for account in accounts:
            entries = c.get("/_autoliq/audit", params={"accountId": account}).json()["entries"]
            logged += [e["reason"] for e in entries if e["reason"]]
        orders = []
        fills = []
        for account in accounts:
            orders += c.get("/v1/order/deps", params={"masterid": account}).json()
            fills += c.get("/v1/fill/deps", params={"masterid": account}).json()
    counts: dict[str, int] = {}
    for reason in logged:
        counts[reason] = counts.get(reason, 0) + 1
    problems += [
        f"action {r} logged {counts.get(r, 0)} times" for r in acked_reasons if counts.get(r, 0) != 1
    ]
    problems += [
        f"unacknowledged action {r} logged {counts[r]} times" for r in unsure if counts.get(r, 0) > 1
    ]
    order_ids = [o["id"] for o in orders]
    problems += [f"order {o} missing" for o in sorted(acked_orders - set(order_ids))]
    per_order: dict[int, int] = {}
    for f in fills:
        per_order[f["orderId"]] = per_order.get(f["orderId"], 0) + 1
    problems += [f"order {o} has {per_order.get(o, 0)} fills" for o in order_ids if per_order.get(o, 0) != 1]
    problems += [f"fill of unknown order {o}" for o in per_order if o not in set(order_ids)]
    assert problems == [], "\n".join(problems[:30])


def test_kill_9_of_one_worker_when_streaming_then_every_acknowledged_change_once_and_service_recovers(
    database_url: str, tmp_path: Path
) -> None:
    with ServerProcess(database_url, tmp_path, extra_args=("--workers", str(WORKERS))) as server:
        before = server.worker_pids()
        assert len(before) == WORKERS, before

        def crash() -> None:
            os.kill(before[0], 9)

        streams, accounts = _stream_and_crash(server, crash)
        token = server.login()["accessToken"]
        _wait_answering(server, token)
        deadline = time.monotonic() + RECOVERY_DEADLINE
        while len(server.worker_pids()) < WORKERS:  # the supervisor starts a new worker
            assert time.monotonic() < deadline, "no new worker"
            time.sleep(0.2)
        assert before[0] not in server.worker_pids()
        _check(server, streams, accounts)


def test_kill_9_of_every_process_when_streaming_then_a_restart_has_every_acknowledged_change_once(
    database_url: str, tmp_path: Path
) -> None:
    server = ServerProcess(database_url, tmp_path, extra_args=("--workers", str(WORKERS)))
    with server:
        streams, accounts = _stream_and_crash(server, server.kill9)
    with ServerProcess(database_url, tmp_path, extra_args=("--workers", str(WORKERS))) as again:
        _check(again, streams, accounts)


def test_internal_action_timers_when_several_workers_and_one_killed_then_each_fires_once(
    database_url: str, tmp_path: Path
) -> None:
    with ServerProcess(database_url, tmp_path, extra_args=("--workers", str(WORKERS))) as server:
        token = server.login()["accessToken"]
        with server.client(token) as c:
            accounts = sorted(a["id"] for a in c.get("/v1/account/list").json())
            for account in accounts:
                body = {
                    "accountId": account, "adminAction": "PlaceAutoLiqOnHold",
                    "adminActionReasonCode": "Other", "adminActionReason": "hold",
                }  # fmt: skip
                assert c.post(SET_ACTION, json=body).status_code == 200
        os.kill(server.worker_pids()[0], 9)
        _wait_answering(server, token)
        with server.client(token) as c:
            assert c.post("/_autoliq/clock", json={"advanceSeconds": 61}).status_code == 200
            deadline = time.monotonic() + RECOVERY_DEADLINE
            while True:
                expiries = {
                    a: [
                        e
                        for e in c.get("/_autoliq/audit", params={"accountId": a}).json()["entries"]
                        if e["actor"] == "system"
                    ]
                    for a in accounts
                }
                if all(expiries.values()):
                    break
                assert time.monotonic() < deadline, "a hold did not expire"
                time.sleep(0.2)
            time.sleep(1.0)  # every worker's scheduler has had its turns
            for account in accounts:
                entries = c.get("/_autoliq/audit", params={"accountId": account}).json()["entries"]
                system = [e for e in entries if e["actor"] == "system"]
                assert len(system) == 1 and system[0]["adminAction"] == "Normal", (account, system)


class PrivatePostgres:
    """A PostgreSQL cluster of this test alone (initdb in a temporary directory, a free loopback
    port): restarting it disturbs no other test, and it holds one database, so its shutdown
    checkpoint is short. The shared server of the suite (and of the other test processes, under
    pytest-xdist) is never restarted. As root its files belong to the `postgres` user and its
    commands run as that user (PostgreSQL refuses to run as root)."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.options = f"-p {self.port} -k {root} -c listen_addresses=127.0.0.1"
        self._as: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(root, owner.pw_uid, owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, tool: str, *args: str, timeout: float) -> bool:
        """A PostgreSQL tool of the cluster's version, as its owner; whether it ended in time with success."""
        command = [*self._as, str(self.bindir / tool), *args]
        try:
            return subprocess.run(command, timeout=timeout, capture_output=True).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def ctl(self, action: str, *args: str, timeout: float) -> bool:
        log = str(self.root / "server.log")
        return self.run(
            "pg_ctl", action, "-D", str(self.data), "-w", "-t", str(int(timeout)), "-l", log,
            "-o", self.options, *args, timeout=timeout + 10,
        )  # fmt: skip

    def restart(self) -> None:
        """Restart under the running server; if the fast shutdown does not end in time, an
        immediate one (a crash, recovered from the WAL at start) takes its place: acknowledged
        changes must survive that too."""
        if not self.ctl("restart", "-m", "fast", timeout=60):
            self.ctl("stop", "-m", "immediate", timeout=60)
            assert self.ctl("start", timeout=60), "the test's PostgreSQL did not start again"


def _postgres_bindir() -> Path:
    """Where this machine's PostgreSQL server programs are (`pg_config`, else Debian's layout)."""
    found: list[Path] = []
    if shutil.which("pg_config"):
        done = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10)
        found.append(Path(done.stdout.strip()))
    found += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for bindir in found:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    message = "no initdb and pg_ctl here (PostgreSQL's server programs) to run a private cluster"
    if REQUIRE_PG:
        pytest.fail(message + " (AUTOLIQ_REQUIRE_POSTGRES=1 makes PostgreSQL tests mandatory)")
    pytest.skip(message)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A migrated database on a private, running cluster; stopped and removed afterwards."""
    cluster = PrivatePostgres(_postgres_bindir(), Path(tempfile.mkdtemp(prefix="autoliq-pg-")))
    try:
        assert cluster.run(
            "initdb", "-D", str(cluster.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync",
            timeout=120,
        ), "initdb failed"  # fmt: skip
        assert cluster.ctl("start", timeout=60), (cluster.root / "server.log").read_text()[-2000:]
        migrate(cluster.url)
        yield cluster
    finally:
        cluster.ctl("stop", "-m", "immediate", timeout=60)
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.mark.postgres
def test_postgres_restart_when_streaming_then_every_acknowledged_change_once_and_service_recovers(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    with ServerProcess(private_postgres.url, tmp_path, extra_args=("--workers", str(WORKERS))) as server:
        streams, accounts = _stream_and_crash(server, private_postgres.restart)
        token = server.login()["accessToken"]
        _wait_answering(server, token)
        _check(server, streams, accounts)
