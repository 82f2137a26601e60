"""The read side: what a caller may see, scoped to its organization (a trader: its own accounts)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from autoliq.domain.accounting import Lot, PositionState
from autoliq.domain.auto_liq import Alert, AutoLiqLayer
from autoliq.domain.errors import NotFound
from autoliq.domain.fill_pairs import BookedFill, FillPair, closing_fill_of, pair_fills
from autoliq.domain.instruments import contract_of_id, product_of_contract, suggest
from autoliq.domain.model import Account, RiskStatus, RiskStatusLogEntry, User
from autoliq.domain.money import INITIAL_BALANCE_CENTS, CashState, roll_cash
from autoliq.domain.states import Side
from autoliq.service.ports import AccountStore, AutoLiqStore, StatusStore, TradingStore, UnitOfWorkOf


def owner_scope(caller: User) -> int | None:
    """The owner whose accounts `caller` sees: None (the whole organization) for an admin."""
    return None if caller.is_admin else caller.id


class RiskReads(AccountStore, StatusStore, AutoLiqStore, Protocol):
    """What the risk-status read side reads: accounts and users, statuses and their log, the auto-liq
    layer and alerts."""


class Views:
    """Read-side queries for the Tradovate entity endpoints and our audit view."""

    def __init__(self, uow: UnitOfWorkOf[RiskReads]) -> None:
        self._uow = uow

    # -- accounts --
    async def accounts(self, caller: User, ids: Sequence[int] | None = None) -> list[Account]:
        """Visible accounts, all or those with `ids`."""
        return await self._uow.read(
            lambda s: s.accounts(caller.organization_id, owner_id=owner_scope(caller), ids=ids)
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
            lambda s: s.accounts(caller.organization_id, owner_id=owner_scope(caller), name=name)
        )
        if not found:
            raise NotFound()
        return found[0]

    async def accounts_of_user(self, caller: User, user_id: int) -> list[Account]:
        """Visible accounts owned by `user_id` (account/deps: master = user)."""
        if not caller.is_admin and user_id != caller.id:
            return []
        return await self._uow.read(lambda s: s.accounts(caller.organization_id, owner_id=user_id))

    async def accounts_of_users(self, caller: User, user_ids: Sequence[int]) -> list[Account]:
        """Visible accounts owned by any of `user_ids` (account/ldeps), by id."""
        owners = set(user_ids)
        return [a for a in await self.accounts(caller) if a.user_id in owners]

    async def suggest_accounts(self, caller: User, text: str, limit: int) -> list[Account]:
        """Visible accounts whose name holds `text` (domain.instruments.suggest)."""
        return suggest(await self.accounts(caller), text, limit, lambda a: a.name)

    # -- risk status --
    async def risk_statuses(self, caller: User, ids: Sequence[int] | None = None) -> list[RiskStatus]:
        """Visible risk statuses (id = account id), all or those with `ids`."""
        return await self._uow.read(
            lambda s: s.risk_statuses(caller.organization_id, owner_id=owner_scope(caller), ids=ids)
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
                caller.organization_id, owner_id=owner_scope(caller), ids=ids, account_ids=account_ids
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
                owner_id=owner_scope(caller),
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

    async def visible_users(self, caller: User) -> list[tuple[User, datetime]]:
        """Every user the caller may see, by id: an admin its organization's, anyone else itself."""
        if not caller.is_admin:
            return await self.users(caller, [caller.id])
        return await self._uow.read(lambda s: s.users_created(caller.organization_id, None))

    async def user(self, caller: User, user_id: int) -> tuple[User, datetime]:
        """One visible user, else NotFound (another organization's user is not visible)."""
        found = await self.users(caller, [user_id])
        if not found:
            raise NotFound()
        return found[0]

    async def user_by_name(self, caller: User, name: str) -> tuple[User, datetime]:
        """The visible user named `name`, else NotFound."""
        for found in await self.visible_users(caller):
            if found[0].name == name:
                return found
        raise NotFound()

    async def suggest_users(self, caller: User, text: str, limit: int) -> list[tuple[User, datetime]]:
        """Visible users whose name holds `text` (domain.instruments.suggest)."""
        return suggest(await self.visible_users(caller), text, limit, lambda u: u[0].name)

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

    def __init__(self, uow: UnitOfWorkOf[TradingStore]) -> None:
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
                kind, caller.organization_id, owner_id=owner_scope(caller), ids=ids, account_ids=account_ids
            )
        )
        return [_view(kind, r) for r in rows]

    async def one(self, kind: str, caller: User, entity_id: int) -> Any:
        """One visible entity, else NotFound."""
        found = await self.rows(kind, caller, ids=[entity_id])
        if not found:
            raise NotFound()
        return found[0]

    async def position_by_name(self, caller: User, name: str) -> PositionView:
        """The visible position in the contract named `name` (`ESZ6`), the oldest when several of
        the caller's accounts hold one; else NotFound."""
        for view in await self.rows("position", caller):
            contract = contract_of_id(view.contract_id)
            if contract is not None and contract.name == name:
                return view  # type: ignore[no-any-return]
        raise NotFound()

    async def fill_pairs(
        self,
        caller: User,
        *,
        position_ids: Sequence[int] | None = None,
        pair_ids: Sequence[int] | None = None,
    ) -> list[FillPairView]:
        """Visible fill pairs, by id (booking order): every one, those of `position_ids`, or those
        among `pair_ids`. Derived from the positions' fills (`domain/fill_pairs.py`)."""
        return await self._uow.read(lambda s: _fill_pairs(s, caller, position_ids, pair_ids))

    async def fill_pair(self, caller: User, pair_id: int) -> FillPairView:
        """One visible fill pair, else NotFound."""
        found = await self.fill_pairs(caller, pair_ids=[pair_id])
        if not found:
            raise NotFound()
        return found[0]


