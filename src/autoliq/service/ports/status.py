"""An account's risk status and its append-only log (the audit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from autoliq.domain.gate import TradingState
from autoliq.domain.model import RiskStatus, RiskStatusLogEntry
from autoliq.domain.states import Actor, ReasonCode
from autoliq.service.ports.accounts import AccountStore
from autoliq.service.ports.auto_liq import AutoLiqLayerStore, AutoLiqSettingsStore
from autoliq.service.ports.events import EventSink
from autoliq.service.ports.timers import TimerStore


class StatusStore(Protocol):
    """Risk statuses and their log of one transaction."""

    def risk_status(self, account_id: int) -> RiskStatus | None:
        """The account's status; None when it has none stored (the account is as seeded: Normal)."""
        ...

    def trading_state(self, account_id: int) -> TradingState:
        """The order gate's first read: the admin action, the auto-liq layer, the category's halt."""
        ...

    def risk_statuses(
        self, organization_id: int, *, owner_id: int | None = None, ids: Sequence[int] | None = None
    ) -> list[RiskStatus]:
        """The statuses of the organization's accounts (one owner's, those with `ids`), by id."""
        ...

    def save_risk_status(self, status: RiskStatus) -> None: ...
    def append_log(
        self,
        account_id: int,
        timestamp: datetime,
        status: RiskStatus,
        actor: Actor,
        actor_user_id: int | None,
        reason_code: ReasonCode | None,
        reason: str | None,
    ) -> RiskStatusLogEntry:
        """Append a row to the log (never updated nor deleted); the row, with its id."""
        ...

    def log_entries(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        account_ids: Sequence[int] | None = None,
    ) -> list[RiskStatusLogEntry]:
        """The log rows of the organization's accounts (one owner's; rows `ids`; of `account_ids`),
        oldest first."""
        ...


class RiskStatusStore(
    AccountStore, StatusStore, AutoLiqSettingsStore, AutoLiqLayerStore, TimerStore, EventSink, Protocol
):
    """What the risk-status service uses (setadminautoliqaction and its siblings): the accounts,
    their statuses and log, the post-trade settings and layer, timers and events."""
