"""/_autoliq/desk/*: the risk desk's reads (who is signed in, accounts page by page, equity history)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from autoliq.service.desk import DeskAccount, DeskSession
from autoliq.service.ports.desk import EquityPoint


class DeskSessionOut(msgspec.Struct):
    """`GET /_autoliq/desk/session`: who the token belongs to and what the desk may offer it."""

    userId: int
    name: str
    organizationId: int
    organizationName: str
    admin: bool
    """An organization admin: may act on accounts and edit their settings and limits."""
    operator: bool
    """An admin of the sandbox operator organization: may set prices and move the clock."""
    environment: str


def desk_session_out(session: DeskSession, environment: str) -> DeskSessionOut:
    """The wire form of the desk's session."""
    user = session.user
    return DeskSessionOut(
        userId=user.id,
        name=user.name,
        organizationId=user.organization_id,
        organizationName=session.organization_name,
        admin=user.is_admin,
        operator=session.operator,
        environment=environment,
    )


class DeskAccountOut(msgspec.Struct):
    """A row of the desk's accounts table."""

    id: int
    name: str
    ownerId: int
    owner: str
    archived: bool
    adminAction: str
    adminTimestamp: datetime | None
    autoLiq: str
    """The auto-liq layer: `Normal`, `LiquidateOnly` or `Locked`."""
    autoLiqRule: str | None
    autoLiqSince: datetime | None
    autoLiqUntil: datetime | None
    """When the layer ends by itself; null while it lasts until changed (`doNotUnlock`)."""
    balance: float
    netLiq: float
    dayPnl: float
    floor: float | None
    """The trailing-drawdown floor (`minNetLiq`); null without one."""
    distanceToFloor: float | None
    openPositions: int


class DeskAccountsOut(msgspec.Struct):
    """`GET /_autoliq/desk/accounts`: how many match, and the page asked for."""

    total: int
    offset: int
    limit: int
    rows: list[DeskAccountOut]


def desk_account_out(found: DeskAccount) -> DeskAccountOut:
    """The wire form of a desk row (money in dollars, rounded to cents)."""
    r = found.row
    net_liq = round(found.net_liq, 2)
    floor = None if r.min_net_liq is None else round(r.min_net_liq, 2)
    return DeskAccountOut(
        id=r.id,
        name=r.name,
        ownerId=r.owner_id,
        owner=r.owner,
        archived=r.archived,
        adminAction=r.admin_action,
        adminTimestamp=r.admin_timestamp,
        autoLiq=r.layer_state or "Normal",
        autoLiqRule=r.layer_rule,
        autoLiqSince=r.layer_since,
        autoLiqUntil=r.layer_until,
        balance=round(found.balance, 2),
        netLiq=net_liq,
        dayPnl=round(found.day_pnl, 2),
        floor=floor,
        distanceToFloor=None if floor is None else round(net_liq - floor, 2),
        openPositions=found.open_positions,
    )


class EquityPointOut(msgspec.Struct):
    """A point of an account's equity curve (dollars)."""

    timestamp: datetime
    netLiq: float
    floor: float | None


class EquityOut(msgspec.Struct):
    """`GET /_autoliq/desk/equity`: an account's latest points, oldest first."""

    accountId: int
    points: list[EquityPointOut]


def equity_out(account_id: int, points: list[EquityPoint]) -> EquityOut:
    """The wire form of an account's equity history."""
    return EquityOut(
        accountId=account_id,
        points=[
            EquityPointOut(
                timestamp=p.at,
                netLiq=p.net_liq_cents / 100,
                floor=None if p.floor_cents is None else p.floor_cents / 100,
            )
            for p in points
        ],
    )
