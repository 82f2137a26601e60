"""Wire shapes: Tradovate's entities with their exact field names, and our extension views.

Field names are camelCase because they are Tradovate's JSON names, to the letter.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import msgspec

from autoliq.api.bounds import Int64
from autoliq.domain.auto_liq import Alert, AutoLiqLayer
from autoliq.domain.instruments import (
    ContractGroupSpec,
    ContractSpec,
    CurrencySpec,
    ExchangeSpec,
    ProductSpec,
    contract_group_of,
    exchange_of,
)
from autoliq.domain.model import Account, RiskStatus, RiskStatusLogEntry, User
from autoliq.service.market import LastPrice
from autoliq.service.sandbox_clock import ClockView


class ErrorBody(msgspec.Struct):
    """An error answer: `{"errorText": "..."}`."""

    errorText: str


# -- requests --


class AccessTokenRequest(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `AccessTokenRequest` (only name and password are required)."""

    name: str
    password: str
    appId: str | None = None
    appVersion: str | None = None
    deviceId: str | None = None
    cid: str | Int64 | None = None
    sec: str | None = None
    hibpCheck: bool | None = None
    pTicket: str | None = msgspec.field(default=None, name="p-ticket")
    """The penalty ticket of an earlier answer, sent back once its `p-time` has passed."""


class ResetAutoLiqStatusBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `ResetAutoLiqStatus`."""

    accountId: Int64 | None = None


class OrganizationAdminUnlockAccountBody(msgspec.Struct, forbid_unknown_fields=False):
    """`organizationadminunlockaccount`'s body (`accountId`, optional `reason`)."""

    accountId: Int64 | None = None
    reason: str | None = None


class UpdateMaxNetLiqBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `UpdateMaxNetLiq`."""

    accountId: Int64 | None = None
    maxNetLiq: float | None = None


class SetAdminAutoLiqActionBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `SetAdminAutoLiqAction`. Enum fields are read as text so that an unknown value
    gets the documented `errorText` (HTTP 200), and a missing one counts as invalid."""

    accountId: Int64 | None = None
    adminAction: str | None = None
    adminActionReasonCode: str | None = None
    adminActionReason: str | None = None


# -- responses --


class AccessTokenResponse(msgspec.Struct, omit_defaults=True):
    """Tradovate's `AccessTokenResponse`."""

    errorText: str | None = None
    accessToken: str | None = None
    mdAccessToken: str | None = None
    """Beyond the OpenAPI schema (docs/api.md, "Fields served beyond the OpenAPI"): the token that
    authorizes a market-data (or any) WebSocket; not a REST bearer."""
    expirationTime: datetime | None = None
    userStatus: str | None = None
    userId: int | None = None
    name: str | None = None
    hasLive: bool | None = None
    pTicket: str | None = msgspec.field(default=None, name="p-ticket")
    """Instead of a token: too many failed logins of this name or from this address (or too many
    logins at once); not checked. Send the request again with this ticket after `p-time` seconds."""
    pTime: int | None = msgspec.field(default=None, name="p-time")
    pCaptcha: bool | None = msgspec.field(default=None, name="p-captcha")


class OAuthMeResponse(msgspec.Struct, omit_defaults=True):
    """Tradovate's `OAuthMeResponse`."""

    userId: int
    name: str
    fullName: str
    email: str
    emailVerified: bool
    isTrial: bool
    organizationName: str
    currentMDSubs: list[str]
    activePlugins: list[str]
    errorText: str | None = None


class AccountRiskStatusOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `AccountRiskStatus` (absent values are omitted, never null)."""

    id: int
    adminAction: str
    userTriggeredLiqOnly: bool
    adminTimestamp: datetime | None = None
    liquidateOnly: datetime | None = None
    maxNetLiq: float | None = None
    minNetLiq: float | None = None


class AccountRiskStatusResponse(msgspec.Struct, omit_defaults=True):
    """Tradovate's `AccountRiskStatusResponse`."""

    errorText: str | None = None
    accountRiskStatus: AccountRiskStatusOut | None = None


class AccountRiskStatusLogOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `accountRiskStatusLog` entity."""

    id: int
    accountId: int
    timestamp: datetime
    adminAction: str
    userTriggeredLiqOnly: bool
    adminTimestamp: datetime | None = None
    liquidateOnly: datetime | None = None
    maxNetLiq: float | None = None
    minNetLiq: float | None = None


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


class AuditEntryOut(msgspec.Struct):
    """One audit row, richer than Tradovate's log: who, with which reason code and text."""

    id: int
    accountId: int
    timestamp: datetime
    adminAction: str
    actor: str
    actorUserId: int | None
    reasonCode: str | None
    reason: str | None


