"""/v1/product, /v1/contract, /v1/contractMaturity, /v1/contractGroup, /v1/exchange, /v1/currency."""

from __future__ import annotations

from datetime import UTC, datetime, time

import msgspec

from autoliq.domain.instruments import (
    ContractGroupSpec,
    ContractSpec,
    CurrencySpec,
    ExchangeSpec,
    ProductSpec,
    contract_group_of,
    exchange_of,
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
