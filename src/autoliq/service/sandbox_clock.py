"""The sandbox clock's controls: read it, set it, advance it (the sandbox operator's admins), durably.

With the sandbox clock (`SandboxClock`, as `autoliq serve` runs it), the stored offset is the clock
of every worker. A move starts from the stored offset (locked in its transaction), not from this
worker's copy, which may not have heard of another worker's move yet; it stores the new offset and
emits `SandboxClockMoved`. The worker that moved it takes the new offset before its answer; every
worker that hears the event (through the outbox relay: milliseconds on PostgreSQL, at most one poll,
0.1 s, on SQLite, in the workers of one server) reads the stored offset again and takes it. A read
is taken only if nothing was heard or moved since it started; otherwise it is read again, so events
heard out of commit order still leave every worker on the stored offset. A reset (`SandboxReset`,
which deletes the offset and which `SandboxService` acts on) is followed the same way. A test's
clock (`ManualClock`) is moved in memory only: the stored offset does not count from its time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from autoliq.domain.bounds import LATEST, TEXT_TIME_RANGE, time_within
from autoliq.domain.errors import BadRequest, Unauthorized
from autoliq.domain.events import Event, SandboxClockMoved, SandboxReset
from autoliq.domain.model import User
from autoliq.domain.sandbox import MAX_SPEED, NORMAL_SPEED
from autoliq.domain.session import (
    is_market_open,
    next_market_open,
    next_weekly_open,
    trade_date,
)
from autoliq.service.clock import AdjustableClock, Clock, SandboxClock, StoredOffsets, clock_at
from autoliq.service.ports import Store, UnitOfWork
from autoliq.service.sandbox import reset_sandbox

log = logging.getLogger(__name__)

MAX_ADVANCE_SECONDS = 366 * 24 * 3600
TEXT_ONE_OF = "now: give either now or advanceSeconds (one of them)"
TEXT_BACKWARDS = "now: the sandbox clock only moves forward"
TEXT_NAIVE = "now: must include a time zone offset, for example 2026-12-02T17:00:00Z"
TEXT_ADVANCE_RANGE = f"advanceSeconds: must be greater than 0 and at most {MAX_ADVANCE_SECONDS}"
TEXT_NOW_RANGE = f"now: {TEXT_TIME_RANGE}"
TEXT_START_RANGE = f"startTimestamp: {TEXT_TIME_RANGE}"
TEXT_SPEED_RANGE = f"speed: must be between 0 and {MAX_SPEED} (percent of real time)"
TEXT_ADVANCE_BEYOND = f"advanceSeconds: the clock would pass {LATEST.isoformat().replace('+00:00', 'Z')}"


@dataclass(frozen=True, slots=True)
class ClockView:
    """The sandbox time and where it stands in the CME session calendar."""

    now: datetime
    trade_date: date
    market_open: bool
    next_market_open: datetime
    next_weekly_open: datetime
    offset_seconds: float
    speed: int = NORMAL_SPEED
    """Its pace in percent of real time (a replay's `speed`; 100 otherwise)."""


class ClockService:
    """Moves the clock every service reads; only forward (timestamps, logs and timers stay ordered)."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: AdjustableClock,
        system: Clock,
        after_move: Callable[[], Awaitable[object]] | None = None,
        operates: Callable[[User], Awaitable[bool]] | None = None,
        offsets: StoredOffsets | None = None,
    ) -> None:
        self._uow = uow
        self._operates = operates
        """Whether a user may move the clock (the sandbox operator's admins); None: any admin."""
        self._offsets = offsets or StoredOffsets()
        """Judges every stored offset read (out of bounds: ignored, logged once)."""
        self._clock = clock
        self._system = system
        self._after_move = after_move
        """Run once the clock has moved (the scheduler: timers the move reached fire before the answer)."""
        self._moving = asyncio.Lock()
        self._stored: SandboxClock | None = clock if isinstance(clock, SandboxClock) else None
        """The clock again when it follows the stored offset (the sandbox clock); None for a test's."""
        self._stale = False
        """Something was heard or moved since the last read of the stored offset started."""
        self._follower: asyncio.Task[None] | None = None
        self._speed = NORMAL_SPEED
        """The pace of a test's clock (which only moves when told): reported, not run."""

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
            speed=self._speed_of_clock(),
        )

    async def move(self, caller: User, now: datetime | None, advance_seconds: float | None) -> ClockView:
        """Set the clock to `now`, or advance it by `advance_seconds`; the new offset is committed
        (and `SandboxClockMoved` emitted) before the clock moves, and the timers it reached have
        fired before this returns. Raises Unauthorized but for the sandbox operator's admins, and
        BadRequest for bad values."""
        if not caller.is_admin or (self._operates is not None and not await self._operates(caller)):
            raise Unauthorized()
        if (now is None) == (advance_seconds is None):
            raise BadRequest(TEXT_ONE_OF)
        if now is not None and now.tzinfo is None:
            raise BadRequest(TEXT_NAIVE)
        if now is not None and not time_within(now):
            raise BadRequest(TEXT_NOW_RANGE)
        if advance_seconds is not None and not 0 < advance_seconds <= MAX_ADVANCE_SECONDS:
            raise BadRequest(TEXT_ADVANCE_RANGE)

        def work(store: Store) -> tuple[datetime, datetime, int | None]:
            """(the clock before, the target, the stored offset or None when the target is refused:
            behind the clock or beyond the bounds). Validated before anything is stored."""
            system_now = self._system.now()
            current, speed = self._clock.now(), self._speed
            if self._stored is not None:  # the stored clock: another worker may have moved it
                current, speed = self._stored_now(store, system_now)
            target = (
                now.astimezone(UTC) if now is not None else current + timedelta(seconds=advance_seconds or 0)
            )
            if target < current or not time_within(target):
                return current, target, None
            offset_us = (target - system_now) // timedelta(microseconds=1)
            store.save_clock_offset(offset_us, system_now, speed)  # a move keeps the replay's pace
            store.emit(SandboxClockMoved())
            return current, target, offset_us

        async with self._moving:
            current, target, offset_us = await self._uow.write(work)
            if offset_us is None:
                if not time_within(target):  # an advance past the bound: nothing was stored
                    raise BadRequest(f"{TEXT_ADVANCE_BEYOND} (it is {current.isoformat()})")
                raise BadRequest(
                    f"now: the sandbox clock only moves forward: it is already {current.isoformat()}"
                )
            self._take(target, offset_us, self._speed_of_clock())
        if self._after_move is not None:
            await self._after_move()
        return self.view()

    # -- replay: a fresh session at a start time, and the clock's pace --
    @property
    def speed(self) -> int:
        """The clock's pace in percent of the machine's (100 unless a replay set another)."""
        return self._speed_of_clock()

    def _speed_of_clock(self) -> int:
        return self._stored.speed if self._stored is not None else self._speed

    def now_in(self, store: Store) -> datetime:
        """Inside a transaction: the clock as stored (another worker's move included as soon as it
        is committed, where this worker's copy follows it a relay poll later); a test's clock as it is."""
        if self._stored is None:
            return self._clock.now()
        return self._stored_now(store, self._system.now(), lock=False)[0]

    def _stored_now(self, store: Store, system_now: datetime, *, lock: bool = True) -> tuple[datetime, int]:
        """Inside a write: the clock as stored at `system_now` (its row locked), and its pace."""
        stored = store.clock_offset(lock=lock)
        offset_us = self._offsets.take(stored, system_now)
        found = store.clock_speed()
        if offset_us != stored or found is None:  # none stored, or one ignored as out of bounds
            return system_now + timedelta(microseconds=offset_us), NORMAL_SPEED
        speed, since = found
        return clock_at(offset_us, since, speed, system_now), speed

    def _take(self, target: datetime, offset_us: int, speed: int, since: datetime | None = None) -> None:
        """This worker's clock to what was just stored (before the answer)."""
        if self._stored is not None:
            self._stored.set_offset(timedelta(microseconds=offset_us), since, speed)
            self.follow_stored()  # a read started after this has the last word (a later move?)
        else:
            self._clock.set(target)
            self._speed = speed

    async def start_replay(self, caller: User, start: datetime, speed: int) -> ClockView:
        """Tradovate's `replay/initializeClock`: a fresh replay session. In one transaction the whole
        sandbox goes back to its seeded state (as the operator's reset: orders, fills, positions and
        cash as seeded), the session calendar back to `start`, and the clock to `start`, running at
        `speed` percent from now on. The clock may go back here, and only here: everything stamped
        by the clock it leaves behind was wiped with it. Unauthorized but for the sandbox operator's
        admins; BadRequest for a start beyond the bounds or a speed outside 0-400."""
        if not caller.is_admin or (self._operates is not None and not await self._operates(caller)):
            raise Unauthorized()
        if start.tzinfo is None or not time_within(start):
            raise BadRequest(TEXT_START_RANGE)
        if not 0 <= speed <= MAX_SPEED:
            raise BadRequest(TEXT_SPEED_RANGE)
        start = start.astimezone(UTC)

        def work(store: Store) -> tuple[int, datetime]:
            system_now = self._system.now()
            store.clock_offset(lock=True)  # one replay (or move) at a time
            # The reset at `start`: its log rows stamped then, the session calendar closed up to the
            # trade date before it (so the replay's own session ends are processed as they come).
            reset_sandbox(store, caller, start, None)
            offset_us = (start - system_now) // timedelta(microseconds=1)
            store.save_clock_offset(offset_us, system_now, speed)
            store.emit(SandboxClockMoved())
            return offset_us, system_now

        async with self._moving:
            offset_us, since = await self._uow.write(work)
            # The reset's listeners ran before this (they set the clock to the machine's): the
            # clock is the replay's from here, before the answer.
            self._take(start, offset_us, speed, since)
        log.warning(
            "sandbox replay started by %s (user %d): the sandbox reset, the clock at %s, speed %d%%",
            caller.name,
            caller.id,
            start.isoformat(),
            speed,
        )
        if self._after_move is not None:
            await self._after_move()
        return self.view()

    async def change_speed(self, caller: User, speed: int) -> ClockView:
        """Tradovate's `replay/changeSpeed`: the clock runs on from where it is at `speed` percent of
        the machine's pace (0 stops it). The sandbox operator's admins only."""
        if not caller.is_admin or (self._operates is not None and not await self._operates(caller)):
            raise Unauthorized()
        if not 0 <= speed <= MAX_SPEED:
            raise BadRequest(TEXT_SPEED_RANGE)

        def work(store: Store) -> tuple[datetime, int, datetime]:
            system_now = self._system.now()
            current = self._clock.now()
            if self._stored is not None:
                current = self._stored_now(store, system_now)[0]
            offset_us = (current - system_now) // timedelta(microseconds=1)
            store.save_clock_offset(offset_us, system_now, speed)
            store.emit(SandboxClockMoved())
            return current, offset_us, system_now

        async with self._moving:
            current, offset_us, since = await self._uow.write(work)
            self._take(current, offset_us, speed, since)
        return self.view()

    async def settled(self) -> None:
        """Until this worker has taken the stored clock as it was after what was heard so far."""
        follower = self._follower
        if follower is not None and not follower.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(follower)

    # -- following the stored offset --
    def on_events(self, events: Sequence[Event]) -> None:
        """Publisher listener (any worker's events, this one's too): the clock was moved, or the
        sandbox reset (which deleted the offset): read the stored offset again."""
        if any(isinstance(event, SandboxClockMoved | SandboxReset) for event in events):
            if self._stored is None and any(
                isinstance(e, SandboxReset) and e.organization_id is None for e in events
            ):
                self._speed = NORMAL_SPEED  # a test's clock: back to real time, as a reset sets it
            self.follow_stored()

    def follow_stored(self) -> None:
        """Take the stored offset as it is after what was heard so far (one read at a time); also
        once the relay listens, for a move committed between start-up's read and then."""
        if self._stored is None:
            return
        self._stale = True
        if self._follower is None or self._follower.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a synchronous caller): nothing runs here to follow it
                return
            self._follower = loop.create_task(self._read_stored())

    async def _read_stored(self) -> None:
        while self._stale and self._stored is not None:
            self._stale = False
            try:
                offset_us, found = await self._uow.read(
                    lambda store: (store.clock_offset(), store.clock_speed())
                )
            except Exception:
                log.exception("sandbox clock: could not read the stored offset (read at the next move)")
                return
            if not self._stale:  # else something came after this read started: read again
                taken = self._offsets.take(offset_us, self._system.now())
                speed, since = found if found is not None and taken == offset_us else (NORMAL_SPEED, None)
                self._stored.set_offset(timedelta(microseconds=taken), since, speed)

    def stop_following(self) -> None:
        """At shutdown, with the relay stopped: drop a read in progress (nothing is left to act on it)."""
        self._stale = False
        if self._follower is not None:
            self._follower.cancel()
            self._follower = None
