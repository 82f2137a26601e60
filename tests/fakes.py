"""In-memory fakes of the service ports: a store, a unit of work, a risk engine.

`FakeStore` implements the ports of `RiskStatusStore` (accounts, statuses and their log, post-trade
settings and layer, timers, events) and `AuthStore` (sessions): what `RiskService`,
`apply_admin_action`, `AccountDirectory` and `AuthService` use; and `TradingStore` (orders, fills,
positions, cash), the last prices of `MarketStore` and the OCO links and live orders of
`LinkedStore`: what order execution (service/execution.py) uses outside order strategies. Its
trading rows are kept as the SQL tables keep them (prices in whole ticks, money in cents).
`tests/integration/test_port_contracts.py` runs the same assertions on it and on the SQL store
(SQLite and PostgreSQL), so it cannot drift.

`FakeUnitOfWork` keeps the unit of work's promises: a write is all or nothing (its changes are
dropped when it raises), its events are published and its `after_commit` actions run only after it
committed (one that raises is logged and the others still run, as on SQL); a read never changes
anything.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, TypeVar, cast

from autoliq.domain.accounting import Lot, PositionState
from autoliq.domain.auto_liq import AutoLiqLayer
from autoliq.domain.events import Event
from autoliq.domain.gate import TradingState
from autoliq.domain.instruments import ContractSpec
from autoliq.domain.model import Account, Organization, RiskStatus, RiskStatusLogEntry, User
from autoliq.domain.money import CashState, opening_cash, roll_cash, with_realized
from autoliq.domain.orders import (
    LIVE_STATUSES,
    NO_LINKS,
    Order,
    OrderLinks,
    OrderType,
    OrdStatus,
    TimeInForce,
)
from autoliq.domain.post_trade import AutoLiqSettings
from autoliq.domain.states import Actor, AdminAction, ReasonCode, Role, Side
from autoliq.domain.timers import Timer, TimerKind
from autoliq.service import risk_engine
from autoliq.service.credentials import hash_password
from autoliq.service.ports import (
    AccountEngine,
    AuthSession,
    AuthStore,
    RiskStatusStore,
    Store,
    UnitOfWorkOf,
)
from autoliq.service.ports.trading import TradingStore

T = TypeVar("T")
log = logging.getLogger(__name__)
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class _Session:
    id: int
    user_id: int
    token_hash: str
    md_token_hash: str | None
    created: datetime
    expires: datetime
    closed: datetime | None = None


@dataclass
class FakeState:
    """The tables: what a committed transaction leaves behind."""

    organizations: dict[int, Organization] = field(default_factory=dict)
    users: dict[int, tuple[User, str, datetime]] = field(default_factory=dict)
    """id -> (user, password hash, created)"""
    accounts: dict[int, Account] = field(default_factory=dict)
    default_categories: dict[int, int] = field(default_factory=dict)
    """organization id -> its default risk category's id (created with it, as the SQL seed)"""
    halted_categories: set[int] = field(default_factory=set)
    statuses: dict[int, RiskStatus] = field(default_factory=dict)
    log: list[RiskStatusLogEntry] = field(default_factory=list)
    sessions: dict[int, _Session] = field(default_factory=dict)
    settings: dict[int, AutoLiqSettings] = field(default_factory=dict)
    layers: dict[int, AutoLiqLayer] = field(default_factory=dict)
    timers: dict[int, Timer] = field(default_factory=dict)
    prices: dict[int, tuple[int, datetime]] = field(default_factory=dict)
    """contract id -> (last price in ticks, updated)"""
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    """id -> the `trade_order` row (its columns, prices in ticks)"""
    fills: dict[int, dict[str, Any]] = field(default_factory=dict)
    """id -> the `fill` row"""
    positions: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    """(account id, contract id) -> the `position` row (its id kept across saves, as the upsert)"""
    cash: dict[int, dict[str, Any]] = field(default_factory=dict)
    """account id -> the `cash_balance` row"""
    cash_changes: list[dict[str, Any]] = field(default_factory=list)
    next_id: dict[str, int] = field(default_factory=dict)

    def new_id(self, table: str) -> int:
        """The table's next id (1, 2, ...), as a sequence gives them."""
        value = self.next_id.get(table, 0) + 1
        self.next_id[table] = value
        return value


