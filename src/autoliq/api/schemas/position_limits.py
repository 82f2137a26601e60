"""Wire shapes of `/v1/userAccountPositionLimit` and `/v1/userAccountRiskParameter`: Tradovate's
`UserAccountPositionLimit`, `UserAccountRiskParameter`, their delete bodies and
`DeleteResultResponse` (field names exactly as in its OpenAPI)."""

from __future__ import annotations

from typing import Literal

import msgspec

from autoliq.api.bounds import Int64
from autoliq.domain.position_limits import PositionLimit, RiskParameter, Scope, TotalBy

TotalByName = Literal[
    "Contract",
    "ContractGroup",
    "DiscountGroup",
    "Exchange",
    "FungibleProduct",
    "Overall",
    "Product",
    "ProductType",
]
ProductTypeName = Literal[
    "CommonStock", "Continuous", "Cryptocurrency", "Futures", "MarketInternals", "Options", "Spread", "Swap"
]
VerificationName = Literal["Inactive", "Locked", "ReadyForContracts", "ReadyToTrade", "Verified"]


class ScopeFields(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=False):
    """The scope keys both entities carry."""

    id: Int64 | None = None
    contractId: Int64 | None = None
    productId: Int64 | None = None
    exchangeId: Int64 | None = None
    productType: ProductTypeName | None = None
    riskDiscountContractGroupId: Int64 | None = None
    productVerificationStatus: VerificationName | None = None
    contractGroupId: Int64 | None = None
    fungibleProductId: Int64 | None = None


class UserAccountPositionLimitIO(ScopeFields, kw_only=True):
    """Tradovate's `UserAccountPositionLimit` (create/update body and every answer)."""

    accountId: Int64
    active: bool
    totalBy: TotalByName
    riskTimePeriodId: Int64 | None = None
    shortLimit: Int64 | None = None
    longLimit: Int64 | None = None
    exposedLimit: Int64 | None = None
    fungibleExposedLimit: Int64 | None = None
    description: str | None = None


class UserAccountRiskParameterIO(ScopeFields, kw_only=True):
    """Tradovate's `UserAccountRiskParameter` (create/update body and every answer)."""

    userAccountPositionLimitId: Int64
    maxOpeningOrderQty: Int64 | None = None
    maxClosingOrderQty: Int64 | None = None
    fungibleMaxOpeningOrderQty: Int64 | None = None
    fungibleMaxClosingOrderQty: Int64 | None = None
    maxBackMonth: Int64 | None = None
    preExpirationDays: Int64 | None = None
    marginPercentage: float | None = None
    marginDollarValue: float | None = None
    hardLimit: bool | None = None


class DeleteUserAccountPositionLimitBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `DeleteUserAccountPositionLimit`."""

    userAccountPositionLimitId: Int64


class DeleteUserAccountRiskParameterBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `DeleteUserAccountRiskParameter`."""

    userAccountRiskParameterId: Int64


class DeleteResultResponseOut(msgspec.Struct, omit_defaults=True):
    """Tradovate's `DeleteResultResponse`."""

    success: bool
    errorText: str | None = None


def _scope_in(body: ScopeFields) -> Scope:
    return Scope(
        contract_id=body.contractId,
        product_id=body.productId,
        exchange_id=body.exchangeId,
        product_type=body.productType,
        contract_group_id=body.contractGroupId,
        discount_group_id=body.riskDiscountContractGroupId,
        fungible_product_id=body.fungibleProductId,
    )


def limit_in(body: UserAccountPositionLimitIO) -> PositionLimit:
    """The row a create/update body describes (`id` 0 when absent)."""
    return PositionLimit(
        id=body.id or 0,
        account_id=body.accountId,
        total_by=TotalBy(body.totalBy),
        scope=_scope_in(body),
        active=body.active,
        long_limit=body.longLimit,
        short_limit=body.shortLimit,
        exposed_limit=body.exposedLimit,
        fungible_exposed_limit=body.fungibleExposedLimit,
        description=body.description,
        risk_time_period_id=body.riskTimePeriodId,
        product_verification_status=body.productVerificationStatus,
    )


def parameter_in(body: UserAccountRiskParameterIO) -> RiskParameter:
    """The risk parameter a create/update body describes (`id` 0 when absent)."""
    return RiskParameter(
        id=body.id or 0,
        position_limit_id=body.userAccountPositionLimitId,
        max_opening_order_qty=body.maxOpeningOrderQty,
        max_closing_order_qty=body.maxClosingOrderQty,
        max_back_month=body.maxBackMonth,
        pre_expiration_days=body.preExpirationDays,
        scope=_scope_in(body),
        fungible_max_opening_order_qty=body.fungibleMaxOpeningOrderQty,
        fungible_max_closing_order_qty=body.fungibleMaxClosingOrderQty,
        margin_percentage=body.marginPercentage,
        margin_dollar_value=body.marginDollarValue,
        hard_limit=body.hardLimit,
        product_verification_status=body.productVerificationStatus,
    )


def _scope_out(scope: Scope) -> dict[str, object]:
    return {
        "contractId": scope.contract_id,
        "productId": scope.product_id,
        "exchangeId": scope.exchange_id,
        "productType": scope.product_type,
        "riskDiscountContractGroupId": scope.discount_group_id,
        "contractGroupId": scope.contract_group_id,
        "fungibleProductId": scope.fungible_product_id,
    }


def limit_out(limit: PositionLimit) -> UserAccountPositionLimitIO:
    """A stored row as Tradovate serves it (unset fields omitted)."""
    return UserAccountPositionLimitIO(
        id=limit.id,
        accountId=limit.account_id,
        active=limit.active,
        totalBy=limit.total_by.value,
        riskTimePeriodId=limit.risk_time_period_id,
        shortLimit=limit.short_limit,
        longLimit=limit.long_limit,
        exposedLimit=limit.exposed_limit,
        fungibleExposedLimit=limit.fungible_exposed_limit,
        description=limit.description,
        productVerificationStatus=limit.product_verification_status,  # type: ignore[arg-type]
        **_scope_out(limit.scope),  # type: ignore[arg-type]
    )


def parameter_out(parameter: RiskParameter) -> UserAccountRiskParameterIO:
    """A stored risk parameter as Tradovate serves it (unset fields omitted)."""
    return UserAccountRiskParameterIO(
        id=parameter.id,
        userAccountPositionLimitId=parameter.position_limit_id,
        maxOpeningOrderQty=parameter.max_opening_order_qty,
        maxClosingOrderQty=parameter.max_closing_order_qty,
        fungibleMaxOpeningOrderQty=parameter.fungible_max_opening_order_qty,
        fungibleMaxClosingOrderQty=parameter.fungible_max_closing_order_qty,
        maxBackMonth=parameter.max_back_month,
        preExpirationDays=parameter.pre_expiration_days,
        marginPercentage=parameter.margin_percentage,
        marginDollarValue=parameter.margin_dollar_value,
        hardLimit=parameter.hard_limit,
        productVerificationStatus=parameter.product_verification_status,  # type: ignore[arg-type]
        **_scope_out(parameter.scope),  # type: ignore[arg-type]
    )
