"""The instrument catalog: real tick sizes and point values, front months, symbols."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from autoliq.domain.instruments import (
    CONTRACT_GROUPS,
    CURRENCIES,
    EXCHANGES,
    PRODUCTS,
    PRODUCTS_BY_NAME,
    contract_group_of,
    contract_order,
    exchange_of,
    is_on_tick,
    last_trading_day,
    listed_contracts,
    suggest,
)

# (tick size, dollars per point) as CME Group publishes them.
SPECS = {
    "ES": ("0.25", "50"), "MES": ("0.25", "5"), "NQ": ("0.25", "20"), "MNQ": ("0.25", "2"),
    "YM": ("1", "5"), "MYM": ("1", "0.5"), "RTY": ("0.1", "50"), "M2K": ("0.1", "5"),
    "CL": ("0.01", "1000"), "MCL": ("0.01", "100"), "GC": ("0.1", "100"), "MGC": ("0.1", "10"),
}  # fmt: skip


def test_catalog_when_listed_then_twelve_products_with_exchange_specs() -> None:
    assert {p.name for p in PRODUCTS} == set(SPECS)
    for name, (tick, point) in SPECS.items():
        product = PRODUCTS_BY_NAME[name]
        assert (product.tick_size, product.value_per_point) == (Decimal(tick), Decimal(point)), name
    assert PRODUCTS_BY_NAME["ES"].tick_value == Decimal("12.50")
    assert PRODUCTS_BY_NAME["CL"].tick_value == Decimal("10.00")
    assert len({p.id for p in PRODUCTS}) == 12


@pytest.mark.parametrize(
    ("name", "today", "symbol", "expires"),
    [
        ("ES", date(2026, 11, 24), "ESZ6", date(2026, 12, 18)),
        ("ES", date(2026, 12, 18), "ESZ6", date(2026, 12, 18)),  # still trades on its last day
        ("ES", date(2026, 12, 19), "ESH7", date(2027, 3, 19)),
        ("MNQ", date(2027, 1, 5), "MNQH7", date(2027, 3, 19)),
        ("CL", date(2026, 11, 24), "CLF7", date(2026, 12, 22)),
        ("CL", date(2026, 12, 23), "CLG7", date(2027, 1, 20)),
        ("GC", date(2026, 11, 24), "GCZ6", date(2026, 12, 29)),
        ("GC", date(2026, 12, 30), "GCG7", date(2027, 2, 24)),
    ],
)
def test_front_month_when_day_given_then_nearest_unexpired_contract(
    name: str, today: date, symbol: str, expires: date
) -> None:
    contract = listed_contracts(PRODUCTS_BY_NAME[name], today, 1)[0]  # the front month
    assert contract.name == symbol
    assert contract.expiration == expires


def test_last_trading_day_when_equity_index_then_third_friday() -> None:
    for year in (2026, 2027):
        for month in (3, 6, 9, 12):
            day = last_trading_day(PRODUCTS_BY_NAME["ES"], year, month)
            assert day.weekday() == 4 and 15 <= day.day <= 21


def test_listed_contracts_when_asked_then_ascending_unique_and_in_the_product_cycle() -> None:
    for product in PRODUCTS:
        contracts = listed_contracts(product, date(2026, 11, 24), 6)
        assert [c.expiration for c in contracts] == sorted(c.expiration for c in contracts)
        assert len({c.id for c in contracts}) == 6
        assert all(c.name[len(product.name)] in product.months for c in contracts)


def test_is_on_tick_when_price_between_ticks_then_false() -> None:
    es, cl = PRODUCTS_BY_NAME["ES"], PRODUCTS_BY_NAME["CL"]
    assert is_on_tick(Decimal("5012.25"), es)
    assert not is_on_tick(Decimal("5012.30"), es)
    assert is_on_tick(Decimal("71.23"), cl)
    assert not is_on_tick(Decimal("71.235"), cl)


def test_contract_of_id_when_id_of_a_listed_contract_then_same_contract_else_none() -> None:
    from autoliq.domain.instruments import contract_of_id

    for product in PRODUCTS:
        for contract in listed_contracts(product, date(2026, 11, 24), 4):
            assert contract_of_id(contract.id) == contract
    assert contract_of_id(99_202_612) is None  # no product 99
    assert contract_of_id(1_202_613) is None  # no month 13


# -- reference data and suggest (issue 14) --


def test_suggest_when_text_in_names_then_case_insensitive_substring_prefix_first_at_most_limit() -> None:
    # Arrange
    names = ["MES", "ES", "NQ", "mesa", "RES"]
    # Act
    found = suggest(names, "eS", 3, lambda n: n)
    # Assert
    assert found == ["ES", "MES", "mesa"]
    assert suggest(names, "", 10, lambda n: n) == ["ES", "MES", "mesa", "NQ", "RES"]
    assert suggest(names, "ES", 0, lambda n: n) == []
    assert suggest(names, "zz", 5, lambda n: n) == []
    assert suggest(names, "s", 5, lambda n: n) == ["ES", "MES", "mesa", "RES"]  # none starts with it


def test_suggest_when_contracts_then_prefix_matches_first_by_product_and_nearest_month() -> None:
    # Arrange
    contracts = [c for p in PRODUCTS for c in listed_contracts(p, date(2026, 11, 24), 4)]
    # Act
    found = suggest(contracts, "nq", 6, lambda c: c.name, contract_order)
    # Assert
    assert [c.name for c in found] == ["NQZ6", "NQH7", "NQM7", "NQU7", "MNQZ6", "MNQH7"]


def test_reference_data_when_products_listed_then_each_has_an_exchange_and_an_asset_class() -> None:
    # Act
    groups = {p.name: contract_group_of(p).name for p in PRODUCTS}
    exchanges = {p.name: exchange_of(p).mic_code for p in PRODUCTS}
    # Assert
    assert (groups["ES"], groups["YM"], groups["CL"], groups["MGC"]) == (
        "Equity Index",
        "Equity Index",
        "Energy",
        "Metals",
    )
    assert (exchanges["ES"], exchanges["YM"], exchanges["CL"], exchanges["GC"]) == (
        "XCME",
        "XCBT",
        "XNYM",
        "XCEC",
    )
    assert sorted(e.id for e in EXCHANGES) == [1, 2, 3, 4]
    assert [c.name for c in CURRENCIES] == ["USD"]
    assert [g.id for g in CONTRACT_GROUPS] == [1, 2, 3]
