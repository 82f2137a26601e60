"""Abstract ports the service layer needs; the adapters implement them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from autoliq.domain.accounting import PositionState
from autoliq.domain.auto_liq import Alert, AutoLiqLayer, Level
from autoliq.domain.events import Event
from autoliq.domain.gate import TradingState
from autoliq.domain.instruments import ContractSpec
from autoliq.domain.linked import OrderStrategy, StrategyLink, StrategyStatus
from autoliq.domain.market_data import PriceTick
from autoliq.domain.model import Account, Organization, RiskStatus, RiskStatusLogEntry, User
from autoliq.domain.money import CashState
from autoliq.domain.orders import Order, OrderLinks, OrderType, OrdStatus, TimeInForce
from autoliq.domain.post_trade import AutoLiqSettings
from autoliq.domain.states import Actor, AdminAction, ReasonCode, Side
from autoliq.domain.timers import Timer, TimerKind
from autoliq.service.admin_ports import AdminStore
from autoliq.service.liquidation_port import LiquidationStore
from autoliq.service.sandbox_ports import SandboxStore

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AuthSession:
    """A live login: the token's session."""

    id: int
    user_id: int
    expires: datetime


class TradingStore(Protocol):
    """Orders, fills, positions and cash of one transaction (prices as Decimal, money in cents)."""

    def last_price(self, contract: ContractSpec) -> Decimal | None: ...
    def working_orders(self, contract: ContractSpec, account_id: int | None = None) -> list[Order]: ...
    def order_summary(self, order_id: int) -> tuple[int, OrdStatus, int] | None: ...
    def modify_order(
        self,
        order_id: int,
        contract: ContractSpec,
        order_type: OrderType,
        qty: int,
        time_in_force: TimeInForce,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
        now: datetime,
    ) -> None: ...
    def position_key(self, position_id: int) -> tuple[int, int] | None: ...
    def insert_order(
        self,
        account_id: int,
        contract: ContractSpec,
        side: Side,
        order_type: OrderType,
        qty: int,
        time_in_force: TimeInForce,
        status: OrdStatus,
        admin: bool,
        now: datetime,
        *,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        fill_price: Decimal | None = None,
        triggered: bool = False,
        cl_ord_id: str | None = None,
        links: OrderLinks | None = None,
    ) -> int: ...
    def set_order_status(
        self,
        order_id: int,
        status: OrdStatus,
        now: datetime,
        *,
        fill_price: Decimal | None = None,
        tick: Decimal | None = None,
        triggered: bool | None = None,
    ) -> None: ...
    def insert_fill(
        self,
        order_id: int,
        account_id: int,
        contract: ContractSpec,
        side: Side,
        qty: int,
        price: Decimal,
        now: datetime,
        day: date,
    ) -> int: ...
    def position(self, account_id: int, contract: ContractSpec) -> PositionState: ...
    def save_position(
        self, account_id: int, contract: ContractSpec, state: PositionState, now: datetime, day: date
    ) -> None: ...
    def open_positions(self, account_id: int) -> list[tuple[int, str]]: ...
    def cash(self, account_id: int, day: date) -> CashState: ...
    def add_realized(self, account_id: int, cents: int, now: datetime, day: date) -> None: ...
    def adjust_cash(self, account_id: int, cents: int, now: datetime, day: date) -> None: ...
    def insert_cash_change(
        self, account_id: int, cents: int, comment: str, by: User, now: datetime
    ) -> None: ...
    def cash_changes_since(self, account_id: int, since: datetime, *, by_admin: bool) -> int: ...
    def cash_rows(
        self, account_ids: Sequence[int]
    ) -> dict[int, tuple[int, int, int, int, datetime, date]]: ...
    def trading_rows(
        self,
        table: str,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        account_ids: Sequence[int] | None = None,
    ) -> list[Any]:
        """Rows of orders (`order`), fills or positions visible in the organization or to the owner."""
        ...


