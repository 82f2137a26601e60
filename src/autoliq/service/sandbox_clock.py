"""The sandbox clock's controls: read it, set it, advance it (organization admins), durably."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from autoliq.domain.errors import BadRequest, Unauthorized
from autoliq.domain.model import User
from autoliq.domain.session import is_market_open, next_market_open, next_weekly_open, trade_date
from autoliq.service.clock import AdjustableClock, Clock
from autoliq.service.ports import UnitOfWork

MAX_ADVANCE_SECONDS = 366 * 24 * 3600
TEXT_ONE_OF = "Give either now or advanceSeconds"
TEXT_NAIVE = "now must include a time zone offset, for example 2026-12-02T17:00:00Z"
TEXT_ADVANCE_RANGE = f"advanceSeconds must be greater than 0 and at most {MAX_ADVANCE_SECONDS}"


@dataclass(frozen=True, slots=True)
class ClockView:
    """The sandbox time and where it stands in the CME session calendar."""

    now: datetime
    trade_date: date
    market_open: bool
    next_market_open: datetime
    next_weekly_open: datetime
    offset_seconds: float


class ClockService:
    """Moves the clock every service reads; only forward (timestamps, logs and timers stay ordered)."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: AdjustableClock,
        system: Clock,
        after_move: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._system = system
        self._after_move = after_move
        """Run once the clock has moved (the scheduler: timers the move reached fire before the answer)."""
        self._moving = asyncio.Lock()

    def view(self) -> ClockView:
        """The clock now."""
        now = self._clock.now()
        return ClockView(
            now=now,
            trade_date=trade_date(now),
            market_open=is_market_open(now),
            next_market_open=next_market_open(now),
            next_weekly_open=next_weekly_open(now),
            offset_seconds=(now - self._system.now()).total_seconds(),
        )

    async def move(self, caller: User, now: datetime | None, advance_seconds: float | None) -> ClockView:
        """Set the clock to `now`, or advance it by `advance_seconds`; the new offset is committed
        before the clock moves, and the timers it reached have fired before this
        returns. Raises Unauthorized for non-admins and BadRequest for bad values."""
        if not caller.is_admin:
            raise Unauthorized()
        if (now is None) == (advance_seconds is None):
            raise BadRequest(TEXT_ONE_OF)
        if now is not None and now.tzinfo is None:
            raise BadRequest(TEXT_NAIVE)
        if advance_seconds is not None and not 0 < advance_seconds <= MAX_ADVANCE_SECONDS:
            raise BadRequest(TEXT_ADVANCE_RANGE)
        async with self._moving:
            current = self._clock.now()
            target = (
                now.astimezone(UTC) if now is not None else current + timedelta(seconds=advance_seconds or 0)
            )
            if target < current:
                raise BadRequest(f"The sandbox clock only moves forward: it is already {current.isoformat()}")
            system_now = self._system.now()
            offset_us = (target - system_now) // timedelta(microseconds=1)
            await self._uow.write(lambda store: store.save_clock_offset(offset_us, system_now))
            self._clock.set(target)
        if self._after_move is not None:
            await self._after_move()
        return self.view()
