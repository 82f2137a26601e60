"""The sandbox's instruments: common CME Group futures with their real tick sizes and point values,
and which contract month is the front month on a given day."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

T = TypeVar("T")

MONTH_CODES = "FGHJKMNQUVXZ"  # January .. December


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """A futures product: `value_per_point` dollars per 1.0 of price, prices in steps of `tick_size`."""

    id: int
    name: str
    description: str
    exchange: str
    tick_size: Decimal
    value_per_point: Decimal
    months: str
    """Listed contract months, as month codes (the cycle the front month walks through)."""
    expiry_rule: str
    """`third_friday` (equity index), `energy` (CL: 3 business days before the 25th of the prior
    month), `third_last_business_day` (metals)."""
    calendar: str = "equity"
    """Its CME Globex product group (`cme_calendar.GROUPS`): whose sessions its orders keep."""
    max_price_ticks: int = 10**7
    """Prices are below this many ticks (limit and stop prices, last prices): far above any real
    price, and the bound the storage proof (`domain/limits.py`) counts on."""

    @property
    def max_price(self) -> Decimal:
        """The bound itself: prices are strictly below it."""
        return self.tick_size * self.max_price_ticks

    @property
    def tick_value(self) -> Decimal:
        """Dollars per tick."""
        return self.tick_size * self.value_per_point


D = Decimal
_EQUITY = ("HMUZ", "third_friday", "equity")
_ENERGY = (MONTH_CODES, "energy", "energy")
_METAL = ("GJMQVZ", "third_last_business_day", "metals")

PRODUCTS: tuple[ProductSpec, ...] = (
    ProductSpec(1, "ES", "E-mini S&P 500", "CME", D("0.25"), D(50), *_EQUITY),
    ProductSpec(2, "MES", "Micro E-mini S&P 500", "CME", D("0.25"), D(5), *_EQUITY),
    ProductSpec(3, "NQ", "E-mini Nasdaq-100", "CME", D("0.25"), D(20), *_EQUITY),
    ProductSpec(4, "MNQ", "Micro E-mini Nasdaq-100", "CME", D("0.25"), D(2), *_EQUITY),
    ProductSpec(5, "YM", "E-mini Dow ($5)", "CBOT", D(1), D(5), *_EQUITY),
    ProductSpec(6, "MYM", "Micro E-mini Dow", "CBOT", D(1), D("0.5"), *_EQUITY),
    ProductSpec(7, "RTY", "E-mini Russell 2000", "CME", D("0.1"), D(50), *_EQUITY),
    ProductSpec(8, "M2K", "Micro E-mini Russell 2000", "CME", D("0.1"), D(5), *_EQUITY),
    ProductSpec(9, "CL", "Crude Oil", "NYMEX", D("0.01"), D(1000), *_ENERGY),
    ProductSpec(10, "MCL", "Micro WTI Crude Oil", "NYMEX", D("0.01"), D(100), *_ENERGY),
    ProductSpec(11, "GC", "Gold", "COMEX", D("0.1"), D(100), *_METAL),
    ProductSpec(12, "MGC", "Micro Gold", "COMEX", D("0.1"), D(10), *_METAL),
)  # fmt: skip

PRODUCTS_BY_NAME: dict[str, ProductSpec] = {p.name: p for p in PRODUCTS}


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """One contract month of a product, e.g. `ESZ6`."""

    product: ProductSpec
    year: int
    month: int

    @property
    def name(self) -> str:
        """Tradovate's symbol: product, month code, last digit of the year (`ESZ6`)."""
        return f"{self.product.name}{MONTH_CODES[self.month - 1]}{self.year % 10}"

    @property
    def id(self) -> int:
        """A stable id: product id, year and month (`1_2026_12` for ESZ6)."""
        return self.product.id * 1_000_000 + self.year * 100 + self.month

    @property
    def maturity_id(self) -> int:
        """The id of its contract maturity (the same number: one contract per maturity here)."""
        return self.id

    @property
    def expiration(self) -> date:
        """Last trading day."""
        return last_trading_day(self.product, self.year, self.month)


def _business_days_back(day: date, n: int) -> date:
    while n > 0:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def last_trading_day(product: ProductSpec, year: int, month: int) -> date:
    """The contract month's last trading day under the product's rule (exchange holidays ignored)."""
    if product.expiry_rule == "third_friday":
        first = date(year, month, 1)
        first_friday = first + timedelta(days=(4 - first.weekday()) % 7)
        return first_friday + timedelta(weeks=2)
    if product.expiry_rule == "energy":
        prior_year, prior_month = (year - 1, 12) if month == 1 else (year, month - 1)
        day25 = date(prior_year, prior_month, 25)
        # 3 business days before the 25th; if the 25th is not a business day, 3 before the one before it.
        while day25.weekday() >= 5:
            day25 -= timedelta(days=1)
        return _business_days_back(day25, 3)
    if product.expiry_rule == "third_last_business_day":
        last = date(year, month, calendar.monthrange(year, month)[1])
        while last.weekday() >= 5:
            last -= timedelta(days=1)
        return _business_days_back(last, 2)
    raise ValueError(f"unknown expiry rule {product.expiry_rule!r}")