@dataclass(frozen=True, slots=True)
class FillPairView:
    """A fill pair of a position, as Tradovate's `FillPair` shows it."""

    position_id: int
    pair: FillPair


def _fill_pairs(
    s: TradingStore,
    caller: User,
    position_ids: Sequence[int] | None,
    pair_ids: Sequence[int] | None,
) -> list[FillPairView]:
    """The visible positions' fill pairs (those of `position_ids`, or those among `pair_ids`), read
    in one transaction so that the positions and their fills agree."""
    org, owner = caller.organization_id, owner_scope(caller)
    if pair_ids is not None:
        closing = s.trading_rows(
            "fill", org, owner_id=owner, ids=sorted({closing_fill_of(i) for i in pair_ids})
        )
        keys = {(r.account_id, r.contract_id) for r in closing}
        if not keys:
            return []
        accounts = sorted({a for a, _ in keys})
        positions = [
            p
            for p in s.trading_rows("position", org, owner_id=owner, account_ids=accounts)
            if (p.account_id, p.contract_id) in keys
        ]
    else:
        positions = s.trading_rows("position", org, owner_id=owner, ids=position_ids)
    if not positions:
        return []
    # Every fill of a listed position's accounts, by id: booking order.
    every = position_ids is None and pair_ids is None
    account_ids: list[int] | None = None if every else sorted({p.account_id for p in positions})
    booked: dict[tuple[int, int], list[BookedFill]] = {}
    for r in s.trading_rows("fill", org, owner_id=owner, account_ids=account_ids):
        fill = BookedFill(r.id, Side(r.action), r.qty, r.price_ticks * _tick(r.contract_id))
        booked.setdefault((r.account_id, r.contract_id), []).append(fill)
    wanted = None if pair_ids is None else set(pair_ids)
    out = [
        FillPairView(p.id, pair)
        for p in positions
        for pair in pair_fills(booked.get((p.account_id, p.contract_id), ()))
        if wanted is None or pair.id in wanted
    ]
    return sorted(out, key=lambda v: v.pair.id)


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

    def __init__(self, uow: UnitOfWorkOf[TradingStore], views: Views, today: Any) -> None:
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
