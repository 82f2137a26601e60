"""Helpers shared by tests: direct database snapshots, app clients with other settings."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import func, select

from autoliq.adapters.publisher import InMemoryPublisher
from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.schema import account_risk_status, account_risk_status_log
from autoliq.bootstrap import bootstrap, seed_organization
from autoliq.domain.events import Event
from autoliq.service.clock import Clock
from tests.conftest import ADMIN_PW, app_for, make_settings

SET_ACTION = "/v1/accountRiskStatus/setadminautoliqaction"
PLACE_ORDER = "/v1/order/placeorder"


def event_queue(publisher: InMemoryPublisher) -> asyncio.Queue[Event]:
    """A queue that receives every event `publisher` publishes from now on, in order."""
    queue: asyncio.Queue[Event] = asyncio.Queue()
    publisher.add_listener(lambda events: [queue.put_nowait(event) for event in events])
    return queue


def current_revision(url: str) -> str | None:
    """The database's migration revision, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    engine = create_admin_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def db_snapshot(database_url: str) -> tuple[dict[int, tuple[Any, ...]], int]:
    """Every risk status row and the number of log rows, read straight from the database."""
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as conn:
            statuses = {row[0]: tuple(row) for row in conn.execute(select(account_risk_status))}
            log_rows = conn.execute(select(func.count()).select_from(account_risk_status_log)).scalar_one()
        return statuses, int(log_rows)
    finally:
        engine.dispose()


@contextmanager
def app_client(database_url: str, clock: Clock, **settings: Any) -> Iterator[TestClient[Any]]:
    """A client of an app over an already seeded database, with other settings."""
    services = bootstrap(make_settings(database_url, **settings), clock=clock, run_migrations=False)
    with TestClient(app=app_for(services)) as client:
        yield client


def action_body(
    account_id: Any, action: Any = "LockTradingImmediately", code: Any = "Other", reason: Any = "test"
) -> dict[str, Any]:
    """A setadminautoliqaction body."""
    return {
        "accountId": account_id,
        "adminAction": action,
        "adminActionReasonCode": code,
        "adminActionReason": reason,
    }


def full_auto_liq(**overrides: Any) -> dict[str, Any]:
    """A `UserAccountAutoLiq` body with every limit set (wire names), changed by `overrides`."""
    body: dict[str, Any] = {
        "changesLocked": False, "marginPercentageAlert": 80, "dailyLossPercentageAlert": 2.5,
        "dailyLossAlert": 800, "marginPercentageLiqOnly": 90, "dailyLossPercentageLiqOnly": 3,
        "dailyLossLiqOnly": 900, "marginPercentageAutoLiq": 100, "dailyLossPercentageAutoLiq": 4,
        "dailyLossAutoLiq": 1000, "weeklyLossAutoLiq": 2500, "flattenTimestamp": "2026-11-24T21:55:00Z",
        "trailingMaxDrawdown": 2000, "trailingMaxDrawdownLimit": 50000, "trailingMaxDrawdownMode": "EOD",
        "dailyProfitAutoLiq": 3000, "weeklyProfitAutoLiq": 6000, "doNotUnlock": True,
    }  # fmt: skip
    return {**body, **overrides}


TRADER2_PW = "trader2-password"


def add_second_demo_trader(database_url: str, accounts: int) -> None:
    """`trader2` (password TRADER2_PW), a second trader of the demo organization, owning `accounts` new
    accounts."""
    seed_organization(
        database_url,
        "Demo Prop Firm",
        "admin",
        ADMIN_PW,
        accounts,
        owner_name="trader2",
        owner_password=TRADER2_PW,
    )


def market_order(
    client: TestClient[Any], headers: dict[str, str], account_id: int, action: str, qty: Any, **extra: Any
) -> Any:
    """A market placeorder for ESZ6 (fields in `extra` added or replaced); its 200 answer's body."""
    body = {
        "accountId": account_id,
        "action": action,
        "symbol": "ESZ6",
        "orderQty": qty,
        "orderType": "Market",
    }
    r = client.post(PLACE_ORDER, json={**body, **extra}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


HEAD_REVISION = "0020_webhooks"
"""The last migration: what a migrated database is at (one place to move when a migration is added)."""

# What the official Tradovate examples read of market data (MARKET-DATA.md §5): every quote carries
# all nine entries; every bar all eleven fields.
QUOTE_KEYS = {
    "Bid",
    "Offer",
    "Trade",
    "TotalTradeVolume",
    "OpeningPrice",
    "HighPrice",
    "LowPrice",
    "SettlementPrice",
    "OpenInterest",
}
BAR_FIELDS = {
    "timestamp",
    "open",
    "high",
    "low",
    "close",
    "upVolume",
    "downVolume",
    "upTicks",
    "downTicks",
    "bidVolume",
    "offerVolume",
}
