"""The administrative siblings of setadminautoliqaction: setaccountnotes, the risk categories
(reads, switchriskcategory, setDemoHalt) and resetdemoaccountstate, as plain handlers over ports.

Who may do what follows setadminautoliqaction: an account or category of another organization (or
none) is 404, so ids of other firms do not leak, then a caller who is not an organization admin is
401; resetdemoaccountstate answers a non-admin with the `errorText` `Access is denied`, as Tradovate's
demo-cash endpoints do. Accounts and categories are never deleted nor moved to another organization,
so what the checks read stays true in the write that follows them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from autoliq.domain.accounting import PositionState
from autoliq.domain.demo_balance import TEXT_CLOSED, TEXT_NOT_DEMO
from autoliq.domain.errors import BadRequest, NotFound, Unauthorized
from autoliq.domain.events import RiskStatusChanged, TradingEntityChanged
from autoliq.domain.instruments import contract_of_id
from autoliq.domain.model import Account, RiskStatus, User
from autoliq.domain.orders import OrdStatus
from autoliq.domain.post_trade import trailing_floor
from autoliq.domain.risk_admin import (
    TEXT_CATEGORY_NAME,
    TEXT_HALT_REQUIRED,
    RiskCategory,
    account_ids_error,
    category_id_error,
    category_name,
    notes_error,
    opening_state,
    reset_date,
    reset_reason,
)
from autoliq.domain.rules import ACCESS_IS_DENIED
from autoliq.domain.session import session_begin, trade_date
from autoliq.domain.states import Actor, Environment
from autoliq.service import risk_engine
from autoliq.service.accounts import AccountDirectory
from autoliq.service.clock import Clock
from autoliq.service.execution import interrupt_strategies
from autoliq.service.ports import Store, UnitOfWork

TEXT_RESET = "Interrupted by a reset of the account"


class RiskAdminService:
    """Account notes, risk categories and demo-account resets (organization admins)."""

    def __init__(
        self, uow: UnitOfWork, clock: Clock, environment: Environment, accounts: AccountDirectory
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._environment = environment
        self._accounts = accounts

    # -- access --
    async def _administered(self, caller: User, account_id: int) -> Account:
        """The account, for an admin of its organization: NotFound for another organization's or an
        unknown one, Unauthorized for a non-admin."""
        account = await self._accounts.get(account_id)
        if account is None or account.organization_id != caller.organization_id:
            raise NotFound()
        if not caller.is_admin:
            raise Unauthorized()
        return account

    async def _organization_accounts(self, caller: User, account_ids: Sequence[int]) -> list[Account]:
        """Every listed account, read fresh; NotFound when one is unknown or of another organization."""
        unique = list(dict.fromkeys(account_ids))
        found = await self._uow.read(lambda s: s.accounts(caller.organization_id, ids=unique))
        if len(found) != len(unique):
            raise NotFound()
        return found

    async def _organization_category(self, caller: User, category_id: int) -> RiskCategory:
        """The caller's organization's category; NotFound for an unknown one or another firm's."""
        found = await self._uow.read(lambda s: s.risk_categories(caller.organization_id, ids=[category_id]))
        if not found:
            raise NotFound()
        return found[0]

    # -- account notes --
    async def set_account_notes(self, caller: User, account_id: int | None, notes: str | None) -> str | None:
        """setaccountnotes: replace the account's notes (none when `notes` is absent); an `errorText`
        or None."""
        error = notes_error(account_id, notes)
        if error is not None:
            return error
        assert account_id is not None  # checked above
        account = await self._administered(caller, account_id)
        await self._uow.write(lambda store: store.set_account_notes(account.id, notes))
        return None

    async def account_notes(self, caller: User, account_id: int) -> str | None:
        """The notes of an account the caller may see (its organization's admins, its owner), else
        NotFound."""
        account = await self._accounts.visible(caller, account_id)
        if account is None:
            raise NotFound()
        return await self._uow.read(lambda s: s.account_notes(account.id))

    # -- risk categories --
    async def risk_categories(self, caller: User, ids: Sequence[int] | None = None) -> list[RiskCategory]:
        """The caller's organization's categories (those with `ids`), by id."""
        return await self._uow.read(lambda s: s.risk_categories(caller.organization_id, ids=ids))

    async def risk_category(self, caller: User, category_id: int) -> RiskCategory:
        """One of the caller's organization's categories, else NotFound."""
        return await self._organization_category(caller, category_id)

    async def add_risk_category(self, caller: User, name: str) -> RiskCategory:
        """A new category of the caller's organization (organization admins), not halted; BadRequest
        for a blank, too long or taken name."""
        if not caller.is_admin:
            raise Unauthorized()
        stored = category_name(name)
        if stored is None:
            raise BadRequest(TEXT_CATEGORY_NAME)
        clock = self._clock
        added = await self._uow.write(
            lambda store: store.add_risk_category(caller.organization_id, stored, clock.now())
        )
        if added is None:
            raise BadRequest(f"name: a risk category named {stored!r} exists already")
        return added

    async def switch_risk_category(
        self, caller: User, account_ids: list[int] | None, category_id: int | None
    ) -> str | None:
        """switchriskcategory: put up to 10,000 accounts in a category, all or nothing (accounts in it
        already are skipped); an `errorText` or None."""
        error = account_ids_error(account_ids) or category_id_error(category_id)
        if error is not None:
            return error
        assert account_ids is not None  # checked above
        assert category_id is not None
        category = await self._organization_category(caller, category_id)
        accounts = await self._organization_accounts(caller, account_ids)
        if not caller.is_admin:
            raise Unauthorized()
        ids = [a.id for a in accounts]
        await self._uow.write(lambda store: store.switch_risk_category(ids, category.id))
        return None

    async def set_demo_halt(self, caller: User, halt: bool | None, category_id: int | None) -> str | None:
        """setDemoHalt: halt a category (its accounts' new orders are refused) or let it trade again;
        an `errorText` or None."""
        if halt is None:
            return TEXT_HALT_REQUIRED
        error = category_id_error(category_id)
        if error is not None:
            return error
        assert category_id is not None  # checked above
        if self._environment is not Environment.DEMO:
            return TEXT_NOT_DEMO
        category = await self._organization_category(caller, category_id)
        if not caller.is_admin:
            raise Unauthorized()
        clock = self._clock
        await self._uow.write(lambda store: store.set_risk_category_halted(category.id, halt, clock.now()))
        return None

    # -- demo-account reset --
    async def reset_demo_account_state(
        self,
        caller: User,
        account_ids: list[int] | None,
        year: int | None,
        month: int | None,
        day: int | None,
    ) -> str | None:
        """resetdemoaccountstate: return accounts to their state at the market open of a past trade
        date, all in one transaction; an `errorText` or None."""
        error = account_ids_error(account_ids)
        if error is not None:
            return error
        assert account_ids is not None  # checked above
        when = reset_date(year, month, day, trade_date(self._clock.now()))
        if isinstance(when, str):
            return when
        if self._environment is not Environment.DEMO:
            return TEXT_NOT_DEMO
        if not caller.is_admin:
            return ACCESS_IS_DENIED
        accounts = await self._organization_accounts(caller, account_ids)
        if any(a.archived for a in accounts):
            return TEXT_CLOSED
        clock = self._clock
        ids = tuple(a.id for a in accounts)
        await self._uow.write(
            lambda store: reset_accounts(store, accounts, when, caller, clock.now()),
            accounts=ids,
            log_rows=len(ids),
        )
        return None


