"""The ports the service layer needs, small and one per part; the adapters implement them (the SQL
store all of them, `tests/fakes.py` those the service tests use). Import from here."""

from autoliq.service.ports.accounts import AccountStore
from autoliq.service.ports.admin import AdminStore
from autoliq.service.ports.auto_liq import (
    AccountEngine,
    AutoLiqLayerStore,
    AutoLiqSettingsStore,
    AutoLiqStore,
)
from autoliq.service.ports.clock import ClockStore
from autoliq.service.ports.events import EventSink
from autoliq.service.ports.limits import LimitStore
from autoliq.service.ports.liquidation import Closing, HeldPosition, LiquidationState, LiquidationStore
from autoliq.service.ports.market import MarketStore
from autoliq.service.ports.sandbox import SandboxStore
from autoliq.service.ports.sessions import AuthSession, AuthStore, SessionStore
from autoliq.service.ports.status import RiskStatusStore, StatusStore
from autoliq.service.ports.store import Store
from autoliq.service.ports.timers import TimerStore
from autoliq.service.ports.trading import LinkedStore, TradingStore
from autoliq.service.ports.unit_of_work import Publisher, T, UnitOfWork, UnitOfWorkOf

__all__ = [
    "AccountEngine",
    "AccountStore",
    "AdminStore",
    "AuthSession",
    "AuthStore",
    "AutoLiqLayerStore",
    "AutoLiqSettingsStore",
    "AutoLiqStore",
    "ClockStore",
    "Closing",
    "EventSink",
    "HeldPosition",
    "LimitStore",
    "LinkedStore",
    "LiquidationState",
    "LiquidationStore",
    "MarketStore",
    "Publisher",
    "RiskStatusStore",
    "SandboxStore",
    "SessionStore",
    "StatusStore",
    "Store",
    "T",
    "TimerStore",
    "TradingStore",
    "UnitOfWork",
    "UnitOfWorkOf",
]
