"""The sandbox clock's stored offset and pace."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class ClockStore(Protocol):
    """The sandbox clock's row of one transaction."""

    def clock_offset(self, *, lock: bool = False) -> int | None:
        """The sandbox clock's stored offset from the machine's clock, in microseconds, or None;
        `lock` (in a write): its row stays locked until the commit (two moves at once: the second
        waits, then reads the first's offset)."""
        ...

    def clock_speed(self) -> tuple[int, datetime] | None:
        """The sandbox clock's stored pace (percent of the machine's) and the machine time its offset
        was stored at; None when none is stored."""
        ...

    def save_clock_offset(self, offset_us: int, when: datetime, speed: int = 100) -> None: ...
