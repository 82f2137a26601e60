"""Events across workers: two sets of services on one database stand for two worker processes (each
its own unit of work, publisher and relay). An event committed through one is delivered by the
publisher of the other, once; a session closed by one leaves the other's token cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, insert, select

from autoliq.adapters.sql.batch import Batch
from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.outbox import OutboxRelay, decode_event, encode_event, write_outbox
from autoliq.adapters.sql.schema import event_outbox
from autoliq.bootstrap import Services, bootstrap
from autoliq.container import relay_poll_seconds
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
from tests.conftest import ADMIN_PW, World, make_settings, worker_settings
from tests.helpers import event_queue

DEADLINE = 10.0


@pytest.fixture
def workers(world: World, clock: ManualClock) -> tuple[Services, Services]:
    first = bootstrap(worker_settings(world.database_url), clock=clock, run_migrations=False)
    second = bootstrap(worker_settings(world.database_url), clock=clock, run_migrations=False)
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


def _outbox_row(engine: Engine, event_id: int, origin: str) -> None:
    """An outbox row of id `event_id` committed by `origin`, in a transaction of its own (its event
    a status change whose log id is `event_id`)."""
    values = {
        "id": event_id,
        "origin": origin,
        "created": datetime.now(UTC),
        "payload": encode_event(_status_event(1, event_id)),
    }
    with engine.begin() as conn:
        conn.execute(insert(event_outbox).values(**values))


def test_relay_when_a_lower_id_commits_late_then_it_is_still_delivered(world: World) -> None:
    """Ids come from a sequence, commits in any order: a gap below the highest id read stays open."""
    engine = create_admin_engine(world.database_url)
    delivered: list[Event] = []
    relay = OutboxRelay(engine, "me", delivered.extend, gap_timeout=60)
    try:
        relay.start()  # not used as a thread here: stopped at once, then read by hand
        relay.stop()
        base = relay._horizon
        _outbox_row(engine, base + 2, "other")
        assert relay.read_new() == 1
        _outbox_row(engine, base + 1, "other")  # committed after the higher id was read
        assert relay.read_new() == 1
        assert [e.log_entry.id for e in delivered if isinstance(e, RiskStatusChanged)] == [base + 2, base + 1]
        assert relay.read_new() == 0  # nothing twice
    finally:
        engine.dispose()


def _write_outbox(engine: Engine, origin: str, event: Event) -> list[int]:
    """One transaction writing `event` to the outbox as the unit of work does; the new row's ids."""
    with engine.begin() as conn:
        batch = Batch(conn)
        try:
            return write_outbox(batch, origin, [event], datetime.now(UTC))
        finally:
            batch.close()


def _log_ids(events: list[Event]) -> list[int]:
    return [e.log_entry.id for e in events if isinstance(e, RiskStatusChanged)]


def test_write_outbox_when_a_transaction_has_events_then_answers_the_ids_of_its_rows(world: World) -> None:
    """The ids the writer hands its relay are those of the rows it wrote, in one statement, the
    rows in the events' order (the other workers' relays deliver them by id)."""
    engine = create_admin_engine(world.database_url)
    events: list[Event] = [_status_event(1, n) for n in (7, 8, 9)]
    try:
        with engine.begin() as conn:
            batch = Batch(conn)
            ids = write_outbox(batch, "me", events, datetime.now(UTC))
            batch.close()
        assert _write_outbox(engine, "other", _status_event(1, 10)) == [max(ids) + 1]
        with engine.connect() as conn:
            rows = conn.execute(
                select(event_outbox.c.id, event_outbox.c.payload)
                .where(event_outbox.c.origin == "me")
                .order_by(event_outbox.c.id)
            ).all()
    finally:
        engine.dispose()
    assert ids == [row.id for row in rows]
    assert _log_ids([decode_event(row.payload) for row in rows]) == [7, 8, 9]  # in their order