class FakeStore:
    """The ports of one transaction over `FakeState` (see the module's docstring)."""

    def __init__(self, state: FakeState) -> None:
        self.state = state
        self.events: list[Event] = []
        self.committed_actions: list[Callable[[], None]] = []

    # -- organizations, users, accounts (AccountStore) --
    def organization(self, organization_id: int) -> Organization | None:
        return self.state.organizations.get(organization_id)

    def user(self, user_id: int) -> User | None:
        found = self.state.users.get(user_id)
        return found[0] if found else None

    def users_created(self, organization_id: int, ids: Sequence[int] | None) -> list[tuple[User, datetime]]:
        wanted = None if ids is None else set(ids)
        return [
            (user, created)
            for uid, (user, _hash, created) in sorted(self.state.users.items())
            if user.organization_id == organization_id and (wanted is None or uid in wanted)
        ]

    def account(self, account_id: int) -> Account | None:
        return self.state.accounts.get(account_id)

    def accounts(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        name: str | None = None,
    ) -> list[Account]:
        wanted = None if ids is None else set(ids)
        return [
            a
            for aid, a in sorted(self.state.accounts.items())
            if a.organization_id == organization_id
            and (owner_id is None or a.user_id == owner_id)
            and (wanted is None or aid in wanted)
            and (name is None or a.name == name)
        ]

    def _visible(self, account_id: int, organization_id: int, owner_id: int | None) -> bool:
        a = self.state.accounts.get(account_id)
        return a is not None and a.organization_id == organization_id and owner_id in (None, a.user_id)

    # -- risk categories (AdminStore's halt, what `trading_state` reads) --
    def set_risk_category_halted(self, category_id: int, halted: bool, now: datetime) -> None:
        if halted:
            self.state.halted_categories.add(category_id)
        else:
            self.state.halted_categories.discard(category_id)

    # -- credentials and sessions (SessionStore) --
    def user_by_name(self, name: str) -> tuple[User, str] | None:
        found = next((u for u in self.state.users.values() if u[0].name == name), None)
        return (found[0], found[1]) if found else None

    def replace_password_hash(self, user_id: int, old: str, new: str) -> None:
        found = self.state.users.get(user_id)
        if found is not None and found[1] == old:
            self.state.users[user_id] = (found[0], new, found[2])

    def session_by_token_hash(
        self, token_hash: str, now: datetime, *, market_data: bool = False
    ) -> AuthSession | None:
        for s in self.state.sessions.values():
            matches = s.token_hash == token_hash or (market_data and s.md_token_hash == token_hash)
            if matches and s.closed is None and s.expires > now:
                return AuthSession(s.id, s.user_id, s.expires)
        return None

    def open_session(
        self, user_id: int, token_hash: str, now: datetime, expires: datetime, md_token_hash: str
    ) -> AuthSession:
        if any(s.token_hash == token_hash for s in self.state.sessions.values()):
            raise ValueError("duplicate token hash")  # the column is unique
        session_id = self.state.new_id("auth_session")
        self.state.sessions[session_id] = _Session(
            session_id, user_id, token_hash, md_token_hash, now, expires
        )
        return AuthSession(session_id, user_id, expires)

    def live_sessions(self, user_id: int, now: datetime) -> list[AuthSession]:
        return [
            AuthSession(s.id, s.user_id, s.expires)
            for _, s in sorted(self.state.sessions.items())
            if s.user_id == user_id and s.closed is None and s.expires > now
        ]

    def close_session(self, session_id: int, now: datetime) -> None:
        session = self.state.sessions.get(session_id)
        if session is not None:
            session.closed = now

    def extend_session(self, session_id: int, expires: datetime, md_token_hash: str) -> None:
        session = self.state.sessions.get(session_id)
        if session is not None:
            session.expires = expires
            session.md_token_hash = md_token_hash

    # -- risk status and its log (StatusStore) --
    def risk_status(self, account_id: int) -> RiskStatus | None:
        return self.state.statuses.get(account_id)

    def trading_state(self, account_id: int) -> TradingState:
        status = self.state.statuses.get(account_id)
        account = self.state.accounts.get(account_id)
        if status is None or account is None:
            return TradingState()
        layer = self.state.layers.get(account_id)
        halted = account.risk_category_id in self.state.halted_categories
        return TradingState(status.admin_action, None if layer is None else layer.state, halted)

    def risk_statuses(
        self, organization_id: int, *, owner_id: int | None = None, ids: Sequence[int] | None = None
    ) -> list[RiskStatus]:
        wanted = None if ids is None else set(ids)
        return [
            s
            for aid, s in sorted(self.state.statuses.items())
            if self._visible(aid, organization_id, owner_id) and (wanted is None or aid in wanted)
        ]

    def save_risk_status(self, status: RiskStatus) -> None:
        self.state.statuses[status.id] = status

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
        if account_id not in self.state.accounts:
            raise ValueError(f"no account {account_id}")  # a foreign key
        entry = RiskStatusLogEntry(
            self.state.new_id("account_risk_status_log"),
            account_id,
            timestamp,
            status,
            actor,
            actor_user_id,
            reason_code,
            reason,
        )
        self.state.log.append(entry)
        return entry

    def log_entries(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        account_ids: Sequence[int] | None = None,
    ) -> list[RiskStatusLogEntry]:
        wanted_ids = None if ids is None else set(ids)
        wanted_accounts = None if account_ids is None or ids is not None else set(account_ids)
        return [
            e
            for e in sorted(self.state.log, key=lambda e: e.id)
            if self._visible(e.account_id, organization_id, owner_id)
            and (wanted_ids is None or e.id in wanted_ids)
            and (wanted_accounts is None or e.account_id in wanted_accounts)
        ]

    # -- post-trade settings (AutoLiqSettingsStore) --
    def auto_liq_settings(
        self, organization_id: int, *, owner_id: int | None = None, ids: Sequence[int] | None = None
    ) -> list[AutoLiqSettings]:
        wanted = None if ids is None else set(ids)
        return [
            s
            for aid, s in sorted(self.state.settings.items())
            if self._visible(aid, organization_id, owner_id) and (wanted is None or aid in wanted)
        ]

    def auto_liq_settings_of(self, account_id: int) -> AutoLiqSettings | None:
        return self.state.settings.get(account_id)

    def has_auto_liq_settings(self, account_id: int) -> bool:
        return account_id in self.state.settings

    def save_auto_liq_settings(self, settings: AutoLiqSettings, now: datetime) -> None:
        self.state.settings[settings.id] = settings

    # -- the auto-liq layer (AutoLiqLayerStore) --
    def auto_liq_layer(self, account_id: int) -> AutoLiqLayer | None:
        return self.state.layers.get(account_id)

    def save_auto_liq_layers(self, layers: Sequence[AutoLiqLayer]) -> None:
        for layer in layers:
            self.state.layers[layer.account_id] = layer

    def clear_auto_liq_layer(self, account_id: int) -> AutoLiqLayer | None:
        layer = self.state.layers.pop(account_id, None)
        if layer is not None:
            self.delete_timers(account_id, TimerKind.AUTO_LIQ_UNLOCK)
        return layer

    # -- timers (TimerStore) --
    def add_timer(
        self,
        account_id: int,
        kind: TimerKind,
        due_at: datetime,
        *,
        admin_action: AdminAction | None = None,
        set_at: datetime | None = None,
    ) -> int:
        timer_id = self.state.new_id("risk_timer")
        self.state.timers[timer_id] = Timer(timer_id, account_id, kind, due_at, admin_action, set_at)
        return timer_id

    def due_timers(self, now: datetime, limit: int) -> list[Timer]:
        due = sorted(
            (t for t in self.state.timers.values() if t.due_at <= now), key=lambda t: (t.due_at, t.id)
        )
        return due[:limit]

    def delete_timer(self, timer_id: int) -> bool:
        return self.state.timers.pop(timer_id, None) is not None

    def delete_timers(self, account_id: int, kind: TimerKind) -> int:
        gone = [t.id for t in self.state.timers.values() if t.account_id == account_id and t.kind is kind]
        for timer_id in gone:
            del self.state.timers[timer_id]
        return len(gone)

    # -- prices (MarketStore's last prices, what `last_price` reads) --
    def contract_prices(self) -> list[tuple[int, int, datetime]]:
        return [(cid, ticks, updated) for cid, (ticks, updated) in sorted(self.state.prices.items())]

    def set_contract_price(self, contract_id: int, price_ticks: int, when: datetime) -> None:
        self.state.prices[contract_id] = (price_ticks, when)

    def last_price(self, contract: ContractSpec) -> Decimal | None:
        found = self.state.prices.get(contract.id)
        return None if found is None else found[0] * contract.product.tick_size

    # -- orders (TradingStore) --
    def _foreign_account(self, account_id: int) -> None:
        if account_id not in self.state.accounts:
            raise ValueError(f"no account {account_id}")  # a foreign key

    @staticmethod
    def _order(row: dict[str, Any], tick: Decimal) -> Order:
        return Order(
            id=row["id"],
            account_id=row["account_id"],
            contract_id=row["contract_id"],
            side=Side(row["action"]),
            order_type=OrderType(row["order_type"]),
            qty=row["qty"],
            time_in_force=TimeInForce(row["time_in_force"]),
            status=OrdStatus(row["status"]),
            admin=row["admin"],
            created=row["created"],
            limit_price=_price(row["limit_ticks"], tick),
            stop_price=_price(row["stop_ticks"], tick),
            triggered=row["triggered"],
            fill_price=_price(row["fill_ticks"], tick),
            parent_id=row["parent_id"],
            oco_id=row["oco_id"],
            strategy_id=row["strategy_id"],
            offset=_price(row["offset_ticks"], tick),
            has_children=row["has_children"],
        )

    def working_orders(self, contract: ContractSpec, account_id: int | None = None) -> list[Order]:
        tick = contract.product.tick_size
        return [
            self._order(r, tick)
            for _, r in sorted(self.state.orders.items())
            if r["contract_id"] == contract.id
            and r["status"] == OrdStatus.WORKING.value
            and (account_id is None or r["account_id"] == account_id)
        ]

    def order_summary(self, order_id: int) -> tuple[int, OrdStatus, int] | None:
        row = self.state.orders.get(order_id)
        return None if row is None else (row["account_id"], OrdStatus(row["status"]), row["contract_id"])

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
    ) -> None:
        row = self.state.orders.get(order_id)
        if row is None:
            return  # an UPDATE of no row
        tick = contract.product.tick_size
        row.update(
            limit_ticks=_ticks(limit_price, tick), stop_ticks=_ticks(stop_price, tick),
            order_type=order_type.value, qty=qty, time_in_force=time_in_force.value, triggered=False,
            updated=_utc(now),
        )  # fmt: skip

    def position_key(self, position_id: int) -> tuple[int, int] | None:
        return next((key for key, r in self.state.positions.items() if r["id"] == position_id), None)

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
    ) -> int:
        self._foreign_account(account_id)
        tick = contract.product.tick_size
        linked = links or NO_LINKS
        order_id = self.state.new_id("trade_order")
        self.state.orders[order_id] = {
            "id": order_id, "account_id": account_id, "contract_id": contract.id, "action": side.value,
            "order_type": order_type.value, "qty": qty, "time_in_force": time_in_force.value,
            "status": status.value, "admin": admin, "limit_ticks": _ticks(limit_price, tick),
            "stop_ticks": _ticks(stop_price, tick), "triggered": triggered,
            "fill_ticks": _ticks(fill_price, tick), "cl_ord_id": cl_ord_id, "created": _utc(now),
            "updated": _utc(now), "parent_id": linked.parent_id, "oco_id": None,
            "has_children": linked.has_children, "strategy_id": linked.strategy_id,
            "strategy_label": linked.strategy_label, "offset_ticks": _ticks(linked.offset, tick),
        }  # fmt: skip
        return order_id

    def set_order_status(
        self,
        order_id: int,
        status: OrdStatus,
        now: datetime,
        *,
        fill_price: Decimal | None = None,
        tick: Decimal | None = None,
        triggered: bool | None = None,
    ) -> None:
        row = self.state.orders.get(order_id)
        if row is None:
            return
        row.update(status=status.value, updated=_utc(now))
        if fill_price is not None and tick is not None:
            row["fill_ticks"] = _ticks(fill_price, tick)
        if triggered is not None:
            row["triggered"] = triggered

    # -- fills and positions --
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
    ) -> int:
        self._foreign_account(account_id)
        if order_id not in self.state.orders:
            raise ValueError(f"no order {order_id}")  # a foreign key
        fill_id = self.state.new_id("fill")
        self.state.fills[fill_id] = {
            "id": fill_id, "order_id": order_id, "account_id": account_id, "contract_id": contract.id,
            "action": side.value, "qty": qty, "price_ticks": _ticks(price, contract.product.tick_size),
            "timestamp": _utc(now), "trade_date": day,
        }  # fmt: skip
        return fill_id

    def position(self, account_id: int, contract: ContractSpec) -> PositionState:
        row = self.state.positions.get((account_id, contract.id))
        if row is None:
            return PositionState()
        tick = contract.product.tick_size
        return PositionState(
            lots=tuple(Lot(q, t * tick) for q, t in json.loads(row["lots"])),
            bought=row["bought"],
            bought_value=row["bought_ticks"] * tick,
            sold=row["sold"],
            sold_value=row["sold_ticks"] * tick,
            realized_points=row["realized_ticks"] * tick,
        )

    def save_position(
        self, account_id: int, contract: ContractSpec, state: PositionState, now: datetime, day: date
    ) -> None:
        self._foreign_account(account_id)
        tick = contract.product.tick_size
        key = (account_id, contract.id)
        existing = self.state.positions.get(key)
        row = {
            "account_id": account_id, "contract_id": contract.id,
            "lots": _lots_json([[lot.qty, int(lot.price / tick)] for lot in state.lots]),
            "bought": state.bought, "bought_ticks": int(state.bought_value / tick), "sold": state.sold,
            "sold_ticks": int(state.sold_value / tick), "realized_ticks": int(state.realized_points / tick),
            "timestamp": _utc(now), "trade_date": day,
        }  # fmt: skip
        if existing is None:
            row.update(id=self.state.new_id("position"), trigger_low_ticks=None, trigger_high_ticks=None)
            self.state.positions[key] = row
        else:
            existing.update(row)

    def open_positions(self, account_id: int) -> list[tuple[int, str]]:
        return [
            (r["contract_id"], r["lots"])
            for r in sorted(self.state.positions.values(), key=lambda r: r["id"])
            if r["account_id"] == account_id and json.loads(r["lots"])
        ]

    # -- cash --
    def cash(self, account_id: int, day: date) -> CashState:
        row = self.state.cash.get(account_id)
        if row is None:
            return opening_cash(day)
        return roll_cash(
            CashState(
                row["amount_cents"], row["realized_cents"], row["week_realized_cents"],
                row["amount_sod_cents"], row["trade_date"],
            ),
            day,
        )  # fmt: skip

    def _save_cash(self, account_id: int, cash: CashState, now: datetime, day: date) -> None:
        self._foreign_account(account_id)
        self.state.cash[account_id] = {
            "account_id": account_id, "amount_cents": cash.amount, "realized_cents": cash.realized,
            "week_realized_cents": cash.week_realized, "amount_sod_cents": cash.amount_sod,
            "timestamp": _utc(now), "trade_date": day,
        }  # fmt: skip

    def adjust_cash(self, account_id: int, cents: int, now: datetime, day: date) -> None:
        cash = self.cash(account_id, day)
        self._save_cash(
            account_id,
            CashState(cash.amount + cents, cash.realized, cash.week_realized, cash.amount_sod, day),
            now,
            day,
        )

    def add_realized(self, account_id: int, cents: int, now: datetime, day: date) -> None:
        self._save_cash(account_id, with_realized(self.cash(account_id, day), cents, day), now, day)

    def insert_cash_change(self, account_id: int, cents: int, comment: str, by: User, now: datetime) -> None:
        self._foreign_account(account_id)
        self.state.cash_changes.append(
            {
                "id": self.state.new_id("cash_change"), "account_id": account_id, "amount_cents": cents,
                "comment": comment, "user_id": by.id, "by_admin": by.is_admin, "timestamp": _utc(now),
            }
        )  # fmt: skip

    def cash_changes_since(self, account_id: int, since: datetime, *, by_admin: bool) -> int:
        return sum(
            1
            for c in self.state.cash_changes
            if c["account_id"] == account_id and c["by_admin"] == by_admin and c["timestamp"] > since
        )

    def cash_rows(self, account_ids: Sequence[int]) -> dict[int, tuple[int, int, int, int, datetime, date]]:
        wanted = set(account_ids)
        return {
            aid: (
                r["amount_cents"], r["realized_cents"], r["week_realized_cents"], r["amount_sod_cents"],
                r["timestamp"], r["trade_date"],
            )
            for aid, r in sorted(self.state.cash.items())
            if aid in wanted
        }  # fmt: skip

    # -- reads for the API --
    def trading_rows(
        self,
        table: str,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        account_ids: Sequence[int] | None = None,
    ) -> list[Any]:
        """The rows as attribute objects with the SQL columns' names and values, by id."""
        rows = {"order": self.state.orders, "fill": self.state.fills, "position": None}[table]
        found = list(self.state.positions.values()) if rows is None else list(rows.values())
        wanted_ids = None if ids is None else set(ids)
        wanted_accounts = None if account_ids is None else set(account_ids)
        return [
            SimpleNamespace(**r)
            for r in sorted(found, key=lambda r: r["id"])
            if self._visible(r["account_id"], organization_id, owner_id)
            and (wanted_ids is None or r["id"] in wanted_ids)
            and (wanted_accounts is None or r["account_id"] in wanted_accounts)
        ]

    # -- OCO links and live orders (the part of LinkedStore that execution uses outside strategies) --
    def link_oco(self, first: int, second: int) -> None:
        if first in self.state.orders:
            self.state.orders[first]["oco_id"] = second
        if second in self.state.orders:
            self.state.orders[second]["oco_id"] = first

    def order(self, order_id: int, contract: ContractSpec) -> Order | None:
        row = self.state.orders.get(order_id)
        return None if row is None else self._order(row, contract.product.tick_size)

    def children(self, parent_id: int, contract: ContractSpec) -> list[Order]:
        tick = contract.product.tick_size
        return [
            self._order(r, tick) for _, r in sorted(self.state.orders.items()) if r["parent_id"] == parent_id
        ]

    def order_links(self, order_id: int) -> tuple[int | None, bool, int | None] | None:
        row = self.state.orders.get(order_id)
        return None if row is None else (row["oco_id"], row["has_children"], row["strategy_id"])

    def live_orders_of_account(
        self, account_id: int, contract_id: int | None = None
    ) -> list[tuple[int, int]]:
        live = {s.value for s in LIVE_STATUSES}
        return [
            (oid, r["contract_id"])
            for oid, r in sorted(self.state.orders.items())
            if r["account_id"] == account_id
            and r["status"] in live
            and (contract_id is None or r["contract_id"] == contract_id)
        ]

    # -- events (EventSink) --
    def emit(self, event: Event) -> None:
        self.events.append(event)

    def after_commit(self, action: Callable[[], None]) -> None:
        self.committed_actions.append(action)