class AuditOut(msgspec.Struct):
    """`GET /_autoliq/audit?accountId=`: the account's whole trail, oldest first."""

    accountId: int
    entries: list[AuditEntryOut]


class AlertOut(msgspec.Struct):
    """`GET /_autoliq/alerts`: a post-trade rule reached its limit (or the flatten time came)."""

    id: int
    accountId: int
    timestamp: datetime
    tradeDate: date
    rule: str
    """The rule's settings field (`dailyLossAutoLiq`), or `flattenTimestamp`."""
    level: str
    """`Alert`, `LiquidateOnly`, `AutoLiq` or `Flatten`."""
    message: str


def alert_out(alert: Alert) -> AlertOut:
    """The wire form of an alert."""
    return AlertOut(
        id=alert.id,
        accountId=alert.account_id,
        timestamp=alert.timestamp,
        tradeDate=alert.trade_date,
        rule=alert.rule,
        level=alert.level.value,
        message=alert.message,
    )


class AutoLiqLayerOut(msgspec.Struct, omit_defaults=True):
    """`GET /_autoliq/autoLiqStatus`: the auto-liq layer of an account (`state` `Normal` when clear)."""

    accountId: int
    state: str
    """`Normal`, `LiquidateOnly` or `Locked`."""
    rule: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    """When the lock ends by itself; absent with `doNotUnlock` (or when clear)."""


def auto_liq_layer_out(account_id: int, layer: AutoLiqLayer | None) -> AutoLiqLayerOut:
    """The wire form of an account's auto-liq layer."""
    if layer is None:
        return AutoLiqLayerOut(accountId=account_id, state="Normal")
    return AutoLiqLayerOut(
        accountId=account_id, state=layer.state.value, rule=layer.rule, since=layer.since, until=layer.until
    )


class ProductOut(msgspec.Struct):
    """Tradovate's `Product`."""

    id: int
    name: str
    currencyId: int
    productType: str
    description: str
    exchangeId: int
    contractGroupId: int
    status: str
    months: str
    valuePerPoint: float
    priceFormatType: str
    priceFormat: int
    tickSize: float


class ContractOut(msgspec.Struct):
    """Tradovate's `Contract`."""

    id: int
    name: str
    contractMaturityId: int
    timestamp: datetime


class ContractMaturityOut(msgspec.Struct):
    """Tradovate's `ContractMaturity` (one per listed contract here, with the contract's id)."""

    id: int
    productId: int
    expirationMonth: int
    """`YYYYMM` of the contract month."""
    expirationDate: datetime
    isFront: bool


class ContractGroupOut(msgspec.Struct):
    """Tradovate's `ContractGroup`."""

    id: int
    name: str


class ExchangeOut(msgspec.Struct):
    """Tradovate's `Exchange`."""

    id: int
    name: str
    micCode: str


class CurrencyOut(msgspec.Struct):
    """Tradovate's `Currency`."""

    id: int
    name: str
    symbol: str


class UserOut(msgspec.Struct):
    """Tradovate's `User` (autoliq's users are all `Active`, non-professional)."""

    id: int
    name: str
    timestamp: datetime
    email: str
    status: str
    professional: bool
    organizationId: int


class PriceIn(msgspec.Struct, forbid_unknown_fields=False):
    """One price to set: a listed contract's symbol and its new last price."""

    symbol: str
    price: float


class PricesIn(msgspec.Struct, forbid_unknown_fields=False):
    """`POST /_autoliq/prices`: one or many last prices, set together."""

    prices: list[PriceIn]


class PriceOut(msgspec.Struct):
    """A contract's last price."""

    symbol: str
    contractId: int
    price: float
    timestamp: datetime


class PricesOut(msgspec.Struct):
    """Last prices, by contract."""

    prices: list[PriceOut]


