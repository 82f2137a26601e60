"""Pre-trade limits: Tradovate's `userAccountPositionLimit` and `userAccountRiskParameter` rows, and
the refusal an order gets from them (pure rules; the gate calls `limit_refusal`).

Tradovate documents the fields and the failure reasons, not how they combine
(`LIMITS-AND-ORDERS.md` §1-2 marks the evaluation INFERRED). autoliq's decisions, in docs/api.md:

- A limit row applies to an order when it is `active` and the order's contract is in its scope:
  `totalBy` names the key (`Contract` → `contractId`, `Product` → `productId`, `Exchange` →
  `exchangeId`, `ProductType` → `productType`, `ContractGroup` → `contractGroupId`,
  `DiscountGroup` → `riskDiscountContractGroupId`, `FungibleProduct` → `fungibleProductId`,
  `Overall` → every contract). A row without its key is refused when it is written
  (`scope_problem`), so no stored row is misconfigured.
- The scope's position is the sum of the account's net positions in the scope's contracts.
  `longLimit` caps it on the long side, `shortLimit` on the short side (a positive number of
  contracts); `exposedLimit` caps it in the order's direction as if every working order on that
  side in the scope filled with the order (the fill-everything case). Refused `MaxPosLimitReached`,
  or `MaxTotalPosLimitReached` for an `Overall` row.
- An order that only reduces the scope's position is never refused by a limit row, even beyond a
  limit lowered since (a buy is judged on the long side, a sell on the short side). In a scope of
  one contract that is an order reducing its position; in a wider scope, an order that reduces its
  own contract's position but adds to the scope's on the other side (a sell of ESZ6 long against
  an ESH7 short) is judged like any other. Liquidations never come here.
- A risk parameter applies with its active parent row. `maxOpeningOrderQty` caps the part of the
  order that opens its contract's position (beyond what it reduces), `maxClosingOrderQty` the part
  that closes it: over either,
  `MaxOrderQtyLimitReached`. `maxBackMonth` N refuses a contract more than N listed months after
  the product's front month (`BackMonthProhibited`); `preExpirationDays` N lets only orders that
  reduce the contract's position in within N days of the contract's last trading day
  (`LiquidationOnlyBeforeExpiration`).
  The margin fields, `hardLimit` and the `fungible*` fields are stored and served, not enforced.
- `riskTimePeriodId` is stored and served; a row applies at every time (Tradovate's periods are
  undocumented).

The gate judges the limits when an order is placed or modified, and again when a resting order
fills (an order a limit would now be passed by stays working), so an accepted order never leaves
the account beyond an active limit (tests/property/test_position_limit_properties.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from autoliq.domain.instruments import ContractSpec, contract_group_of, exchange_of, listed_contracts

MAX_POS_LIMIT_REACHED = "MaxPosLimitReached"
MAX_TOTAL_POS_LIMIT_REACHED = "MaxTotalPosLimitReached"
MAX_ORDER_QTY_LIMIT_REACHED = "MaxOrderQtyLimitReached"
BACK_MONTH_PROHIBITED = "BackMonthProhibited"
LIQUIDATION_ONLY_BEFORE_EXPIRATION = "LiquidationOnlyBeforeExpiration"


class TotalBy(StrEnum):
    """`UserAccountPositionLimit.totalBy`: what a limit row totals over."""

    CONTRACT = "Contract"
    CONTRACT_GROUP = "ContractGroup"
    DISCOUNT_GROUP = "DiscountGroup"
    EXCHANGE = "Exchange"
    FUNGIBLE_PRODUCT = "FungibleProduct"
    OVERALL = "Overall"
    PRODUCT = "Product"
    PRODUCT_TYPE = "ProductType"


PRODUCT_TYPES = (
    "CommonStock",
    "Continuous",
    "Cryptocurrency",
    "Futures",
    "MarketInternals",
    "Options",
    "Spread",
    "Swap",
)
VERIFICATION_STATUSES = ("Inactive", "Locked", "ReadyForContracts", "ReadyToTrade", "Verified")


@dataclass(frozen=True, slots=True)
class Scope:
    """The scope keys a limit row or a risk parameter carries (None: not set)."""

    contract_id: int | None = None
    product_id: int | None = None
    exchange_id: int | None = None
    product_type: str | None = None
    contract_group_id: int | None = None
    discount_group_id: int | None = None
    """`riskDiscountContractGroupId`."""
    fungible_product_id: int | None = None


_KEY_OF: dict[TotalBy, str | None] = {
    TotalBy.CONTRACT: "contract_id",
    TotalBy.PRODUCT: "product_id",
    TotalBy.EXCHANGE: "exchange_id",
    TotalBy.PRODUCT_TYPE: "product_type",
    TotalBy.CONTRACT_GROUP: "contract_group_id",
    TotalBy.DISCOUNT_GROUP: "discount_group_id",
    TotalBy.FUNGIBLE_PRODUCT: "fungible_product_id",
    TotalBy.OVERALL: None,
}
_WIRE_NAME = {
    "contract_id": "contractId",
    "product_id": "productId",
    "exchange_id": "exchangeId",
    "product_type": "productType",
    "contract_group_id": "contractGroupId",
    "discount_group_id": "riskDiscountContractGroupId",
    "fungible_product_id": "fungibleProductId",
}


@dataclass(frozen=True, slots=True)
class PositionLimit:
    """One `userAccountPositionLimit` row. The rules read `total_by`, `scope`, `active` and the three
    limits; the rest is stored and served as sent."""

    id: int
    account_id: int
    total_by: TotalBy
    scope: Scope = Scope()
    active: bool = True
    long_limit: int | None = None
    short_limit: int | None = None
    exposed_limit: int | None = None
    fungible_exposed_limit: int | None = None
    description: str | None = None
    risk_time_period_id: int | None = None
    product_verification_status: str | None = None


@dataclass(frozen=True, slots=True)
class RiskParameter:
    """One `userAccountRiskParameter` row, under its position limit. The rules read the four order
    fields; the rest is stored and served as sent."""

    id: int
    position_limit_id: int
    max_opening_order_qty: int | None = None
    max_closing_order_qty: int | None = None
    max_back_month: int | None = None
    pre_expiration_days: int | None = None
    scope: Scope = Scope()
    fungible_max_opening_order_qty: int | None = None
    fungible_max_closing_order_qty: int | None = None
    margin_percentage: float | None = None
    margin_dollar_value: float | None = None
    hard_limit: bool | None = None
    product_verification_status: str | None = None


@dataclass(frozen=True, slots=True)
class Instrument:
    """What the scopes ask of a contract: its keys, how many listed months it is after its
    product's front month (0: the front), and the days left to its last trading day."""

    contract_id: int
    product_id: int
    exchange_id: int
    contract_group_id: int
    product_type: str = "Futures"
    discount_group_id: int | None = None
    fungible_product_id: int | None = None
    months_after_front: int = 0
    days_to_expiry: int = 365


