"""Pre-trade limits: `userAccountPositionLimit` rows, their `userAccountRiskParameter` rows and the
log of their changes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from autoliq.domain.position_limits import PositionLimit, RiskParameter


class LimitStore(Protocol):
    """The limit rows of one transaction."""

    def position_limits(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        account_ids: Sequence[int] | None = None,
    ) -> list[PositionLimit]:
        """Rows of the organization's accounts (of one owner's; of `ids`; of `account_ids`), by id."""
        ...

    def risk_parameters(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        limit_ids: Sequence[int] | None = None,
    ) -> list[RiskParameter]:
        """Risk parameters of the organization's accounts (of one owner's; of `ids`; under the
        position limits `limit_ids`), by id."""
        ...

    def count_position_limits(self, account_id: int) -> int: ...
    def count_risk_parameters(self, position_limit_id: int) -> int: ...
    def save_position_limit(self, limit: PositionLimit, now: datetime) -> PositionLimit:
        """Insert (`id` 0) or replace the row; the row as stored (with its id)."""
        ...

    def save_risk_parameter(self, parameter: RiskParameter, account_id: int, now: datetime) -> RiskParameter:
        """Insert (`id` 0) or replace the parameter of account `account_id`'s row; as stored."""
        ...

    def delete_position_limit(self, limit_id: int) -> list[int]:
        """Delete the row and its risk parameters; the deleted parameters' ids."""
        ...

    def delete_risk_parameter(self, parameter_id: int) -> None: ...
    def append_limit_log(
        self,
        account_id: int,
        now: datetime,
        entity_type: str,
        entity_id: int,
        change: str,
        actor_user_id: int | None,
        entity: str | None,
    ) -> None:
        """A log row of one change (`entity`: the row as written, JSON; None for a deletion)."""
        ...

    def account_limits(self, account_id: int) -> tuple[list[PositionLimit], list[RiskParameter]]:
        """The account's active rows and their risk parameters (the gate's read)."""
        ...

    def account_contracts(self, account_id: int) -> list[int]:
        """The contracts the account holds a position or works an order in (the gate's read of a
        limited account's other contracts)."""
        ...
