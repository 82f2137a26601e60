"""The composition root: settings in, a wired set of services out."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select, update

from autoliq.adapters.publisher import InMemoryPublisher
from autoliq.adapters.sql import seed
from autoliq.adapters.sql.db import (
    create_admin_engine,
    create_db_engine,
    is_sqlite,
    migrate,
    startup_lock,
    upgrade_to_head,
)
from autoliq.adapters.sql.outbox import OutboxRelay, loop_deliverer
from autoliq.adapters.sql.readiness import ReadinessProbe
from autoliq.adapters.sql.repositories import clock_offset_us
from autoliq.adapters.sql.schema import app_user, organization, sandbox_clock
from autoliq.adapters.sql.storage_faults import DatabaseFile, StorageHealth
from autoliq.adapters.sql.unit_of_work import UnitOfWork
from autoliq.config import Settings
from autoliq.domain.passwords import password_problem
from autoliq.domain.rate_limits import PROFILES, RateLimitProfile
from autoliq.domain.sandbox import MAX_SPEED, NORMAL_SPEED, TEXT_UNKNOWN_OPERATOR
from autoliq.domain.session import trade_date
from autoliq.domain.states import Role
from autoliq.service.auto_liq_settings import AutoLiqSettingsService
from autoliq.service.clock import AdjustableClock, Clock, SandboxClock, StoredOffsets, SystemClock
from autoliq.service.credentials import generate_password, hash_password, verify_password
from autoliq.service.demo_balance import DemoBalanceService
from autoliq.service.dry_run import DryRunService
from autoliq.service.handlers import REFUSAL_DELAY, AuthService, RiskService
from autoliq.service.linked_service import LinkedOrderService
from autoliq.service.market import MarketData
from autoliq.service.orders import TradingService
from autoliq.service.risk_admin import RiskAdminService
from autoliq.service.sandbox import SandboxOperator, SandboxService, UnknownOperator, resolve_operator
from autoliq.service.sandbox_clock import ClockService
from autoliq.service.scheduler import Scheduler
from autoliq.service.views import CashViews, TradingViews, Views
from autoliq.telemetry.metrics_share import SharedMetrics

DEMO_ORGANIZATION = "Demo Prop Firm"
DEMO_ACCOUNTS = 10


@dataclass
class Services:
    """Everything the API and CLI reach the domain through."""

    settings: Settings
    clock: Clock
    publisher: InMemoryPublisher
    uow: UnitOfWork
    auth: AuthService
    risk: RiskService
    views: Views
    market: MarketData
    trading: TradingService
    linked: LinkedOrderService
    trading_views: TradingViews
    sandbox_clock: ClockService
    auto_liq: AutoLiqSettingsService
    demo_balance: DemoBalanceService
    risk_admin: RiskAdminService
    scheduler: Scheduler
    cash_views: CashViews
    write_engine: Engine
    read_engine: Engine
    readiness: ReadinessProbe
    sandbox: SandboxService
    dry_run: DryRunService

    rate_limits: RateLimitProfile | None = None
    """The rate-limit profile the app enforces (settings.rate_limits), None when off."""
    relay: OutboxRelay | None = None
    shared_metrics: SharedMetrics | None = None
    """With several workers (settings.metrics_dir): this worker's metrics published for the others,
    and theirs read for a scrape; None in a single process."""

    def start(self) -> None:
        """Start background machinery (the writer thread)."""
        self.uow.start()

    def start_relay(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver the events other workers commit to this process's publisher, on `loop`."""
        if self.relay is None:
            deliver = loop_deliverer(loop, self.publisher.publish)
            self.relay = OutboxRelay(self.read_engine, self.uow.origin, deliver)
            self.relay.start()
            # A clock move committed after start-up read the offset, and before the relay listened.
            self.sandbox_clock.follow_stored()

    def stop_relay(self) -> None:
        if self.relay is not None:
            self.relay.stop()
            self.relay = None
            self.sandbox_clock.stop_following()

    def stop(self) -> None:
        """Flush queued writes and release connections."""
        self.uow.stop()
        self.auth.hashing.shutdown()
        self.write_engine.dispose()
        self.read_engine.dispose()


