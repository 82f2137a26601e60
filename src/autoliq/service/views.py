"""The read side: what a caller may see, scoped to its organization (a trader: its own accounts)."""

from __future__ import annotations

from collections.abc import Sequence

from autoliq.domain.errors import NotFound
from autoliq.domain.model import Account, RiskStatus, RiskStatusLogEntry, User
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

    async def organization_name(self, caller: User) -> str:
        """The caller's organization's name."""
        org = await self._uow.read(lambda s: s.organization(caller.organization_id))
        return org.name if org else ""
