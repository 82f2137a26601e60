"""`Store`: every port of one transaction together, as the SQL store implements them.

Services are typed with the small ports they use (`service/ports/*.py`); `Store` is for the code
that needs them all (the trading path and the risk engine, which reach into every part)."""

from __future__ import annotations

from typing import Protocol

from autoliq.service.ports.accounts import AccountStore
from autoliq.service.ports.admin import AdminStore
from autoliq.service.ports.auto_liq import AutoLiqStore
from autoliq.service.ports.clock import ClockStore
from autoliq.service.ports.desk import DeskStore
from autoliq.service.ports.events import EventSink
from autoliq.service.ports.limits import LimitStore
from autoliq.service.ports.liquidation import LiquidationStore
from autoliq.service.ports.market import MarketStore
from autoliq.service.ports.sandbox import SandboxStore
from autoliq.service.ports.sessions import SessionStore
from autoliq.service.ports.status import StatusStore
from autoliq.service.ports.timers import TimerStore
from autoliq.service.ports.trading import LinkedStore, TradingStore
from autoliq.service.ports.webhooks import WebhookStore


class Store(
    AccountStore,
    SessionStore,
    StatusStore,
    TradingStore,
    LinkedStore,
    LiquidationStore,
    MarketStore,
    AutoLiqStore,
    TimerStore,
    ClockStore,
    AdminStore,
    SandboxStore,
    LimitStore,
    DeskStore,
    WebhookStore,
    EventSink,
    Protocol,
):
    """The repositories of one transaction, and the events it will publish after commit."""
