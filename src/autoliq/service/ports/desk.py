"""The risk desk's reads (accounts page by page, with their state) and the equity history the risk
engine keeps for the desk's equity curve."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class DeskQuery:
    """Which accounts, in what order, which page (bounded by the route before it gets here)."""

    organization_id: int
    owner_id: int | None
    """Only this user's accounts (a trader's desk); None: the whole organization."""
    offset: int = 0
    limit: int = 100
    name_like: str | None = None
    """A SQL LIKE pattern over the lowercased name, `\\` escaping (see `service.desk.name_pattern`)."""
    admin_action: str | None = None
    auto_liq: str | None = None
    """`Normal` (no auto-liq layer), `LiquidateOnly` or `Locked`."""
    ids: Sequence[int] | None = None
    sort: str = "name"
    descending: bool = False


@dataclass(frozen=True, slots=True)
class DeskRow:
    """An account as the desk lists it, before its live figures are computed."""

    id: int
    name: str
    owner_id: int
    owner: str
    archived: bool
    admin_action: str
    admin_timestamp: datetime | None
    min_net_liq: float | None
    layer_state: str | None
    layer_rule: str | None
    layer_since: datetime | None
    layer_until: datetime | None


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """An account's net liquidation value and trailing-drawdown floor at a time, in cents."""

    account_id: int
    at: datetime
    net_liq_cents: int
    floor_cents: int | None


class DeskStore(Protocol):
    """The desk's reads and the equity history of one transaction."""

    def desk_accounts(self, query: DeskQuery) -> tuple[int, list[DeskRow]]:
        """How many accounts match, and the page of them asked for."""
        ...

    def add_equity_points(self, points: Sequence[EquityPoint]) -> None:
        """Append points (one statement)."""
        ...

    def equity_points(self, account_id: int, limit: int) -> list[EquityPoint]:
        """An account's latest `limit` points, oldest first."""
        ...

    def prune_equity_history(self, before: datetime, limit: int) -> int:
        """Delete at most `limit` points older than `before`; how many were."""
        ...
