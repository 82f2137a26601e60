"""`userAccountAutoLiq`: reading and changing accounts' post-trade risk settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from autoliq.domain.errors import NotFound
from autoliq.domain.events import TradingEntityChanged
from autoliq.domain.model import User
from autoliq.domain.post_trade import (
    MAX_ITEMS,
    TEXT_ACCESS_DENIED,
    TEXT_DUPLICATE_ACCOUNT,
    TEXT_EMPTY_ITEMS,
    TEXT_EXISTS,
    TEXT_TOO_MANY_ITEMS,
    AutoLiqSettings,
    may_change,
    settings_error,
)
from autoliq.service import risk_engine
from autoliq.service.accounts import AccountDirectory
from autoliq.service.clock import Clock
from autoliq.service.ports import Store, UnitOfWork


class Mode(StrEnum):
    """How a change meets the account's current settings."""

    CREATE = "create"
    """There must be none yet (`/userAccountAutoLiq/create`)."""
    UPDATE = "update"
    """There must be some (`/userAccountAutoLiq/update`); else 404."""
    UPSERT = "upsert"
    """Either (`updateuserautoliq`, `updateuserautoliqs`)."""


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """New settings for one account (`settings.id`), possibly made as the account's owner."""

    settings: AutoLiqSettings
    as_owner: bool = False


class AutoLiqSettingsService:
    """Reads are scoped like every entity (organization; a trader's own accounts). Changes run in one
    transaction, all or nothing: every item is checked before any is written."""

    def __init__(self, uow: UnitOfWork, clock: Clock, accounts: AccountDirectory) -> None:
        self._uow = uow
        self._clock = clock
        self._accounts = accounts

    async def visible(self, caller: User, ids: Sequence[int] | None = None) -> list[AutoLiqSettings]:
        """The settings the caller may see, all or those of accounts `ids`."""
        owner = None if caller.is_admin else caller.id
        return await self._uow.read(
            lambda s: s.auto_liq_settings(caller.organization_id, owner_id=owner, ids=ids)
        )

    async def one(self, caller: User, account_id: int) -> AutoLiqSettings:
        """One account's settings, else NotFound."""
        found = await self.visible(caller, [account_id])
        if not found:
            raise NotFound()
        return found[0]

    async def change(
        self, caller: User, changes: Sequence[SettingsChange], mode: Mode
    ) -> list[AutoLiqSettings] | str:
        """Apply `changes`; the new settings, or the `errorText` of the first refusal (then nothing
        changed). Accounts the caller cannot see raise NotFound (404), as everywhere."""
        if not changes:
            return TEXT_EMPTY_ITEMS
        if len(changes) > MAX_ITEMS:
            return TEXT_TOO_MANY_ITEMS
        ids = [c.settings.id for c in changes]
        if len(set(ids)) != len(ids):
            return TEXT_DUPLICATE_ACCOUNT
        owners: dict[int, bool] = {}
        for change in changes:
            error = settings_error(change.settings)
            if error is not None:
                return error
            account = await self._accounts.visible(caller, change.settings.id)
            if account is None:
                raise NotFound()
            owners[account.id] = account.user_id == caller.id
        clock = self._clock

        def work(store: Store) -> list[AutoLiqSettings] | str | None:
            current = {c.settings.id: store.auto_liq_settings_of(c.settings.id) for c in changes}
            for change in changes:
                before = current[change.settings.id]
                if mode is Mode.CREATE and before is not None:
                    return TEXT_EXISTS
                if mode is Mode.UPDATE and before is None:
                    return None
                if not may_change(
                    is_admin=caller.is_admin,
                    is_owner=owners[change.settings.id],
                    as_owner=change.as_owner,
                    current=before,
                    new=change.settings,
                ):
                    return TEXT_ACCESS_DENIED
            now = clock.now()
            for change in changes:
                store.save_auto_liq_settings(change.settings, now)
                kind = "Created" if current[change.settings.id] is None else "Updated"
                store.emit(
                    TradingEntityChanged("userAccountAutoLiq", kind, change.settings.id, change.settings.id)
                )
                risk_engine.settings_changed(store, change.settings, now)
            return [c.settings for c in changes]

        result = await self._uow.write(work)
        if result is None:
            raise NotFound()
        return result