@dataclass(frozen=True, slots=True)
class Holding:
    """The account's net position and other working quantities in one contract."""

    net: int = 0
    working_buy: int = 0
    working_sell: int = 0


def instrument_of(contract: ContractSpec, today: date) -> Instrument:
    """What the scopes ask of `contract` on trade date `today` (every product is a future; a
    contract past the listed months counts as the furthest)."""
    product = contract.product
    listed = [c.id for c in listed_contracts(product, today)]
    months = listed.index(contract.id) if contract.id in listed else len(listed)
    return Instrument(
        contract_id=contract.id,
        product_id=product.id,
        exchange_id=exchange_of(product).id,
        contract_group_id=contract_group_of(product).id,
        months_after_front=months,
        days_to_expiry=(contract.expiration - today).days,
    )


def scope_problem(total_by: TotalBy, scope: Scope) -> str | None:
    """The errorText of a limit row whose `totalBy` lacks its key, or None."""
    key = _KEY_OF[total_by]
    if key is not None and getattr(scope, key) is None:
        return f"{_WIRE_NAME[key]}: is required when totalBy is {total_by.value}"
    return None


def in_scope(limit: PositionLimit, instrument: Instrument) -> bool:
    """Whether `instrument` is in the row's scope."""
    key = _KEY_OF[limit.total_by]
    if key is None:
        return True
    wanted = getattr(limit.scope, key)
    return wanted is not None and getattr(instrument, key) == wanted


