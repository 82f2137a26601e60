"""Post-trade risk: settings (`userAccountAutoLiq`), the auto-liq layer, alerts, price triggers, the
session job, and what a status change asks of the risk engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol, TypeVar

from autoliq.domain.auto_liq import Alert, AutoLiqLayer, Level
from autoliq.domain.instruments import ContractSpec
from autoliq.domain.model import RiskStatus
from autoliq.domain.post_trade import AutoLiqSettings

S_contra = TypeVar("S_contra", contravariant=True)


class AutoLiqSettingsStore(Protocol):
    """The post-trade settings (`userAccountAutoLiq`) of one transaction."""

    def auto_liq_settings(
        self, organization_id: int, *, owner_id: int | None = None, ids: Sequence[int] | None = None
    ) -> list[AutoLiqSettings]: ...
    def auto_liq_settings_of(self, account_id: int) -> AutoLiqSettings | None: ...
    def has_auto_liq_settings(self, account_id: int) -> bool:
        """Whether the account has post-trade settings (the order path's cheap check)."""
        ...

    def save_auto_liq_settings(self, settings: AutoLiqSettings, now: datetime) -> None: ...


class AutoLiqLayerStore(Protocol):
    """The auto-liq layer a rule sets on an account (no row: the layer is clear)."""

    def auto_liq_layer(self, account_id: int) -> AutoLiqLayer | None: ...
    def save_auto_liq_layers(self, layers: Sequence[AutoLiqLayer]) -> None:
        """Insert or replace each account's auto-liq layer (at most one per account)."""
        ...

    def clear_auto_liq_layer(self, account_id: int) -> AutoLiqLayer | None:
        """Clear the account's auto-liq layer (and its unlock timer); the layer it had, or None."""
        ...


class AutoLiqStore(AutoLiqSettingsStore, AutoLiqLayerStore, Protocol):
    """Post-trade risk of one transaction: settings, the layer, alerts, price triggers and the
    session job."""

    # -- alerts and price triggers --
    def add_alert(
        self, account_id: int, now: datetime, day: date, rule: str, level: Level, message: str
    ) -> Alert: ...
    def alerts(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        account_id: int | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[Alert]:
        """The organization's alerts (one owner's, one account's) with ids above `after_id`, oldest first."""
        ...

    def candidates(self, contract_id: int, price_ticks: int) -> list[int]:
        """Accounts whose trigger on the contract the price reaches (≤ low or ≥ high), by id."""
        ...

    def session_end_accounts(self) -> list[int]:
        """Accounts the end of a trade date must evaluate: those with settings holding a position
        (their daily figures start again), and those with an `EOD` trailing drawdown (their mark)."""
        ...

    def working_day_orders(self, *, created_before: datetime) -> list[tuple[int, int]]:
        """(order id, account id) of the working Day orders entered before `created_before`."""
        ...

    # -- the session job --
    def session_closed_date(self) -> date | None:
        """The last trade date whose end the session job has processed, or None."""
        ...

    def save_session_closed_date(self, day: date) -> None: ...


class AccountEngine(Protocol[S_contra]):
    """What a change of an account's status asks of the risk engine, over the store `S_contra` the
    engine needs (the SQL store in production; a fake's own in the service tests)."""

    def evaluate(self, store: S_contra, account_id: int, now: datetime, *, act: bool = True) -> None:
        """Evaluate the account's post-trade rules (`act` False: only the mark and the triggers)."""
        ...

    def liquidate(
        self, store: S_contra, account_id: int, contracts: dict[int, ContractSpec], now: datetime
    ) -> None:
        """Cancel the account's working orders and close its positions at `contracts`' prices."""
        ...

    def clear_layer(self, store: S_contra, account_id: int) -> RiskStatus:
        """Clear the account's auto-liq layer (and the liquidate-only it had set); the status after."""
        ...