def _ticks(price: Decimal | None, tick: Decimal) -> int | None:
    """A price as whole ticks, as the SQL codec stores it (truncated toward zero)."""
    return None if price is None else int(price / tick)


def _lots_json(lots: list[list[int]]) -> str:
    """A position's lots as the SQL store writes them: a compact JSON array of [qty, price in ticks]."""
    return json.dumps(lots, separators=(",", ":"))


def _price(ticks: int | None, tick: Decimal) -> Decimal | None:
    return None if ticks is None else ticks * tick


def _utc(moment: datetime) -> datetime:
    """A point in time as the SQL columns give it back: aware, in UTC (a naive one refused)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return moment.astimezone(UTC)


class FakeUnitOfWork:
    """Transactions over one `FakeState`: all or nothing; after the commit its `after_commit` actions,
    then its events (in that order, as the SQL unit of work); reads on a copy."""

    def __init__(self, state: FakeState | None = None) -> None:
        self.state = state if state is not None else FakeState()
        self.published: list[Event] = []
        self.listeners: list[Callable[[Sequence[Event]], None]] = []
        self.writes = 0
        self.commits = 0
        self.reads = 0

    async def write(
        self,
        work: Callable[[FakeStore], T],
        *,
        accounts: Sequence[int] = (),
        log_rows: int = 0,
        orders: Sequence[tuple[int, int]] = (),
    ) -> T:
        self.writes += 1
        before = copy.deepcopy(self.state)
        store = FakeStore(self.state)
        try:
            result = work(store)
        except BaseException:
            self._restore(before)
            raise
        self.commits += 1
        for action in store.committed_actions:
            try:
                action()
            except Exception:  # committed already: logged and swallowed, as the SQL unit of work
                log.exception("an after-commit action failed")
        if store.events:
            self.published.extend(store.events)
            for listener in self.listeners:
                listener(list(store.events))
        return result

    def add_listener(self, listener: Callable[[Sequence[Event]], None]) -> None:
        """Call `listener` with each committed write's events (as `InMemoryPublisher.add_listener`)."""
        self.listeners.append(listener)

    async def read(self, work: Callable[[FakeStore], T]) -> T:
        self.reads += 1
        return work(FakeStore(copy.deepcopy(self.state)))

    async def snapshot(
        self,
        work: Callable[[FakeStore], T],
        *,
        accounts: Sequence[int] = (),
        orders: Sequence[tuple[int, int]] = (),
    ) -> T:
        return await self.read(work)

    async def drain(self) -> None:
        await asyncio.sleep(0)

    def _restore(self, before: FakeState) -> None:
        for name in vars(before):
            setattr(self.state, name, getattr(before, name))


