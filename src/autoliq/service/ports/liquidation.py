"""The liquidation's and the evaluation's port: an account's state read once, and set-based writes
(one statement each, however many orders, strategies and positions the account has); the
evaluation of many accounts at once (a price tick's) reads its accounts in a few statements and
writes each table once for all of them (`risk_engine.evaluate_accounts`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from autoliq.domain.accounting import PositionState
from autoliq.domain.auto_liq import Alert, AutoLiqLayer, Level
from autoliq.domain.instruments import ContractSpec
from autoliq.domain.model import Account, RiskStatus, RiskStatusLogEntry
from autoliq.domain.money import CashState
from autoliq.domain.post_trade import AutoLiqSettings
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


@dataclass(frozen=True, slots=True)
class Book:
    """One account's closing orders to store (`book_closings`), and its cash after them (None:
    unchanged)."""

    account_id: int
    closings: Sequence[Closing]
    cash: CashState | None


@dataclass(frozen=True, slots=True)
class EvaluationInput:
    """What an evaluation of the account's post-trade rules reads first: the account, its settings,
    risk status (None: no row yet), auto-liq layer, and its numbers (`LiquidationState` without the
    live-work flags), and its latest equity point (net liquidation value, floor) in cents, if any."""

    account: Account
    settings: AutoLiqSettings
    status: RiskStatus | None
    layer: AutoLiqLayer | None
    numbers: LiquidationState
    equity: tuple[int, int | None] | None = None


@dataclass(frozen=True, slots=True)
class SystemLog:
    """A log row the risk engine writes (actor `System`, no reason code)."""

    account_id: int
    status: RiskStatus
    reason: str


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert to store."""

    account_id: int
    rule: str
    level: Level
    message: str


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

    # -- many accounts at once (a price tick's evaluations): each a statement or an executemany --

    def evaluation_inputs(self, account_ids: Sequence[int], day: date) -> dict[int, EvaluationInput]:
        """What the evaluation reads of each of the accounts that has post-trade settings (the
        others are left out), their cash rolled to trade date `day`: two statements."""
        ...

    def accounts_numbers(self, account_ids: Sequence[int], day: date) -> dict[int, LiquidationState]:
        """Each account's open positions with their last prices and its cash rolled to trade date
        `day` (`liquidation_state` without the live work), in one statement."""
        ...

    def alerted_rules_of(self, account_ids: Sequence[int], day: date) -> dict[int, frozenset[str]]:
        """The rules that raised an alert for each account on trade date `day` (accounts with none
        are left out)."""
        ...

    def end_live_work_of(
        self, account_ids: Sequence[int], now: datetime, message: str
    ) -> dict[int, tuple[list[int], list[int]]]:
        """`end_live_work` of many accounts: account id -> (strategy ids, order ids), each ascending
        (accounts with nothing to end are left out)."""
        ...

    def book_closings_of(
        self, books: Sequence[Book], now: datetime, day: date
    ) -> list[list[tuple[int, int | None]]]:
        """`book_closings` of many accounts: per book, in their order, (order id, fill id or None)
        per closing. Ids ascend in the order of the books, then of their closings."""
        ...

    def save_risk_statuses(self, statuses: Sequence[RiskStatus]) -> None:
        """Insert or update each account's status row (at most one per account)."""
        ...

    def replace_unlock_timers(self, timers: Mapping[int, tuple[datetime | None, datetime]]) -> None:
        """For each account (id -> (due at or None, set at)): delete its auto-liq unlock timers and,
        with a due time, add one."""
        ...

    def append_system_logs(self, rows: Sequence[SystemLog], now: datetime) -> list[RiskStatusLogEntry]:
        """Insert the log rows at `now`, in their order (ids ascending): their entries."""
        ...

    def add_alerts(self, alerts: Sequence[NewAlert], now: datetime, day: date) -> list[Alert]:
        """Insert the alerts at `now` on trade date `day`, in their order (ids ascending)."""
        ...

    def save_triggers_of(self, triggers: Mapping[int, dict[int, tuple[int | None, int | None]]]) -> None:
        """Replace each account's price triggers (account id -> (low, high) ticks by contract id; its
        other positions' triggers cleared)."""
        ...
