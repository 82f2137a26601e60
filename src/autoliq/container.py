"""`Services`: the wired set of services the edges reach the domain through.

Built by `autoliq.bootstrap` (the composition root), handed to the api (`create_app`), which imports
this module for the type only, never bootstrap: bootstrap sits above the api (it builds the app for
`autoliq serve`), and the import drawing runs one way (cli -> bootstrap -> api -> container ->
service, adapters). The fields are the concrete classes: the api calls what they offer (a unit of
work's `read`/`drain`, the publisher's `add_listener`, the readiness probe) and import-linter checks
that the api reaches the adapters only through this module (pyproject's [tool.importlinter])."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import Engine

from autoliq.adapters.publisher import InMemoryPublisher
from autoliq.adapters.sql.outbox import SOLO_POLL_SECONDS, WORKER_POLL_SECONDS, OutboxRelay, loop_deliverer
from autoliq.adapters.sql.readiness import ReadinessProbe
from autoliq.adapters.sql.unit_of_work import UnitOfWork
from autoliq.config import Settings
from autoliq.domain.rate_limits import RateLimitProfile
from autoliq.service.auth import AuthService
from autoliq.service.auto_liq_settings import AutoLiqSettingsService
from autoliq.service.clock import Clock
from autoliq.service.demo_balance import DemoBalanceService
from autoliq.service.desk import DeskViews
from autoliq.service.dry_run import DryRunService
from autoliq.service.linked_service import LinkedOrderService
from autoliq.service.market import MarketData
from autoliq.service.orders import TradingService
from autoliq.service.ports import Store
from autoliq.service.position_limits import PositionLimitService
from autoliq.service.risk_admin import RiskAdminService
from autoliq.service.risk_status import RiskService
from autoliq.service.sandbox import SandboxService
from autoliq.service.sandbox_clock import ClockService
from autoliq.service.scheduler import Scheduler
from autoliq.service.views import CashViews, TradingViews, Views
from autoliq.service.webhooks import WebhookDeliverer, WebhookService
from autoliq.telemetry.metrics_share import SharedMetrics

__all__ = ["Services", "relay_poll_seconds"]


def relay_poll_seconds(settings: Settings) -> float:
    """SQLite: how often the outbox relay reads the outbox (settings.outbox_poll_seconds, else 0.1 s
    in a worker of `autoliq serve --workers N`, whose siblings write all the time, and 1 s in a single
    process, where only another server on the same file would write other events)."""
    if settings.outbox_poll_seconds is not None:
        return settings.outbox_poll_seconds
    return WORKER_POLL_SECONDS if settings.metrics_dir else SOLO_POLL_SECONDS


@dataclass
class Services:
    """Everything the api reaches the domain through (built by `autoliq.bootstrap.bootstrap`)."""

    settings: Settings
    clock: Clock
    publisher: InMemoryPublisher
    uow: UnitOfWork
    auth: AuthService
    risk: RiskService[Store]
    views: Views
    market: MarketData
    trading: TradingService
    linked: LinkedOrderService
    trading_views: TradingViews
    sandbox_clock: ClockService
    auto_liq: AutoLiqSettingsService
    limits: PositionLimitService
    demo_balance: DemoBalanceService
    risk_admin: RiskAdminService
    scheduler: Scheduler
    cash_views: CashViews
    write_engine: Engine
    read_engine: Engine
    readiness: ReadinessProbe
    sandbox: SandboxService
    dry_run: DryRunService
    desk: DeskViews
    webhooks: WebhookService
    webhook_deliverer: WebhookDeliverer

    rate_limits: RateLimitProfile | None = None
    """The rate-limit profile the app enforces (settings.rate_limits), None when off."""
    relay: OutboxRelay | None = None
    shared_metrics: SharedMetrics | None = None
    """With several workers (settings.metrics_dir): this worker's metrics published for the others,
    and theirs read for a scrape; None in a single process."""

    def start(self) -> None:
        """Start the unit of work (on PostgreSQL its writer and reader threads)."""
        self.uow.start()

    def start_relay(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver the events other workers commit to this process's publisher, on `loop`."""
        if self.relay is None:
            deliver = loop_deliverer(loop, self.publisher.publish)
            self.relay = OutboxRelay(
                self.read_engine, self.uow.origin, deliver, poll_interval=relay_poll_seconds(self.settings)
            )
            # Before it reads where to start: the ids written after that fill its gaps.
            self.uow.outbox_written = self.relay.wrote
            self.relay.start()
            # A clock move committed after start-up read the offset, and before the relay listened.
            self.sandbox_clock.follow_stored()

    def stop_relay(self) -> None:
        if self.relay is not None:
            self.uow.outbox_written = None
            self.relay.stop()
            self.relay = None
            self.sandbox_clock.stop_following()

    def stop(self) -> None:
        """Flush queued writes and release connections."""
        self.uow.stop()
        self.auth.hashing.shutdown()
        self.write_engine.dispose()
        self.read_engine.dispose()
