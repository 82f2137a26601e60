"""/_autoliq/prices and /_autoliq/clock: the simulated market's last prices and the sandbox clock
(autoliq's own extensions, never inside Tradovate's entities)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from autoliq.api.params import ERROR_RESPONSES
from autoliq.api.schemas.simulation import ClockIn, ClockOut, PricesIn, PricesOut, clock_out, price_out
from autoliq.api.security import OPERATORS_ONLY, caller_of
from autoliq.container import Services


class SimulationController(Controller):
    """The simulated market's last prices and the sandbox clock."""

    path = "/_autoliq"
    tags = ["autoliq"]  # noqa: RUF012

    @get("/prices", responses=ERROR_RESPONSES)
    async def prices(self, services: NamedDependency[Services]) -> PricesOut:
        """Every listed contract's last price that has been set."""
        return PricesOut(prices=[price_out(p) for p in await services.market.last_prices()])

    @post("/prices", status_code=200, responses=ERROR_RESPONSES, opt=OPERATORS_ONLY)
    async def set_prices(self, data: JSONBody[PricesIn], services: NamedDependency[Services]) -> PricesOut:
        """Set last prices (the sandbox operator's admins: one market for every organization):
        `{"prices": [{"symbol": "ESZ6", "price": 5012.25}]}`. All or nothing; a price must be
        positive and on the contract's tick."""
        done = await services.market.set_prices([(p.symbol, p.price) for p in data.prices])
        return PricesOut(prices=[price_out(p) for p in done])

    @get("/clock", responses=ERROR_RESPONSES)
    async def clock(self, services: NamedDependency[Services]) -> ClockOut:
        """The sandbox clock: now, the trade date, whether CME futures trade, the next opens."""
        return clock_out(services.sandbox_clock.view())

    @post("/clock", status_code=200, responses=ERROR_RESPONSES, opt=OPERATORS_ONLY)
    async def move_clock(
        self, request: Request[Any, Any, Any], data: JSONBody[ClockIn], services: NamedDependency[Services]
    ) -> ClockOut:
        """Move the sandbox clock forward (the sandbox operator's admins: one clock for every
        organization): `{"now": "2026-12-04T22:00:00Z"}` or `{"advanceSeconds": 3600}`. Never
        backward; the new time is stored before the answer."""
        caller = caller_of(request).user
        return clock_out(await services.sandbox_clock.move(caller, data.now, data.advanceSeconds))
