"""Typed shapes of what the SDK sends and receives.

Tradovate's entities are `TypedDict`s with Tradovate's own field names (the JSON as received, unknown
fields kept, nothing converted); enum strings are `StrEnum`s whose values are Tradovate's spelling, so
a member and its string are interchangeable. What the SDK itself produces (a token, the outcome of an
admin action, stream items) are frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from autoliq.client.errors import AutoliqClientError

__all__ = [
    "AccessTokenResponse",
    "Account",
    "AccountRiskStatus",
    "AccountRiskStatusLog",
    "ActionResult",
    "AdminAction",
    "AuditEntry",
    "AuditLog",
    "Bar",
    "ChartKind",
    "Credentials",
    "Dom",
    "DomLevel",
    "EndOfHistory",
    "Histogram",
    "OAuthMeResponse",
    "OrderAction",
    "OrderType",
    "PlaceOrderResult",
    "PropsEvent",
    "Quote",
    "QuoteEntry",
    "ReasonCode",
    "SyncSnapshot",
    "Tick",
    "TimeInForce",
    "Token",
]

# -- enums (values exactly Tradovate's) --


class AdminAction(StrEnum):
    """`adminAction` of setadminautoliqaction and AccountRiskStatus."""

    NORMAL = "Normal"
    """No admin restriction (the unlock)."""
    LOCK_TRADING_IMMEDIATELY = "LockTradingImmediately"
    """Every new order rejected; positions kept."""
    LIQUIDATE_IMMEDIATELY = "LiquidateImmediately"
    """Positions closed at the market, then locked."""
    LIQUIDATE_ONLY_MODE_IMMEDIATELY = "LiquidateOnlyModeImmediately"
    """Only orders that reduce a position."""
    PLACE_AUTO_LIQ_ON_HOLD = "PlaceAutoLiqOnHold"
    """Internal: auto-liquidation paused for a minute."""
    DISABLE_AUTO_LIQ = "DisableAutoLiq"
    """Internal: auto-liquidation disabled until changed."""
    AGREED_ON_LIQ_ONLY_MODE_BY_AUTO_LIQ = "AgreedOnLiqOnlyModeByAutoLiq"
    """Internal: auto-liquidation suppressed for a minute."""
    AGREED_ON_LIQUIDATION_BY_AUTO_LIQ = "AgreedOnLiquidationByAutoLiq"
    """Internal, reserved."""


class ReasonCode(StrEnum):
    """`adminActionReasonCode` of setadminautoliqaction (most partners use `Other` with a reason)."""

    CLOSE_AML_DECISION = "CloseAMLDecision"
    CLOSE_COMPLIANCE_DECISION = "CloseComplianceDecision"
    CLOSE_CUSTOMER_REQUEST = "CloseCustomerRequest"
    CLOSE_DECEASED = "CloseDeceased"
    CLOSE_ESCHEATMENT = "CloseEscheatment"
    CLOSE_FRAUD = "CloseFraud"
    CLOSE_INACTIVE_UNFUNDED_ACCOUNT = "CloseInactiveUnfundedAccount"
    FULL_BALANCE_WITHDRAWAL = "FullBalanceWithdrawal"
    OTHER = "Other"
    RESTRICTED_AML_REQUEST = "RestrictedAMLRequest"
    RESTRICTED_ACCOUNTS_REQUEST = "RestrictedAccountsRequest"
    RESTRICTED_COMPLIANCE_REQUEST = "RestrictedComplianceRequest"
    RESTRICTED_RISK_RESTRICTION = "RestrictedRiskRestriction"
    RESTRICTED_TREASURY_REQUEST = "RestrictedTreasuryRequest"
    RESTRICTED_W8_EXPIRED = "RestrictedW8Expired"


class OrderAction(StrEnum):
    """`action` of placeorder."""

    BUY = "Buy"
    SELL = "Sell"


class OrderType(StrEnum):
    """`orderType` of placeorder (autoliq fills Market, Limit, Stop and StopLimit)."""

    LIMIT = "Limit"
    LIMIT_IF_TOUCHED = "LimitIfTouched"
    MIT = "MIT"
    MARKET = "Market"
    QTS = "QTS"
    STOP = "Stop"
    STOP_LIMIT = "StopLimit"
    TRAILING_STOP = "TrailingStop"
    TRAILING_STOP_LIMIT = "TrailingStopLimit"


class TimeInForce(StrEnum):
    """`timeInForce` of placeorder."""

    DAY = "Day"
    FOK = "FOK"
    GTC = "GTC"
    GTD = "GTD"
    IOC = "IOC"


class ChartKind(StrEnum):
    """`chartDescription.underlyingType` of `md/getChart` (the kinds the SDK decodes)."""

    MINUTE_BAR = "MinuteBar"
    """Bars of `size` minutes."""
    DAILY_BAR = "DailyBar"
    """Bars of `size` trading days."""
    TICK = "Tick"
    """Every trade (`get_ticks`, `stream_ticks`)."""


# -- Tradovate's entities and answers, as received --


class AccessTokenResponse(TypedDict, total=False):
    """`POST /v1/auth/accesstokenrequest` and `GET /v1/auth/renewaccesstoken`."""

    errorText: str
    hibpHint: str
    accessToken: str
    mdAccessToken: str
    """Beyond Tradovate's OpenAPI schema (real Tradovate sends it): authorizes a WebSocket."""
    expirationTime: str
    passwordExpirationTime: str
    userStatus: str
    userId: int
    name: str
    hasLive: bool
    hasSimPlus: bool
    showKIDs: bool


