"""Pre-trade limit rows and risk parameters (`domain/position_limits.py`): each failure reason, the
scopes, reducing orders, inactive rows and rows missing their key."""

from __future__ import annotations

import pytest

from autoliq.domain.position_limits import (
    BACK_MONTH_PROHIBITED,
    LIQUIDATION_ONLY_BEFORE_EXPIRATION,
    MAX_ORDER_QTY_LIMIT_REACHED,
    MAX_POS_LIMIT_REACHED,
    MAX_TOTAL_POS_LIMIT_REACHED,
    Holding,
    Instrument,
    PositionLimit,
    RiskParameter,
    Scope,
    TotalBy,
    limit_problem,
    limit_refusal,
    parameter_problem,
    scope_problem,
)

ESZ6 = Instrument(contract_id=1, product_id=10, exchange_id=100, contract_group_id=1000)
ESH7 = Instrument(contract_id=2, product_id=10, exchange_id=100, contract_group_id=1000, months_after_front=1)
CLF7 = Instrument(contract_id=3, product_id=20, exchange_id=200, contract_group_id=2000)
BUY, SELL = 1, -1


def contract_limit(**kwargs: int | bool | None) -> PositionLimit:
    return PositionLimit(1, 7, TotalBy.CONTRACT, Scope(contract_id=1), **kwargs)  # type: ignore[arg-type]


def held(*pairs: tuple[Instrument, Holding]) -> dict[int, tuple[Instrument, Holding]]:
    return {instrument.contract_id: (instrument, holding) for instrument, holding in pairs}


def test_long_limit_when_a_buy_would_pass_it_then_max_pos_limit_reached() -> None:
    limits = [contract_limit(long_limit=5)]
    holdings = held((ESZ6, Holding(net=4)))
    assert limit_refusal(limits, [], ESZ6, BUY, 1, holdings) is None
    refusal = limit_refusal(limits, [], ESZ6, BUY, 2, holdings)
    assert refusal is not None and refusal[0] == MAX_POS_LIMIT_REACHED
    assert (
        refusal[1]
        == "Order would take the account's long position in its Contract scope past the limit of 5 (limit 1)"
    )


def test_short_limit_when_a_sell_would_pass_it_then_refused_and_a_buy_is_not_judged_on_it() -> None:
    limits = [contract_limit(short_limit=3)]
    assert limit_refusal(limits, [], ESZ6, SELL, 3, {}) is None
    assert limit_refusal(limits, [], ESZ6, SELL, 4, {}) == (
        MAX_POS_LIMIT_REACHED,
        "Order would take the account's short position in its Contract scope past the limit of 3 (limit 1)",
    )
    assert limit_refusal(limits, [], ESZ6, BUY, 100, {}) is None


def test_reducing_order_when_beyond_a_lowered_limit_then_it_passes() -> None:
    limits = [contract_limit(long_limit=2, short_limit=2, exposed_limit=2)]
    holdings = held((ESZ6, Holding(net=10)))
    assert limit_refusal(limits, [], ESZ6, SELL, 3, holdings) is None  # 10 -> 7: still beyond, but less
    assert limit_refusal(limits, [], ESZ6, BUY, 1, holdings) is not None  # 10 -> 11


def test_exposed_limit_when_working_orders_on_the_side_would_pass_it_then_refused() -> None:
    limits = [contract_limit(exposed_limit=5)]
    holdings = held((ESZ6, Holding(net=2, working_buy=2)))
    assert limit_refusal(limits, [], ESZ6, BUY, 1, holdings) is None  # 2 + 2 + 1 = 5
    refusal = limit_refusal(limits, [], ESZ6, BUY, 2, holdings)  # 2 + 2 + 2 = 6
    assert refusal is not None and refusal[0] == MAX_POS_LIMIT_REACHED and "exposed" in refusal[1]
    # Working sells do not count against a buy.
    assert limit_refusal(limits, [], ESZ6, BUY, 1, held((ESZ6, Holding(net=2, working_sell=9)))) is None


def test_product_scope_when_two_months_add_up_then_the_sum_is_judged() -> None:
    limits = [PositionLimit(2, 7, TotalBy.PRODUCT, Scope(product_id=10), long_limit=5)]
    holdings = held((ESZ6, Holding(net=3)), (ESH7, Holding(net=2)), (CLF7, Holding(net=50)))
    assert limit_refusal(limits, [], ESH7, BUY, 1, holdings) is not None  # 3 + 2 + 1 > 5
    assert limit_refusal(limits, [], CLF7, BUY, 1, holdings) is None  # out of scope


