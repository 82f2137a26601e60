"""/v1/account: Tradovate's `Account`."""

from __future__ import annotations

from datetime import datetime

import msgspec

from autoliq.domain.model import Account


class AccountOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `Account` entity (sandbox values for the brokerage fields)."""

    id: int
    name: str
    userId: int
    accountType: str
    clearingHouseId: int
    riskCategoryId: int
    autoLiqProfileId: int
    marginAccountType: str
    legalStatus: str
    timestamp: datetime
    restricted: bool
    closed: bool
    readonly: bool
    active: bool
    """Beyond the OpenAPI schema (docs/api.md): real Tradovate sends it and clients read it."""
    archived: bool
    """Beyond the OpenAPI schema (docs/api.md), as `active`."""


def account_out(account: Account) -> AccountOut:
    """The wire form of an account."""
    return AccountOut(
        id=account.id,
        name=account.name,
        userId=account.user_id,
        accountType="Customer",
        clearingHouseId=1,
        # Seeding puts every account in a category; 0 would mean none (never seen in practice).
        riskCategoryId=account.risk_category_id if account.risk_category_id is not None else 0,
        autoLiqProfileId=1,
        marginAccountType="Speculator",
        legalStatus="Individual",
        timestamp=account.created,
        restricted=False,
        closed=account.archived,
        readonly=False,
        # An archived (closed) account has no trading permission left: not active.
        active=not account.archived,
        archived=account.archived,
    )
