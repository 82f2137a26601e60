"""Wire shapes of the administrative siblings: Tradovate's `SetAccountNotes`, `SwitchRiskCategory`,
`ResetDemoAccountState`, setDemoHalt's body and the `RiskCategory` entity, and our extension views
(field names are Tradovate's where it has them)."""

from __future__ import annotations

import msgspec

from autoliq.api.bounds import BoundedYear, Int64
from autoliq.domain.risk_admin import RiskCategory

# -- requests (every field optional here: a missing one gets its documented errorText, HTTP 200) --


class SetAccountNotesBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `SetAccountNotes` (its schema names only `accountId`; `notes` is the text)."""

    accountId: Int64 | None = None
    notes: str | None = None


class SwitchRiskCategoryBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `SwitchRiskCategory`."""

    accountIds: list[Int64] | None = None
    riskCategoryId: Int64 | None = None


class SetDemoHaltBody(msgspec.Struct, forbid_unknown_fields=False):
    """setDemoHalt's body, as Tradovate's halting guide shows it."""

    halt: bool | None = None
    riskCategoryId: Int64 | None = None


class TradeDateIn(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `TradeDate`."""

    year: BoundedYear | None = None
    month: Int64 | None = None
    day: Int64 | None = None


class ResetDemoAccountStateBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `ResetDemoAccountState`."""

    accountIds: list[Int64] | None = None
    resetTradeDate: TradeDateIn | None = None


class RiskCategoryIn(msgspec.Struct, forbid_unknown_fields=False):
    """`POST /_autoliq/riskCategories`: a new category's name."""

    name: str


# -- responses --


class RiskCategoryOut(msgspec.Struct):
    """Tradovate's `RiskCategory` entity as far as it is published: its id and name."""

    id: int
    name: str


class RiskCategoryAdminOut(msgspec.Struct):
    """A risk category with its halt state (our extension view)."""

    id: int
    name: str
    halted: bool


class AccountNotesOut(msgspec.Struct):
    """`GET /_autoliq/accountNotes/{accountId}`: the notes set with setaccountnotes (null: none)."""

    accountId: int
    notes: str | None


def risk_category_out(category: RiskCategory) -> RiskCategoryOut:
    """The /v1 wire form of a category."""
    return RiskCategoryOut(id=category.id, name=category.name)


def risk_category_admin_out(category: RiskCategory) -> RiskCategoryAdminOut:
    """Our extension view of a category."""
    return RiskCategoryAdminOut(id=category.id, name=category.name, halted=category.halted)
