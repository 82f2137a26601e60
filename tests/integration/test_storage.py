"""Storage on both engines: migrations, fsync settings, the append-only log, group commit, seeding."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from autoliq.adapters.publisher import InMemoryPublisher
from autoliq.adapters.sql.db import create_admin_engine, create_db_engine, migrate
from autoliq.adapters.sql.schema import account, account_risk_status, account_risk_status_log
from autoliq.adapters.sql.unit_of_work import UnitOfWork
from autoliq.bootstrap import bootstrap, seed_demo_if_empty, seed_organization
from autoliq.domain.model import RiskStatus
from autoliq.domain.states import Actor, AdminAction, ReasonCode
from autoliq.service.ports import Store
from tests.conftest import World, make_settings
from tests.helpers import HEAD_REVISION, current_revision, event_queue

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def test_migrations_when_applied_twice_then_idempotent_and_at_head(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)
    assert current_revision(database_url) == HEAD_REVISION


def test_migrations_when_applied_then_database_matches_the_tables_the_code_uses(database_url: str) -> None:
    """The migrations and `adapters/sql/schema.py` describe the same schema (tables, columns, types,
    nullability, keys, indexes): a column added to one but not the other fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from autoliq.adapters.sql.schema import metadata

    migrate(database_url)
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_sqlite_when_connected_then_wal_and_synchronous_full(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/d.db"
    migrate(url)
    engine = create_db_engine(url, writer=True, pool_size=1)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()


def _append(store: Store, account_id: int, action: AdminAction) -> int:
    status = RiskStatus(id=account_id).with_admin_action(action, T0)
    store.save_risk_status(status)
    return store.append_log(account_id, T0, status, Actor.USER, None, ReasonCode.OTHER, "r").id


def test_log_when_update_or_delete_attempted_then_database_refuses(world: World) -> None:
    engine = create_admin_engine(world.database_url)
    uow = UnitOfWork(engine, engine, InMemoryPublisher())
    uow.start()
    try:
        asyncio.run(
            uow.write(lambda s: _append(s, world.demo_account_ids[0], AdminAction.LOCK_TRADING_IMMEDIATELY))
        )
    finally:
        uow.stop()
    for statement in (
        delete(account_risk_status_log),
        update(account_risk_status_log).values(admin_action="Normal"),
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(statement)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(account_risk_status_log)).scalar_one() == 1
    engine.dispose()


def test_group_commit_when_many_concurrent_writes_then_all_land_in_fewer_commits(world: World) -> None:
    services = bootstrap(make_settings(world.database_url), run_migrations=False)
    services.start()
    ids = world.demo_account_ids

    async def many() -> list[int]:
        return await asyncio.gather(
            *(
                services.uow.write(lambda s, i=i: _append(s, ids[i % len(ids)], AdminAction.NORMAL))
                for i in range(300)
            )
        )

    try:
        entry_ids = asyncio.run(many())
    finally:
        services.stop()
    assert len(set(entry_ids)) == 300
    assert services.uow.writes == 300
    assert services.uow.batches < 300  # several writes shared one durable commit
    engine = create_admin_engine(world.database_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(account_risk_status_log)).scalar_one() == 300
    engine.dispose()


def test_group_commit_when_one_write_of_a_batch_fails_then_the_others_still_land(world: World) -> None:
    services = bootstrap(make_settings(world.database_url), run_migrations=False)
    services.start()
    ids = world.demo_account_ids

    def failing(store: Store) -> int:
        _append(store, ids[0], AdminAction.LOCK_TRADING_IMMEDIATELY)
        raise RuntimeError("boom")

    async def mixed() -> list[object]:
        jobs = [
            services.uow.write(lambda s, i=i: _append(s, ids[1 + i % 5], AdminAction.NORMAL))
            for i in range(40)
        ]
        jobs.insert(20, services.uow.write(failing))
        return await asyncio.gather(*jobs, return_exceptions=True)

    try:
        results = asyncio.run(mixed())
    finally:
        services.stop()
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and str(errors[0]) == "boom"
    engine = create_admin_engine(world.database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(account_risk_status_log.c.account_id)).scalars().all()
        status0 = conn.execute(
            select(account_risk_status.c.admin_action).where(account_risk_status.c.id == ids[0])
        ).scalar_one()
    engine.dispose()
    assert len(rows) == 40 and ids[0] not in rows  # the failing write left nothing behind
    assert status0 == "Normal"


def test_events_when_write_commits_then_published_after_commit_with_log_row(world: World) -> None:
    services = bootstrap(make_settings(world.database_url), run_migrations=False)
    services.start()
    account_id = world.demo_account_ids[0]

    async def run() -> tuple[object, list[object]]:
        queue = event_queue(services.publisher)
        caller = await services.uow.read(lambda s: s.user_by_name("admin"))
        assert caller is not None
        result = await services.risk.set_admin_auto_liq_action(
            caller[0], account_id, "LiquidateImmediately", "Other", "why"
        )
        await asyncio.sleep(0.05)
        events = []
        while not queue.empty():
            events.append(queue.get_nowait())
        return result, events

    try:
        result, events = asyncio.run(run())
    finally:
        services.stop()
    assert isinstance(result, RiskStatus)
    assert len(events) == 1
    event = events[0]
    assert event.account_id == account_id  # type: ignore[attr-defined]
    assert event.status.admin_action is AdminAction.LIQUIDATE_IMMEDIATELY  # type: ignore[attr-defined]
    assert event.log_entry.reason == "why"  # type: ignore[attr-defined]


def test_seed_when_empty_then_demo_org_with_admin_trader_and_ten_normal_accounts(database_url: str) -> None:
    creds = seed_demo_if_empty(make_settings(database_url))
    assert creds is not None and creds.admin_password and creds.trader_password
    assert seed_demo_if_empty(make_settings(database_url)) is None  # never seeds twice
    engine = create_admin_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(account)).scalar_one() == 10
        actions = conn.execute(select(account_risk_status.c.admin_action)).scalars().all()
    engine.dispose()
    assert actions == ["Normal"] * 10


