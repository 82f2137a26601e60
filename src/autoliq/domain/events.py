"""Domain events: past-tense facts, published after the transaction that made them commits."""

from __future__ import annotations

from dataclasses import dataclass

from autoliq.domain.model import RiskStatus, RiskStatusLogEntry


@dataclass(frozen=True, slots=True)
class RiskStatusChanged:
    """An account's risk status changed and its log row was written."""

    organization_id: int
    account_id: int
    owner_user_id: int
    status: RiskStatus
    log_entry: RiskStatusLogEntry


Event = RiskStatusChanged
