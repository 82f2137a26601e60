"""Stored timers: an admin action's expiry, an auto-liq layer's unlock, a flatten time."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from autoliq.domain.states import AdminAction
from autoliq.domain.timers import Timer, TimerKind


class TimerStore(Protocol):
    """The timers of one transaction."""

    def add_timer(
        self,
        account_id: int,
        kind: TimerKind,
        due_at: datetime,
        *,
        admin_action: AdminAction | None = None,
        set_at: datetime | None = None,
    ) -> int: ...
    def due_timers(self, now: datetime, limit: int) -> list[Timer]: ...
    def delete_timer(self, timer_id: int) -> bool:
        """Remove a timer; False when it was gone already (fired by someone else)."""
        ...

    def delete_timers(self, account_id: int, kind: TimerKind) -> int:
        """Remove the account's timers of `kind`; how many."""
        ...
