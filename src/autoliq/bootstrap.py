"""The composition root: settings in, a wired set of services out (`Services`, autoliq.container);
also the one door of the cli to the database tasks (seed, passwords, readiness of the database) and
to the ASGI app (`serving_app`, `worker_app`). Wiring only: the SQL is in autoliq.adapters
(provisioning.py), the rules in autoliq.service and autoliq.domain."""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic.util.exc import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from autoliq.adapters.publisher import InMemoryPublisher
from autoliq.adapters.sql import provisioning
from autoliq.adapters.sql.db import (
    DatabaseVanished,
    create_db_engine,
    is_sqlite,
    migrate,
    normalize_url,
    startup_lock,
    upgrade_to_head,
)
from autoliq.adapters.sql.db_probe import DatabaseUnavailable, check_database, parse_database_url, safe_url
from autoliq.adapters.sql.readiness import ReadinessProbe
from autoliq.adapters.sql.seed import SeedResult
from autoliq.adapters.sql.storage_faults import DatabaseFile, StorageHealth
from autoliq.adapters.sql.unit_of_work import UnitOfWork
from autoliq.adapters.webhook_http import WebhookPoster
from autoliq.config import Settings
from autoliq.container import Services
from autoliq.domain.passwords import password_problem
from autoliq.domain.rate_limits import PROFILES
from autoliq.domain.sandbox import MAX_SPEED, NORMAL_SPEED, TEXT_UNKNOWN_OPERATOR
from autoliq.domain.session import trade_date
from autoliq.service.auth import REFUSAL_DELAY, AuthService
from autoliq.service.auto_liq_settings import AutoLiqSettingsService
from autoliq.service.clock import AdjustableClock, Clock, SandboxClock, StoredOffsets, SystemClock
from autoliq.service.credentials import generate_password, hash_password, verify_password
from autoliq.service.demo_balance import DemoBalanceService
from autoliq.service.desk import DeskViews
from autoliq.service.dry_run import DryRunService
from autoliq.service.linked_service import LinkedOrderService
from autoliq.service.market import MarketData
from autoliq.service.orders import TradingService
from autoliq.service.position_limits import PositionLimitService
from autoliq.service.risk_admin import RiskAdminService
from autoliq.service.risk_status import RiskService
from autoliq.service.sandbox import SandboxOperator, SandboxService, UnknownOperator, resolve_operator
from autoliq.service.sandbox_clock import ClockService
from autoliq.service.scheduler import Scheduler
from autoliq.service.views import CashViews, TradingViews, Views
from autoliq.service.webhooks import DeliverySettings, WebhookDeliverer, WebhookService
from autoliq.telemetry.metrics_share import SharedMetrics

if TYPE_CHECKING:  # the api is imported when an app is built (serving_app), not with bootstrap
    from litestar import Litestar

# The cli's door to what it may not import itself (autoliq.adapters): re-exported, one name each.
__all__ = [
    "DatabaseSetupFailed",
    "DatabaseUnavailable",
    "DatabaseVanished",
    "DemoCredentials",
    "Services",
    "UnknownOperator",
    "bootstrap",
    "check_database",
    "connection_options",
    "docs_path",
    "migrate_for_seed",
    "parse_database_url",
    "prepare_database",
    "safe_url",
    "seed_demo_if_empty",
    "seed_organization",
    "serving_app",
    "set_user_password",
    "sqlite_file_missing",
    "stored_password_matches",
    "worker_app",
]

DEMO_ORGANIZATION = "Demo Prop Firm"
DEMO_ACCOUNTS = 10


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
    market = MarketData(
        uow,
        clock,
        settings.order_limits,
        history_days=settings.price_history_days,
        equity_days=settings.equity_history_days,
    )
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
    poster = WebhookPoster()
    return Services(
        settings=settings,
        clock=clock,
        publisher=publisher,
        uow=uow,
        auth=auth,
        sandbox_clock=sandbox_clock,
        scheduler=scheduler,
        auto_liq=AutoLiqSettingsService(uow, clock, risk.accounts),
        limits=PositionLimitService(uow, clock, risk.accounts),
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
        desk=DeskViews(uow, views, operator, lambda: trade_date(clock.now())),
        webhooks=WebhookService(uow, clock),
        webhook_deliverer=WebhookDeliverer(
            uow,
            SystemClock(),  # signatures and leases on the machine's time, not the sandbox's
            poster,
            f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}",
            DeliverySettings(settings.webhook_max_attempts, settings.webhook_retry_seconds),
            poster.close,
        ),
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
    row = provisioning.stored_clock(database_url)
    if row is None:
        return SandboxClock()
    stored = row.offset_us
    taken = offsets.take(stored, datetime.now(UTC))
    speed = (
        row.speed
        if taken == stored and isinstance(row.speed, int) and 0 <= row.speed <= MAX_SPEED
        else NORMAL_SPEED
    )
    return SandboxClock(timedelta(microseconds=taken), row.updated, speed)


@dataclass(frozen=True)
class DemoCredentials:
    """The seeded users' passwords, shown once when the demo organization is created."""

    organization: str
    admin_password: str
    trader_password: str
    admin_generated: bool
    trader_generated: bool
    first_account_id: int | None