class OAuthMeResponse(TypedDict, total=False):
    """`GET /v1/auth/me`."""

    errorText: str
    userId: int
    name: str
    fullName: str
    email: str
    emailVerified: bool
    isTrial: bool
    organizationName: str
    currentAccountPlan: str
    currentMDSubs: list[str]
    currentBalance: float
    activePlugins: list[str]


class Account(TypedDict, total=False):
    """`Account` (`/v1/account/...`)."""

    id: int
    name: str
    userId: int
    accountType: str
    restricted: bool
    closed: bool
    clearingHouseId: int
    riskCategoryId: int
    autoLiqProfileId: int
    marginAccountType: str
    legalStatus: str
    timestamp: str
    evaluationSize: float
    readonly: bool
    ccEmail: str
    futuresDisabled: bool
    swapEnabled: bool
    ssfRiskDisclosureAcknowledgment: str
    spotMarginEnabled: bool
    active: bool
    """Beyond Tradovate's OpenAPI schema (real Tradovate sends it), as `archived`."""
    archived: bool


class AccountRiskStatus(TypedDict, total=False):
    """`AccountRiskStatus`: its `id` is the account's (there is no `accountId` field)."""

    id: int
    adminAction: str
    adminTimestamp: str
    liquidateOnly: str
    userTriggeredLiqOnly: bool
    maxNetLiq: float
    minNetLiq: float


class BulkAccountResult(TypedDict, total=False):
    """One account's result of autoliq's bulk setadminautoliqaction: `httpStatus` is what the single
    route would have answered for it, with its `errorText` or `accountRiskStatus`."""

    accountId: int
    httpStatus: int
    errorText: str
    accountRiskStatus: AccountRiskStatus


class AccountRiskStatusLog(TypedDict, total=False):
    """`AccountRiskStatusLog`: one row per change of an account's risk status."""

    id: int
    accountId: int
    timestamp: str
    adminAction: str
    adminTimestamp: str
    liquidateOnly: str
    userTriggeredLiqOnly: bool
    maxNetLiq: float
    minNetLiq: float


class AuditEntry(TypedDict, total=False):
    """One entry of autoliq's `GET /_autoliq/audit` (who changed what, and why)."""

    id: int
    accountId: int
    timestamp: str
    adminAction: str
    actor: str
    actorUserId: int | None
    reasonCode: str | None
    reason: str | None


class AuditLog(TypedDict):
    """autoliq's `GET /_autoliq/audit?accountId=`: oldest entry first."""

    accountId: int
    entries: list[AuditEntry]


class PlaceOrderResult(TypedDict, total=False):
    """`POST /v1/order/placeorder`: `orderId`, or a refusal as `failureReason` + `failureText`."""

    failureReason: str
    failureText: str
    orderId: int


class _LimitScope(TypedDict, total=False):
    """The scope keys `PositionLimit` and `RiskParameter` share."""

    id: int
    contractId: int
    productId: int
    exchangeId: int
    productType: str
    contractGroupId: int
    riskDiscountContractGroupId: int
    fungibleProductId: int
    productVerificationStatus: str


class PositionLimit(_LimitScope, total=False):
    """`UserAccountPositionLimit` (`/v1/userAccountPositionLimit/...`): a pre-trade limit row."""

    accountId: int
    active: bool
    totalBy: str
    riskTimePeriodId: int
    longLimit: int
    shortLimit: int
    exposedLimit: int
    fungibleExposedLimit: int
    description: str


class RiskParameter(_LimitScope, total=False):
    """`UserAccountRiskParameter` (`/v1/userAccountRiskParameter/...`): a position limit's order
    limits."""

    userAccountPositionLimitId: int
    maxOpeningOrderQty: int
    maxClosingOrderQty: int
    fungibleMaxOpeningOrderQty: int
    fungibleMaxClosingOrderQty: int
    maxBackMonth: int
    preExpirationDays: int
    marginPercentage: float
    marginDollarValue: float
    hardLimit: bool


# -- what the SDK produces --