def listed_contracts(product: ProductSpec, today: date, count: int = 4) -> list[ContractSpec]:
    """The next `count` listed contracts not yet expired on `today`, nearest first."""
    out: list[ContractSpec] = []
    year, month = today.year, today.month
    while len(out) < count:
        if MONTH_CODES[month - 1] in product.months:
            contract = ContractSpec(product, year, month)
            if contract.expiration >= today:
                out.append(contract)
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out


def is_on_tick(price: Decimal, product: ProductSpec) -> bool:
    """True when `price` is a whole number of ticks (of a price within the bound: a huge one
    would overflow Decimal's precision here; see `price_problem`)."""
    return (price / product.tick_size) % 1 == 0


def price_problem(price: Decimal, product: ProductSpec) -> str | None:
    """What is wrong with a limit, stop or last price, or None: it must be finite, positive, below
    the product's bound and a whole number of ticks (checked in that order, the bound before the
    tick so that no arithmetic meets a huge number)."""
    if not price.is_finite() or price <= 0:
        return "must be a positive number"
    if price >= product.max_price:
        return f"must be below {product.max_price.normalize():f} for {product.name}"
    if not is_on_tick(price, product):
        return f"{price} is not a multiple of the tick size {product.tick_size}"
    return None


def product_of_contract(contract_id: int) -> ProductSpec | None:
    """The product a contract id belongs to (ids are product id × 1,000,000 + year × 100 + month)."""
    product_id = contract_id // 1_000_000
    for product in PRODUCTS:
        if product.id == product_id:
            return product
    return None


def contract_of_id(contract_id: int) -> ContractSpec | None:
    """The contract a contract id names (the inverse of `ContractSpec.id`), or None."""
    product = product_of_contract(contract_id)
    month = contract_id % 100
    if product is None or not 1 <= month <= 12:
        return None
    return ContractSpec(product, (contract_id // 100) % 10_000, month)


# -- REFERENCE DATA: exchanges, currencies, contract groups, contract maturities --


@dataclass(frozen=True, slots=True)
class ExchangeSpec:
    """An exchange the products trade on (Tradovate's `Exchange`), with its ISO 10383 MIC."""

    id: int
    name: str
    mic_code: str


@dataclass(frozen=True, slots=True)
class CurrencySpec:
    """A currency (Tradovate's `Currency`)."""

    id: int
    name: str
    symbol: str


@dataclass(frozen=True, slots=True)
class ContractGroupSpec:
    """A group of products of one asset class (Tradovate's `ContractGroup`)."""

    id: int
    name: str


EXCHANGES: tuple[ExchangeSpec, ...] = (
    ExchangeSpec(1, "CME", "XCME"),
    ExchangeSpec(2, "CBOT", "XCBT"),
    ExchangeSpec(3, "NYMEX", "XNYM"),
    ExchangeSpec(4, "COMEX", "XCEC"),
)
EXCHANGES_BY_NAME: dict[str, ExchangeSpec] = {e.name: e for e in EXCHANGES}

USD = CurrencySpec(1, "USD", "$")
"""Every product's currency; `CashBalance.currencyId` and `Product.currencyId` are its id."""
CURRENCIES: tuple[CurrencySpec, ...] = (USD,)

CONTRACT_GROUPS: tuple[ContractGroupSpec, ...] = (
    ContractGroupSpec(1, "Equity Index"),
    ContractGroupSpec(2, "Energy"),
    ContractGroupSpec(3, "Metals"),
)
_GROUP_OF_RULE = {"third_friday": 1, "energy": 2, "third_last_business_day": 3}


def exchange_of(product: ProductSpec) -> ExchangeSpec:
    """The exchange a product trades on."""
    return EXCHANGES_BY_NAME[product.exchange]


def contract_group_of(product: ProductSpec) -> ContractGroupSpec:
    """The asset class a product belongs to (its expiry rule tells it: one rule per class here)."""
    return CONTRACT_GROUPS[_GROUP_OF_RULE[product.expiry_rule] - 1]


def suggest(
    entities: Iterable[T],
    text: str,
    limit: int,
    name: Callable[[T], str],
    order: Callable[[T], Any] | None = None,
) -> list[T]:
    """Tradovate's `suggest` as autoliq reads it: the entities whose name holds `text` anywhere
    (case-insensitive), those whose name starts with it first, each group by `order` (default: the
    name, case-insensitive), at most `limit`."""
    needle = text.casefold()
    found = [e for e in entities if needle in name(e).casefold()]
    rank = order or (lambda e: (name(e).casefold(), name(e)))
    found.sort(key=lambda e: (not name(e).casefold().startswith(needle), rank(e)))
    return found[: max(limit, 0)]


def contract_order(contract: ContractSpec) -> tuple[str, int]:
    """Contracts' order in a suggestion: by product name, then nearest month first (the front month
    of `NQ` before later months and before `MNQ`'s, as clients that take the first answer expect)."""
    return contract.product.name, contract.id
