"""The price history behind md charts and quotes: written with each price change, pruned past the
retention (`AUTOLIQ_PRICE_HISTORY_DAYS`) by the price writes, in bounded batches."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from autoliq.bootstrap import Services
from autoliq.domain.events import Event, PricesChanged
from autoliq.service import market as market_module
from autoliq.service.clock import ManualClock
from autoliq.service.market import MarketData


def _history(services: Services, contract_id: int) -> list[tuple[int, int]]:
    async def read() -> list[tuple[int, int]]:
        ticks = await services.uow.read(lambda s: s.price_ticks(contract_id, limit=100))
        return [(t.price_ticks, t.volume) for t in reversed(ticks)]

    return asyncio.run(_started(services, read))


async def _started(services: Services, work):  # type: ignore[no-untyped-def]
    services.start()
    try:
        return await work()
    finally:
        services.uow.stop()


def test_set_prices_when_prices_set_then_recorded_in_history_and_announced(services: Services) -> None:
    published: list[Event] = []
    services.publisher.add_listener(published.extend)

    async def act() -> None:
        await services.market.set_prices([("ESZ6", 5000), ("NQZ6", 21000.25)])
        await services.market.set_prices([("ESZ6", 5001.5)])

    asyncio.run(_started(services, act))
    es = services.market.contract_by_name("ESZ6")
    assert _history(services, es.id) == [(20_000, 0), (20_006, 0)]
    changes = [e for e in published if isinstance(e, PricesChanged)]
    assert [[(c, p) for c, p, _id, _v in e.prices] for e in changes] == [
        [(es.id, 20_000), (services.market.contract_by_name("NQZ6").id, 84_001)],
        [(es.id, 20_006)],
    ]


def test_set_prices_when_history_older_than_retention_then_pruned_in_bounded_batches(
    services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: three old prices, a retention of 2 days, batches of 2, no interval between prunings
    monkeypatch.setattr(market_module, "PRUNE_BATCH", 2)
    monkeypatch.setattr(market_module, "PRUNE_INTERVAL", 0.0)
    market = MarketData(services.uow, clock, history_days=2)
    start = clock.now()

    async def act() -> list[list[int]]:
        for price in (5000, 5001, 5002):
            await market.set_prices([("ESZ6", price)])
            clock.advance(60)
        clock.set(start + timedelta(days=2, minutes=3))  # all three are now past the retention
        seen = []
        for price in (5003, 5004):
            await market.set_prices([("ESZ6", price)])
            ticks = await services.uow.read(
                lambda s: s.price_ticks(market.contract_by_name("ESZ6").id, limit=100)
            )
            seen.append(sorted(t.price_ticks for t in ticks))
        return seen

    # Act
    seen = asyncio.run(_started(services, act))
    # Assert: each write pruned at most a batch (2) of the expired ones: the third went at the next
    assert seen == [[20_008, 20_012], [20_012, 20_016]]
