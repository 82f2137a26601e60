"""Which organization and owner an account has, and who may see it."""

from __future__ import annotations

from collections.abc import Sequence

from autoliq.domain.gate import may_trade
from autoliq.domain.model import Account, User
from autoliq.service.ports import AccountStore, UnitOfWorkOf


class AccountDirectory:
    """Which organization and owner an account has: immutable facts, cached once read."""

    def __init__(self, uow: UnitOfWorkOf[AccountStore]) -> None:
        self._uow = uow
        self._cache: dict[int, Account] = {}

    async def get(self, account_id: int) -> Account | None:
        """The account, or None when it does not exist."""
        account = self._cache.get(account_id)
        if account is None:
            account = await self._uow.read(lambda store: store.account(account_id))
            if account is not None:
                self._cache[account_id] = account
        return account

    async def get_many(self, organization_id: int, account_ids: Sequence[int]) -> dict[int, Account]:
        """The accounts among `account_ids` that exist, by id: those already cached (of any
        organization), and the others read at once among `organization_id`'s (another organization's
        account that is not cached is left out, as an unknown one: callers refuse both alike)."""
        found: dict[int, Account] = {}
        missing: list[int] = []
        for account_id in account_ids:
            account = self._cache.get(account_id)
            if account is None:
                missing.append(account_id)
            else:
                found[account_id] = account
        if missing:
            read = await self._uow.read(lambda store: store.accounts(organization_id, ids=missing))
            for account in read:
                self._cache[account.id] = account
                found[account.id] = account
        return found

    def forget(self) -> None:
        """Drop every cached account (after a sandbox reset: their risk categories went back)."""
        self._cache.clear()

    async def visible(self, caller: User, account_id: int | None) -> Account | None:
        """The account when `caller` may see and trade it (its organization's admin, or its owner),
        else None."""
        account = await self.get(account_id) if account_id is not None and account_id > 0 else None
        if account is None or not may_trade(
            caller.is_admin, caller.id, caller.organization_id, account.user_id, account.organization_id
        ):
            return None
        return account
