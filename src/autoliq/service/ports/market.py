"""Contract prices and their history (market data, quotes, charts)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from autoliq.domain.market_data import PriceTick


class MarketStore(Protocol):
    """Prices and price history of one transaction."""

    # -- market data --
    def contract_prices(self) -> list[tuple[int, int, datetime]]:
        """(contract id, price in ticks, updated) of every priced contract."""
        ...

    def set_contract_price(self, contract_id: int, price_ticks: int, when: datetime) -> None: ...

    # -- price history (md quotes and charts) --
    def add_price_tick(self, contract_id: int, at: datetime, price_ticks: int, volume: int) -> int:
        """Record a price change (and the contracts it filled); its id."""
        ...

    def price_ticks(
        self,
        contract_id: int,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        max_id: int | None = None,
        limit: int,
    ) -> list[PriceTick]:
        """Recorded prices with `since <= at <= until` (and `id <= max_id`), newest first."""
        ...

    def price_before(self, contract_id: int, before: datetime) -> PriceTick | None:
        """The last recorded price strictly before `before`."""
        ...

    def price_range(self, contract_id: int, since: datetime) -> tuple[int, int, int] | None:
        """(first, highest, lowest) price in ticks recorded at or after `since`, or None."""
        ...

    def fill_volume(self, contract_id: int, since: datetime, until: datetime) -> int:
        """Contracts filled on the contract (every account) with `since <= timestamp <= until`."""
        ...

    def fills_between(
        self, contract_id: int, since: datetime, until: datetime, limit: int
    ) -> list[tuple[datetime, str, int, int]]:
        """(timestamp, action, qty, price in ticks) of the contract's fills in [since, until), oldest
        first."""
        ...

    def fill_volume_by_price(
        self, contract_id: int, since: datetime, until: datetime
    ) -> list[tuple[int, int]]:
        """(price in ticks, contracts filled) of the contract's fills in [since, until)."""
        ...

    def open_interest(self, contract_id: int) -> int:
        """The sum of the open positions' absolute net sizes on the contract."""
        ...

    def prune_price_history(self, before: datetime, limit: int) -> int:
        """Delete at most `limit` recorded prices older than `before`; how many."""
        ...
