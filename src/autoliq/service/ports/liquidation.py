"""The liquidation's port: an account's state read once, and set-based writes (one statement each,
however many orders, strategies and positions the account has)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from autoliq.domain.accounting import PositionState
from autoliq.domain.instruments import ContractSpec
from autoliq.domain.money import CashState
from autoliq.domain.states import Side


@dataclass(frozen=True, slots=True)
class HeldPosition:
    """One open position of the account, with its contract's last price (None: no price yet)."""

    contract: ContractSpec
    state: PositionState
    last: Decimal | None


@dataclass(frozen=True, slots=True)
class LiquidationState:
    """What a liquidation reads of an account, in one statement: its open positions in known
    contracts (by contract id), its cash as of the trade date, whether it has post-trade rules,
    running strategies and live (working or suspended) orders."""

    positions: tuple[HeldPosition, ...]
    cash: CashState
    has_settings: bool
    strategies: bool = True
    orders: bool = True


@dataclass(frozen=True, slots=True)
class Closing:
    """One closing order of a liquidation: filled at `price` (with its position after the fill), or
    left working without a price (`price` and `position` None)."""

    contract: ContractSpec
    side: Side
    qty: int
    price: Decimal | None
    position: PositionState | None


class LiquidationStore(Protocol):
    """Set-based reads and writes of the liquidation engine (one transaction)."""

    def liquidation_state(self, account_id: int, day: date, *, live_work: bool = True) -> LiquidationState:
        """The account's open positions (oldest contract id first) with their last prices, its cash
        rolled to trade date `day`, and whether it has post-trade settings, running strategies and
        live orders: one read. Without `live_work` those three flags are not read (all False): an
        evaluation needs only the numbers."""
        ...

    def end_live_work(
        self, account_id: int, now: datetime, message: str, *, strategies: bool = True, orders: bool = True
    ) -> tuple[list[int], list[int]]:
        """Interrupt the account's running strategies (with `message`; with `strategies`) and cancel
        its working and suspended orders (with `orders`): (strategy ids, order ids), each ascending."""
        ...

    def book_closings(
        self, account_id: int, closings: Sequence[Closing], cash: CashState | None, now: datetime, day: date
    ) -> list[tuple[int, int | None]]:
        """Store the closing orders (admin market GTC orders), the fills and positions of those with a
        price, and `cash` when given: (order id, fill id or None) per closing, in their order."""
        ...
