"""The storage the administrative siblings need (risk categories, notes, demo resets)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Protocol

from autoliq.domain.money import CashState
from autoliq.domain.risk_admin import PastFill, RiskCategory


class AdminStore(Protocol):
    """Risk categories, account notes and demo-account resets of one transaction."""

    # -- account notes --
    def account_notes(self, account_id: int) -> str | None:
        """The account's notes, or None."""
        ...

    def set_account_notes(self, account_id: int, notes: str | None) -> None: ...

    # -- risk categories --
    def risk_categories(
        self, organization_id: int, *, ids: Sequence[int] | None = None
    ) -> list[RiskCategory]:
        """The organization's categories (those with `ids`), by id."""
        ...

    def add_risk_category(self, organization_id: int, name: str, now: datetime) -> RiskCategory | None:
        """A new, running category; None when the organization has one with that name already."""
        ...

    def set_risk_category_halted(self, category_id: int, halted: bool, now: datetime) -> None: ...
    def switch_risk_category(self, account_ids: Sequence[int], category_id: int) -> int:
        """Put the accounts in the category; how many moved (those in it already are skipped)."""
        ...

    # -- demo-account resets --
    def fills_before(self, account_ids: Sequence[int], day: date) -> dict[int, list[PastFill]]:
        """Each account's fills of trade dates before `day`, in booking order (absent: none)."""
        ...

    def position_contracts(self, account_ids: Sequence[int]) -> dict[int, list[int]]:
        """The contract ids of each account's position rows, flat ones included (absent: none)."""
        ...

    def cash_changes_before(self, account_ids: Sequence[int], before: datetime) -> dict[int, int]:
        """Each account's sum of demo cash changes made before `before`, in cents (absent: none)."""
        ...

    def working_orders_of(self, account_ids: Sequence[int]) -> dict[int, list[int]]:
        """The ids of each account's working and suspended orders, oldest first (absent: none)."""
        ...

    def with_auto_liq_layer(self, account_ids: Sequence[int]) -> set[int]:
        """Those of the accounts whose auto-liq layer is set."""
        ...

    def with_post_trade_settings(self, account_ids: Sequence[int]) -> set[int]:
        """Those of the accounts that have post-trade settings (`userAccountAutoLiq`)."""
        ...

    def save_cash_states(self, states: Mapping[int, CashState], now: datetime) -> None:
        """Replace the accounts' cash balances (by account id; each state's trade date must be set)."""
        ...
