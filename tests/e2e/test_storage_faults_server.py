"""Storage faults under the real `autoliq serve` on SQLite: a full disk, a read-only WAL and a deleted
database file. Nothing wedges, nothing acknowledged is lost, nothing is acknowledged that is not
durable where the database lives, and a restart never seeds over a database that vanished.

The mechanisms are real: a small tmpfs filled to ENOSPC by another file (then that file removed), and
the immutable attribute (`chattr +i`) on the `-wal` on ext4 (the test's tmp_path): ext4 refuses every
write to it, root's and through an already open file included (tmpfs accepts writes through an open
file, so the read-only case does not run there). Both need root (CAP_SYS_ADMIN for the mount,
CAP_LINUX_IMMUTABLE for chattr), as CI has; elsewhere the test skips saying which is missing.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server import ServerProcess, ServerStartError

pytestmark = pytest.mark.slow

SET_ACTION = "/v1/accountRiskStatus/setadminautoliqaction"
READY = "/_autoliq/ready"


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `where` for the test (skips where mounting is not permitted)."""
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def immutable(path: Path, on: bool) -> None:
    """`chattr +i` / `-i`: no process, root included, writes the file (skips where not permitted)."""
    done = subprocess.run(
        ["chattr", "+i" if on else "-i", str(path)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot set the immutable attribute here (needs CAP_LINUX_IMMUTABLE): {done.stderr.strip()}"
        )


def require_immutable_blocks_open_writes(directory: Path) -> None:
    """Skip unless `chattr +i` in `directory` stops writes through a file already open (ext4 does)."""
    probe = directory / "immutable-probe"
    with open(probe, "wb", buffering=0) as handle:
        handle.write(b"x")
        immutable(probe, True)
        try:
            handle.write(b"y")
        except OSError:
            return
        finally:
            immutable(probe, False)
            probe.unlink()
    pytest.skip(f"the filesystem of {directory} lets writes through an open immutable file (tmpfs does)")


def fill(disk: Path) -> Path:
    """Fill `disk` to the last byte with one file; its path (removing it frees the space)."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as handle:
        while True:
            try:
                handle.write(chunk)
            except OSError:
                break
        # The last partial pages too.
        for size in (4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    handle.write(b"\0" * size)
    return filler


class Writer:
    """setadminautoliqaction calls with unique reasons, each remembered as acknowledged or refused."""

    def __init__(self, client: httpx.Client, account_id: int) -> None:
        self.client = client
        self.account_id = account_id
        self.acknowledged: list[str] = []
        self.refused: list[str] = []
        self.sent = 0

    def send(self) -> int:
        self.sent += 1
        reason = f"storage-fault-{self.sent}"
        action = "LockTradingImmediately" if self.sent % 2 else "Normal"
        body = {
            "accountId": self.account_id,
            "adminAction": action,
            "adminActionReasonCode": "Other",
            "adminActionReason": reason,
        }
        r = self.client.post(SET_ACTION, json=body)
        assert r.status_code in (200, 503), r.text  # never a 500
        if r.status_code == 200:
            assert "accountRiskStatus" in r.json(), r.text
            self.acknowledged.append(reason)
        else:
            assert r.json() == {"errorText": "Storage unavailable"} and r.headers["retry-after"] == "1"
            self.refused.append(reason)
        return r.status_code

    def until_refused(self, limit: int) -> None:
        """Send until one is refused (at most `limit`)."""
        for _ in range(limit):
            if self.send() == 503:
                return
        pytest.fail(f"no write refused in {limit} attempts")


def stored_reasons(database: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(database)) as conn:
        return {row[0] for row in conn.execute("SELECT reason FROM account_risk_status_log")}


def first_account(server: ServerProcess, token: str) -> int:
    with server.client(token) as c:
        r = c.get("/v1/account/list")
    assert r.status_code == 200, r.text
    return min(int(a["id"]) for a in r.json())


def test_server_when_disk_full_then_503_and_ready_503_until_freed_and_no_acknowledged_write_lost(
    tmp_path: Path,
) -> None:
    """Regression (62575c4): after one failed commit on a full disk every write answered 500 until a
    restart, and `/_autoliq/ready` said ready throughout."""
    with small_tmpfs(tmp_path / "disk", "8m") as disk:
        database = disk / "autoliq.db"
        server = ServerProcess(f"sqlite:///{database}", tmp_path)
        try:
            with server:
                token = server.login()["accessToken"]
                with server.client(token) as c:
                    writer = Writer(c, first_account(server, token))
                    assert [writer.send() for _ in range(5)] == [200] * 5
                    # Disk full: the WAL cannot grow.
                    filler = fill(disk)
                    writer.until_refused(500)
                    assert [writer.send() for _ in range(3)] == [503] * 3  # still full: still refused
                    full = c.get(READY)
                    filler.unlink()
                    freed = c.get(READY)  # its probe write commits now
                    assert [writer.send() for _ in range(5)] == [200] * 5
                server.kill9()  # what was acknowledged was fsynced: it must be there
        finally:
            server.kill9()
        stored = stored_reasons(database)
    assert (full.status_code, full.json()["status"]) == (503, "not ready"), full.text
    assert full.json()["database"] == "writes failing: OperationalError: database or disk is full"
    assert freed.status_code == 200, freed.text
    assert set(writer.acknowledged) <= stored  # nothing acknowledged lost
    assert not set(writer.refused) & stored  # nothing refused landed
    assert "storage fault" in server.stderr_text() and "storage recovered" in server.stderr_text()


def test_server_when_wal_read_only_then_503_until_writable_and_when_file_deleted_then_nothing_acknowledged(
    tmp_path: Path,
) -> None:
    """Regression (62575c4): after a briefly read-only `-wal` every write answered 500 until a
    restart; writes after the file was deleted answered 200 and were lost at the restart, which
    seeded a fresh database. Here the restart refuses to start (exit 2, one line)."""
    require_immutable_blocks_open_writes(tmp_path)
    database = tmp_path / "autoliq.db"
    wal = tmp_path / "autoliq.db-wal"
    server = ServerProcess(f"sqlite:///{database}", tmp_path)
    try:
        with server:
            token = server.login()["accessToken"]
            with server.client(token) as c:
                writer = Writer(c, first_account(server, token))
                assert writer.send() == 200
                # The WAL read-only (immutable: ext4 refuses even writes through an open file,
                # tmpfs does not), then writable again.
                immutable(wal, True)
                try:
                    read_only_answers = [writer.send() for _ in range(3)]
                    read_only = c.get(READY)
                finally:
                    immutable(wal, False)
                writable = c.get(READY)
                assert [writer.send() for _ in range(3)] == [200] * 3
                acknowledged = set(writer.acknowledged)
                assert acknowledged <= stored_reasons(database)  # all there, read by another process
                assert not set(writer.refused) & stored_reasons(database)
                database.unlink()
                answers = [writer.send() for _ in range(5)]
                with server.client() as anonymous:
                    login = anonymous.post(
                        "/v1/auth/accesstokenrequest",
                        json={"name": "admin", "password": server.admin_password},
                    )
                ready = c.get(READY)
            server.terminate()
            with pytest.raises(ServerStartError, match="exited with 2"):
                server.restart_on_same_port()
    finally:
        server.kill9()
    assert read_only_answers == [503] * 3
    assert read_only.status_code == 503, read_only.text
    assert read_only.json()["database"].startswith("writes failing: OperationalError: "), read_only.text
    assert writable.status_code == 200, writable.text
    assert answers == [503] * 5
    assert login.status_code == 503, login.text
    assert ready.status_code == 503
    assert ready.json()["database"] == (
        f"writes failing: database file {database} was deleted under the running server; writes refused"
    )
    # The one line is on standard error (as every start-up error); nothing at all on standard output.
    assert server.stdout_text().strip() == ""
    err = server.stderr_text().strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: database {database} is gone"), err
    assert not database.exists()


def test_server_when_its_clock_row_is_poisoned_then_it_starts_and_answers_every_organization(
    tmp_path: Path,
) -> None:
    """A database whose sandbox clock row holds year 9999 (what `POST /_autoliq/clock` stored on
    62575c4, after which every lock, order and clock read was a 500, across restarts): the real server
    starts on it, logs it once, and answers the clock, a lock and an order."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import delete, insert

    from autoliq.adapters.sql.db import create_admin_engine, migrate
    from autoliq.adapters.sql.schema import sandbox_clock

    database = tmp_path / "poisoned.db"
    migrate(f"sqlite:///{database}")
    offset_us = (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - datetime.now(UTC)) // timedelta(
        microseconds=1
    )
    engine = create_admin_engine(f"sqlite:///{database}")
    try:
        with engine.begin() as conn:  # the row as a poisoned database holds it
            conn.execute(delete(sandbox_clock))
            conn.execute(insert(sandbox_clock).values(id=1, offset_us=offset_us, updated=datetime.now(UTC)))
    finally:
        engine.dispose()
    with ServerProcess(f"sqlite:///{database}", tmp_path) as server:
        admin = server.login("admin")["accessToken"]
        trader = server.login("trader")["accessToken"]
        with server.client(admin) as c:
            clock = c.get("/_autoliq/clock")
            assert clock.status_code == 200, clock.text
            assert clock.json()["now"].startswith(("20", "21")), clock.text  # the row ignored
            with server.client(trader) as t:
                accounts = t.get("/v1/account/list").json()
            account = accounts[0]["id"]
            lock = c.post(
                SET_ACTION,
                json={
                    "accountId": account,
                    "adminAction": "LockTradingImmediately",
                    "adminActionReasonCode": "Other",
                    "adminActionReason": "poisoned clock",
                },
            )
            assert lock.status_code == 200, lock.text
            assert lock.json()["accountRiskStatus"]["adminAction"] == "LockTradingImmediately"
        with server.client(trader) as t:
            order = t.post(
                "/v1/order/placeorder",
                json={
                    "accountId": account,
                    "action": "Buy",
                    "symbol": "ESZ6",
                    "orderQty": 1,
                    "orderType": "Market",
                    "isAutomated": True,
                },
            )
            assert order.status_code == 200, order.text  # a 500 for everyone on 62575c4
            assert order.json().get("failureReason") == "TradingLocked", order.text  # the lock holds
        server.terminate()
        assert "Traceback" not in server.stderr_text() + server.stdout_text()
        warned = [line for line in server.stderr_text().splitlines() if "clock" in line.lower()]
        assert len(warned) == 1, warned