class ClockIn(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /_autoliq/clock`: either `now` (ISO 8601 with an offset) or `advanceSeconds`."""

    now: datetime | None = None
    advanceSeconds: float | None = None


class ClockOut(msgspec.Struct):
    """The sandbox clock and where it stands in the CME session calendar (America/Chicago)."""

    now: datetime
    tradeDate: date
    marketOpen: bool
    nextMarketOpen: datetime
    nextWeeklyOpen: datetime
    offsetSeconds: float
    """How far the sandbox clock runs ahead of the machine's."""
    speed: int = 100
    """Its pace in percent of real time (set by a market replay; 100 otherwise)."""


# -- mapping --


def risk_status_out(status: RiskStatus) -> AccountRiskStatusOut:
    """The wire form of a risk status."""
    return AccountRiskStatusOut(
        id=status.id,
        adminAction=status.admin_action.value,
        userTriggeredLiqOnly=status.user_triggered_liq_only,
        adminTimestamp=status.admin_timestamp,
        liquidateOnly=status.liquidate_only,
        maxNetLiq=status.max_net_liq,
        minNetLiq=status.min_net_liq,
    )


def log_entry_out(entry: RiskStatusLogEntry) -> AccountRiskStatusLogOut:
    """The wire form of a log row."""
    s = entry.status
    return AccountRiskStatusLogOut(
        id=entry.id,
        accountId=entry.account_id,
        timestamp=entry.timestamp,
        adminAction=s.admin_action.value,
        userTriggeredLiqOnly=s.user_triggered_liq_only,
        adminTimestamp=s.admin_timestamp,
        liquidateOnly=s.liquidate_only,
        maxNetLiq=s.max_net_liq,
        minNetLiq=s.min_net_liq,
    )


def audit_entry_out(entry: RiskStatusLogEntry) -> AuditEntryOut:
    """Our richer audit view of a log row."""
    return AuditEntryOut(
        id=entry.id,
        accountId=entry.account_id,
        timestamp=entry.timestamp,
        adminAction=entry.status.admin_action.value,
        actor=entry.actor.value,
        actorUserId=entry.actor_user_id,
        reasonCode=entry.reason_code.value if entry.reason_code else None,
        reason=entry.reason,
    )


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


def product_out(product: ProductSpec) -> ProductOut:
    """The wire form of a product."""
    decimals = max(0, -int(product.tick_size.normalize().as_tuple().exponent))
    return ProductOut(
        id=product.id,
        name=product.name,
        currencyId=1,  # USD
        productType="Futures",
        description=product.description,
        exchangeId=exchange_of(product).id,
        contractGroupId=contract_group_of(product).id,
        status="Verified",
        months=product.months,
        valuePerPoint=float(product.value_per_point),
        priceFormatType="Decimal",
        priceFormat=-decimals,
        tickSize=float(product.tick_size),
    )


def contract_out(contract: ContractSpec) -> ContractOut:
    """The wire form of a contract (its timestamp: listing, a year before expiry)."""
    listed = datetime(contract.year - 1, contract.month, 1, tzinfo=UTC)
    return ContractOut(
        id=contract.id, name=contract.name, contractMaturityId=contract.maturity_id, timestamp=listed
    )


def contract_maturity_out(contract: ContractSpec, *, is_front: bool) -> ContractMaturityOut:
    """The wire form of a listed contract's maturity: its last trading day at midnight UTC."""
    expires = datetime.combine(contract.expiration, time(), UTC)
    return ContractMaturityOut(
        id=contract.maturity_id,
        productId=contract.product.id,
        expirationMonth=contract.year * 100 + contract.month,
        expirationDate=expires,
        isFront=is_front,
    )


def contract_group_out(group: ContractGroupSpec) -> ContractGroupOut:
    """The wire form of a contract group."""
    return ContractGroupOut(id=group.id, name=group.name)


def exchange_out(exchange: ExchangeSpec) -> ExchangeOut:
    """The wire form of an exchange."""
    return ExchangeOut(id=exchange.id, name=exchange.name, micCode=exchange.mic_code)


def currency_out(currency: CurrencySpec) -> CurrencyOut:
    """The wire form of a currency."""
    return CurrencyOut(id=currency.id, name=currency.name, symbol=currency.symbol)


def user_out(user: User, created: datetime) -> UserOut:
    """The wire form of a user (`status` `Active`, `professional` false: sandbox values)."""
    return UserOut(user.id, user.name, created, user.email, "Active", False, user.organization_id)


def price_out(last: LastPrice) -> PriceOut:
    """The wire form of a last price."""
    return PriceOut(
        symbol=last.contract.name,
        contractId=last.contract.id,
        price=float(last.price),
        timestamp=last.updated,
    )


def clock_out(v: ClockView) -> ClockOut:
    """The wire form of the sandbox clock."""
    return ClockOut(
        v.now,
        v.trade_date,
        v.market_open,
        v.next_market_open,
        v.next_weekly_open,
        round(v.offset_seconds, 6),
        v.speed,
    )
