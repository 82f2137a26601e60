"""Clocks: the system's, the sandbox's (the system's moved forward by an offset), and a manual one
for tests."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

from autoliq.domain.bounds import STORED_CLOCK_SLACK, offset_within
from autoliq.domain.sandbox import NORMAL_SPEED

log = logging.getLogger(__name__)


class Clock(Protocol):
    """Tells the current time, timezone-aware UTC."""

    def now(self) -> datetime:
        """The current time."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The time it was last set to."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        """Move forward by `seconds`."""
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to `when`."""
        with self._lock:
            self._now = when


class AdjustableClock(Clock, Protocol):
    """A clock the sandbox may move."""

    def set(self, when: datetime) -> None:
        """Jump to `when`."""
        ...


class SandboxClock:
    """The machine's clock plus an offset: it runs at the machine's pace, and the sandbox moves it
    (`POST /_autoliq/clock`); the offset is stored, so a moved clock stays moved across restarts, and
    every worker takes the stored offset again when one of them moves it (`SandboxClockMoved`).

    A replay (`replay/initializeClock`, `replay/changeSpeed`) also sets its pace: `speed` percent of
    the machine's (0 stops it, 400 runs four times as fast) from the machine time `since` the offset
    was stored at; at 100 it is the machine's time plus the offset, as ever."""

    def __init__(
        self, offset: timedelta = timedelta(0), since: datetime | None = None, speed: int = NORMAL_SPEED
    ) -> None:
        self._offset = offset
        self._since = since or datetime.now(UTC)
        self._speed = speed
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The machine's time plus the offset (at another speed: scaled since the offset was set)."""
        system = datetime.now(UTC)
        if self._speed == NORMAL_SPEED:
            return system + self._offset
        return self._since + self._offset + (system - self._since) * self._speed / NORMAL_SPEED

    @property
    def offset(self) -> timedelta:
        """How far ahead of the machine's clock it was when last set."""
        return self._offset

    @property
    def speed(self) -> int:
        """Its pace, in percent of the machine's."""
        return self._speed

    def set(self, when: datetime) -> None:
        """Jump to `when` (and run on from there at the machine's pace)."""
        with self._lock:
            self._since = datetime.now(UTC)
            self._offset = when - self._since
            self._speed = NORMAL_SPEED

    def set_offset(self, offset: timedelta, since: datetime | None = None, speed: int = NORMAL_SPEED) -> None:
        """Run `offset` ahead of the machine's clock as it was at `since` (the stored offset, exactly),
        at `speed` percent from then."""
        with self._lock:
            self._offset = offset
            self._since = since or datetime.now(UTC)
            self._speed = speed


def clock_at(offset_us: int, since: datetime, speed: int, system_now: datetime) -> datetime:
    """What a clock stored as (`offset_us`, `since`, `speed`) reads at machine time `system_now`."""
    offset = timedelta(microseconds=offset_us)
    if speed == NORMAL_SPEED:
        return system_now + offset
    return since + offset + (system_now - since) * speed / NORMAL_SPEED


class StoredOffsets:
    """Judges the sandbox clock's stored offset before any clock takes it: one that would put the
    clock outside the time bounds (a database written before they existed, or by hand) is ignored,
    read as no offset, so that every date computation keeps working; it is logged once per value.
    A clock moved to the latest moment allowed runs on past it: it stays taken for a year more."""

    def __init__(self) -> None:
        self._reported: set[int] = set()
        self._lock = threading.Lock()

    def take(self, offset_us: int | None, system_now: datetime) -> int:
        """The offset to run with, in microseconds: `offset_us`, or 0 when it is absent or out of bounds."""
        if offset_us is None or offset_within(offset_us, system_now, slack=STORED_CLOCK_SLACK):
            return offset_us or 0
        with self._lock:
            first = offset_us not in self._reported
            self._reported.add(offset_us)
        if first:
            log.warning(
                "sandbox clock: the stored offset of %d microseconds puts the clock outside "
                "2000-01-01..2100-01-01 (or the row holds no integer); ignored, the clock is the "
                "machine's until the next move or reset",
                offset_us,
            )
        return 0
