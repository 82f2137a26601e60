"""Events across workers: two sets of services on one database stand for two worker processes (each
its own unit of work, publisher and relay). An event committed through one is delivered by the
publisher of the other, once; a session closed by one leaves the other's token cache."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.outbox import OutboxRelay, decode_event, encode_event
from autoliq.adapters.sql.schema import event_outbox
from autoliq.bootstrap import Services, bootstrap
from autoliq.domain.errors import Unauthorized
from autoliq.domain.events import (
    Event,
    RiskStatusChanged,
    SandboxClockMoved,
    SandboxFaultsChanged,
    SandboxReset,
    SessionsClosed,
    TradingEntityChanged,
)
from autoliq.domain.model import RiskStatus, RiskStatusLogEntry
from autoliq.domain.states import Actor, AdminAction, ReasonCode
from autoliq.service.clock import ManualClock
from autoliq.service.ports import Store
from tests.conftest import ADMIN_PW, World, make_settings
from tests.helpers import event_queue

DEADLINE = 10.0


@pytest.fixture
def workers(world: World, clock: ManualClock) -> tuple[Services, Services]:
    first = bootstrap(make_settings(world.database_url), clock=clock, run_migrations=False)
    second = bootstrap(make_settings(world.database_url), clock=clock, run_migrations=False)
    return first, second


async def _started(pair: tuple[Services, Services]) -> None:
    loop = asyncio.get_running_loop()
    for services in pair:
        services.start()
        services.start_relay(loop)


async def _stopped(pair: tuple[Services, Services]) -> None:
    for services in pair:
        await services.uow.drain()
        services.stop_relay()
        services.stop()


async def _until(condition: object, what: str) -> None:
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + DEADLINE
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def _drain(queue: asyncio.Queue[Event]) -> list[Event]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


def test_event_when_committed_through_one_worker_then_the_others_publisher_delivers_it_once(
    workers: tuple[Services, Services], world: World
) -> None:
    first, second = workers
    account = world.demo_account_ids[0]

    async def scenario() -> None:
        await _started(workers)
        try:
            mine, theirs = event_queue(first.publisher), event_queue(second.publisher)
            granted = await first.auth.request_access_token("admin", ADMIN_PW)
            admin = granted.user
            status = await first.risk.set_admin_auto_liq_action(
                admin, account, "LockTradingImmediately", "Other", "cross-worker"
            )
            assert isinstance(status, RiskStatus)
            await _until(lambda: not theirs.empty(), "the other worker's delivery")
            await asyncio.sleep(0.3)  # anything duplicated would arrive by now
            delivered = [e for e in _drain(theirs) if isinstance(e, RiskStatusChanged)]
            local = [e for e in _drain(mine) if isinstance(e, RiskStatusChanged)]
            assert len(delivered) == 1 and len(local) == 1  # once each: the relay skips its own rows
            assert delivered[0] == local[0]  # the same event, log entry id included
            assert delivered[0].status.admin_action is AdminAction.LOCK_TRADING_IMMEDIATELY
            assert delivered[0].log_entry.reason == "cross-worker"
        finally:
            await _stopped(workers)

    asyncio.run(scenario())


def test_session_when_closed_through_one_worker_then_the_others_token_cache_forgets_it(
    workers: tuple[Services, Services],
) -> None:
    first, second = workers

    async def scenario() -> None:
        await _started(workers)
        try:
            tokens = []
            granted = await first.auth.request_access_token("admin", ADMIN_PW)
            tokens.append(granted.token)
            await second.auth.authenticate(tokens[0])  # now cached by the second worker
            for _ in range(2):  # a third live session closes the oldest
                granted = await first.auth.request_access_token("admin", ADMIN_PW)
                tokens.append(granted.token)

            deadline = asyncio.get_running_loop().time() + DEADLINE
            while True:
                try:
                    await second.auth.authenticate(tokens[0])
                except Unauthorized:
                    break
                assert asyncio.get_running_loop().time() < deadline, "the closed session still authenticates"
                await asyncio.sleep(0.02)
            await second.auth.authenticate(tokens[2])  # the live ones still work
        finally:
            await _stopped(workers)

    asyncio.run(scenario())


def _status_event(account: int, entry_id: int) -> RiskStatusChanged:
    when = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    status = RiskStatus(account).with_admin_action(AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY, when)
    entry = RiskStatusLogEntry(entry_id, account, when, status, Actor.USER, 7, ReasonCode.OTHER, "why")
    return RiskStatusChanged(1, account, 2, status, entry)


def test_encoding_when_any_event_then_round_trips_exactly() -> None:
    for event in (
        _status_event(3, 11),
        TradingEntityChanged("position", "Updated", 3, 1202612),
        SessionsClosed((4, 5)),
        SandboxReset(7),
        SandboxClockMoved(),
        SandboxFaultsChanged(),
    ):
        assert decode_event(encode_event(event)) == event


def test_relay_when_a_lower_id_commits_late_then_it_is_still_delivered(world: World) -> None:
    """Ids come from a sequence, commits in any order: a gap below the highest id read stays open."""
    engine = create_admin_engine(world.database_url)
    delivered: list[Event] = []
    relay = OutboxRelay(engine, "me", delivered.extend, gap_timeout=60)
    try:
        relay.start()  # not used as a thread here: stopped at once, then read by hand
        relay.stop()
        base = relay._horizon
        now = datetime.now(UTC)

        def row(event_id: int, event: Event) -> None:
            with engine.begin() as conn:
                values = {"id": event_id, "origin": "other", "created": now, "payload": encode_event(event)}
                conn.execute(insert(event_outbox).values(**values))

        row(base + 2, _status_event(1, base + 2))
        assert relay.read_new() == 1
        row(base + 1, _status_event(1, base + 1))  # committed after the higher id was read
        assert relay.read_new() == 1
        assert [e.log_entry.id for e in delivered if isinstance(e, RiskStatusChanged)] == [base + 2, base + 1]
        assert relay.read_new() == 0  # nothing twice
    finally:
        engine.dispose()


def test_after_commit_when_the_work_fails_then_its_action_never_runs_and_a_batch_neighbour_runs_once(
    workers: tuple[Services, Services], world: World
) -> None:
    """Metrics count only what landed: an action runs after its own commit, never for a rolled-back
    attempt, and once for a write that was re-run after its batch rolled back."""
    first, _ = workers
    ran: list[str] = []
    account = world.demo_account_ids[0]

    def landing(store: Store) -> None:
        store.set_account_notes(account, "noted")
        store.after_commit(lambda: ran.append("landed"))

    def failing(store: Store) -> None:
        store.after_commit(lambda: ran.append("failed"))
        raise RuntimeError("boom")

    async def scenario() -> None:
        first.start()
        try:
            # Queued together: one batch, which rolls back for `failing`; `landing` then runs alone.
            results = await asyncio.gather(
                first.uow.write(landing), first.uow.write(failing), return_exceptions=True
            )
            assert results[0] is None and isinstance(results[1], RuntimeError)
            assert ran == ["landed"]
            await first.uow.write(landing)
            assert ran == ["landed", "landed"]
        finally:
            await first.uow.drain()
            first.stop()

    asyncio.run(scenario())


def test_outbox_when_rows_are_older_than_the_retention_then_pruned_and_newer_kept(
    workers: tuple[Services, Services], world: World
) -> None:
    """SQLite: by a writer, in a write's transaction; PostgreSQL: by a relay, on its own connection."""
    first, _ = workers
    engine = create_admin_engine(world.database_url)
    now = datetime.now(UTC)
    old, recent = _status_event(1, 1), _status_event(1, 2)
    with engine.begin() as conn:
        for when, event in ((now - timedelta(hours=1), old), (now - timedelta(minutes=1), recent)):
            conn.execute(
                insert(event_outbox).values(origin="other", created=when, payload=encode_event(event))
            )

    async def scenario() -> None:
        first.start()
        try:
            first.uow.outbox_prune_interval = 0.0
            first.uow.outbox_retention = timedelta(minutes=10)
            granted = await first.auth.request_access_token("admin", ADMIN_PW)
            status = await first.risk.set_admin_auto_liq_action(
                granted.user, world.demo_account_ids[0], "LockTradingImmediately", "Other", "prune"
            )
            assert isinstance(status, RiskStatus)
        finally:
            await first.uow.drain()
            first.stop()

    try:
        asyncio.run(scenario())
        if engine.dialect.name == "postgresql":
            relay = OutboxRelay(engine, "me", lambda events: None, retention=timedelta(minutes=10))
            relay.read_new()  # its first read prunes
        with engine.connect() as conn:
            kept = [decode_event(p) for p in conn.execute(select(event_outbox.c.payload)).scalars()]
    finally:
        engine.dispose()
    assert old not in kept and recent in kept
    assert any(isinstance(e, RiskStatusChanged) and e.log_entry.reason == "prune" for e in kept)