def _reducible(side_sign: int, holding: Holding) -> int:
    """How much an order on the side of `side_sign` may still reduce (as the gate counts it)."""
    if side_sign < 0 and holding.net > 0:
        return max(0, holding.net - holding.working_sell)
    if side_sign > 0 and holding.net < 0:
        return max(0, -holding.net - holding.working_buy)
    return 0


def _limit_text(limit: PositionLimit, which: str, cap: int) -> str:
    scope = "all contracts" if limit.total_by is TotalBy.OVERALL else f"its {limit.total_by.value} scope"
    return (
        f"Order would take the account's {which} position in {scope} past the limit of {cap} "
        f"(limit {limit.id})"
    )


def limit_refusal(
    limits: Sequence[PositionLimit],
    parameters: Iterable[RiskParameter],
    instrument: Instrument,
    side_sign: int,
    qty: int,
    holdings: Mapping[int, tuple[Instrument, Holding]],
) -> tuple[str, str] | None:
    """The (failureReason, failureText) the account's limit rows and risk parameters give an order
    of `qty` on `instrument` (`side_sign` +1 buy, -1 sell), or None. `holdings`: contract id ->
    (instrument, holding) of every contract the account holds or works orders in (the order's own
    included; its own quantity not counted as working)."""
    applying = [limit for limit in limits if limit.active and in_scope(limit, instrument)]
    if not applying:
        return None
    own = holdings.get(instrument.contract_id, (instrument, Holding()))[1]
    reducing = min(qty, _reducible(side_sign, own))
    opening = qty - reducing
    ids = {limit.id for limit in applying}
    for parameter in parameters:
        if parameter.position_limit_id not in ids:
            continue
        if parameter.max_closing_order_qty is not None and reducing > parameter.max_closing_order_qty:
            return MAX_ORDER_QTY_LIMIT_REACHED, (
                f"Order closes {reducing} contracts, "
                f"more than the maximum of {parameter.max_closing_order_qty}"
            )
        if opening == 0:
            continue
        if parameter.max_opening_order_qty is not None and opening > parameter.max_opening_order_qty:
            return MAX_ORDER_QTY_LIMIT_REACHED, (
                f"Order opens {opening} contracts, more than the maximum of {parameter.max_opening_order_qty}"
            )
        if parameter.max_back_month is not None and instrument.months_after_front > parameter.max_back_month:
            return BACK_MONTH_PROHIBITED, (
                f"Contracts more than {parameter.max_back_month} months after the front month are prohibited"
            )
        if (
            parameter.pre_expiration_days is not None
            and instrument.days_to_expiry <= parameter.pre_expiration_days
        ):
            return LIQUIDATION_ONLY_BEFORE_EXPIRATION, (
                f"Within {parameter.pre_expiration_days} days of expiration "
                "only orders that reduce a position are accepted"
            )
    for limit in applying:
        net = working_same_side = 0
        for other, holding in holdings.values():
            if in_scope(limit, other):
                net += holding.net
                working_same_side += holding.working_buy if side_sign > 0 else holding.working_sell
        after = net + side_sign * qty
        reason = MAX_TOTAL_POS_LIMIT_REACHED if limit.total_by is TotalBy.OVERALL else MAX_POS_LIMIT_REACHED
        if side_sign > 0 and limit.long_limit is not None and after > limit.long_limit:
            return reason, _limit_text(limit, "long", limit.long_limit)
        if side_sign < 0 and limit.short_limit is not None and -after > limit.short_limit:
            return reason, _limit_text(limit, "short", limit.short_limit)
        if limit.exposed_limit is not None:
            exposed = side_sign * (net + side_sign * (working_same_side + qty))
            if exposed > limit.exposed_limit:
                return reason, _limit_text(limit, "exposed", limit.exposed_limit)
    return None


