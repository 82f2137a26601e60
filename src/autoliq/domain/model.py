"""Entities of the risk domain as plain immutable values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from autoliq.domain.states import Actor, AdminAction, ReasonCode, Role


@dataclass(frozen=True, slots=True)
class Organization:
    """A firm: the unit of isolation. Nothing crosses between organizations."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class User:
    """A person or program that logs in; belongs to exactly one organization."""

    id: int
    organization_id: int
    name: str
    role: Role
    full_name: str
    email: str

    @property
    def is_admin(self) -> bool:
        """True for an organization administrator."""
        return self.role is Role.ADMIN


@dataclass(frozen=True, slots=True)
class Account:
    """A trading account, owned by one user of one organization."""

    id: int
    organization_id: int
    user_id: int
    name: str
    created: datetime
    archived: bool = False
    risk_category_id: int | None = None
    """The risk category it trades under (its organization's default at creation); may change."""


@dataclass(frozen=True, slots=True)
class RiskStatus:
    """An account's `accountRiskStatus`; its id is the account id."""

    id: int
    admin_action: AdminAction = AdminAction.NORMAL
    admin_timestamp: datetime | None = None
    liquidate_only: datetime | None = None
    user_triggered_liq_only: bool = False
    max_net_liq: float | None = None
    min_net_liq: float | None = None

    def with_admin_action(self, action: AdminAction, now: datetime) -> RiskStatus:
        """The status after an admin sets `action` at `now` (order-path effects live in the gate)."""
        liquidate_only = self.liquidate_only
        user_triggered = self.user_triggered_liq_only
        if action is AdminAction.NORMAL:
            # Normal clears every admin restriction, liquidate-only included.
            liquidate_only = None
            user_triggered = False
        elif action is AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY and liquidate_only is None:
            # The time liquidate-only mode began; a repeated call keeps the first time.
            liquidate_only = now
            user_triggered = False
        # Built directly: dataclasses.replace is several times slower, and this runs on every write.
        return RiskStatus(
            self.id,
            action,
            now,
            liquidate_only,
            user_triggered,
            self.max_net_liq,
            self.min_net_liq,
        )


@dataclass(frozen=True, slots=True)
class RiskStatusLogEntry:
    """One row of the append-only `accountRiskStatusLog`: the status as it became, and why."""

    id: int
    account_id: int
    timestamp: datetime
    status: RiskStatus
    actor: Actor
    actor_user_id: int | None
    reason_code: ReasonCode | None
    reason: str | None
