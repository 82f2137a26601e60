"""SQLite's in-loop unit of work: the event loop keeps serving while a batch waits for the write lock."""

from __future__ import annotations

import asyncio
import threading
import time

from autoliq.adapters.sql.db import create_admin_engine, migrate
from autoliq.adapters.sql.unit_of_work import LoopCommitter
from autoliq.bootstrap import Services, bootstrap, seed_demo_if_empty
from autoliq.domain.states import AdminAction
from tests.conftest import make_settings
from tests.integration.test_storage import _append


def _started_services(url: str) -> tuple[Services, int]:
    """Services over a new seeded SQLite file, started; and the first demo account's id."""
    migrate(url)
    creds = seed_demo_if_empty(make_settings(url))
    assert creds is not None and creds.first_account_id is not None
    services = bootstrap(make_settings(url), run_migrations=False)
    assert isinstance(services.uow.committer, LoopCommitter)
    services.start()
    return services, creds.first_account_id


def test_in_loop_writes_when_another_process_holds_the_write_lock_then_loop_stays_responsive(
    tmp_path: object,
) -> None:
    url = f"sqlite:///{tmp_path}/lock.db"
    services, account_id = _started_services(url)

    other = create_admin_engine(url)
    locked = threading.Event()

    def hold_lock() -> None:
        with other.begin():  # BEGIN IMMEDIATE: takes the write lock
            locked.set()
            time.sleep(0.6)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    locked.wait(5)

    async def run() -> tuple[int, int, float]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        t = asyncio.create_task(ticker())
        started = time.perf_counter()
        entry_id = await services.uow.write(
            lambda s: _append(s, account_id, AdminAction.LOCK_TRADING_IMMEDIATELY)
        )
        waited = time.perf_counter() - started
        done.set()
        await t
        return entry_id, ticks, waited

    try:
        entry_id, ticks, waited = asyncio.run(run())
    finally:
        holder.join()
        services.stop()
        other.dispose()
    assert entry_id > 0
    assert waited >= 0.3  # the write really waited for the lock ...
    assert ticks >= 15  # ... while the loop went on ticking every 10 ms


def test_in_loop_writes_when_a_batch_fails_outside_its_transaction_then_answered_and_next_write_lands(
    tmp_path: object,
) -> None:
    # Arrange: the check before a batch raises once (as an unexpected os.stat error would)
    services, account_id = _started_services(f"sqlite:///{tmp_path}/defect.db")
    uow = services.uow
    checks = {"left": 1}
    real = uow._acknowledgeable

    def failing_once(jobs: object) -> bool:
        if checks["left"]:
            checks["left"] -= 1
            raise PermissionError("stat refused")
        return real(jobs)  # type: ignore[arg-type]

    uow._acknowledgeable = failing_once  # type: ignore[method-assign]

    async def run() -> tuple[BaseException | None, int]:
        first: BaseException | None = None
        try:
            await asyncio.wait_for(
                uow.write(lambda s: _append(s, account_id, AdminAction.LOCK_TRADING_IMMEDIATELY)), 5
            )
        except PermissionError as exc:
            first = exc
        second = await asyncio.wait_for(uow.write(lambda s: _append(s, account_id, AdminAction.NORMAL)), 5)
        return first, second

    # Act
    try:
        first, second = asyncio.run(run())
    finally:
        services.stop()
    # Assert: the failed write was answered with its error (not left waiting), and the writer goes on
    assert isinstance(first, PermissionError)
    assert second > 0
