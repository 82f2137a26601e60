"""Organizations, users and accounts: who owns what (immutable facts once created)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from autoliq.domain.model import Account, Organization, User


class AccountStore(Protocol):
    """The organizations, users and accounts of one transaction."""

    def organization(self, organization_id: int) -> Organization | None: ...
    def user(self, user_id: int) -> User | None: ...
    def users_created(self, organization_id: int, ids: Sequence[int] | None) -> list[tuple[User, datetime]]:
        """The organization's users among `ids` (every one: None), by id, each with the time it was
        created."""
        ...

    def account(self, account_id: int) -> Account | None: ...
    def accounts(
        self,
        organization_id: int,
        *,
        owner_id: int | None = None,
        ids: Sequence[int] | None = None,
        name: str | None = None,
    ) -> list[Account]:
        """The organization's accounts (one owner's, those with `ids`, the one named `name`), by id."""
        ...