def test_product_scope_when_a_sell_reduces_its_contract_but_shorts_the_scope_then_judged() -> None:
    # Long 5 ESZ6 against short 5 ESH7: selling ESZ6 reduces ESZ6 but takes the product short.
    limits = [PositionLimit(2, 7, TotalBy.PRODUCT, Scope(product_id=10), short_limit=2)]
    holdings = held((ESZ6, Holding(net=5)), (ESH7, Holding(net=-5)))
    assert limit_refusal(limits, [], ESZ6, SELL, 2, holdings) is None
    assert limit_refusal(limits, [], ESZ6, SELL, 3, holdings) is not None


def test_overall_limit_when_passed_then_max_total_pos_limit_reached() -> None:
    limits = [PositionLimit(3, 7, TotalBy.OVERALL, long_limit=4)]
    holdings = held((ESZ6, Holding(net=2)), (CLF7, Holding(net=2)))
    refusal = limit_refusal(limits, [], ESH7, BUY, 1, holdings)
    assert refusal is not None and refusal[0] == MAX_TOTAL_POS_LIMIT_REACHED
    assert "in all contracts" in refusal[1]


@pytest.mark.parametrize(
    ("total_by", "scope", "instrument", "applies"),
    [
        (TotalBy.EXCHANGE, Scope(exchange_id=100), ESZ6, True),
        (TotalBy.EXCHANGE, Scope(exchange_id=100), CLF7, False),
        (TotalBy.CONTRACT_GROUP, Scope(contract_group_id=2000), CLF7, True),
        (TotalBy.PRODUCT_TYPE, Scope(product_type="Futures"), CLF7, True),
        (TotalBy.PRODUCT_TYPE, Scope(product_type="Options"), CLF7, False),
    ],
)
def test_scope_when_the_key_matches_then_the_row_applies(
    total_by: TotalBy, scope: Scope, instrument: Instrument, applies: bool
) -> None:
    limits = [PositionLimit(4, 7, total_by, scope, long_limit=0)]
    assert (limit_refusal(limits, [], instrument, BUY, 1, {}) is not None) is applies


def test_inactive_row_when_passed_then_it_does_not_apply_nor_do_its_parameters() -> None:
    limits = [contract_limit(long_limit=0, active=False)]
    parameters = [RiskParameter(9, 1, max_opening_order_qty=1)]
    assert limit_refusal(limits, parameters, ESZ6, BUY, 5, {}) is None


def test_max_opening_and_closing_order_qty_when_over_then_max_order_qty_limit_reached() -> None:
    limits = [contract_limit()]
    parameters = [RiskParameter(9, 1, max_opening_order_qty=2, max_closing_order_qty=3)]
    holdings = held((ESZ6, Holding(net=-4)))
    # A buy of 5 against short 4 closes 4 (over 3).
    assert limit_refusal(limits, parameters, ESZ6, BUY, 5, holdings) == (
        MAX_ORDER_QTY_LIMIT_REACHED,
        "Order closes 4 contracts, more than the maximum of 3",
    )
    # A buy of 3 closes 3, opens 0: passes; flat, a buy of 3 opens 3 (over 2).
    assert limit_refusal(limits, parameters, ESZ6, BUY, 3, holdings) is None
    assert limit_refusal(limits, parameters, ESZ6, BUY, 3, {}) == (
        MAX_ORDER_QTY_LIMIT_REACHED,
        "Order opens 3 contracts, more than the maximum of 2",
    )


def test_max_back_month_when_the_contract_is_further_out_then_back_month_prohibited() -> None:
    limits = [PositionLimit(2, 7, TotalBy.PRODUCT, Scope(product_id=10))]
    parameters = [RiskParameter(9, 2, max_back_month=0)]
    assert limit_refusal(limits, parameters, ESZ6, BUY, 1, {}) is None
    refusal = limit_refusal(limits, parameters, ESH7, BUY, 1, {})
    assert refusal is not None and refusal[0] == BACK_MONTH_PROHIBITED
    # Closing a back-month position is allowed.
    assert limit_refusal(limits, parameters, ESH7, SELL, 1, held((ESH7, Holding(net=1)))) is None