def reset_accounts(store: Store, accounts: Sequence[Account], day: date, caller: User, now: datetime) -> None:
    """The transaction body of resetdemoaccountstate: each account's working and suspended orders
    cancelled (its running strategies interrupted), its positions and cash rebuilt as they were at
    `day`'s open (fills and orders stay as history), its auto-liq layer cleared, its trailing
    high-water mark moved to the reset cash, one log row each; then its post-trade rules' price
    triggers follow the rebuilt positions. History is read, and cash written, in bulk: up to 10,000
    accounts go in one transaction."""
    ids = [a.id for a in accounts]
    fills = store.fills_before(ids, day)
    position_rows = store.position_contracts(ids)
    changes = store.cash_changes_before(ids, session_begin(day))
    working = store.working_orders_of(ids)
    layered = store.with_auto_liq_layer(ids)
    watched = store.with_post_trade_settings(ids)
    openings = {a.id: opening_state(fills.get(a.id, ()), day, changes.get(a.id, 0)) for a in accounts}
    for account in accounts:
        if working.get(account.id):
            interrupt_strategies(store, account.id, now, TEXT_RESET)
        for order_id in working.get(account.id, ()):
            store.set_order_status(order_id, OrdStatus.CANCELED, now)
            store.emit(TradingEntityChanged("order", "Updated", account.id, order_id))
        opening = openings[account.id]
        # Every position row is rewritten: those opened on `day` or later go back to flat.
        for contract_id in sorted(set(position_rows.get(account.id, ())) | set(opening.positions)):
            contract = contract_of_id(contract_id)
            if contract is None:
                continue
            state = opening.positions.get(contract_id, PositionState())
            store.save_position(account.id, contract, state, now, day)
            store.emit(TradingEntityChanged("position", "Updated", account.id, contract_id))
    store.save_cash_states({i: opening.cash for i, opening in openings.items()}, now)
    reason = reset_reason(day)
    for account in accounts:
        store.emit(TradingEntityChanged("cashBalance", "Updated", account.id, account.id))
        # The layer goes, with the `liquidateOnly` it had set; the admin action stays.
        if account.id in layered:
            status = risk_engine.clear_layer(store, account.id)
        else:
            status = store.risk_status(account.id) or RiskStatus(id=account.id)
        if status.max_net_liq is not None:
            mark = openings[account.id].cash.amount / 100
            settings = store.auto_liq_settings_of(account.id) if account.id in watched else None
            status = replace(status, max_net_liq=mark, min_net_liq=trailing_floor(mark, settings))
        store.save_risk_status(status)
        entry = store.append_log(account.id, now, status, Actor.USER, caller.id, None, reason)
        store.emit(RiskStatusChanged(account.organization_id, account.id, account.user_id, status, entry))
        if account.id in watched:
            # The post-trade rules watch the rebuilt positions' prices again (their price triggers);
            # a rule the reset state breaches acts on the next fill or price change, not on the reset.
            risk_engine.evaluate_account(store, account.id, now, act=False)
