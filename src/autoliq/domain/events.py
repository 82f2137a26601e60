"""Domain events: past-tense facts, published after the transaction that made them commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from autoliq.domain.auto_liq import Alert
from autoliq.domain.model import RiskStatus, RiskStatusLogEntry


@dataclass(frozen=True, slots=True)
class RiskStatusChanged:
    """An account's risk status changed and its log row was written."""

    organization_id: int
    account_id: int
    owner_user_id: int
    status: RiskStatus
    log_entry: RiskStatusLogEntry


@dataclass(frozen=True, slots=True)
class TradingEntityChanged:
    """An order, fill, position, cash balance or post-trade settings of an account were created or
    updated."""

    entity_type: str
    """Tradovate's entity name: `order`, `fill`, `position`, `cashBalance`, `userAccountAutoLiq`,
    `orderStrategy`, `orderStrategyLink` (whose id is its order's), `userAccountPositionLimit` or
    `userAccountRiskParameter`."""
    event_type: str
    """`Created`, `Updated` or `Deleted`, as Tradovate's `props` events say (a `Deleted` entity is
    sent as its id alone)."""
    account_id: int
    entity_id: int
    """The entity's id (for a position: its contract id; for a cash balance and post-trade settings:
    the account id)."""


@dataclass(frozen=True, slots=True)
class AlertRaised:
    """A post-trade rule reached its limit (or the flatten time came): the stored alert."""

    organization_id: int
    owner_user_id: int
    alert: Alert


@dataclass(frozen=True, slots=True)
class SessionsClosed:
    """Login sessions were closed (a third login closes the oldest): every worker forgets their tokens."""

    session_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SandboxReset:
    """The sandbox went back to its seeded state: every worker forgets what it cached of the old
    state and, for a reset of the whole server, sets its clock back to the machine's."""

    by_user_id: int
    organization_id: int | None = None
    """The one organization reset (its admin's reset); None: the whole server (the operator's)."""


@dataclass(frozen=True, slots=True)
class SandboxClockMoved:
    """The sandbox clock was moved and its new offset stored: every worker reads the stored offset
    again (the stored one, not a value carried here: events may be heard out of commit order)."""


@dataclass(frozen=True, slots=True)
class SandboxFaultsChanged:
    """Injected faults or penalty tickets were added, used up or cleared: every worker reads them again."""


@dataclass(frozen=True, slots=True)
class PricesChanged:
    """Last prices were set (and recorded in the price history): every worker's market-data feed
    tells its subscribers. One entry per contract: (contract id, price in ticks, price-history id,
    contracts that price change filled)."""

    at: datetime
    prices: tuple[tuple[int, int, int, int], ...]


Event = (
    RiskStatusChanged
    | TradingEntityChanged
    | AlertRaised
    | SessionsClosed
    | SandboxReset
    | SandboxClockMoved
    | SandboxFaultsChanged
    | PricesChanged
)
