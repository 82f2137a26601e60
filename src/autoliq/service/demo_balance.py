"""`cashBalance/changedemobalance`: a demo account's cash changed by a delta, durably and audited."""

from __future__ import annotations

from dataclasses import dataclass

from autoliq.domain.demo_balance import (
    CHANGE_INTERVAL,
    DEFAULT_COMMENT,
    TEXT_ACCESS_DENIED,
    TEXT_CLOSED,
    TEXT_NOT_DEMO,
    balance_error,
    change_in_cents,
    request_error,
)
from autoliq.domain.events import TradingEntityChanged
from autoliq.domain.model import User
from autoliq.domain.session import trade_date
from autoliq.domain.states import Environment
from autoliq.service import risk_engine
from autoliq.service.accounts import AccountDirectory
from autoliq.service.clock import Clock
from autoliq.service.orders import CashSnapshot, cash_snapshot_of
from autoliq.service.ports import Store, UnitOfWork


@dataclass(frozen=True, slots=True)
class CashChange:
    """A validated changedemobalance request."""

    account_id: int
    cents: int
    comment: str


class DemoBalanceService:
    """Checks in Tradovate's order: the body's values, the environment, the account (an account the
    caller may not trade, or of another organization: `Access denied`), closed accounts, then the
    non-admin limits ($50,000 at most after the change, one change per account per hour), read and
    written in one transaction."""

    def __init__(
        self, uow: UnitOfWork, clock: Clock, environment: Environment, accounts: AccountDirectory
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._environment = environment
        self._accounts = accounts

    async def change(
        self, caller: User, account_id: int | None, cash_change: float | None, comment: str | None
    ) -> CashSnapshot | str:
        """The account's snapshot after the change, or the `errorText`."""
        error = request_error(account_id, cash_change, comment)
        if error is not None:
            return error
        assert account_id is not None  # checked above
        assert cash_change is not None
        if self._environment is not Environment.DEMO:
            return TEXT_NOT_DEMO
        account = await self._accounts.visible(caller, account_id)
        if account is None:
            return TEXT_ACCESS_DENIED
        if account.archived:
            return TEXT_CLOSED
        change = CashChange(account.id, change_in_cents(cash_change), comment or DEFAULT_COMMENT)
        clock = self._clock

        def work(store: Store) -> CashSnapshot | str:
            now = clock.now()
            day = trade_date(now)
            balance = store.cash(change.account_id, day).amount
            recent = store.cash_changes_since(change.account_id, now - CHANGE_INTERVAL, by_admin=False)
            refused = balance_error(
                is_admin=caller.is_admin, balance_after_cents=balance + change.cents, recent_changes=recent
            )
            if refused is not None:
                return refused
            store.adjust_cash(change.account_id, change.cents, now, day)
            store.insert_cash_change(change.account_id, change.cents, change.comment, caller, now)
            store.emit(TradingEntityChanged("cashBalance", "Updated", change.account_id, change.account_id))
            # The cash moved the account's numbers: its post-trade rules (and price triggers) follow.
            risk_engine.evaluate_account(store, change.account_id, now)
            return cash_snapshot_of(store, change.account_id, day)

        return await self._uow.write(work, accounts=(change.account_id,))