@dataclass
class EngineCall:
    """One call the service made of the risk engine, with the account's status when it was made."""

    name: str
    account_id: int
    status: RiskStatus | None
    act: bool | None = None
    contracts: dict[int, ContractSpec] | None = None


class FakeEngine:
    """The risk engine as the risk-status service sees it: records the calls; `clear_layer` also
    runs the real `risk_engine.clear_layer` on the fake store (the layer goes, and the
    `liquidateOnly` it had set), which uses only ports the fake implements."""

    def __init__(self) -> None:
        self.calls: list[EngineCall] = []

    def evaluate(self, store: FakeStore, account_id: int, now: datetime, *, act: bool = True) -> None:
        self.calls.append(EngineCall("evaluate", account_id, store.risk_status(account_id), act=act))

    def liquidate(
        self, store: FakeStore, account_id: int, contracts: dict[int, ContractSpec], now: datetime
    ) -> None:
        self.calls.append(
            EngineCall("liquidate", account_id, store.risk_status(account_id), contracts=contracts)
        )

    def clear_layer(self, store: FakeStore, account_id: int) -> RiskStatus:
        self.calls.append(EngineCall("clear_layer", account_id, store.risk_status(account_id)))
        return risk_engine.clear_layer(cast(Store, store), account_id)


# -- a seeded world, as tests/conftest.py's `world` on a database --


