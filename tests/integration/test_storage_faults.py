"""Storage faults on the unit of work (both engines): a failed BEGIN, statement or COMMIT answers
`StorageUnavailable`, resets the writer's connection and never wedges it; a write's own failure
still lets its neighbours land; a SQLite file deleted or replaced under the writer is refused."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, func, select
from typer.testing import CliRunner

from autoliq.adapters.sql.db import DatabaseVanished, create_admin_engine, create_db_engine, migrate
from autoliq.adapters.sql.schema import account_risk_status_log
from autoliq.adapters.sql.storage_faults import is_storage_fault
from autoliq.bootstrap import Services, bootstrap
from autoliq.cli.main import app
from autoliq.domain.errors import StorageUnavailable
from autoliq.domain.states import AdminAction
from autoliq.service.clock import ManualClock
from autoliq.service.ports import Store
from autoliq.service.scheduler import Scheduler
from tests.conftest import World, make_settings
from tests.integration.test_storage import _append

LOCK = AdminAction.LOCK_TRADING_IMMEDIATELY


@pytest.fixture
def started(world: World, clock: ManualClock) -> Iterator[Services]:
    """Services over the seeded world with the unit of work started (SQLite: the in-loop one)."""
    services = bootstrap(make_settings(world.database_url), clock=clock, run_migrations=False)
    services.start()
    try:
        yield services
    finally:
        services.stop()


def _log_rows(database_url: str) -> int:
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(account_risk_status_log)).scalar_one())
    finally:
        engine.dispose()


def _appends(world: World, n: int) -> list[Callable[[Store], int]]:
    return [lambda s, i=i: _append(s, world.demo_account_ids[i % 10], LOCK) for i in range(n)]  # type: ignore[misc]


async def _together(services: Services, works: list[Callable[[Store], Any]]) -> list[Any]:
    """Writes submitted together (one batch, as concurrent requests make), outcomes or exceptions."""
    return await asyncio.gather(*(services.uow.write(w) for w in works), return_exceptions=True)


def test_write_when_commit_fails_then_the_whole_batch_is_storage_unavailable_and_the_next_write_commits(
    world: World, started: Services
) -> None:
    """Regression (62575c4, SQLite): a failed COMMIT left the transaction on the writer's connection,
    and every later write failed with "already initialized a SQLAlchemy Transaction" until a restart."""
    failing = [True]

    def disk_full(_conn: Any) -> None:
        if failing[0]:
            raise OSError(errno.ENOSPC, "No space left on device")

    event.listen(started.write_engine, "commit", disk_full)
    before = _log_rows(world.database_url)

    async def run() -> tuple[list[Any], list[Any]]:
        failed = await _together(started, _appends(world, 3))
        failing[0] = False
        return failed, await _together(started, _appends(world, 3))

    failed, landed = asyncio.run(run())
    assert [type(e) for e in failed] == [StorageUnavailable] * 3
    assert all(e.message == "Storage unavailable" for e in failed)
    assert all(isinstance(i, int) for i in landed), landed
    assert _log_rows(world.database_url) == before + 3  # the refused ones did not land
    assert started.uow.health.fault is None  # the commit that wrote cleared it


def test_batch_when_one_write_raises_then_its_neighbours_land_and_the_storage_stays_healthy(
    world: World, started: Services
) -> None:
    def broken(_store: Store) -> int:
        raise ValueError("the work's own bug")

    before = _log_rows(world.database_url)
    works: list[Callable[[Store], Any]] = [*_appends(world, 2), broken, *_appends(world, 2)]
    outcomes = asyncio.run(_together(started, works))
    assert isinstance(outcomes[2], ValueError)
    assert all(isinstance(outcomes[i], int) for i in (0, 1, 3, 4)), outcomes
    assert _log_rows(world.database_url) == before + 4
    assert started.uow.health.fault is None and started.uow.health.faults == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_write_when_database_full_then_storage_unavailable_until_space_is_freed(
    world: World, started: Services
) -> None:
    """A real SQLITE_FULL ("database or disk is full"): `max_page_count` pinned at the file's size
    on every transaction of the writer (so a reconnect finds the disk still full), then lifted."""
    full = [True]

    def limit_pages(conn: Any) -> None:
        conn.exec_driver_sql(f"PRAGMA max_page_count = {1 if full[0] else 1_073_741_823}")

    event.listen(started.write_engine, "begin", limit_pages)

    async def run() -> tuple[list[Any], Any, list[Any]]:
        outcomes: list[Any] = []
        # The file's last pages have room for a few rows: write until it is full (bounded).
        for _ in range(400):
            outcomes += await _together(started, _appends(world, 8))
            if isinstance(outcomes[-1], BaseException):
                break
        still_full = await _together(started, _appends(world, 8))  # as much as failed: fails again
        fault = started.uow.health.fault
        full[0] = False
        return outcomes + still_full, fault, await _together(started, _appends(world, 3))

    before = _log_rows(world.database_url)
    outcomes, fault, after = asyncio.run(run())
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    acknowledged = [o for o in outcomes if not isinstance(o, BaseException)]
    assert refused and all(isinstance(e, StorageUnavailable) for e in refused), refused[:3]
    assert all(isinstance(o, BaseException) for o in outcomes[-8:])  # still full: still refused
    assert fault is not None and "database or disk is full" in fault
    assert all(isinstance(i, int) for i in after), after
    assert started.uow.health.fault is None
    # Every acknowledged write is there; none of the refused ones.
    assert _log_rows(world.database_url) == before + len(acknowledged) + 3


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgres_write_when_writer_backend_terminated_then_storage_unavailable_and_next_write_commits(
    world: World, started: Services
) -> None:
    async def run() -> tuple[list[Any], list[Any], list[Any]]:
        first = await _together(started, _appends(world, 2))
        # Every other session on this test's database: the writer's among them.
        with psycopg.connect(world.database_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        assert killed
        lost = await _together(started, _appends(world, 2))
        return first, lost, await _together(started, _appends(world, 2))

    before = _log_rows(world.database_url)
    first, lost, after = asyncio.run(run())
    assert all(isinstance(i, int) for i in first + after), (first, after)
    assert [type(e) for e in lost] == [StorageUnavailable] * 2
    assert started.uow.health.fault is None
    assert _log_rows(world.database_url) == before + 4


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgres_write_when_backend_lost_under_a_sqlalchemy_statement_then_503_and_the_writer_lives_on(
    world: World, started: Services
) -> None:
    """Regression: a server lost under a SQLAlchemy statement (not a raw-cursor one) invalidates the
    connection; ending the batch then raised and killed the writer thread, and every later write
    waited forever (a PostgreSQL restart left the service hanging)."""

    def read_then_append(store: Store) -> int:
        assert store.organization(1) is not None  # SQLAlchemy sees the lost connection first
        return _append(store, world.demo_account_ids[0], LOCK)

    async def run() -> tuple[list[Any], list[Any]]:
        await _together(started, _appends(world, 1))
        with psycopg.connect(world.database_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        works: list[Callable[[Store], Any]] = [read_then_append, read_then_append]
        lost = await asyncio.wait_for(_together(started, works), 30)
        return lost, await asyncio.wait_for(_together(started, works), 30)

    lost, after = asyncio.run(run())
    assert [type(e) for e in lost] == [StorageUnavailable] * 2
    assert all(isinstance(i, int) for i in after), after


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_sqlite_write_when_database_file_deleted_or_replaced_then_refused_and_never_acknowledged(
    world: World, started: Services, how: str
) -> None:
    path = Path(world.database_url.removeprefix("sqlite:///"))

    async def run() -> tuple[Any, list[Any]]:
        first = await started.uow.write(_appends(world, 1)[0])
        moved = path.with_suffix(".moved")
        os.rename(path, moved)  # the open connections keep the file; its path leads nowhere
        if how == "replaced":
            path.write_bytes(b"")  # another file at the path
        return first, await _together(started, _appends(world, 3))

    first, refused = asyncio.run(run())
    assert isinstance(first, int)
    assert [type(e) for e in refused] == [StorageUnavailable] * 3
    fault = started.uow.health.fault
    assert fault is not None and f"was {how} under the running server" in fault
    if how == "deleted":
        # A read on a new connection: the file is not created again, and the answer is a 503.
        started.read_engine.dispose()
        with pytest.raises(StorageUnavailable):
            asyncio.run(started.uow.read(lambda store: store.organization(1)))
        assert not path.exists()


def test_is_storage_fault_when_the_storage_fails_then_true_and_when_the_write_is_wrong_then_false(
    world: World,
) -> None:
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn:
            with pytest.raises(Exception) as wrong:
                conn.exec_driver_sql("SELECT * FROM no_such_table")
            assert not is_storage_fault(wrong.value)
            conn.rollback()
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA query_only = ON")
                with pytest.raises(Exception) as readonly:
                    conn.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")
                assert is_storage_fault(readonly.value)
                conn.exec_driver_sql("PRAGMA query_only = OFF")
    finally:
        engine.dispose()
    assert not is_storage_fault(ValueError("not a database error"))


# -- the SQLite file at start: never seeded over a vanished database, created 0600 --


def test_sqlite_migrate_when_new_then_database_wal_shm_marker_and_lock_are_private(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/new.db"
    old = os.umask(0o022)  # the usual umask: without care, files come out 0644
    try:
        migrate(url)
        engine = create_db_engine(url, writer=True, pool_size=1)
        with engine.connect() as conn:  # opens the -wal and -shm
            conn.exec_driver_sql("SELECT 1")
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        engine.dispose()
    finally:
        os.umask(old)
    assert set(modes) == {"new.db", "new.db-wal", "new.db-shm", "new.db.created", "new.db.startup-lock"}
    assert modes == dict.fromkeys(modes, 0o600)


def test_sqlite_start_when_the_database_vanished_then_refused_in_one_line_exit_2_and_nothing_created(
    tmp_path: Path,
) -> None:
    """Regression (62575c4): a restart after the file was deleted silently seeded a fresh database."""
    db = tmp_path / "autoliq.db"
    url = f"sqlite:///{db}"
    migrate(url)
    db.unlink()
    with pytest.raises(DatabaseVanished, match=r"autoliq\.db\.created"):
        migrate(url)
    result = CliRunner().invoke(app, ["serve", "--database-url", url, "--port", "1"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: database ") and "restore" in lines[0]
    assert not db.exists()
    seeded = CliRunner().invoke(
        app,
        [
            "seed",
            "--database-url",
            url,
            "--organization",
            "X",
            "--admin-name",
            "x",
            "--admin-password",
            "p" * 12,
        ],
    )
    assert seeded.exit_code == 2 and seeded.output.startswith("error: database "), seeded.output
    assert not db.exists()
    # The operator's choice: without the marker, a new database is created.
    (tmp_path / "autoliq.db.created").unlink()
    migrate(url)
    assert db.stat().st_size > 0


def test_sqlite_running_when_the_file_is_deleted_then_a_new_connection_does_not_recreate_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/d.db"
    migrate(url)
    (tmp_path / "d.db").unlink()
    engine = create_db_engine(url, writer=False, pool_size=1)
    try:
        with pytest.raises(Exception, match="unable to open database file"), engine.connect():
            pass
    finally:
        engine.dispose()
    assert not (tmp_path / "d.db").exists()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_write_when_the_file_is_deleted_during_its_transaction_then_committed_but_not_acknowledged(
    world: World, started: Services
) -> None:
    """The check after COMMIT: the write committed to a file no path leads to any more (lost at the
    next start), so it answers 503 and publishes nothing."""
    path = Path(world.database_url.removeprefix("sqlite:///"))
    heard: list[object] = []
    started.publisher.add_listener(heard.extend)

    def append_then_lose_the_file(store: Store) -> int:
        entry = _append(store, world.demo_account_ids[0], LOCK)
        os.rename(path, path.with_suffix(".moved"))
        return entry

    with pytest.raises(StorageUnavailable):
        asyncio.run(started.uow.write(append_then_lose_the_file))
    assert heard == []
    fault = started.uow.health.fault
    assert fault is not None and "was deleted under the running server" in fault


def test_scheduler_when_storage_unavailable_then_it_retries_without_an_error_each_turn(
    caplog: pytest.LogCaptureFixture, clock: ManualClock
) -> None:
    """The writer logs a storage fault once; the scheduler, which writes every 0.25 s, must not log
    a traceback on every turn of it."""

    class FullDisk:
        turns = 0

        async def write(self, work: Any, **_: Any) -> Any:
            FullDisk.turns += 1
            raise StorageUnavailable("OperationalError: database or disk is full")

    scheduler = Scheduler(FullDisk(), clock, interval=0.001)  # type: ignore[arg-type]

    async def run() -> None:
        task = asyncio.create_task(scheduler.run_forever())
        while FullDisk.turns < 5:
            await asyncio.sleep(0.001)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    with caplog.at_level("DEBUG", logger="autoliq.service.scheduler"):
        asyncio.run(run())
    assert FullDisk.turns >= 5
    assert [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")] == []