def test_relay_when_reading_then_never_fetches_its_own_rows_and_their_ids_fill_its_gaps(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its writer hands the relay the ids it committed: the relay's query skips its origin's rows,
    and those ids let its horizon pass them; other origins' rows still arrive in id order, and a
    lower id of another origin committed late is still delivered."""
    engine = create_admin_engine(world.database_url)
    delivered: list[Event] = []
    relay = OutboxRelay(engine, "me", delivered.extend, gap_timeout=60)
    fetched: list[str] = []
    read = relay._read

    def spy(conn: Connection) -> Sequence[object]:
        rows = read(conn)
        origins = dict(conn.execute(select(event_outbox.c.id, event_outbox.c.origin)).all())
        fetched.extend(origins[row.id] for row in rows)  # type: ignore[attr-defined]
        return rows

    monkeypatch.setattr(relay, "_read", spy)
    try:
        relay.start()  # not used as a thread here: stopped at once, then read by hand
        relay.stop()
        base = relay._horizon
        for event_id, origin in (
            (base + 2, "me"),
            (base + 3, "other"),
            (base + 4, "me"),
            (base + 5, "other"),
        ):
            _outbox_row(engine, event_id, origin)
        relay.wrote([base + 2])  # base + 4 not handed over yet; base + 1 not committed yet
        assert relay.read_new() == 2
        assert _log_ids(delivered) == [base + 3, base + 5]
        assert relay._horizon == base  # base + 1 is still open

        _outbox_row(engine, base + 1, "other")  # committed after higher ids were read
        relay.wrote([base + 4])
        assert relay.read_new() == 1
        assert _log_ids(delivered) == [base + 3, base + 5, base + 1]
        assert relay._horizon == base + 5  # every id read, or written by this process
        assert relay.read_new() == 0  # nothing twice
        assert fetched and set(fetched) == {"other"}  # its own rows never read back
    finally:
        engine.dispose()


def test_relay_when_notified_of_its_own_commit_then_it_does_not_read(world: World) -> None:
    """PostgreSQL: a notification's payload is its writer's origin; the relay reads after another
    origin's, not after its own process's."""
    engine = create_admin_engine(world.database_url)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        pytest.skip("PostgreSQL's notifications")
    delivered: list[Event] = []
    relay = OutboxRelay(engine, "me", delivered.extend, listen_timeout=60)

    def until(condition: object, what: str) -> None:
        assert callable(condition)
        deadline = time.monotonic() + DEADLINE
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.01)

    try:
        relay.start()
        until(lambda: relay.reads == 1, "the relay's first read, once it listens")
        relay.wrote(_write_outbox(engine, "me", _status_event(1, 1)))
        time.sleep(0.3)  # a read it made would have started by now
        assert relay.reads == 1
        _write_outbox(engine, "other", _status_event(1, 2))
        until(lambda: relay.delivered == 1, "the other origin's event")
        time.sleep(0.3)
        assert relay.reads == 2 and _log_ids(delivered) == [2]
    finally:
        relay.stop()
        engine.dispose()


def test_relay_poll_when_one_process_then_slow_and_when_workers_of_one_server_then_fast(
    tmp_path: object,
) -> None:
    """SQLite: a single-process server has no sibling writing events (its relay mostly sleeps)."""
    url = "sqlite:///unused.db"
    assert relay_poll_seconds(make_settings(url)) == 1.0
    assert relay_poll_seconds(make_settings(url, metrics_dir=str(tmp_path))) == 0.1
    assert relay_poll_seconds(make_settings(url, outbox_poll_seconds=0.25)) == 0.25


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


@pytest.mark.parametrize("events", [1, 5000])
def test_write_outbox_when_sent_in_a_pipeline_after_a_large_executemany_then_answers_its_own_ids(
    world: World, events: int
) -> None:
    """The unit of work sends a batch's buffered writes (`executemany`) and then its outbox rows in
    one pipeline (PostgreSQL). With a large outbox row (a tick that liquidates 1,000 accounts has
    thousands of events) psycopg 3.3 reads answers while it is still sending, and on the batch's
    shared cursor it answered the outbox's `fetchall` with one of the executemany's results ("the
    last operation didn't produce records (command status: INSERT 0 1)"): the tick's transaction
    failed (found by bench/auto_liq_scale.py at 100,000 accounts). The ids are now read on a cursor
    of their own (`Batch.rows_of`). Without that, this failed in each of 4 runs, 1 or 2 of its cases."""
    engine = create_admin_engine(world.database_url)
    wanted: list[Event] = [_status_event(1, n) for n in range(events)]
    ids: list[int] = []
    try:
        for _ in range(20):  # the mix-up depends on timing (results read while the rows are sent)
            with engine.begin() as conn:
                batch = Batch(conn)
                mark = "?" if batch.is_sqlite else "%s"
                insert = (
                    f"INSERT INTO price_history (contract_id, at, price_ticks, volume) "
                    f"VALUES ({mark}, {mark}, {mark}, {mark})"
                )
                rows = [(1, batch.codec.time(datetime.now(UTC)), n, 0) for n in range(1000)]
                batch.cursor.executemany(insert, rows)  # the tick's writes before the pipeline
                with batch.pipeline(3):
                    batch.cursor.executemany(insert, rows)  # the buffered writes (flush)
                    written = write_outbox(batch, "me", wanted, datetime.now(UTC))
                batch.close()
            assert len(written) == events, written
            ids += written
        with engine.connect() as conn:
            query = select(event_outbox.c.id).where(event_outbox.c.origin == "me").order_by(event_outbox.c.id)
            stored = list(conn.execute(query).scalars())
    finally:
        engine.dispose()
    assert ids == stored