class LinkedStore(Protocol):
    """OCO pairs, OSO brackets and order strategies of one transaction."""

    def link_oco(self, first: int, second: int) -> None:
        """Tie two stored orders into an OCO pair (each names the other)."""
        ...

    def children(self, parent_id: int, contract: ContractSpec) -> list[Order]:
        """The brackets of entry `parent_id`, oldest first."""
        ...

    def order(self, order_id: int, contract: ContractSpec) -> Order | None:
        """One order of `contract` by id, or None."""
        ...

    def set_order_offset(self, order_id: int, contract: ContractSpec, offset: Decimal) -> None:
        """A suspended strategy bracket's new distance from its entry's fill price."""
        ...

    def order_links(self, order_id: int) -> tuple[int | None, bool, int | None] | None:
        """(oco id, has children, strategy id) of an order, or None."""
        ...

    def activate_order(
        self,
        order_id: int,
        contract: ContractSpec,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
        now: datetime,
    ) -> None:
        """A suspended bracket starts working at these prices."""
        ...

    def live_orders_of_account(
        self, account_id: int, contract_id: int | None = None
    ) -> list[tuple[int, int]]:
        """(order id, contract id) of the account's working and suspended orders (in one contract)."""
        ...

    def insert_strategy(
        self,
        account_id: int,
        contract_id: int,
        type_id: int,
        side: Side,
        params: str,
        now: datetime,
        *,
        initiator_id: int | None,
        uuid: str | None,
        custom_tag50: str | None,
    ) -> int: ...
    def set_strategy_status(
        self, strategy_id: int, status: StrategyStatus, now: datetime, failure_message: str | None = None
    ) -> None: ...
    def strategy(self, strategy_id: int) -> OrderStrategy | None: ...
    def running_strategies(self, account_id: int) -> list[int]: ...
    def strategy_live_orders(self, strategy_id: int) -> int: ...
    def strategy_rows(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        account_ids: Sequence[int] | None = None,
    ) -> list[OrderStrategy]: ...
    def strategy_link_rows(
        self,
        organization_id: int | None,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        strategy_ids: Sequence[int] | None = None,
    ) -> list[StrategyLink]: ...


