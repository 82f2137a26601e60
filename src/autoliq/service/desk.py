"""The risk desk's reads: who is signed in, accounts page by page with their live figures, and an
account's equity history. Every read is scoped as the REST reads are (an admin: its organization; a
trader: its own accounts)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from autoliq.domain.errors import NotFound
from autoliq.domain.model import User
from autoliq.domain.money import opening_cash
from autoliq.service.ports import Store, UnitOfWorkOf
from autoliq.service.ports.desk import DeskQuery, DeskRow, EquityPoint
from autoliq.service.ports.liquidation import LiquidationState
from autoliq.service.risk_engine import account_figures
from autoliq.service.sandbox import SandboxOperator
from autoliq.service.views import Views, owner_scope


@dataclass(frozen=True, slots=True)
class DeskAccount:
    """A row of the desk's accounts table: the stored state and the figures now."""

    row: DeskRow
    net_liq: float
    day_pnl: float
    balance: float
    open_positions: int


@dataclass(frozen=True, slots=True)
class DeskSession:
    """Who the desk is signed in as, and what it may show."""

    user: User
    organization_name: str
    operator: bool


def name_pattern(text: str) -> str:
    """A case-insensitive LIKE pattern (escape `\\`) for the desk's name filter: `*` any run of
    characters, `?` one; without either, the name contains `text`."""
    escaped = []
    for ch in text.lower():
        if ch in "\\%_":
            escaped.append("\\" + ch)
        elif ch == "*":
            escaped.append("%")
        elif ch == "?":
            escaped.append("_")
        else:
            escaped.append(ch)
    pattern = "".join(escaped)
    return pattern if "*" in text or "?" in text else f"%{pattern}%"


class DeskViews:
    """The desk's reads."""

    def __init__(
        self,
        uow: UnitOfWorkOf[Store],
        views: Views,
        operator: SandboxOperator,
        today: Callable[[], date],
    ) -> None:
        self._uow = uow
        self._views = views
        self._operator = operator
        self._today = today

    async def session(self, caller: User) -> DeskSession:
        """The caller, its organization's name and whether it operates the sandbox."""
        name = await self._views.organization_name(caller)
        return DeskSession(caller, name, await self._operator.operates(caller))

    async def accounts(
        self,
        caller: User,
        *,
        offset: int,
        limit: int,
        name: str | None,
        admin_action: str | None,
        auto_liq: str | None,
        ids: Sequence[int] | None,
        sort: str,
        descending: bool,
    ) -> tuple[int, list[DeskAccount]]:
        """How many visible accounts match, and the page asked for with each one's figures now
        (read in the same transaction: one statement for the page, one for their numbers)."""
        query = DeskQuery(
            caller.organization_id,
            owner_scope(caller),
            offset=offset,
            limit=limit,
            name_like=None if not name else name_pattern(name),
            admin_action=admin_action,
            auto_liq=auto_liq,
            ids=ids,
            sort=sort,
            descending=descending,
        )
        day = self._today()

        def read(store: Store) -> tuple[int, list[DeskAccount]]:
            total, rows = store.desk_accounts(query)
            numbers = store.accounts_numbers([r.id for r in rows], day)
            out = []
            for r in rows:
                state = numbers.get(r.id) or LiquidationState((), opening_cash(day), False)
                figures, held = account_figures(state)
                balance = state.cash.amount / 100
                out.append(DeskAccount(r, figures.net_liq, figures.day_pnl, balance, held))
            return total, out

        return await self._uow.read(read)

    async def equity(self, caller: User, account_id: int, limit: int) -> list[EquityPoint]:
        """A visible account's latest `limit` equity points, oldest first; NotFound otherwise."""
        found = await self._views.accounts(caller, [account_id])
        if not found:
            raise NotFound()
        return await self._uow.read(lambda s: s.equity_points(account_id, limit))