def test_seed_when_passwords_not_given_then_generated_and_flagged(database_url: str) -> None:
    creds = seed_demo_if_empty(make_settings(database_url, admin_password=None, trader_password=None))
    assert creds is not None
    assert creds.admin_generated and creds.trader_generated
    assert len(creds.admin_password) >= 12 and creds.admin_password != creds.trader_password


def test_seed_organization_when_run_twice_then_adds_accounts_to_the_same_org(database_url: str) -> None:
    first = seed_organization(database_url, "Acme Futures", "acme-admin", "acme-admin-pw", 1500)
    second = seed_organization(database_url, "Acme Futures", "acme-admin", "acme-admin-pw", 500)
    assert first.organization_created and not second.organization_created
    assert first.organization_id == second.organization_id
    assert (first.accounts_created, second.accounts_created) == (1500, 500)
    assert first.first_account_id is not None and second.first_account_id == first.first_account_id + 1500
    engine = create_admin_engine(database_url)
    with engine.connect() as conn:
        names = conn.execute(select(account.c.name).order_by(account.c.id)).scalars().all()
        statuses = conn.execute(select(func.count()).select_from(account_risk_status)).scalar_one()
        if conn.dialect.name == "postgresql":
            # New accounts created later through the id sequence must not collide.
            next_id = conn.execute(
                text("SELECT nextval(pg_get_serial_sequence('account', 'id'))")
            ).scalar_one()
            assert next_id > first.first_account_id + 1999
    engine.dispose()
    assert len(names) == len(set(names)) == 2000
    assert statuses == 2000


def test_seed_organization_when_admin_name_taken_by_other_org_then_refused(database_url: str) -> None:
    seed_organization(database_url, "One", "shared-name", "shared-name-pw", 1)
    with pytest.raises(ValueError, match="another organization"):
        seed_organization(database_url, "Two", "shared-name", "shared-name-pw", 1)


def test_prepared_batches_when_many_writes_hit_the_same_accounts_then_each_sees_the_one_before(
    world: World,
) -> None:
    """Batched writes (PostgreSQL: statuses read once per batch, writes pipelined) stay sequential
    per account: every log row follows from the row before it, and the status is the last row."""
    services = bootstrap(make_settings(world.database_url), run_migrations=False)
    services.start()
    ids = world.demo_account_ids[:3]
    cycle = [
        "LiquidateOnlyModeImmediately",
        "LockTradingImmediately",
        "LiquidateOnlyModeImmediately",
        "Normal",
    ]

    async def many() -> list[object]:
        found = await services.uow.read(lambda s: s.user_by_name("admin"))
        assert found is not None
        admin = found[0]
        return await asyncio.gather(
            *(
                services.risk.set_admin_auto_liq_action(
                    admin, ids[i % 3], cycle[(i // 3) % 4], "Other", f"w{i}"
                )
                for i in range(240)
            )
        )

    try:
        results = asyncio.run(many())
    finally:
        services.stop()
    assert all(isinstance(r, RiskStatus) for r in results)
    assert services.uow.batches < 240
    if world.database_url.startswith("postgresql"):
        assert services.uow.prepared_batches == services.uow.batches  # the bulk path really ran
    engine = create_admin_engine(world.database_url)
    with engine.connect() as conn:
        log = conn.execute(select(account_risk_status_log).order_by(account_risk_status_log.c.id)).all()
        statuses = {r.id: r for r in conn.execute(select(account_risk_status))}
    engine.dispose()
    assert len(log) == 240
    for account_id in ids:
        rows = [r for r in log if r.account_id == account_id]
        assert len(rows) == 80
        previous = RiskStatus(id=account_id)
        for row in rows:
            expected = previous.with_admin_action(AdminAction(row.admin_action), row.timestamp)
            assert (row.liquidate_only, row.admin_timestamp) == (
                expected.liquidate_only,
                expected.admin_timestamp,
            )
            previous = expected
        final = statuses[account_id]
        assert (final.admin_action, final.liquidate_only) == (rows[-1].admin_action, rows[-1].liquidate_only)


def test_trading_events_when_market_order_fills_then_order_fill_position_events_after_commit(
    world: World,
) -> None:
    from autoliq.domain.events import TradingEntityChanged
    from autoliq.service.orders import PlaceOrder

    services = bootstrap(make_settings(world.database_url), run_migrations=False)
    services.start()
    account_id = world.demo_account_ids[0]

    async def run() -> tuple[object, list[object]]:
        queue = event_queue(services.publisher)
        found = await services.uow.read(lambda s: s.user_by_name("admin"))
        assert found is not None
        await services.market.set_prices([("ESZ6", 5000)])
        order = PlaceOrder(account_id, "ESZ6", "Buy", 1, "Market")
        outcome = await services.trading.place_order(found[0], order)
        await asyncio.sleep(0.05)
        events = []
        while not queue.empty():
            events.append(queue.get_nowait())
        return outcome, events

    try:
        outcome, events = asyncio.run(run())
    finally:
        services.stop()
    trading = [(e.entity_type, e.event_type) for e in events if isinstance(e, TradingEntityChanged)]
    assert trading == [("order", "Created"), ("fill", "Created"), ("position", "Updated")]
    assert all(e.account_id == account_id for e in events if isinstance(e, TradingEntityChanged))
    first = next(e for e in events if isinstance(e, TradingEntityChanged))
    assert outcome.order_id == first.entity_id  # type: ignore[attr-defined]
