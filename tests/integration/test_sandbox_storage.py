"""The sandbox's storage on both engines: a reset inside a group-commit batch, faults taken once.

The batch is driven directly (the writer's own batch runner, given the jobs at once), so that a lock
before the reset, the reset and a lock after it are one transaction: on PostgreSQL the batch's
status and log writes are buffered and its statuses read ahead (`Batch.prepare_batch`); the reset
must send what came before it first and make what follows read its result.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.repositories import SqlStore
from autoliq.adapters.sql.schema import account_risk_status, account_risk_status_log
from autoliq.adapters.sql.unit_of_work import _Job
from autoliq.bootstrap import Services, bootstrap
from autoliq.domain.model import RiskStatus, User
from autoliq.domain.sandbox import FaultKind, FaultSpec
from autoliq.domain.states import Actor, AdminAction, ReasonCode, Role
from autoliq.service.ports import Store
from autoliq.service.sandbox import reset_sandbox
from tests.conftest import World, fresh_database, make_settings

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def lock(store: Store, account_id: int) -> AdminAction:
    """What setadminautoliqaction does: read the status (prepared in a batch), save it, log it."""
    status = (store.risk_status(account_id) or RiskStatus(account_id)).with_admin_action(
        AdminAction.LOCK_TRADING_IMMEDIATELY, NOW
    )
    store.save_risk_status(status)
    store.append_log(account_id, NOW, status, Actor.USER, None, ReasonCode.OTHER, "risk review")
    return status.admin_action


def status_of(store: Store, account_id: int) -> AdminAction:
    found = store.risk_status(account_id)
    assert found is not None
    return found.admin_action


def run_one_batch(services: Services, jobs: list[tuple[Any, tuple[int, ...], int]]) -> list[Any]:
    """Run the works as one batch of the writer, in this order; their results."""
    uow = services.uow

    async def run() -> list[Any]:
        loop = asyncio.get_running_loop()
        batch = [_Job(work, loop.create_future(), loop, accounts, rows) for work, accounts, rows in jobs]
        await uow._commit(batch)
        results = [await job.future for job in batch]
        await services.sandbox.drain()  # the reset's follow-ups (this worker hears its own events)
        return results

    uow.start()
    try:
        return asyncio.run(run())
    finally:
        asyncio.run(uow.drain())
        uow.stop()


def test_reset_when_in_one_batch_between_two_locks_then_first_undone_second_stands_and_log_matches(
    world: World,
) -> None:
    services = bootstrap(make_settings(world.database_url), run_migrations=False)
    first, second = world.demo_account_ids[0], world.demo_account_ids[1]
    admin = User(1, 1, "admin", Role.ADMIN, "admin", "admin@example.invalid")

    results = run_one_batch(
        services,
        [
            (lambda s: lock(s, first), (first,), 1),
            (lambda s: reset_sandbox(s, admin, NOW, None), (), 0),
            (lambda s: status_of(s, first), (first,), 0),
            (lambda s: lock(s, second), (second,), 1),
        ],
    )

    assert results[1].statuses_reset == 1
    assert results[2] is AdminAction.NORMAL  # read after the reset, not the batch's prepared status
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn:
            statuses = select(account_risk_status.c.id, account_risk_status.c.admin_action)
            stored = {row.id: row.admin_action for row in conn.execute(statuses)}
            log = account_risk_status_log.c
            rows = conn.execute(select(log.account_id, log.admin_action, log.reason).order_by(log.id)).all()
    finally:
        engine.dispose()
    assert stored[first] == "Normal" and stored[second] == "LockTradingImmediately"
    last = {row.account_id: (row.admin_action, row.reason) for row in rows}
    assert last == {first: ("Normal", "Sandbox reset"), second: ("LockTradingImmediately", "risk review")}
    assert all(stored[account] == action for account, (action, _) in last.items())


def test_fault_when_taken_by_concurrent_calls_then_each_call_of_its_count_takes_it_once(world: World) -> None:
    services = bootstrap(make_settings(world.database_url), run_migrations=False)
    spec = FaultSpec("/v1/order/placeorder", FaultKind.SERVER_ERROR, count=3)

    def add(store: Store) -> int:
        return store.add_fault(spec, 1, NOW).id

    def take(store: Store) -> bool:
        return store.take_fault("/v1/order/placeorder", 1) is not None

    results = run_one_batch(services, [(add, (), 0)] + [(take, (), 0)] * 5)

    assert results[1:] == [True, True, True, False, False]
    assert services.uow.read_sync(lambda s: s.faults(1)) == []


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database("postgres", request, tmp_path)


@pytest.mark.postgres
def test_clock_offset_when_never_stored_and_read_to_move_then_a_second_mover_waits_and_reads_the_first(
    postgres_url: str,
) -> None:
    """A move reads the offset with its row locked; with no row yet (never moved, or reset) there is
    nothing to lock, so the read makes the row first: a second move at the same time waits for the
    first one's commit and starts from its offset, instead of both starting from "never moved"."""
    engine = create_admin_engine(postgres_url)
    first_read = threading.Event()
    second: dict[str, int | None] = {}

    def second_mover() -> None:
        first_read.wait(timeout=30)
        with engine.begin() as conn:
            second["offset"] = SqlStore(conn).clock_offset(lock=True)

    try:
        with engine.connect() as conn, conn.begin():
            store = SqlStore(conn)
            assert store.clock_offset(lock=True) in (None, 0)
            mover = threading.Thread(target=second_mover)
            mover.start()
            first_read.set()
            mover.join(timeout=1.0)  # it reads now, while the first move is uncommitted
            assert mover.is_alive(), f"the second move read {second} without waiting for the first"
            store.save_clock_offset(3_600_000_000, NOW)
        mover.join(timeout=30)
        assert not mover.is_alive()
    finally:
        engine.dispose()
    assert second == {"offset": 3_600_000_000}


def test_migration_0012_when_faults_and_tickets_pending_then_they_go_to_the_first_organization_and_back(
    world: World,
) -> None:
    """Faults and tickets stored before faults had an organization were server-wide: the upgrade gives
    them to the organization seeded first (the default sandbox operator); the downgrade drops the column."""
    from alembic import command
    from sqlalchemy import inspect, text

    from autoliq.adapters.sql.db import alembic_config
    from tests.helpers import current_revision

    engine = create_admin_engine(world.database_url)
    try:
        command.downgrade(alembic_config(engine), "0011")
        assert current_revision(world.database_url) == "0011"
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO sandbox_fault (path, path_key, kind, remaining, p_captcha, created)"
                    " VALUES ('/v1/account/list', '/v1/account/list', 'serverError', 2, false, :now)"
                ),
                {"now": NOW},
            )
            conn.execute(
                text(
                    "INSERT INTO sandbox_ticket (ticket, path_key, p_time, valid_after, expires)"
                    " VALUES ('t1', '/v1/account/list', 1, :now, :now)"
                ),
                {"now": NOW},
            )

        command.upgrade(alembic_config(engine), "head")

        with engine.connect() as conn:
            faults = conn.execute(text("SELECT organization_id, remaining FROM sandbox_fault")).all()
            tickets = conn.execute(text("SELECT organization_id FROM sandbox_ticket")).scalars().all()
            first = conn.execute(text("SELECT MIN(id) FROM organization")).scalar_one()
        assert [tuple(row) for row in faults] == [(first, 2)] and tickets == [first]
        command.downgrade(alembic_config(engine), "0011")
        columns = {c["name"] for c in inspect(engine).get_columns("sandbox_fault")}
        assert "organization_id" not in columns
        command.upgrade(alembic_config(engine), "head")
    finally:
        engine.dispose()