class Store(TradingStore, LinkedStore, LiquidationStore, AdminStore, SandboxStore, Protocol):
    """The repositories of one transaction, and the events it will publish after commit."""

    # -- organizations and users --
    def organization(self, organization_id: int) -> Organization | None: ...
    def organization_by_name(self, name: str) -> Organization | None: ...
    def user(self, user_id: int) -> User | None: ...
    def user_by_name(self, name: str) -> tuple[User, str] | None:
        """The user and its password hash."""
        ...

    def users_created(self, organization_id: int, ids: Sequence[int] | None) -> list[tuple[User, datetime]]:
        """The organization's users among `ids` (every one: None), by id, each with the time it was
        created."""
        ...

    def replace_password_hash(self, user_id: int, old: str, new: str) -> None:
        """Store `new` as the user's password hash if it is still `old` (a rehash never overwrites
        a password changed meanwhile)."""
        ...

    # -- accounts --
    def account(self, account_id: int) -> Account | None: ...
    def accounts(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        name: str | None = None,
    ) -> list[Account]: ...

    # -- risk status --
    def risk_status(self, account_id: int) -> RiskStatus | None: ...
    def trading_state(self, account_id: int) -> TradingState:
        """The order gate's first read: the admin action, the auto-liq layer, the category's halt."""
        ...

    def risk_statuses(
        self, organization_id: int, *, owner_id: int | None = None, ids: Sequence[int] | None = None
    ) -> list[RiskStatus]: ...
    def save_risk_status(self, status: RiskStatus) -> None: ...

    # -- risk status log --
    def append_log(
        self,
        account_id: int,
        timestamp: datetime,
        status: RiskStatus,
        actor: Actor,
        actor_user_id: int | None,
        reason_code: ReasonCode | None,
        reason: str | None,
    ) -> RiskStatusLogEntry: ...
    def log_entries(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        account_ids: Sequence[int] | None = None,
    ) -> list[RiskStatusLogEntry]: ...

    # -- sessions --
    def session_by_token_hash(
        self, token_hash: str, now: datetime, *, market_data: bool = False
    ) -> AuthSession | None:
        """The live session of an access token's hash (or, with `market_data`, of its
        mdAccessToken's hash too)."""
        ...

    def open_session(
        self, user_id: int, token_hash: str, now: datetime, expires: datetime, md_token_hash: str
    ) -> AuthSession: ...
    def live_sessions(self, user_id: int, now: datetime) -> list[AuthSession]: ...
    def close_session(self, session_id: int, now: datetime) -> None: ...
    def extend_session(self, session_id: int, expires: datetime, md_token_hash: str) -> None:
        """Move the session's expiry; store its mdAccessToken's hash (a session opened before
        mdAccessToken existed gets one at its first renewal)."""
        ...

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

    # -- post-trade risk settings --
    def auto_liq_settings(
        self, organization_id: int, *, owner_id: int | None = None, ids: Sequence[int] | None = None
    ) -> list[AutoLiqSettings]: ...
    def auto_liq_settings_of(self, account_id: int) -> AutoLiqSettings | None: ...
    def has_auto_liq_settings(self, account_id: int) -> bool:
        """Whether the account has post-trade settings (the order path's cheap check)."""
        ...

    def save_auto_liq_settings(self, settings: AutoLiqSettings, now: datetime) -> None: ...

    # -- the auto-liq layer, alerts, the session job --
    def auto_liq_layer(self, account_id: int) -> AutoLiqLayer | None: ...
    def save_auto_liq_layer(self, layer: AutoLiqLayer) -> None: ...
    def clear_auto_liq_layer(self, account_id: int) -> AutoLiqLayer | None:
        """Clear the account's auto-liq layer (and its unlock timer); the layer it had, or None."""
        ...

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

    def save_triggers(self, account_id: int, triggers: dict[int, tuple[int | None, int | None]]) -> None:
        """Replace the account's price triggers: (low, high) ticks by contract id; others cleared."""
        ...

    def candidates(self, contract_id: int, price_ticks: int) -> list[int]:
        """Accounts whose trigger on the contract the price reaches (≤ low or ≥ high), by id."""
        ...

    def alerted_rules(self, account_id: int, day: date) -> frozenset[str]:
        """The rules that raised an alert for the account on trade date `day`."""
        ...

    def session_end_accounts(self) -> list[int]:
        """Accounts the end of a trade date must evaluate: those with settings holding a position
        (their daily figures start again), and those with an `EOD` trailing drawdown (their mark)."""
        ...

    def working_day_orders(self, *, created_before: datetime) -> list[tuple[int, int]]:
        """(order id, account id) of the working Day orders entered before `created_before`."""
        ...

    def delete_timers(self, account_id: int, kind: TimerKind) -> int: ...
    def session_closed_date(self) -> date | None:
        """The last trade date whose end the session job has processed, or None."""
        ...

    def save_session_closed_date(self, day: date) -> None: ...

    # -- timers --
    def add_timer(
        self,
        account_id: int,
        kind: TimerKind,
        due_at: datetime,
        *,
        admin_action: AdminAction | None = None,
        set_at: datetime | None = None,
    ) -> int: ...
    def due_timers(self, now: datetime, limit: int) -> list[Timer]: ...
    def delete_timer(self, timer_id: int) -> bool:
        """Remove a timer; False when it was gone already (fired by someone else)."""
        ...

    # -- the sandbox clock --
    def clock_offset(self, *, lock: bool = False) -> int | None:
        """The sandbox clock's stored offset from the machine's clock, in microseconds, or None;
        `lock` (in a write): its row stays locked until the commit (two moves at once: the second
        waits, then reads the first's offset)."""
        ...

    def clock_speed(self) -> tuple[int, datetime] | None:
        """The sandbox clock's stored pace (percent of the machine's) and the machine time its offset
        was stored at; None when none is stored."""
        ...

    def save_clock_offset(self, offset_us: int, when: datetime, speed: int = 100) -> None: ...

    # -- events --
    def emit(self, event: Event) -> None: ...

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once the transaction has committed (never if it rolls back or is retried):
        for what must count only what landed, such as the metrics of liquidations and breaches."""
        ...


class UnitOfWork(Protocol):
    """Runs work atomically: a write commits durably (fsync) before it returns, or not at all."""

    def write(
        self, work: Callable[[Store], T], *, accounts: Sequence[int] = (), log_rows: int = 0
    ) -> Awaitable[T]:
        """Run `work` in a transaction; commit durably; publish its events after commit. Hints:
        `accounts` whose status `work` reads, `log_rows` it appends (speed only, never correctness)."""
        ...

    def drain(self) -> Awaitable[None]:
        """Wait for the writes in flight to finish (before stopping)."""
        ...

    def read(self, work: Callable[[Store], T]) -> Awaitable[T]:
        """Run `work` on a consistent read snapshot."""
        ...

    def snapshot(self, work: Callable[[Store], T], *, accounts: Sequence[int] = ()) -> Awaitable[T]:
        """Run a short read-only `work` (a few point reads) on one consistent snapshot taken during the
        call, as cheaply as the engine allows: what it sees was the committed state at one instant.
        `accounts` whose status `work` reads: a hint, as for `write`."""
        ...


class Publisher(Protocol):
    """Fans events out after commit."""

    def publish(self, events: Sequence[Event]) -> None: ...