class DatabaseSetupFailed(Exception):
    """Migrating or seeding failed in the database or its driver; the message is one line
    (`database: <the driver's message>`), never a traceback."""

    @classmethod
    def of(cls, exc: BaseException) -> DatabaseSetupFailed:
        cause = getattr(exc, "orig", None) or exc
        return cls(f"database: {' '.join(str(cause).split())}")


def prepare_database(settings: Settings) -> DemoCredentials | None:
    """At start: migrate, and seed the demo organization on an empty database, one process at a time
    (`startup_lock`): workers and machines starting together find the work done by the first. An
    unknown sandbox operator is an UnknownOperator, raised before anything is seeded; a failure of
    the database while migrating or seeding is a `DatabaseSetupFailed`."""
    try:
        with startup_lock(settings.database_url):
            upgrade_to_head(settings.database_url)
            check_sandbox_operator(settings)
            return seed_demo_if_empty(settings)
    except (SQLAlchemyError, CommandError) as exc:
        raise DatabaseSetupFailed.of(exc) from None


def check_sandbox_operator(settings: Settings) -> None:
    """UnknownOperator when the settings name a sandbox operator that is no organization of the
    database (on an empty one: other than the demo organization, which is about to be seeded)."""
    name = settings.sandbox_operator
    if name is None:
        return
    names = provisioning.organization_names(settings.database_url)
    if name not in names and (names or name != DEMO_ORGANIZATION):
        raise UnknownOperator(TEXT_UNKNOWN_OPERATOR.format(name=name))


def seed_demo_if_empty(settings: Settings, clock: Clock | None = None) -> DemoCredentials | None:
    """On a database with no organization, create the demo one; else do nothing and return None."""
    now = (clock or SystemClock()).now()
    admin_pw = settings.admin_password or generate_password()
    trader_pw = settings.trader_password or generate_password()
    seeded, first = provisioning.seed_demo_if_empty(
        settings.database_url,
        DEMO_ORGANIZATION,
        DEMO_ACCOUNTS,
        lambda: hash_password(admin_pw),
        lambda: hash_password(trader_pw),
        now,
    )
    if not seeded:
        return None
    return DemoCredentials(
        DEMO_ORGANIZATION,
        admin_pw,
        trader_pw,
        settings.admin_password is None,
        settings.trader_password is None,
        first,
    )


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
) -> SeedResult:
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

    prefix = "".join(ch for ch in organization_name.upper() if ch.isalnum())[:8] or "ACC"
    result = provisioning.add_organization(
        database_url,
        organization_name,
        admin_name,
        lambda: hash_password(admin_password),
        None if owner_name is None else (owner_name, owner_hash),
        accounts,
        prefix,
        now,
        progress,
    )
    return replace(result, generated_owner_password=next(iter(generated), None))


def stored_password_matches(database_url: str, user_name: str, password: str) -> bool | None:
    """Whether `password` is the one stored for `user_name`; None when there is no such user."""
    stored = provisioning.password_hash_of(database_url, user_name)
    return None if stored is None else verify_password(password, stored)


def set_user_password(database_url: str, user_name: str, password: str) -> bool:
    """Store `password` (hashed) for `user_name`; False when there is no such user. A password too
    weak to set (`password_problem`) is a `ValueError`; a failure of the database a
    `DatabaseSetupFailed`."""
    problem = password_problem(password)
    if problem is not None:
        raise ValueError(f"the password {problem}")
    password_hash = hash_password(password)
    try:
        return provisioning.set_password_hash(database_url, user_name, password_hash)
    except SQLAlchemyError as exc:
        raise DatabaseSetupFailed.of(exc) from None


def sqlite_file_missing(database_url: str) -> bool:
    """True when `database_url` names a SQLite database file (not in memory) that does not exist."""
    if not is_sqlite(database_url):
        return False
    file = make_url(normalize_url(database_url)).database
    return bool(file) and file != ":memory:" and not Path(str(file)).is_file()


def migrate_for_seed(database_url: str) -> None:
    """Before `autoliq seed`: the database answers (`DatabaseUnavailable` otherwise) and is migrated
    (`DatabaseVanished`: a SQLite file lost since it was created, never seeded over)."""
    check_database(database_url)
    migrate(database_url)


# Serving (`autoliq serve`): the cli reaches the ASGI app through these, never the api itself.

WORKER_APP_FACTORY = "autoliq.bootstrap:worker_app"
"""The import string of the app factory each worker process calls (`uvicorn ... --factory`)."""


def serving_app(settings: Settings) -> Litestar:
    """The ASGI app of one process serving `settings` (database already prepared)."""
    from autoliq.api.app import create_app

    return create_app(bootstrap(settings, run_migrations=False), announce_shutdown=True, settle_gc=True)


def worker_app() -> Litestar:
    """One worker's app: services over the database named by AUTOLIQ_DATABASE_URL (already migrated).

    `autoliq serve --workers N` prepares the database once (migrations, demo seed), hands its
    settings to the workers through AUTOLIQ_* variables, and lets uvicorn start N processes on one
    port, each calling this factory."""
    return serving_app(Settings.from_env())


def docs_path() -> str:
    """The path of the API's interactive documentation."""
    from autoliq.api.app import DOCS_PATH

    return DOCS_PATH


def desk_path() -> str:
    """The path of the web risk desk."""
    from autoliq.api.routes.desk import DESK_PATH

    return DESK_PATH + "/"


def connection_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options bounding connections (raises the open-file limit first)."""
    from autoliq.api.connection_limits import connection_options as options

    return options(settings)
