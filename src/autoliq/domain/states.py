"""The small enums of the risk domain, each member documenting what it permits."""

from __future__ import annotations

from enum import StrEnum


class AdminAction(StrEnum):
    """An account's admin auto-liquidation action (Tradovate's `adminAction`)."""

    NORMAL = "Normal"
    """No admin restriction: trading allowed (other checks apply)."""
    LOCK_TRADING_IMMEDIATELY = "LockTradingImmediately"
    """Every new order rejected `TradingLocked`; positions kept."""
    LIQUIDATE_IMMEDIATELY = "LiquidateImmediately"
    """Working orders cancelled, positions closed at the market, then locked like a lock."""
    LIQUIDATE_ONLY_MODE_IMMEDIATELY = "LiquidateOnlyModeImmediately"
    """Only orders that reduce a position; others rejected `LiquidationOnly`."""
    PLACE_AUTO_LIQ_ON_HOLD = "PlaceAutoLiqOnHold"
    """Internal: auto-liquidation suspended for 60 s, then back to `Normal`."""
    DISABLE_AUTO_LIQ = "DisableAutoLiq"
    """Internal: auto-liquidation disabled until changed."""
    AGREED_ON_LIQ_ONLY_MODE_BY_AUTO_LIQ = "AgreedOnLiqOnlyModeByAutoLiq"
    """Internal: auto-liquidation (not liquidate-only triggers) suppressed for 60 s."""
    AGREED_ON_LIQUIDATION_BY_AUTO_LIQ = "AgreedOnLiquidationByAutoLiq"
    """Internal, reserved: stored and logged, no effect."""

    @classmethod
    def parse(cls, value: str) -> AdminAction | None:
        """The member spelled exactly `value`, or None (enum strings are case-sensitive)."""
        return _ADMIN_ACTIONS.get(value)


_ADMIN_ACTIONS: dict[str, AdminAction] = {m.value: m for m in AdminAction}


class ReasonCode(StrEnum):
    """Why an admin changed an account's action (Tradovate's `adminActionReasonCode`)."""

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

    @classmethod
    def parse(cls, value: str) -> ReasonCode | None:
        """The member spelled exactly `value`, or None."""
        return _REASON_CODES.get(value)


_REASON_CODES: dict[str, ReasonCode] = {m.value: m for m in ReasonCode}


class Environment(StrEnum):
    """The one Tradovate environment a server plays."""

    DEMO = "demo"
    """Simulation: setadminautoliqaction allowed (Tradovate documents it as Demo-only)."""
    LIVE = "live"
    """Real money: setadminautoliqaction answers 401 `Access is denied`."""
    REPLAY = "replay"
    """Market replay: setadminautoliqaction answers the published replay text."""


class Role(StrEnum):
    """What a user may do inside its organization."""

    ADMIN = "admin"
    """Organization administrator: reads and changes every account of the organization."""
    TRADER = "trader"
    """Trader: reads only the accounts it owns; may not change risk status."""


class Actor(StrEnum):
    """Who made a logged change."""

    USER = "user"
    SYSTEM = "system"


class Side(StrEnum):
    """Tradovate's order `action`."""

    BUY = "Buy"
    SELL = "Sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell."""
        return 1 if self is Side.BUY else -1
