"""The read side: what a caller may see, scoped to its organization (a trader: its own accounts)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from autoliq.domain.accounting import Lot, PositionState
from autoliq.domain.auto_liq import Alert, AutoLiqLayer
from autoliq.domain.errors import NotFound
from autoliq.domain.instruments import product_of_contract
from autoliq.domain.model import Account, RiskStatus, RiskStatusLogEntry, User
from autoliq.domain.money import INITIAL_BALANCE_CENTS, CashState, roll_cash
from autoliq.service.ports import UnitOfWork


def _owner_scope(caller: User) -> int | None:
    return None if caller.is_admin else caller.id


class Views:
    """Read-side queries for the Tradovate entity endpoints and our audit view."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    # -- accounts --
    async def accounts(self, caller: User, ids: Sequence[int] | None = None) -> list[Account]:
        """Visible accounts, all or those with `ids`."""
        return await self._uow.read(
            lambda s: s.accounts(caller.organization_id, owner_id=_owner_scope(caller), ids=ids)
        )

    async def account(self, caller: User, account_id: int) -> Account:
        """One visible account, else NotFound."""
        found = await self.accounts(caller, [account_id])
        if not found:
            raise NotFound()
        return found[0]

    async def account_by_name(self, caller: User, name: str) -> Account:
        """The visible account named `name`, else NotFound."""
        if "\x00" in name:
            # No name holds a NUL (PostgreSQL text cannot; it would refuse the query): none matches.
            raise NotFound()
        found = await self._uow.read(
            lambda s: s.accounts(caller.organization_id, owner_id=_owner_scope(caller), name=name)
        )
        if not found:
            raise NotFound()
        return found[0]

    async def accounts_of_user(self, caller: User, user_id: int) -> list[Account]:
        """Visible accounts owned by `user_id` (account/deps: master = user)."""
        if not caller.is_admin and user_id != caller.id:
            return []
        return await self._uow.read(lambda s: s.accounts(caller.organization_id, owner_id=user_id))

    # -- risk status --
    async def risk_statuses(self, caller: User, ids: Sequence[int] | None = None) -> list[RiskStatus]:
        """Visible risk statuses (id = account id), all or those with `ids`."""
        return await self._uow.read(
            lambda s: s.risk_statuses(caller.organization_id, owner_id=_owner_scope(caller), ids=ids)
        )

    async def risk_status(self, caller: User, account_id: int) -> RiskStatus:
        """One visible risk status, else NotFound."""
        found = await self.risk_statuses(caller, [account_id])
        if not found:
            raise NotFound()
        return found[0]

    # -- risk status log --
    async def log_entries(
        self,
        caller: User,
        *,
        ids: Sequence[int] | None = None,
        account_ids: Sequence[int] | None = None,
    ) -> list[RiskStatusLogEntry]:
        """Visible log rows, oldest first; filtered by row ids or account ids."""
        return await self._uow.read(
            lambda s: s.log_entries(
                caller.organization_id, owner_id=_owner_scope(caller), ids=ids, account_ids=account_ids
            )
        )

    async def log_entry(self, caller: User, entry_id: int) -> RiskStatusLogEntry:
        """One visible log row, else NotFound."""
        found = await self.log_entries(caller, ids=[entry_id])
        if not found:
            raise NotFound()
        return found[0]

    # -- post-trade alerts and the auto-liq layer --
    async def alerts(
        self, caller: User, *, account_id: int | None = None, after_id: int = 0, limit: int = 1000
    ) -> list[Alert]:
        """Visible alerts with ids above `after_id`, oldest first (one account's when given)."""
        if account_id is not None:
            await self.account(caller, account_id)  # NotFound when not visible
        return await self._uow.read(
            lambda s: s.alerts(
                caller.organization_id,
                owner_id=_owner_scope(caller),
                account_id=account_id,
                after_id=after_id,
                limit=limit,
            )
        )

    async def auto_liq_layer(self, caller: User, account_id: int) -> AutoLiqLayer | None:
        """A visible account's auto-liq layer (None: clear), else NotFound."""
        account = await self.account(caller, account_id)
        return await self._uow.read(lambda s: s.auto_liq_layer(account.id))

    # -- users --
    async def users(self, caller: User, ids: Sequence[int]) -> list[tuple[User, datetime]]:
        """The users among `ids` the caller may see, with their creation times, by id: an admin its
        organization's, anyone else only itself."""
        wanted = sorted({i for i in ids if caller.is_admin or i == caller.id})
        if not wanted:
            return []
        return await self._uow.read(lambda s: s.users_created(caller.organization_id, wanted))

    async def organization_name(self, caller: User) -> str:
        """The caller's organization's name."""
        org = await self._uow.read(lambda s: s.organization(caller.organization_id))
        return org.name if org else ""