# -- what a write may hold (checked before it is stored; an answer's errorText) --

LIMIT_MAX = 1_000_000
"""The largest limit, quantity, month or day count a row may hold (the server-wide caps' ceiling)."""
DESCRIPTION_MAX = 64
MAX_ROWS_PER_ACCOUNT = 100
"""Position limit rows one account may have (and risk parameters one row may have)."""


def _bounded(name: str, value: int | None) -> str | None:
    if value is not None and not 0 <= value <= LIMIT_MAX:
        return f"{name}: should be between 0 and {LIMIT_MAX:,}"
    return None


def _scope_keys_problem(scope: Scope) -> str | None:
    for key, wire in _WIRE_NAME.items():
        value = getattr(scope, key)
        if key == "product_type":
            if value is not None and value not in PRODUCT_TYPES:
                return f"productType: should be one of {', '.join(PRODUCT_TYPES)}"
        elif value is not None and not 0 < value < 2**63:
            return f"{wire}: should be greater than 0"
    return None


def limit_problem(limit: PositionLimit) -> str | None:
    """The errorText of a position limit row that may not be stored, or None."""
    problem = _scope_keys_problem(limit.scope) or scope_problem(limit.total_by, limit.scope)
    if problem is not None:
        return problem
    for name, value in (
        ("longLimit", limit.long_limit),
        ("shortLimit", limit.short_limit),
        ("exposedLimit", limit.exposed_limit),
        ("fungibleExposedLimit", limit.fungible_exposed_limit),
    ):
        problem = _bounded(name, value)
        if problem is not None:
            return problem
    if limit.description is not None and len(limit.description) > DESCRIPTION_MAX:
        return f"description: should be at most {DESCRIPTION_MAX} characters"
    if limit.risk_time_period_id is not None and not 0 < limit.risk_time_period_id < 2**63:
        return "riskTimePeriodId: should be greater than 0"
    status = limit.product_verification_status
    if status is not None and status not in VERIFICATION_STATUSES:
        return f"productVerificationStatus: should be one of {', '.join(VERIFICATION_STATUSES)}"
    return None


def parameter_problem(parameter: RiskParameter) -> str | None:
    """The errorText of a risk parameter that may not be stored, or None."""
    problem = _scope_keys_problem(parameter.scope)
    if problem is not None:
        return problem
    for name, value in (
        ("maxOpeningOrderQty", parameter.max_opening_order_qty),
        ("maxClosingOrderQty", parameter.max_closing_order_qty),
        ("fungibleMaxOpeningOrderQty", parameter.fungible_max_opening_order_qty),
        ("fungibleMaxClosingOrderQty", parameter.fungible_max_closing_order_qty),
        ("maxBackMonth", parameter.max_back_month),
        ("preExpirationDays", parameter.pre_expiration_days),
    ):
        problem = _bounded(name, value)
        if problem is not None:
            return problem
    for name, amount in (
        ("marginPercentage", parameter.margin_percentage),
        ("marginDollarValue", parameter.margin_dollar_value),
    ):
        if amount is not None and not (0 <= amount <= 1e12):  # NaN fails both comparisons
            return f"{name}: should be a number between 0 and 1,000,000,000,000"
    status = parameter.product_verification_status
    if status is not None and status not in VERIFICATION_STATUSES:
        return f"productVerificationStatus: should be one of {', '.join(VERIFICATION_STATUSES)}"
    return None