def test_pre_expiration_days_when_near_expiry_then_only_reducing_orders() -> None:
    near = Instrument(1, 10, 100, 1000, days_to_expiry=2)
    limits = [contract_limit()]
    parameters = [RiskParameter(9, 1, pre_expiration_days=3)]
    refusal = limit_refusal(limits, parameters, near, BUY, 1, {})
    assert refusal is not None and refusal[0] == LIQUIDATION_ONLY_BEFORE_EXPIRATION
    assert limit_refusal(limits, parameters, near, SELL, 1, held((near, Holding(net=1)))) is None
    far = Instrument(1, 10, 100, 1000, days_to_expiry=4)
    assert limit_refusal(limits, parameters, far, BUY, 1, {}) is None


def test_parameter_of_another_row_when_that_row_does_not_apply_then_ignored() -> None:
    limits = [contract_limit(), PositionLimit(5, 7, TotalBy.PRODUCT, Scope(product_id=20))]
    parameters = [RiskParameter(9, 5, max_opening_order_qty=1)]
    assert limit_refusal(limits, parameters, ESZ6, BUY, 5, {}) is None


@pytest.mark.parametrize(
    ("total_by", "scope", "problem"),
    [
        (TotalBy.CONTRACT, Scope(), "contractId: is required when totalBy is Contract"),
        (
            TotalBy.DISCOUNT_GROUP,
            Scope(),
            "riskDiscountContractGroupId: is required when totalBy is DiscountGroup",
        ),
        (TotalBy.PRODUCT, Scope(product_id=1), None),
        (TotalBy.OVERALL, Scope(), None),
    ],
)
def test_scope_problem_when_the_key_is_missing_then_named(
    total_by: TotalBy, scope: Scope, problem: str | None
) -> None:
    assert scope_problem(total_by, scope) == problem


@pytest.mark.parametrize(
    ("limit", "problem"),
    [
        (PositionLimit(0, 7, TotalBy.OVERALL, long_limit=5, description="x" * 64), None),
        (PositionLimit(0, 7, TotalBy.OVERALL, long_limit=-1), "longLimit: should be between 0 and 1,000,000"),
        (
            PositionLimit(0, 7, TotalBy.OVERALL, exposed_limit=1_000_001),
            "exposedLimit: should be between 0 and 1,000,000",
        ),
        (
            PositionLimit(0, 7, TotalBy.OVERALL, description="x" * 65),
            "description: should be at most 64 characters",
        ),
        (PositionLimit(0, 7, TotalBy.PRODUCT, Scope(product_id=0)), "productId: should be greater than 0"),
        (
            PositionLimit(0, 7, TotalBy.PRODUCT_TYPE, Scope(product_type="Bonds")),
            "productType: should be one of CommonStock, Continuous, Cryptocurrency, Futures, "
            "MarketInternals, Options, Spread, Swap",
        ),
        (PositionLimit(0, 7, TotalBy.CONTRACT), "contractId: is required when totalBy is Contract"),
        (
            PositionLimit(0, 7, TotalBy.OVERALL, product_verification_status="Maybe"),
            "productVerificationStatus: should be one of Inactive, Locked, ReadyForContracts, ReadyToTrade, "
            "Verified",
        ),
    ],
)
def test_limit_problem_when_a_field_is_out_of_bounds_then_named(
    limit: PositionLimit, problem: str | None
) -> None:
    assert limit_problem(limit) == problem


@pytest.mark.parametrize(
    ("parameter", "problem"),
    [
        (RiskParameter(0, 1, max_opening_order_qty=10, margin_percentage=0.5), None),
        (
            RiskParameter(0, 1, max_closing_order_qty=-2),
            "maxClosingOrderQty: should be between 0 and 1,000,000",
        ),
        (RiskParameter(0, 1, max_back_month=2_000_000), "maxBackMonth: should be between 0 and 1,000,000"),
        (
            RiskParameter(0, 1, margin_dollar_value=float("nan")),
            "marginDollarValue: should be a number between 0 and 1,000,000,000,000",
        ),
        (
            RiskParameter(0, 1, margin_percentage=float("inf")),
            "marginPercentage: should be a number between 0 and 1,000,000,000,000",
        ),
        (RiskParameter(0, 1, scope=Scope(exchange_id=-3)), "exchangeId: should be greater than 0"),
    ],
)
def test_parameter_problem_when_a_field_is_out_of_bounds_then_named(
    parameter: RiskParameter, problem: str | None
) -> None:
    assert parameter_problem(parameter) == problem