# -- orders, fills, positions --


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order as Tradovate's `Order` entity shows it."""

    id: int
    account_id: int
    contract_id: int
    timestamp: datetime
    side: str
    status: str
    admin: bool
    oco_id: int | None = None
    parent_id: int | None = None


@dataclass(frozen=True, slots=True)
class FillView:
    """A fill as Tradovate's `Fill` entity shows it."""

    id: int
    order_id: int
    contract_id: int
    timestamp: datetime
    trade_date: date
    side: str
    qty: int
    price: Decimal


@dataclass(frozen=True, slots=True)
class PositionView:
    """A position as Tradovate's `Position` entity shows it."""

    id: int
    account_id: int
    contract_id: int
    timestamp: datetime
    trade_date: date
    net_pos: int
    net_price: Decimal | None
    bought: int
    bought_value: Decimal
    sold: int
    sold_value: Decimal


def _tick(contract_id: int) -> Decimal:
    product = product_of_contract(contract_id)
    return product.tick_size if product else Decimal(1)


def _view(kind: str, row: Any) -> OrderView | FillView | PositionView:
    tick = _tick(row.contract_id)
    if kind == "order":
        return OrderView(
            row.id, row.account_id, row.contract_id, row.created, row.action, row.status, bool(row.admin),
            row.oco_id, row.parent_id,
        )  # fmt: skip
    if kind == "fill":
        return FillView(
            row.id, row.order_id, row.contract_id, row.timestamp, row.trade_date, row.action, row.qty,
            row.price_ticks * tick,
        )  # fmt: skip
    # Net position and average price as the domain defines them, not recomputed here.
    state = PositionState(lots=tuple(Lot(q, t * tick) for q, t in json.loads(row.lots)))
    return PositionView(
        row.id, row.account_id, row.contract_id, row.timestamp, row.trade_date,
        state.net_pos, state.net_price, row.bought, row.bought_ticks * tick, row.sold, row.sold_ticks * tick,
    )  # fmt: skip


class TradingViews:
    """Read-side queries for /v1/order, /v1/fill and /v1/position (master = account)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def rows(
        self,
        kind: str,
        caller: User,
        *,
        ids: Sequence[int] | None = None,
        account_ids: Sequence[int] | None = None,
    ) -> list[Any]:
        """Visible orders, fills or positions, oldest first."""
        rows = await self._uow.read(
            lambda s: s.trading_rows(
                kind, caller.organization_id, owner_id=_owner_scope(caller), ids=ids, account_ids=account_ids
            )
        )
        return [_view(kind, r) for r in rows]

    async def one(self, kind: str, caller: User, entity_id: int) -> Any:
        """One visible entity, else NotFound."""
        found = await self.rows(kind, caller, ids=[entity_id])
        if not found:
            raise NotFound()
        return found[0]


@dataclass(frozen=True, slots=True)
class CashBalanceView:
    """Tradovate's `CashBalance` of an account (one per account; its id is the account id)."""

    account_id: int
    timestamp: datetime
    trade_date: date
    amount: Decimal
    realized_pnl: Decimal
    week_realized_pnl: Decimal
    amount_sod: Decimal


class CashViews:
    """Read-side queries for /v1/cashBalance (master = account)."""

    def __init__(self, uow: UnitOfWork, views: Views, today: Any) -> None:
        self._uow = uow
        self._views = views
        self._today = today

    async def balances(self, caller: User, account_ids: Sequence[int] | None = None) -> list[CashBalanceView]:
        """Visible accounts' balances; an account that never traded shows its opening $50,000."""
        accounts = await self._views.accounts(caller, account_ids)
        ids = [a.id for a in accounts]
        rows = await self._uow.read(lambda s: s.cash_rows(ids))
        out = []
        for a in accounts:
            found = rows.get(a.id)
            if found is None:
                opening = Decimal(INITIAL_BALANCE_CENTS) / 100
                out.append(
                    CashBalanceView(a.id, a.created, self._today(), opening, Decimal(0), Decimal(0), opening)
                )
            else:
                amount, realized, week, sod, when, stored_day = found
                rolled = roll_cash(CashState(amount, realized, week, sod, stored_day), self._today())
                amount, realized, week, sod = (
                    rolled.amount,
                    rolled.realized,
                    rolled.week_realized,
                    rolled.amount_sod,
                )
                day = rolled.trade_date or stored_day
                out.append(
                    CashBalanceView(
                        a.id, when, day, Decimal(amount) / 100, Decimal(realized) / 100, Decimal(week) / 100,
                        Decimal(sod) / 100,
                    )
                )  # fmt: skip
        return out