def bootstrap(
    settings: Settings, *, clock: AdjustableClock | None = None, run_migrations: bool = True
) -> Services:
    """Wire the services for `settings`; applies migrations first unless told not to.

    Without `clock`, the services read the sandbox clock (the machine's, moved by the offset last
    stored with `POST /_autoliq/clock`, read again whenever any worker moves it) and access tokens
    expire by the machine's clock, so moving the sandbox a day ahead does not log everyone out. A
    given `clock` (tests) serves both."""
    if run_migrations:
        migrate(settings.database_url)
    session_clock: Clock
    login_time: Callable[[], float] = time.monotonic
    refusal_delay = REFUSAL_DELAY
    offsets = StoredOffsets()  # one per process: a bad stored offset is logged once
    if clock is None:
        clock = _stored_clock(settings.database_url, offsets)
        session_clock = SystemClock()
    else:
        session_clock = given = clock
        # A given clock (tests) also times the login penalties: a test moves it past a p-time.
        login_time = lambda: given.now().timestamp()  # noqa: E731
        refusal_delay = 0.0  # in a test's time, a pause on the machine's clock only slows the suite
    write_engine = create_db_engine(settings.database_url, writer=True, pool_size=1)
    read_engine = create_db_engine(
        settings.database_url, writer=False, pool_size=8 if is_sqlite(settings.database_url) else 10
    )
    publisher = InMemoryPublisher()
    # The SQLite file's identity is taken now: a path that later leads elsewhere refuses writes.
    health = StorageHealth(DatabaseFile.of_url(settings.database_url))
    # SQLite runs its statements on the event loop, PostgreSQL on a writer thread (the committers).
    uow = UnitOfWork(write_engine, read_engine, publisher, max_batch=settings.write_batch_max, health=health)
    market = MarketData(uow, clock, settings.order_limits, history_days=settings.price_history_days)
    scheduler = Scheduler(uow, clock)
    views = Views(uow)
    risk = RiskService(uow, clock, settings.environment, market.listed)
    auth = AuthService(
        uow,
        session_clock,
        timedelta(minutes=settings.token_minutes),
        monotonic=login_time,
        refusal_delay=refusal_delay,
    )
    publisher.add_listener(auth.on_events)  # sessions closed by any worker leave the token cache
    operator_name = settings.sandbox_operator
    operator = SandboxOperator(
        uow, operator_name, uow.read_sync(lambda store: resolve_operator(store, operator_name))
    )
    sandbox = SandboxService(uow, clock, SystemClock(), settings.environment, risk.accounts, operator)
    publisher.add_listener(sandbox.on_events)  # resets and fault changes of any worker
    sandbox.restore(uow.read_sync(lambda store: store.faults_state(datetime.now(UTC))))
    sandbox_clock = ClockService(
        uow,
        clock,
        SystemClock(),
        after_move=scheduler.run_due,
        operates=operator.operates,
        offsets=offsets,
    )
    publisher.add_listener(sandbox_clock.on_events)  # clock moves (and resets) of any worker
    trading = TradingService(uow, clock, market, risk.accounts, settings.order_limits)
    scheduler.stored_now = sandbox_clock.now_in  # the session job reads the stored clock
    return Services(
        settings=settings,
        clock=clock,
        publisher=publisher,
        uow=uow,
        auth=auth,
        sandbox_clock=sandbox_clock,
        scheduler=scheduler,
        auto_liq=AutoLiqSettingsService(uow, clock, risk.accounts),
        demo_balance=DemoBalanceService(uow, clock, settings.environment, risk.accounts),
        risk_admin=RiskAdminService(uow, clock, settings.environment, risk.accounts),
        risk=risk,
        views=views,
        market=market,
        trading=trading,
        linked=LinkedOrderService(uow, clock, trading, settings.max_order_strategies),
        dry_run=DryRunService(uow, clock, market, risk.accounts, trading, settings.order_limits),
        trading_views=TradingViews(uow),
        cash_views=CashViews(uow, views, lambda: trade_date(clock.now())),
        write_engine=write_engine,
        read_engine=read_engine,
        readiness=ReadinessProbe(read_engine, storage=health, probe_write=uow.probe_write),
        sandbox=sandbox,
        rate_limits=PROFILES[settings.rate_limits],
        shared_metrics=(
            SharedMetrics(Path(settings.metrics_dir), os.getpid()) if settings.metrics_dir else None
        ),
    )


def _stored_clock(database_url: str, offsets: StoredOffsets) -> SandboxClock:
    """The sandbox clock as stored: its offset, and a replay's pace from the moment it was stored."""
    engine = create_admin_engine(database_url)
    c = sandbox_clock.c
    try:
        with engine.connect() as conn:
            row = conn.execute(select(c.offset_us, c.updated, c.speed).where(c.id == 1)).first()
    finally:
        engine.dispose()
    if row is None:
        return SandboxClock()
    stored = clock_offset_us(row[0])
    taken = offsets.take(stored, datetime.now(UTC))
    speed = (
        row[2] if taken == stored and isinstance(row[2], int) and 0 <= row[2] <= MAX_SPEED else NORMAL_SPEED
    )
    since = row[1].replace(tzinfo=UTC) if row[1].tzinfo is None else row[1]
    return SandboxClock(timedelta(microseconds=taken), since, speed)


@dataclass(frozen=True)
class DemoCredentials:
    """The seeded users' passwords, shown once when the demo organization is created."""

    organization: str
    admin_password: str
    trader_password: str
    admin_generated: bool
    trader_generated: bool
    first_account_id: int | None


