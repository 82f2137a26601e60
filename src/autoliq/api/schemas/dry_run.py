"""Wire shapes of `order/dryrun`: Tradovate's `DryRun`, `DryRunOrder`, `ExtraPreTradeRisk` and
`DryRunResponse` with `RiskEvaluationDetails` and `EstimatedFillFee` (field names are Tradovate's)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from autoliq.api.bounds import Int64
from autoliq.service.dry_run import (
    MAX_DRY_RUN_ORDERS,
    DryRunOutcome,
    ExtraRisk,
    ProposedOrder,
    RiskDetails,
)

USD = 1
"""The currency id of every amount and fee (the sandbox trades in US dollars; currency 1)."""
MAX_RISK_MAP_ENTRIES = 1000
"""`extraPreTradeRisk.products` and `.contracts` hold at most this many keys (their shape is not
documented; they are read and not applied)."""


class DryRunOrderBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `DryRunOrder` (enum fields read as text: an unknown value is a rejectReason)."""

    contractId: Int64
    action: str
    orderQty: Int64
    orderType: str
    price: float | None = None
    stopPrice: float | None = None


def dry_run_order_command(body: DryRunOrderBody) -> ProposedOrder:
    """The service's dry-run order from the decoded body."""
    return ProposedOrder(
        body.contractId, body.action, body.orderQty, body.orderType, body.price, body.stopPrice
    )


class ExtraPreTradeRiskBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `ExtraPreTradeRisk`."""

    products: Annotated[dict[str, Any], msgspec.Meta(max_length=MAX_RISK_MAP_ENTRIES)]
    contracts: Annotated[dict[str, Any], msgspec.Meta(max_length=MAX_RISK_MAP_ENTRIES)]
    maxExposedTotal: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] | None = None
    maxTradedVolumeTotal: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] | None = None

    def extra(self) -> ExtraRisk:
        """The two totals the sandbox applies."""
        return ExtraRisk(self.maxExposedTotal, self.maxTradedVolumeTotal)


class DryRunBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `DryRun`: an account and one to four orders."""

    accountId: Int64
    orders: Annotated[list[DryRunOrderBody], msgspec.Meta(min_length=1, max_length=MAX_DRY_RUN_ORDERS)]
    extraPreTradeRisk: ExtraPreTradeRiskBody | None = None


class RiskEvaluationDetailsOut(msgspec.Struct):
    """Tradovate's `RiskEvaluationDetails` (every field required)."""

    beforeInitialMarginReq: float
    beforeInitialFullMarginReq: float
    beforeOpenCollateralReq: float
    beforeNetPos: int
    isExitOrder: bool
    initialMarginReq: float
    initialFullMarginReq: float
    openCollateralReq: float
    totalCash: float
    futuresOpenPnL: float
    optionsOpenPnL: float
    riskCredit: float
    netLiqValue: float
    futureCommAndFees: float
    totalCashRequired: float
    excess: float
    hypoLongPos: int
    hypoShortPos: int


class EstimatedFillFeeOut(msgspec.Struct):
    """Tradovate's `EstimatedFillFee`: the sandbox charges nothing."""

    clearingFee: float = 0.0
    clearingCurrencyId: int = USD
    exchangeFee: float = 0.0
    exchangeCurrencyId: int = USD
    nfaFee: float = 0.0
    nfaCurrencyId: int = USD
    brokerageFee: float = 0.0
    brokerageCurrencyId: int = USD
    ipFee: float = 0.0
    ipCurrencyId: int = USD
    commission: float = 0.0
    commissionCurrencyId: int = USD
    orderRoutingFee: float = 0.0
    orderRoutingCurrencyId: int = USD
    commissionNotionalValueBPS: float = 0.0
    exchangeFeeNotionalValueBPS: float = 0.0


class DryRunResponseOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `DryRunResponse`: `rejectReason` and `comment` (the reason's text) when the batch
    would be refused; `details` and `fees` whenever the account's figures were read."""

    rejectReason: str | None = None
    comment: str | None = None
    details: RiskEvaluationDetailsOut | None = None
    fees: EstimatedFillFeeOut | None = None
    errorText: str | None = None


def details_out(details: RiskDetails) -> RiskEvaluationDetailsOut:
    """The figures as Tradovate's `RiskEvaluationDetails`: no margin model, no fees (all 0)."""
    net_liq = float(details.net_liq)
    return RiskEvaluationDetailsOut(
        beforeInitialMarginReq=0.0,
        beforeInitialFullMarginReq=0.0,
        beforeOpenCollateralReq=0.0,
        beforeNetPos=details.before_net_pos,
        isExitOrder=details.is_exit_order,
        initialMarginReq=0.0,
        initialFullMarginReq=0.0,
        openCollateralReq=0.0,
        totalCash=float(details.total_cash),
        futuresOpenPnL=float(details.futures_open_pnl),
        optionsOpenPnL=0.0,
        riskCredit=0.0,
        netLiqValue=net_liq,
        futureCommAndFees=0.0,
        totalCashRequired=0.0,
        excess=net_liq,
        hypoLongPos=details.hypo_long_pos,
        hypoShortPos=details.hypo_short_pos,
    )


def dry_run_out(outcome: DryRunOutcome) -> DryRunResponseOut:
    """The outcome as Tradovate's `DryRunResponse`."""
    details = None if outcome.details is None else details_out(outcome.details)
    return DryRunResponseOut(
        rejectReason=outcome.reject_reason,
        comment=outcome.comment,
        details=details,
        fees=None if details is None else EstimatedFillFeeOut(),
    )