@dataclass(frozen=True, slots=True)
class Credentials:
    """What `accesstokenrequest` needs; kept by a client to log in again when renewal fails."""

    name: str
    password: str = field(repr=False)
    app_id: str | None = None
    app_version: str | None = None
    device_id: str | None = None
    cid: str | int | None = None
    """A string in Tradovate's schema; its examples send a number: sent as given."""
    sec: str | None = field(default=None, repr=False)

    def body(self) -> dict[str, Any]:
        """The `AccessTokenRequest` JSON (unset options left out)."""
        optional = {
            "appId": self.app_id,
            "appVersion": self.app_version,
            "deviceId": self.device_id,
            "cid": self.cid,
            "sec": self.sec,
        }
        return {
            "name": self.name,
            "password": self.password,
            **{k: v for k, v in optional.items() if v is not None},
        }


@dataclass(frozen=True, slots=True)
class Token:
    """An access token and when it expires (None when the server did not say), with its
    market-data token (`mdAccessToken`; None when the server sent none)."""

    access_token: str = field(repr=False)
    expiration_time: datetime | None
    user_id: int | None = None
    name: str | None = None
    md_access_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What setadminautoliqaction did to one account."""

    account_id: int
    admin_action: str
    """The adminAction asked for."""
    applied: bool
    """True when the read-back (`verified`) or else the answer shows `admin_action`."""
    verified: bool
    """True when the status was read back with `accountRiskStatus/deps` after the write."""
    status: AccountRiskStatus | None
    """The write's answer; None when it was lost (see `write_error`)."""
    read_back: AccountRiskStatus | None = None
    """The status read back (`verified` only); None when the account has none visible."""
    write_error: AutoliqClientError | None = None
    """The ambiguous failure of the write (5xx, no answer) that the read-back settled."""


@dataclass(frozen=True, slots=True)
class SyncSnapshot:
    """The answer to `user/syncrequest`: entity arrays (`accounts`, `accountRiskStatuses`, ...)."""

    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PropsEvent:
    """A `props` event: an entity `Created`, `Updated` or `Deleted`."""

    entity_type: str
    event_type: str
    entity: dict[str, Any]


# -- market data, decoded from the `md` and `chart` events --


@dataclass(frozen=True, slots=True)
class QuoteEntry:
    """One entry of a quote; Tradovate leaves out whichever of the two does not apply."""

    price: float | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Quote:
    """A contract's quote (`{"e": "md", "d": {"quotes": [...]}}`): its nine entries, each always
    present here (both halves None when the server left the entry out)."""

    contract_id: int
    timestamp: datetime
    bid: QuoteEntry
    offer: QuoteEntry
    trade: QuoteEntry
    total_trade_volume: QuoteEntry
    """Only `size`."""
    opening_price: QuoteEntry
    """Only `price`, as the three below."""
    high_price: QuoteEntry
    low_price: QuoteEntry
    settlement_price: QuoteEntry
    open_interest: QuoteEntry
    """Only `size`."""


@dataclass(frozen=True, slots=True)
class DomLevel:
    """One price level of a book."""

    price: float
    size: int


@dataclass(frozen=True, slots=True)
class Dom:
    """A contract's whole book (`{"e": "md", "d": {"doms": [...]}}`), best levels first."""

    contract_id: int
    timestamp: datetime
    bids: tuple[DomLevel, ...]
    """Highest price first."""
    offers: tuple[DomLevel, ...]
    """Lowest price first."""


@dataclass(frozen=True, slots=True)
class Histogram:
    """A contract's volume at price (`{"e": "md", "d": {"histograms": [...]}}`)."""

    contract_id: int
    timestamp: datetime
    trade_date: date | None
    base: float
    """The price the offsets of `items` count from."""
    items: dict[int, int]
    """Volume by offset from `base`, as Tradovate keys them (their unit is not documented)."""
    refresh: bool
    """As sent (whether it replaces or adds to earlier items is not documented)."""


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of a chart (`MinuteBar`, `DailyBar`); a live update of the newest bar repeats its
    `timestamp`."""

    timestamp: datetime
    open: float
    high: float
    low: float
    close: float
    up_volume: int = 0
    down_volume: int = 0
    up_ticks: int = 0
    down_ticks: int = 0
    bid_volume: int = 0
    offer_volume: int = 0


@dataclass(frozen=True, slots=True)
class Tick:
    """One trade of a tick chart, decoded from Tradovate's packed form (price = (bp + p) * ts,
    time = bt + t milliseconds); the bid and ask only when the packet gave their sizes."""

    timestamp: datetime
    price: float
    size: int
    id: int | None = None
    bid: float | None = None
    bid_size: int | None = None
    ask: float | None = None
    ask_size: int | None = None


@dataclass(frozen=True, slots=True)
class EndOfHistory:
    """A chart stream's marker between the history asked for and the live updates (`eoh`)."""