def prepare_database(settings: Settings) -> DemoCredentials | None:
    """At start: migrate, and seed the demo organization on an empty database, one process at a time
    (`startup_lock`): workers and machines starting together find the work done by the first. An
    unknown sandbox operator is an UnknownOperator, raised before anything is seeded."""
    with startup_lock(settings.database_url):
        upgrade_to_head(settings.database_url)
        check_sandbox_operator(settings)
        return seed_demo_if_empty(settings)


def check_sandbox_operator(settings: Settings) -> None:
    """UnknownOperator when the settings name a sandbox operator that is no organization of the
    database (on an empty one: other than the demo organization, which is about to be seeded)."""
    name = settings.sandbox_operator
    if name is None:
        return
    engine = create_admin_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            names = set(conn.execute(select(organization.c.name)).scalars())
    finally:
        engine.dispose()
    if name not in names and (names or name != DEMO_ORGANIZATION):
        raise UnknownOperator(TEXT_UNKNOWN_OPERATOR.format(name=name))


def seed_demo_if_empty(settings: Settings, clock: Clock | None = None) -> DemoCredentials | None:
    """On a database with no organization, create the demo one; else do nothing and return None."""
    now = (clock or SystemClock()).now()
    engine = create_admin_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            if conn.execute(select(func.count()).select_from(organization)).scalar_one() > 0:
                return None
            admin_pw = settings.admin_password or generate_password()
            trader_pw = settings.trader_password or generate_password()
            org_id, _ = seed.ensure_organization(conn, DEMO_ORGANIZATION, now)
            seed.ensure_user(conn, org_id, "admin", Role.ADMIN, lambda: hash_password(admin_pw), now)
            trader_id = seed.ensure_user(
                conn, org_id, "trader", Role.TRADER, lambda: hash_password(trader_pw), now
            )
            first, _ = seed.add_accounts(conn, org_id, trader_id, DEMO_ACCOUNTS, "DEMO", now)
            seed.fix_sequences(conn)
        return DemoCredentials(
            DEMO_ORGANIZATION,
            admin_pw,
            trader_pw,
            settings.admin_password is None,
            settings.trader_password is None,
            first,
        )
    finally:
        engine.dispose()


def seed_organization(
    database_url: str,
    organization_name: str,
    admin_name: str,
    admin_password: str,
    accounts: int,
    *,
    owner_name: str | None = None,
    owner_password: str | None = None,
    progress: Callable[[int], None] | None = None,
    clock: Clock | None = None,
) -> seed.SeedResult:
    """Add an organization with its admin (or reuse them) and `accounts` new accounts, in one transaction.
    A supplied password too weak to set (`password_problem`) is a `ValueError` before anything is written;
    an owner created without a password gets a generated one, returned to be shown once."""
    for who, password in (("the admin's password", admin_password), ("the owner's password", owner_password)):
        problem = None if password is None else password_problem(password)
        if problem is not None:
            raise ValueError(f"{who} {problem}")
    now = (clock or SystemClock()).now()
    generated: list[str] = []

    def owner_hash() -> str:  # called only when the owner is created
        if owner_password is not None:
            return hash_password(owner_password)
        generated.append(generate_password())
        return hash_password(generated[0])

    engine = create_admin_engine(database_url)
    try:
        with engine.begin() as conn:
            org_id, created = seed.ensure_organization(conn, organization_name, now)
            admin_id = seed.ensure_user(
                conn, org_id, admin_name, Role.ADMIN, lambda: hash_password(admin_password), now
            )
            owner_id = admin_id
            if owner_name is not None:
                owner_id = seed.ensure_user(conn, org_id, owner_name, Role.TRADER, owner_hash, now)
            prefix = "".join(ch for ch in organization_name.upper() if ch.isalnum())[:8] or "ACC"
            first, n = seed.add_accounts(conn, org_id, owner_id, accounts, prefix, now, progress)
            seed.fix_sequences(conn)
        return seed.SeedResult(org_id, created, admin_id, owner_id, first, n, next(iter(generated), None))
    finally:
        engine.dispose()


def stored_password_matches(database_url: str, user_name: str, password: str) -> bool | None:
    """Whether `password` is the one stored for `user_name`; None when there is no such user."""
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                select(app_user.c.password_hash).where(app_user.c.name == user_name)
            ).scalar_one_or_none()
    finally:
        engine.dispose()
    return None if stored is None else verify_password(password, stored)


def set_user_password(database_url: str, user_name: str, password: str) -> bool:
    """Store `password` (hashed) for `user_name`; False when there is no such user. A password too
    weak to set (`password_problem`) is a `ValueError`."""
    problem = password_problem(password)
    if problem is not None:
        raise ValueError(f"the password {problem}")
    password_hash = hash_password(password)
    engine = create_admin_engine(database_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(
                update(app_user).where(app_user.c.name == user_name).values(password_hash=password_hash)
            )
    finally:
        engine.dispose()
    return bool(result.rowcount)