@dataclass
class FakeWorld:
    """The demo organization (admin, trader, 10 accounts) and Other Firm (other-admin, 3 accounts)."""

    uow: FakeUnitOfWork
    demo_org: int
    other_org: int
    admin: User
    trader: User
    other_admin: User
    demo_account_ids: list[int]
    other_account_ids: list[int]


def add_organization(state: FakeState, name: str) -> int:
    """The organization and its default risk category (not halted), as the SQL seed creates them."""
    org_id = state.new_id("organization")
    state.organizations[org_id] = Organization(org_id, name)
    state.default_categories[org_id] = state.new_id("risk_category")
    return org_id


def add_user(state: FakeState, organization_id: int, name: str, role: Role, password: str) -> User:
    user_id = state.new_id("app_user")
    user = User(user_id, organization_id, name, role, name, f"{name}@example.invalid")  # as the SQL seed
    state.users[user_id] = (user, hash_password(password), EPOCH)
    return user


def add_account(state: FakeState, organization_id: int, owner_id: int, name: str) -> Account:
    account_id = state.new_id("account")
    category = state.default_categories.get(organization_id)  # the organization's default, as the SQL seed
    account = Account(account_id, organization_id, owner_id, name, EPOCH, risk_category_id=category)
    state.accounts[account_id] = account
    state.statuses[account_id] = RiskStatus(id=account_id)  # seeded Normal, as the SQL seed
    return account


def fake_world(admin_pw: str, trader_pw: str, other_admin_pw: str) -> FakeWorld:
    """A `FakeUnitOfWork` seeded as the databases of tests/conftest.py's `world`."""
    state = FakeState()
    demo = add_organization(state, "Demo Prop Firm")
    admin = add_user(state, demo, "admin", Role.ADMIN, admin_pw)
    trader = add_user(state, demo, "trader", Role.TRADER, trader_pw)
    demo_ids = [add_account(state, demo, trader.id, f"DEMO{i:06d}").id for i in range(1, 11)]
    other = add_organization(state, "Other Firm")
    other_admin = add_user(state, other, "other-admin", Role.ADMIN, other_admin_pw)
    other_ids = [add_account(state, other, other_admin.id, f"OTHER{i:05d}").id for i in range(1, 4)]
    return FakeWorld(FakeUnitOfWork(state), demo, other, admin, trader, other_admin, demo_ids, other_ids)


def _typed(
    uow: FakeUnitOfWork, engine: FakeEngine
) -> tuple[
    UnitOfWorkOf[RiskStatusStore],
    UnitOfWorkOf[AuthStore],
    UnitOfWorkOf[TradingStore],
    AccountEngine[FakeStore],
]:
    """For mypy (pyproject.toml's [tool.mypy] files, and tests/unit/test_fakes_typed.py): the fake
    unit of work is one over the three ports, and the fake engine is a risk engine over the fake store."""
    return uow, uow, uow, engine
